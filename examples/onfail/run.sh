#!/usr/bin/env bash
echo "never reached"
