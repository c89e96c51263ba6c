#!/usr/bin/env bash
# tests/run-unit.sh BINARY...: runs each Criterion unit-test binary (ASan/UBSan build) and
# counts its tests from a TAP report; a binary that dies before reporting counts every test
# it lists as failed. Prints "unit: N passed, N failed"; with KC_RESULTS=DIR set, also
# writes "N N" to DIR/unit for the summary of `make test`. Exit 1 on any failure.
set -uo pipefail
out=${KC_RESULTS:-}
tap=$(mktemp -d)
trap 'rm -rf "$tap"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
passed=0 failed=0
for t in "$@"; do
  n=${t##*/}
  echo "== $t"
  "$t" --jobs 2 --tap="$tap/$n.tap"
  rc=$?
  plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tap/$n.tap" 2>/dev/null | head -n1)
  ok=$(grep -c '^ok ' "$tap/$n.tap" 2>/dev/null)
  if [ -z "$plan" ]; then
    plan=$("$t" --list 2>/dev/null | grep -c '── ')
    [ "$plan" -gt 0 ] || plan=1
    ok=0
  fi
  bad=$((plan - ${ok:-0}))
  # A clean TAP with a non-zero exit (a leak reported at exit, say) is still a failure.
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    echo "FAIL $n: exit status $rc after all tests passed"
    bad=1
  fi
  passed=$((passed + plan - bad)) failed=$((failed + bad))
done
echo "unit: $passed passed, $failed failed"
[ -n "$out" ] && mkdir -p "$out" && echo "$passed $failed" >"$out/unit"
[ "$failed" -eq 0 ]
