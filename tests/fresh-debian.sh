#!/usr/bin/env bash
# tests/fresh-debian.sh: does Kaochang build, test and run on a brand-new Debian 12?
# Our own machines come with tools a new Debian 12 lacks, so CI alone cannot tell.
#
# It debootstraps a minimal Debian 12 (bookworm, --variant=minbase) root, adds what every
# real install has and a bare root lacks (/etc/hosts and a host name, the security and
# updates suites in sources.list, this host's local CA certificates from
# /usr/local/share/ca-certificates), installs git, make and ca-certificates as a new user
# would, clones this repository's committed HEAD (or --ref) into /root/kaochang and runs a
# command there as root, in its own mount, PID and host-name namespaces (nothing it starts
# outlives it). Not part of `make test`: it needs a few minutes, root, debootstrap and the
# Debian mirror (and the npm registry for `make test`).
#
#   tests/fresh-debian.sh                  make test
#   tests/fresh-debian.sh --demo           make demo, until the URL it prints serves the
#                                          login page and its assets; then Ctrl-C, which
#                                          must stop the server and its MariaDB
#   tests/fresh-debian.sh -- CMD ARGS...   any command, run in /root/kaochang
#
# Options: --ref REF (default HEAD), --dir DIR (default build/fresh-debian), --mirror URL,
# --no-cache (debootstrap again instead of unpacking the base kept from an earlier run),
# --keep (leave the root in DIR/root-PID). The log of the command is DIR/last.log.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$src/build/fresh-debian
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
ref=HEAD keep=0 cache=1 demo=0
cmd=(make test)
while [ $# -gt 0 ]; do
  case $1 in
    --demo) demo=1; shift ;;
    --ref) ref=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --no-cache) cache=0; shift ;;
    --keep) keep=1; shift ;;
    --) shift; cmd=("$@"); break ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "fresh-debian: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
