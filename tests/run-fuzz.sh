#!/usr/bin/env bash
# tests/run-fuzz.sh SECONDS BINARY...: runs each libFuzzer target (tests/fuzz/fuzz_NAME.c,
# built as build/fuzz/fuzz_NAME) for SECONDS on build/fuzz/corpus/NAME plus the committed
# seeds in tests/fuzz/corpus/NAME. libFuzzer's progress goes to build/fuzz/NAME.log; the
# terminal gets one line per target, and a crash, leak or timeout its report (the log
# without the progress lines; the input is left in build/fuzz/crash-NAME-*). Prints
# "fuzz: N passed, N failed" (a target is one test); with KC_RESULTS=DIR set, also writes
# "N N" to DIR/fuzz for the summary of `make test`. Exit 1 on any failure.
set -uo pipefail
secs=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
out=${KC_RESULTS:-}
fuzzcc=${FUZZCC:-clang}
# Symbolized stacks in reports: clang's own llvm-symbolizer (llvm-N), wherever it lives.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  sym=$("$fuzzcc" -print-prog-name=llvm-symbolizer 2>/dev/null)
  [ -x "$sym" ] || sym=$(command -v llvm-symbolizer || true)
  [ -n "$sym" ] && export ASAN_SYMBOLIZER_PATH=$sym
fi
passed=0 failed=0
for t in "$@"; do
  n=${t##*/fuzz_}
  dir=$(dirname "$t")
  log=$dir/$n.log
  mkdir -p "$dir/corpus/$n"
  seeds=
  [ -d "$root/tests/fuzz/corpus/$n" ] && seeds=$root/tests/fuzz/corpus/$n
  "$t" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/crash-$n-" "$dir/corpus/$n" $seeds >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok   fuzz $n: ${runs:-?} runs in $secs s (log: $log)"
  else
    failed=$((failed + 1))
    echo "FAIL fuzz $n: exit status $rc (log: $log)"
    grep -Ev '^#[0-9]+[[:space:]]|^INFO: |^stat::|^Loaded [0-9]+ modules|^Done [0-9]+ runs' "$log" |
      sed 's/^/     /' | head -n 200
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ -n "$out" ] && mkdir -p "$out" && echo "$passed $failed" >"$out/fuzz"
[ "$failed" -eq 0 ]
