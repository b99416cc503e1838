#!/usr/bin/env bash
sleep 2
