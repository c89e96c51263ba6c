#!/usr/bin/env bash
# tests/summary.sh DIR SUITE...: the end of `make test`. Each suite's runner wrote "P F"
# (passed, failed) to DIR/SUITE; a suite with no file did not run to its end and counts as
# one failure. Prints a line per suite, then the sum alone on the last line:
# "N passed, N failed". Exit 1 when anything failed.
set -uo pipefail
dir=$1; shift
passed=0 failed=0
echo
echo "== make test, by suite:"
for s in "$@"; do
  if read -r p f 2>/dev/null <"$dir/$s" && [[ $p =~ ^[0-9]+$ && $f =~ ^[0-9]+$ ]]; then
    printf '   %-10s %5d passed, %d failed\n' "$s" "$p" "$f"
  else
    p=0 f=1
    printf '   %-10s did not report: counted as 1 failure\n' "$s"
  fi
  passed=$((passed + p)) failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
