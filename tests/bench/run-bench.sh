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
# (build/bench/snapshot) keyed by the generated files, the schema and this script, so a
# second run restores it in a second instead of importing again; BENCH_FRESH=1 rebuilds it.
# BENCH_DB_PORT (default: random) is the loopback port of the private MariaDB; BENCH_SEED
# (default 1) seeds the generator; BENCH_ROOMS=1 gives the candidates 考场 and 座位号.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/kaochang}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
work=$root/build/bench
gen=$work/bench_gen
assemble=$work/bench_assemble
dbdir=$work/db
snap=$work/snapshot
data=$work/data
port=${BENCH_DB_PORT:-$((20000 + RANDOM % 10000))}
seed=${BENCH_SEED:-1}
session=BENCH
template=BENCH-T
occupation=4-99-00-01

[ -x "$bin" ] || { echo "run-bench: $bin is not built (make all)" >&2; exit 1; }
for b in "$gen" "$assemble"; do
  [ -x "$b" ] || { echo "run-bench: $b is not built (make bench builds it)" >&2; exit 1; }
done

stop_db() { "$root/deploy/mariadb-local" stop --dir "$dbdir" >/dev/null 2>&1 || true; }
trap stop_db EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
conf=$work/kaochang.conf
kc() { "$bin" --config "$conf" "$@"; }
dbconf() { awk -F' *= *' -v k="$1" '$1 == k { print $2 }' "$dbdir/client.conf"; }
sql() { mysql --default-character-set=utf8mb4 -S "$(dbconf socket)" -u "$(dbconf user)" -p"$(dbconf password)" -N -B "$(dbconf database)" -e "$1"; }
# step NAME CMD...: runs CMD quietly, prints and records its wall time; on failure shows why.
step() {
  local name=$1 t0; shift
  t0=$(now)
  if ! "$@" >"$work/step.out" 2>"$work/step.err"; then
    echo "run-bench: $name failed:" >&2
    sed 's/^/    /' "$work/step.err" "$work/step.out" | head -40 >&2
    exit 1
  fi
  local s; s=$(since "$t0")
  printf 'setup: %s: %s s\n' "$name" "$s" | tee -a "$work/setup.new"
}
start_db() {
  "$root/deploy/mariadb-local" start --dir "$dbdir" --port "$port" >/dev/null
  { printf '[server]\nport = %s\n\n' "$((port + 1))"; cat "$dbdir/client.conf"; } >"$conf"
}

# InnoDB recomputes index statistics in the background some seconds after a bulk load;
# until then they may describe the table as it was before (a few rows), and plans made
# from them can be far off. A snapshot taken at once would freeze that state, which a
# running server leaves on its own, so wait (at most a minute) until the statistics of the
# large tables count at least half of their rows.
settle() {
  local t table key rows card
  for t in item:item_uid_version attempt:PRIMARY candidate:PRIMARY; do
    table=${t%%:*} key=${t#*:}
    rows=$(sql "SELECT COUNT(*) FROM $table")
    for _ in $(seq 1 120); do
      card=$(sql "SHOW INDEX FROM $table WHERE Key_name = '$key'" | awk -F'\t' 'NR == 1 { print $7 }')
      [ "$((card * 2))" -ge "$rows" ] && continue 2
      sleep 0.5
    done
    echo "run-bench: the index statistics of $table count $card of its $rows rows after a minute" >&2
    return 1
  done
}

mkdir -p "$work"
rooms=
[ "${BENCH_ROOMS:-0}" = 1 ] && rooms=--rooms
"$gen" "$data" --seed "$seed" $rooms >/dev/null
key=$(cat "$data"/* "$root"/deploy/schema/*.sql "$0" | sha256sum | cut -c1-16)

# 1. Generation alone: how much of the budget the assembly itself takes.
"$assemble" "$data" --papers "$(($(wc -l <"$data/candidates.csv") - 1))" --seed "$seed"

# 2. The whole of `session prepare`, DB reads and writes included.

stop_db
if [ "${BENCH_FRESH:-0}" != 1 ] && [ -f "$snap/key" ] && [ "$(cat "$snap/key")" = "$key" ]; then
  rm -rf "$dbdir/data"
  mkdir -p "$dbdir"
  cp -a "$snap/data" "$dbdir/data"
  start_db
  echo "setup: restored the snapshot of $(cat "$snap/made") (BENCH_FRESH=1 rebuilds it); it took:"
  cat "$snap/setup.txt"
else
  rm -rf "$dbdir" "$snap"
  : >"$work/setup.new"
  t_all=$(now)
  step "MariaDB start" start_db
  step "db migrate" kc db migrate
  step "occupation add" kc bank occupation add --code "$occupation" --name 基准测试员 --levels 4
  step "blueprint import ($(grep -c '^鉴定点,' "$data/blueprint.csv") 鉴定点)" \
    kc bank blueprint import --occupation "$occupation" --level 4 --part theory "$data/blueprint.csv"
  step "bank import ($(($(wc -l <"$data/bank.csv") - 1)) items, approved)" \
    kc bank import --format csv --status approved --by bench "$data/bank.csv"
  step "paper template import" kc paper template import "$data/template.json"
  step "session create" kc session create --code "$session" --title 基准测试考试 --template "$template" \
    --duration 90m --seed "$seed"
  step "add-candidates ($(($(wc -l <"$data/candidates.csv") - 1)))" \
    kc session add-candidates --session "$session" "$data/candidates.csv"
  step "index statistics (InnoDB, in the background)" settle
  printf 'setup: all: %s s\n' "$(since "$t_all")" | tee -a "$work/setup.new"
  # The snapshot is taken from a cleanly stopped server.
  stop_db
  mkdir -p "$snap"
  cp -a "$dbdir/data" "$snap/data"
  mv "$work/setup.new" "$snap/setup.txt"
  date -u +%Y-%m-%dT%H:%MZ >"$snap/made"
  echo "$key" >"$snap/key"
  start_db
fi

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
