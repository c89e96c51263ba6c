#!/usr/bin/env bash
# End-to-end tests: a throwaway MariaDB in a temp dir, the (ASan) server, the CLI checks,
# then the WebSocket integration test and the browser test (node --test). Cleans up after
# itself whatever happens.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/kaochang}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
tmp=$(mktemp -d /tmp/kaochang-e2e.XXXXXX)
dbport=$((20000 + RANDOM % 10000))
port=$((30000 + RANDOM % 10000))
srv=
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1

cleanup() {
  [ -n "$srv" ] && kill -TERM "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  "$root/deploy/mariadb-local" stop --dir "$tmp/db" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# expect STATUS DESCRIPTION CMD... : runs CMD, checks its exit status
expect() {
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" = "$want" ]; then ok "$what"; else fail "$what (exit $got, wanted $want)"; sed 's/^/     /' "$tmp/err" | head -20; fi
}
contains() {   # contains FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then ok "$3"; else fail "$3: no \"$2\" in:"; sed 's/^/     /' "$1" | head -20; fi
}

"$root/deploy/mariadb-local" start --dir "$tmp/db" --port "$dbport" || exit 1
conf=$tmp/kaochang.conf
{ printf '[server]\nport = %s\nlog_level = info\n\n' "$port"; cat "$tmp/db/client.conf"; } >"$conf"
kc() { "$bin" --config "$conf" "$@"; }
fx=$root/tests/fixtures

# ---- command line ----
expect 0 "kaochang --help" kc --help
contains "$tmp/out" "session add-candidates" "--help lists the commands"
expect 0 "kaochang bank --help" kc bank --help
contains "$tmp/out" "--dry-run" "bank --help describes its flags"
expect 2 "unknown command is refused" kc frobnicate
expect 0 "db migrate" kc db migrate
contains "$tmp/out" "applied 001_foundation.sql" "first migrate applies 001"
expect 0 "db migrate again" kc db migrate
contains "$tmp/out" "nothing to apply" "second migrate is a no-op"
mkdir -p "$tmp/badschema"; cp "$root"/deploy/schema/*.sql "$tmp/badschema/"
printf 'CREATE TABLE broken (id INT PRIMARY KEY, id INT);\n' >"$tmp/badschema/900_broken.sql"
expect 1 "a failing migration stops" kc db migrate --schema-dir "$tmp/badschema"
contains "$tmp/err" "900_broken.sql: SQL error" "the failing migration names its file and the SQL error"

printf '题型,题干,选项A,选项B,答案\n单选题,一,甲,乙,A\n单选题,二,甲,乙,C\n' >"$tmp/bad.csv"
expect 1 "a malformed CSV is rejected" kc bank import --format csv "$tmp/bad.csv"
contains "$tmp/err" "$tmp/bad.csv:3: 答案:" "the rejection names FILE:LINE: field"
expect 0 "dry run needs no database" "$bin" --db-socket /nonexistent bank import --format csv --dry-run "$fx/thin.csv"
expect 0 "import the fixture bank" kc bank import --format csv "$fx/thin.csv"
contains "$tmp/out" "5 new" "five items imported"
expect 0 "re-import is harmless" kc bank import --format csv "$fx/thin.csv"
contains "$tmp/out" "5 already in the bank" "re-import finds the items unchanged"
expect 0 "paper create" kc paper create --code THIN-P --title "测试卷" --items T-001,T-002,T-003,T-004,T-005
expect 0 "session THIN" kc session create --code THIN --title "测试场次" --paper THIN-P --duration 30m --show-score
expect 0 "session SHORT" kc session create --code SHORT --title "短场次" --paper THIN-P --duration 4s --show-score
expect 0 "candidates THIN" kc session add-candidates --session THIN "$fx/candidates.csv"
expect 0 "candidates SHORT" kc session add-candidates --session SHORT "$fx/candidates-short.csv"
expect 0 "registering the same candidates again is harmless" kc session add-candidates --session THIN "$fx/candidates.csv"
printf '准考证号,身份证号,姓名\n2026119999,110101199001011237,王小明\n' >"$tmp/moved.csv"
expect 1 "a second ticket for a seated candidate is refused" kc session add-candidates --session THIN "$tmp/moved.csv"
contains "$tmp/err" "already has ticket 2026110001" "the refusal names the existing ticket"
printf '准考证号,身份证号,姓名\nX1,110101199001011230,某\n' >"$tmp/badc.csv"
expect 1 "a wrong ID check digit is rejected" kc session add-candidates --session THIN "$tmp/badc.csv"
contains "$tmp/err" "badc.csv:2: 身份证号: the check digit does not match" "the rejection names the line and field"

# ---- the server ----
"$bin" --config "$conf" serve >"$tmp/server.log" 2>&1 &
srv=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
expect 0 "server answers /healthz" curl -sf "http://127.0.0.1:$port/healthz"
curl -s -D "$tmp/h1" -o /dev/null "http://127.0.0.1:$port/"
contains "$tmp/h1" "content-security-policy" "HTML carries the strict security headers"
contains "$tmp/h1" "no-store" "HTML is not cached"
curl -s -D "$tmp/h2" -o /dev/null "http://127.0.0.1:$port/static/app.js"
contains "$tmp/h2" "max-age=31536000" "static assets are cached long"
contains "$tmp/h2" "text/javascript" "JavaScript has its MIME type"

if [ -d "$root/tests/node_modules/playwright-core" ]; then
  (cd "$root/tests" && KC_URL="http://127.0.0.1:$port" KC_BIN="$bin" KC_CONFIG="$conf" \
     KC_FIXTURES="$fx" node --test --test-concurrency=1 integration/ browser/)
  if [ $? -eq 0 ]; then ok "node tests (integration + browser)"; else fail "node tests (integration + browser)"; fi
else
  fail "tests/node_modules missing: run deploy/install-deps.sh"
fi

# SIGTERM: finish pending work, exit 0, no sanitizer report.
kill -TERM "$srv"; wait "$srv"; rc=$?; srv=
if [ $rc -eq 0 ]; then ok "server exits 0 on SIGTERM"; else fail "server exit status $rc on SIGTERM"; tail -30 "$tmp/server.log"; fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/server.log"; then
  fail "sanitizer report in the server log"; grep -A30 -E 'Sanitizer|runtime error' "$tmp/server.log" | head -60
else
  ok "no sanitizer report from the server"
fi
contains "$tmp/server.log" "stopped" "server logged its clean stop"

echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ]
