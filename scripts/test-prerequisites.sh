#!/usr/bin/env bash
# The test suite drives real third-party software: fetchmail and swaks as mail peers, Chromium for
# the portal, and (as root only: it runs a private instance) a Postfix smtpd as the customer's MTA.
# Installs what is missing from Debian's packages when run as root, else says how.
set -euo pipefail
missing=()
command -v fetchmail >/dev/null 2>&1 || missing+=(fetchmail)
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
# swaks's -tls needs Net::SSLeay, which Debian's swaks only recommends
perl -MNet::SSLeay -e1 >/dev/null 2>&1 || missing+=(libnet-ssleay-perl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
root=$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)
[ "$root" -eq 1 ] && ! [ -f /etc/postfix/master.cf.proto ] && missing+=(postfix)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$root" -eq 1 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test prerequisites: ${missing[*]}"
  apt-get update -qq
  # Postfix's package must neither configure nor start a system instance: the tests run their own
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
else
  echo "the tests need: ${missing[*]} — install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
