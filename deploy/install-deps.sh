#!/usr/bin/env bash
# Installs what Kaochang needs, from Debian 12's own packages (and npm for the tests).
#
#   deploy/install-deps.sh          to build and run: `make`, `make demo`, `make install`.
#                                   Debian packages only, so a LAN test centre can set up
#                                   from a Debian mirror alone.
#   deploy/install-deps.sh --test   also what `make test` needs: Criterion, clang with its
#                                   libFuzzer runtime and symbolizer, Debian's Chromium, curl,
#                                   nginx (the reverse proxy a test runs in front of a node;
#                                   its system service is not needed), Node.js and npm, and
#                                   the pinned npm packages of tests/.
#   --check                         install nothing; say what is missing (exit 1 if anything).
#
# Idempotent: when everything is present it checks the versions it relies on and returns in
# seconds. Installing packages needs root; otherwise it prints the apt command to run.
# Every check that fails stops here with what is wrong, not later inside a test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

test=0 check=0
for a in "$@"; do
  case $a in
    --test) test=1 ;;
    --check) check=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option $a (--test, --check)" >&2; exit 2 ;;
  esac
done

die() { echo "install-deps: $*" >&2; exit 1; }

# Build and run.
pkgs=(build-essential pkg-config
      libwebsockets-dev libwebsockets-evlib-ev libev-dev
      libmariadb-dev mariadb-server mariadb-client
      libssl-dev libpcre2-dev libqrencode-dev
      libjansson-dev libsodium-dev libxml2-dev libzip-dev libxlsxwriter-dev)

if ((test)); then
  # clang's libFuzzer runtime and llvm-symbolizer come in packages named by clang's major
  # version; Debian 12's clang is 14. Another clang already on PATH (or $FUZZCC) keeps its own.
  fuzzcc=${FUZZCC:-clang}
  clang_major=14
  if command -v "$fuzzcc" >/dev/null 2>&1; then
    clang_major=$({ "$fuzzcc" --version 2>&1 || true; } | sed -n 's/.*clang version \([0-9][0-9]*\)\..*/\1/p' | head -n1)
    [ -n "$clang_major" ] ||
      die "$fuzzcc (FUZZCC) is not clang: $({ "$fuzzcc" --version 2>&1 || true; } | head -n1)"
  else
    pkgs+=(clang)
  fi
  pkgs+=(libcriterion-dev "libclang-rt-$clang_major-dev" "llvm-$clang_major"
         chromium fonts-wqy-microhei curl nginx)
  # Node may come from elsewhere (e.g. a nodesource nodejs that bundles npm); Debian's is
  # asked for only when no node / npm is on PATH.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm  >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if ((check)) || [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages; run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
  fi
  echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: is the Debian mirror in /etc/apt/sources.list reachable?"
  # nginx's package starts a system nginx on port 80 (and fails where the port is taken and
  # `ss` is missing); the test runs an nginx of its own, so the start is refused by a
  # policy-rc.d of ours for this install only (unless the machine has its own policy).
  policy=
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# kaochang install-deps: no nginx service start during its install\nfor a in "$@"; do [ "$a" = nginx ] && exit 101; done\nexit 0\n' >"$policy"
    chmod 755 "$policy"
  fi
  # -q (not -qq) keeps apt's "Need to get N MB" line: the user sees what is downloaded.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/kaochang-apt.log" 2>&1 || {
    [ -n "$policy" ] && rm -f "$policy"
    tail -n 30 "${TMPDIR:-/tmp}/kaochang-apt.log" >&2; die "apt-get install failed (above)"; }
  [ -n "$policy" ] && rm -f "$policy"
  grep -E '^(Need to get|After this operation)' "${TMPDIR:-/tmp}/kaochang-apt.log" | sed 's/^/install-deps: /' >&2 || true
  rm -f "${TMPDIR:-/tmp}/kaochang-apt.log"
  echo "install-deps: Debian packages installed in $((SECONDS - t0)) s" >&2
  # The packaged mariadb-server may start a system instance; Kaochang never uses it (nor a
  # system nginx: on a systemd machine `systemctl disable nginx` keeps it off at boot).
fi

# ---- the versions the build and the server rely on ----
pkg-config --atleast-version=4.1 libwebsockets ||
  die "libwebsockets $(pkg-config --modversion libwebsockets 2>/dev/null || echo '(none)') is older than 4.1"
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
mver=$({ "$mariadbd" --version 2>/dev/null || true; } | sed -n 's/.*Ver \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
[ -n "$mver" ] || die "$mariadbd --version names no version"
[ "$(printf '%s\n10.6\n' "$mver" | sort -V | head -n1)" = 10.6 ] ||
  die "MariaDB $mver is older than 10.6 (the schema uses JSON_TABLE)"
((test)) || exit 0

# ---- the versions the tests rely on ----
# clang must link a libFuzzer target with the sanitizers (libclang-rt-N-dev) and find
# llvm-symbolizer (llvm-N) for readable crash reports.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }\n' >"$tmp/f.c"
"$fuzzcc" -fsanitize=fuzzer,address,undefined "$tmp/f.c" -o "$tmp/f" 2>"$tmp/err" || {
  head -n 5 "$tmp/err" >&2
  die "$fuzzcc $clang_major cannot link a libFuzzer target; install libclang-rt-$clang_major-dev (or set FUZZCC)"; }
sym=$("$fuzzcc" -print-prog-name=llvm-symbolizer || true)
[ -x "$sym" ] || sym=$(command -v llvm-symbolizer || true)
[ -n "$sym" ] || die "no llvm-symbolizer next to $fuzzcc or on PATH; install llvm-$clang_major"

chromium=${KC_CHROMIUM:-/usr/bin/chromium}
cver=$({ "$chromium" --version 2>/dev/null || true; } | sed -n 's/^Chromium \([0-9][0-9.]*\).*/\1/p')
[ -n "$cver" ] || die "$chromium --version does not answer as Chromium: $({ "$chromium" --version 2>&1 || true; } | head -n1)"

# Node against the `engines` of every npm package tests/ installs, before npm runs.
command -v node >/dev/null 2>&1 || die "no node on PATH"
node "$here/deploy/check-engines.mjs" "$here/tests/package-lock.json" ||
  die "this Node.js does not run the pinned test packages; use a Node.js that they accept (Debian 12's is 18)"

# npm packages of tests/, pinned by tests/package-lock.json; reinstalled when the installed
# versions are not the pinned ones.
stale=$(cd "$here/tests" && node -e '
  const fs = require("fs"), want = require("./package.json").devDependencies || {};
  for (const [n, v] of Object.entries(want)) {
    let got = null;
    try { got = JSON.parse(fs.readFileSync(`node_modules/${n}/package.json`, "utf8")).version; } catch {}
    if (got !== v) console.log(`${n} ${got || "(missing)"} -> ${v}`);
  }')
if [ -n "$stale" ]; then
  ((check)) && die "npm packages of tests/ not as pinned: $stale"
  echo "install-deps: npm ci in tests/ ($(echo "$stale" | paste -sd, -))" >&2
  (cd "$here/tests" && npm ci --engine-strict --no-audit --no-fund --loglevel=error) ||
    die "npm ci in tests/ failed: is the npm registry reachable?"
fi

# playwright-core drives this Chromium: one launch proves the pair works.
(cd "$here/tests" && KC_CHROMIUM=$chromium node lib/check-browser.mjs) ||
  die "playwright-core cannot drive $chromium (Chromium $cver) on Node $(node --version)"
exit 0
