#!/usr/bin/env bash
echo "noisy ran"
