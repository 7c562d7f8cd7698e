#!/usr/bin/env bash
# Installs the Debian packages the platform and its tests need, only when missing.
#   influxdb        → /usr/bin/influxd (the managed local InfluxDB)
#   chromium        → /usr/bin/chromium (browser tests)
#   fonts-noto-cjk  → Hangul in screenshots
set -euo pipefail

missing=()
for pkg in "$@"; do
  case "$pkg" in
    influxdb) [ -x /usr/bin/influxd ] || missing+=(influxdb) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    fonts-noto-cjk) dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk) ;;
    *) echo "ensure-system-deps: unknown package $pkg" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "Need root (or sudo) to install: ${missing[*]}. Install them, or set INFLUX_URL to use an existing InfluxDB." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
