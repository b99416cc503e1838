#!/usr/bin/env bash
# Prints a greeting built from env only; every value arrives quoted, never evaluated.
set -e
name="${CMX_HELLO_NAME:-World}"
message="${CMX_HELLO_GREETING} ${name}"
if [ "${CMX_HELLO_SHOUT}" = "yes" ]; then
  message="$(printf '%s' "$message" | tr '[:lower:]' '[:upper:]')"
fi
if [ "${CMX_HELLO_FORMAT}" = "json" ]; then
  message="{\"message\": \"${message}\"}"
fi
count="${CMX_HELLO_REPEAT:-1}"
for _ in $(seq 1 "$count"); do
  printf '%s\n' "$message"
done
printf '%s\n' "$message" > hello.txt
echo "CMX_HELLO_MESSAGE=${message}" >> tmp-run-env.out
echo "CMX_HELLO_FILE=${PWD}/hello.txt" >> tmp-run-env.out
echo "CMX_HELLO_OS=${CMX_HOST_OS_TYPE}" >> tmp-run-env.out
