#!/usr/bin/env bash
# `make bench`: paper assembly at scale (issue 4, "Speed"). A private MariaDB under
# build/bench, a synthetic bank (tests/bench/bench_gen.c: a three-level blueprint, 20,000
# approved items, 10,000 candidates, a 按鉴定点组卷 template of 100 items), then the wall
# time of `kaochang session prepare` making every candidate's paper, DB writes included.
# First the same papers without the database (bench_assemble.c). Each benchmark ends with
# one summary line of key=value pairs (docs/BENCHMARKS.md).
#
#   tests/bench/run-bench.sh [KAOCHANG_BINARY]
#
# The database state before `prepare` is kept as a snapshot of the data directory
# (build/bench/snapshot, made by tests/bench/bench-lib.sh) keyed by the generated files, the
# schema and bench-lib.sh, so a second run restores it in a second instead of importing again; BENCH_FRESH=1 rebuilds it.
# BENCH_DB_PORT (default: random) is the loopback port of the private MariaDB; BENCH_SEED
# (default 1) seeds the generator; BENCH_ROOMS=1 gives the candidates 考场 and 座位号.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/kaochang}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
assemble=$root/build/bench/bench_assemble
[ -x "$bin" ] || { echo "run-bench: $bin is not built (make all)" >&2; exit 1; }
[ -x "$assemble" ] || { echo "run-bench: $assemble is not built (make bench builds it)" >&2; exit 1; }
# shellcheck source=bench-lib.sh
. "$root/tests/bench/bench-lib.sh"
trap stop_db EXIT

bench_data

# 1. Generation alone: how much of the budget the assembly itself takes.
"$assemble" "$data" --papers "$(($(wc -l <"$data/candidates.csv") - 1))" --seed "$seed"

# 2. The whole of `session prepare`, DB reads and writes included.
bench_db

# What prepare made: papers, items per paper (fewest, most), points, and a digest of the rows.
made() {
  sql "SELECT COUNT(*), COALESCE(MIN(i.n_items), 0), COALESCE(MAX(i.n_items), 0),
              COALESCE(MIN(i.total_centi), 0), COALESCE(MAX(i.total_centi), 0),
              COALESCE(SUM(CRC32(i.items)), 0)
         FROM paper_instance i JOIN exam_session s ON s.id = i.session_id WHERE s.code = '$session'"
}
read -r attempts seated < <(sql "SELECT COUNT(*), COUNT(a.seat) FROM attempt a JOIN exam_session s ON s.id = a.session_id WHERE s.code = '$session'")
bank=$(sql "SELECT COUNT(*) FROM item WHERE status = 'approved' AND parent_id IS NULL AND occupation_code = '$occupation'")
[ "$(made | cut -f1)" = 0 ] || { echo "run-bench: the session already has papers before prepare" >&2; exit 1; }

echo "timing: kaochang session prepare $session ($attempts candidates, bank of $bank approved items)"
t0=$(now)
if ! kc session prepare "$session" >"$work/prepare.out" 2>"$work/prepare.err"; then
  echo "run-bench: session prepare failed:" >&2
  sed 's/^/    /' "$work/prepare.err" "$work/prepare.out" | head -40 >&2
  exit 1
fi
seconds=$(since "$t0")
sed 's/^/prepare: /' "$work/prepare.out"
read -r papers imin imax pmin pmax digest < <(made)

# Idempotent: a second run makes nothing new and changes no paper.
t0=$(now)
kc session prepare "$session" >"$work/prepare2.out" 2>"$work/prepare2.err" ||
  { echo "run-bench: the second session prepare failed:" >&2; sed 's/^/    /' "$work/prepare2.err" >&2; exit 1; }
again=$(since "$t0")
read -r papers2 _ _ _ _ digest2 < <(made)

# Every stored paper regenerated from its seed and checked against the template.
t0=$(now)
kc session verify "$session" >"$work/verify.out" 2>"$work/verify.err" ||
  { echo "run-bench: session verify found problems:" >&2; sed 's/^/    /' "$work/verify.err" "$work/verify.out" | head -20 >&2; exit 1; }
verify_s=$(since "$t0")
sed 's/^/verify: /' "$work/verify.out" | tail -3

bad=0
[ "$papers" = "$attempts" ] || { echo "run-bench: $papers papers for $attempts candidates" >&2; bad=1; }
[ "$imin" = "$imax" ] || { echo "run-bench: papers hold $imin to $imax items" >&2; bad=1; }
[ "$pmin" = 10000 ] && [ "$pmax" = 10000 ] || { echo "run-bench: papers are worth $pmin to $pmax (x 0.01 points), not 100" >&2; bad=1; }
[ "$papers2" = "$papers" ] && [ "$digest2" = "$digest" ] ||
  { echo "run-bench: the second prepare changed the papers ($papers -> $papers2 rows)" >&2; bad=1; }
[ "$bad" = 0 ] || exit 1

per_s=$(awk -v n="$papers" -v s="$seconds" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
echo "bench=papers papers=$papers items=$imax bank=$bank seconds=$seconds papers_per_s=$per_s second_run_s=$again verify_s=$verify_s seated=$seated"
