#!/usr/bin/env bash
# Make Debian's Chromium available for the browser tests of `lute report`
# (tests/report/), which drive /usr/bin/chromium headless through Playwright.
#
# Installs the `chromium` package with apt-get when /usr/bin/chromium is
# missing. Playwright's own browser download (`playwright install`) is never
# used: the tests run the distribution's browser. Prints nothing on stdout
# (which .ci/run evaluates); progress goes to stderr.
#
# Environment:
#   LUTE_CHROMIUM_NO_INSTALL  when set, fail instead of installing the package
set -euo pipefail
exec 3>&1 1>&2  # stdout is for `export` lines only, and there are none

log() { printf 'setup-chromium: %s\n' "$*"; }

if [ -x /usr/bin/chromium ]; then
    log "found $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
if [ -n "${LUTE_CHROMIUM_NO_INSTALL:-}" ]; then
    log "/usr/bin/chromium is missing and LUTE_CHROMIUM_NO_INSTALL is set"
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo -n"
fi
log "installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
