#!/usr/bin/env bash
# takes a moment: the user guide interrupts it (Ctrl-C) and races a second run against it
sleep 2
echo "SLOW_A=done" >> tmp-run-env.out
