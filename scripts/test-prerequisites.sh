#!/usr/bin/env bash
# The test suite drives real third-party software: fetchmail and swaks as mail peers, Chromium for
# the portal. Installs what is missing from Debian's packages when run as root, else says how.
set -euo pipefail
missing=()
command -v fetchmail >/dev/null 2>&1 || missing+=(fetchmail)
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test prerequisites: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "the tests need: ${missing[*]} — install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
