#!/usr/bin/env bash
echo "condskip ran"
