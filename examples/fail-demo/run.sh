#!/usr/bin/env bash
echo "about to fail"
echo "really"
exit 3
