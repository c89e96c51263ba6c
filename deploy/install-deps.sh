#!/usr/bin/env bash
# Installs what Kaochang needs to build, run and test, from Debian 12 packages and npm.
# Idempotent: when everything is present it only checks and returns within seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential pkg-config curl
      libwebsockets-dev libwebsockets-evlib-ev libev-dev
      libmariadb-dev mariadb-server mariadb-client
      libssl-dev libpcre2-dev libqrencode-dev libcriterion-dev
      libjansson-dev libsodium-dev libxml2-dev libzip-dev libxlsxwriter-dev
      chromium fonts-wqy-microhei)
# Node may come from elsewhere (e.g. a nodesource nodejs that bundles npm); only ask Debian
# for it when no node/npm is on PATH.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm  >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages; run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packaged mariadb-server may start a system instance; Kaochang never uses it.
fi

# npm packages for the browser tests, pinned by tests/package-lock.json.
if [ -f "$here/tests/package.json" ]; then
  if [ ! -d "$here/tests/node_modules/playwright-core" ]; then
    echo "install-deps: npm ci in tests/" >&2
    (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
exit 0
