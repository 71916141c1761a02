#!/usr/bin/env bash
# Browser test of `diffuse serve`'s web page (Tests/DiffuseServerTests/BrowserTests.swift): headless
# Chromium, driven over the DevTools protocol, loads the page, types a prompt, presses Enter, waits
# for the image, clicks "Vary", and saves a screenshot, whose path it prints
# (.build/browser-test/page-after-generate.png; DIFFUSE_BROWSER_ARTIFACTS=DIR to change).
# `make test-browser` runs this. Installs Debian's chromium when no Chromium is found (CHROMIUM=PATH
# to use another).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"

if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromium ]; then
    echo "browser test: installing chromium"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

start=$(date +%s)
$SWIFT build -c release --build-tests
DIFFUSE_BROWSER_TEST=1 $SWIFT test -c release --skip-build --filter DiffuseServerTests.BrowserTests
echo "browser test: done in $(( $(date +%s) - start )) s"
