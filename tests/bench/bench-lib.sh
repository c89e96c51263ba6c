# The benchmarks' database (sourced by tests/bench/run-bench.sh and tests/load/run-delivery.sh):
# a private MariaDB under build/bench/db holding the generated occupation, blueprint, bank
# of 20,000 approved items, template BENCH-T and session BENCH with 10,000 candidates (no
# papers), restored from a snapshot of its data directory when one matches the generated
# files, the schema and this file, else imported with the real CLI and
# snapshotted. Needs $root and $bin; sets the names below. BENCH_DB_PORT, BENCH_SEED,
# BENCH_ROOMS and BENCH_FRESH as in docs/BENCHMARKS.md.
work=$root/build/bench
gen=$work/bench_gen
dbdir=$work/db
snap=$work/snapshot
data=$work/data
port=${BENCH_DB_PORT:-$((20000 + RANDOM % 10000))}
seed=${BENCH_SEED:-1}
session=BENCH
template=BENCH-T
occupation=4-99-00-01
conf=$work/kaochang.conf

stop_db() { "$root/deploy/mariadb-local" stop --dir "$dbdir" >/dev/null 2>&1 || true; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
kc() { "$bin" --config "$conf" "$@"; }
dbconf() { awk -F' *= *' -v k="$1" '$1 == k { print $2 }' "$dbdir/client.conf"; }
sql() { mysql --default-character-set=utf8mb4 -S "$(dbconf socket)" -u "$(dbconf user)" -p"$(dbconf password)" -N -B "$(dbconf database)" -e "$1"; }
# step NAME CMD...: runs CMD quietly, prints and records its wall time; on failure shows why.
step() {
  local name=$1 t0; shift
  t0=$(now)
  if ! "$@" >"$work/step.out" 2>"$work/step.err"; then
    echo "${0##*/}: $name failed:" >&2
    sed 's/^/    /' "$work/step.err" "$work/step.out" | head -40 >&2
    exit 1
  fi
  local s; s=$(since "$t0")
  printf 'setup: %s: %s s\n' "$name" "$s" | tee -a "$work/setup.new"
}
# A redo log of a production size (deploy/mariadb-local: 16 MB makes a synchronized start
# wait for checkpoints); BENCH_DB_REDO another.
start_db() {
  KC_DB_REDO=${BENCH_DB_REDO:-512M} "$root/deploy/mariadb-local" start --dir "$dbdir" --port "$port" >/dev/null
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
    echo "${0##*/}: the index statistics of $table count $card of its $rows rows after a minute" >&2
    return 1
  done
}

# bench_data: the generated files in build/bench/data and the snapshot's key.
bench_data() {
  [ -x "$gen" ] || { echo "${0##*/}: $gen is not built (make bench builds it)" >&2; exit 1; }
  mkdir -p "$work"
  local rooms=
  [ "${BENCH_ROOMS:-0}" = 1 ] && rooms=--rooms
  "$gen" "$data" --seed "$seed" $rooms >/dev/null
  key=$(cat "$data"/* "$root"/deploy/schema/*.sql "$root/tests/bench/bench-lib.sh" |
        sha256sum | cut -c1-16)
}

# bench_db: the database as described above, running (stopped by stop_db).
bench_db() {
  stop_db
  if [ "${BENCH_FRESH:-0}" != 1 ] && [ -f "$snap/key" ] && [ "$(cat "$snap/key")" = "$key" ]; then
    rm -rf "$dbdir/data"
    mkdir -p "$dbdir"
    cp -a "$snap/data" "$dbdir/data"
    start_db
    echo "setup: restored the snapshot of $(cat "$snap/made") (BENCH_FRESH=1 rebuilds it); it took:"
    cat "$snap/setup.txt"
    return
  fi
  rm -rf "$dbdir" "$snap"
  : >"$work/setup.new"
  local t_all; t_all=$(now)
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
}
