#!/bin/sh
# Headless Chromium for the test that renders `hipool report`'s HTML (tests/test_report.py).
# Optional: installed with apt where apt is available and we may use it (root, or sudo without a
# password); otherwise that one test is skipped.  Never fails the set-up.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: no apt-get here; install Chromium yourself to run the report rendering test"
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "note: Chromium is not installed and apt needs root; the report rendering test will be skipped"
    echo "      (sudo apt-get install chromium)"
    exit 0
fi
echo "installing Chromium (for the report rendering test) with apt-get"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
  || { $SUDO apt-get update >/dev/null 2>&1 && \
       $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
  || echo "note: apt-get could not install Chromium; the report rendering test will be skipped"
exit 0