((${#cmd[@]})) || { echo "fresh-debian: -- needs a command" >&2; exit 2; }

die() { echo "fresh-debian: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"
for t in debootstrap unshare chroot git curl; do
  command -v $t >/dev/null 2>&1 || die "needs $t on this host (apt-get install debootstrap util-linux git curl)"
done
commit=$(git -C "$src" rev-parse --verify "$ref^{commit}") || die "no commit $ref in $src"
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
  echo "fresh-debian: note: uncommitted changes in $src are not part of this run (it clones $ref)" >&2

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
base=$dir/bookworm-minbase.tar
root=$dir/root-$$
log=$dir/last.log
t0=$(date +%s)
since() { local s=$(($(date +%s) - $1)); printf '%d min %02d s' $((s / 60)) $((s % 60)); }
step() { echo "fresh-debian: $*" >&2; }

runner=
cleanup() {
  if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then kill "$runner"; wait "$runner" || true; fi
  if ((keep)); then step "the root is kept in $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT

# ---- a minimal Debian 12 ----
t=$(date +%s)
if ((cache)) && [ -f "$base" ]; then
  mkdir -p "$root" && tar -C "$root" -xpf "$base"
  step "base system unpacked from $base (debootstrap --variant=minbase bookworm, kept from an earlier run; --no-cache to make it anew) in $(since "$t")"
else
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 || {
    tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed (log: $dir/debootstrap.log)"; }
  ((cache)) && tar -C "$root" -cpf "$base.tmp" . && mv "$base.tmp" "$base"
  step "debootstrap --variant=minbase bookworm $mirror: $(since "$t")"
fi

# ---- what every real install has and a debootstrap root does not ----
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SRC
echo kaochang-fresh >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tkaochang-fresh\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
# As in Debian's container images: packages do not start services in a chroot (mariadb-server
# would start a system instance that nothing here uses).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# in_root CMD: runs CMD (a bash string) in the root as root with a login-like environment,
# in namespaces of its own: its mounts, its PIDs and its host name. Whatever it started dies
# with it (--kill-child kills the namespace's first process, and with it every other one).
in_root() {
  unshare --mount --uts --pid --fork --kill-child --mount-proc="$root/proc" /bin/sh -c '
    set -e
    mount --rbind /dev "$1/dev"
    mount -t sysfs sysfs "$1/sys"
    hostname kaochang-fresh
    exec chroot "$1" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
      TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      ${PORT:+PORT=$PORT} ${KC_DB_PORT:+KC_DB_PORT=$KC_DB_PORT} /bin/bash -c "$2"' sh "$root" "$1"
}

# ---- what a new user installs to get the code ----
t=$(date +%s)
in_root 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git make ca-certificates' \
  >"$dir/prereq.log" 2>&1 || { tail -n 20 "$dir/prereq.log" >&2; die "apt-get install git make ca-certificates failed"; }
step "apt-get install git make ca-certificates: $(since "$t")"
git clone -q --no-hardlinks "$src" "$root/root/kaochang"
git -C "$root/root/kaochang" checkout -q "$commit"
step "cloned $(git -C "$src" log -1 --format='%h %s' "$commit" | cut -c1-72)"

if ((demo)); then
  # ---- make demo, until the printed URL serves the login page ----
  export PORT=$((18000 + RANDOM % 1000)) KC_DB_PORT=$((19000 + RANDOM % 1000))
  t=$(date +%s)
  # Inside, a shell with job control runs make demo as a job of its own (so SIGINT is not
  # ignored, as it would be for a plain background command) and presses Ctrl-C, that is
  # SIGINT to the job's process group, when this script creates /tmp/ctrl-c in the root.
  in_root 'cd /root/kaochang && set -m && { make demo & job=$!;
    while kill -0 $job 2>/dev/null && [ ! -e /tmp/ctrl-c ]; do sleep 0.5; done
    [ -e /tmp/ctrl-c ] && kill -INT -- -$job; wait $job; echo "make demo: exit status $?"; }' >"$log" 2>&1 &
  runner=$!
  url=
  while kill -0 "$runner" 2>/dev/null; do
    url=${url:-$(sed -n 's/^ *Kaochang demo: \(http[^ ]*\).*/\1/p' "$log" | head -n1)}
    if [ -n "$url" ] && curl -sf -o /dev/null "${url%/}/healthz"; then break; fi
    (($(date +%s) - t < 3600)) || { tail -n 30 "$log" >&2; die "make demo: no answer within an hour"; }
    sleep 1
  done
  kill -0 "$runner" 2>/dev/null || { tail -n 40 "$log" >&2; die "make demo stopped before it answered (log: $log)"; }
  ready=$(since "$t")
  step "make demo: ${url%/}/healthz answers after $ready"
  page=$dir/login.html
  curl -sf -o "$page" "$url" || die "make demo: $url does not serve a page"
  grep -q 'data-testid="login-ticket"' "$page" || die "make demo: $url is not the login page (saved in $page)"
  n=0
  for a in $(grep -oE '(src|href)="/[^"]*"' "$page" | sed 's/^[a-z]*="\(.*\)"$/\1/' | sort -u); do
    curl -sf -o /dev/null "${url%/}$a" || die "make demo: the login page's $a does not load"
    n=$((n + 1))
  done
  step "make demo: $url serves the login page (考生登录) and its $n assets"
  # Ctrl-C, as the demo's user would press it: the server and the private MariaDB stop.
  touch "$root/tmp/ctrl-c"
  for _ in $(seq 1 60); do kill -0 "$runner" 2>/dev/null || break; sleep 1; done
  kill -0 "$runner" 2>/dev/null && die "make demo: still running 60 s after Ctrl-C (log: $log)"
  runner=
  grep -q 'mariadb-local: stopped' "$log" || { tail -n 20 "$log" >&2; die "make demo: Ctrl-C did not stop its MariaDB cleanly"; }
  step "make demo: Ctrl-C stopped the server and its MariaDB"
  echo "fresh-debian: make demo served $url after $ready; whole run $(since "$t0")"
  exit 0
fi

# ---- the command ----
t=$(date +%s)
set +e
in_root "cd /root/kaochang && $(printf '%q ' "${cmd[@]}")" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
what=$(printf '%s' "${cmd[*]}" | head -n1 | cut -c1-60)
echo "fresh-debian: $what: exit status $rc after $(since "$t"); whole run $(since "$t0") (log: $log)"
exit "$rc"
