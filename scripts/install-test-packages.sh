#!/usr/bin/env bash
# Debian packages that the test suite uses when present (tests that need them skip, with a
# reason, when they are missing). Installs only what is not there yet.
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd dovecot-pop3d)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-packages: not root, skipping ${need[*]}" >&2
    exit 0
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
