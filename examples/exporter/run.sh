#!/usr/bin/env bash
echo "EXP_FLAG=yes" >> tmp-run-env.out
