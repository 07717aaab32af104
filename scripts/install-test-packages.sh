#!/usr/bin/env bash
# Debian packages that the test suite uses when present (tests that need them skip, with a
# reason, when they are missing). Installs only what is not there yet.
#   dovecot-imapd dovecot-pop3d: a real IMAP and POP3 server (tests/servers/dovecot.py)
#   postfix: a real MTA delivering through `mail pipe` (tests/servers/postfix.py); the
#            tests run a private instance, the system's own is left unconfigured
#   chromium: the browser that the browser tests (tests/browser, Playwright) drive
#   libreoffice-calc: converts the report spreadsheets headless (tests/reports/test_spreadsheet.py)
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd dovecot-pop3d)
[ -x /usr/sbin/postfix ] || need+=(postfix)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/soffice ] || need+=(libreoffice-calc)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-packages: not root, skipping ${need[*]}" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
