#!/usr/bin/env bash
# The delivery benchmark (issue 11, point 9; docs/BENCHMARKS.md "bench=delivery"): the
# optimized `kaochang serve` with its private MariaDB and the load generator build/load/kc_load
# on this machine. N candidates log in over the real protocol, start at one instant, answer
# every 10 s and heartbeat every 5 s for DURATION seconds, all reconnect (resume) at once,
# continue briefly; then every answer the generator saw acknowledged is looked up in the
# database. The last line is
#   bench=delivery candidates=… connections=… msgs_per_s=… ack_p50_ms=… … missing=… …
#
#   tests/load/run-delivery.sh [--candidates N] [--duration S] [KAOCHANG_BINARY]
#
# The database is the one of tests/bench/run-bench.sh (the snapshot of build/bench, made
# on first use), plus a session DELIVERY that opens now with N candidates of its own
# (tickets D26…; the same people as BENCH's) and their papers made by `session prepare`.
# BENCH_SERVE_OPTS adds options to `kaochang serve` (e.g. "--set pools.exam_workers=8").
# BENCH_DB_PORT, BENCH_SEED and BENCH_FRESH as for run-bench.sh; KC_LOAD_OPTS adds options
# to kc_load (e.g. "--ramp 1000 --errors 20"). Exit status 1 when an acknowledged answer
# is missing or differs in the database, on any error the generator counted, or when a
# step fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=15000 duration=120 bin=$root/build/kaochang
while [ $# -gt 0 ]; do
  case $1 in
    --candidates) n=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -*) echo "usage: run-delivery.sh [--candidates N] [--duration S] [KAOCHANG_BINARY]" >&2; exit 2 ;;
    *) bin=$1; shift ;;
  esac
done
case $bin in /*) ;; *) bin=$root/$bin ;; esac
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run-delivery: --candidates: expected a positive number, got $n" >&2; exit 2; }
if ! [[ $duration =~ ^[1-9][0-9]*$ ]] || [ "$duration" -lt 10 ]; then
  echo "run-delivery: --duration: expected whole seconds, at least 10, got $duration" >&2
  exit 2
fi
load=$root/build/load/kc_load
[ -x "$bin" ] || { echo "run-delivery: $bin is not built (make all)" >&2; exit 1; }
[ -x "$load" ] || { echo "run-delivery: $load is not built (make bench-delivery builds it)" >&2; exit 1; }

# shellcheck source=../bench/bench-lib.sh
. "$root/tests/bench/bench-lib.sh"
dwork=$work/delivery
dsession=DELIVERY
spid=

stop_server() {
  [ -n "$spid" ] || return 0
  if kill -0 "$spid" 2>/dev/null; then
    kill -TERM "$spid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$spid" 2>/dev/null || true
  fi
  wait "$spid" 2>/dev/null || true
  spid=
}
trap 'stop_server; stop_db' EXIT

# Connections: one slot per candidate and a margin, within what one process may open.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
slots=$((n + 1000))
[ "$slots" -gt "$((hard - 200))" ] && slots=$((hard - 200))
[ "$slots" -ge "$((n + 50))" ] ||
  { echo "run-delivery: $n candidates do not fit the server's open-file limit ($hard)" >&2; exit 1; }

bench_data
bench_db

# The delivery session. BENCH's window is moved into the past first: serve makes the papers
# of open sessions by itself, which would run during the measurement.
rm -rf "$dwork"
mkdir -p "$dwork"
"$gen" "$dwork/data" --seed "$seed" --candidates "$n" --tickets D26 >/dev/null
# A binary newer than the snapshot may have migrations of its own (a no-op otherwise).
step "db migrate" kc db migrate
step "BENCH moved into the past" sql "UPDATE exam_session SET opens_at = '2000-01-01', closes_at = '2000-01-02' WHERE code = '$session'"
step "session create ($dsession, open now for 3 h)" kc session create --code "$dsession" --title 投送基准考试 \
  --template "$template" --duration 3h --seed "$seed"
step "add-candidates ($n)" kc session add-candidates --session "$dsession" "$dwork/data/candidates.csv"
step "session prepare ($n papers)" kc session prepare "$dsession"

sconf=$dwork/kaochang.conf
healthy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$sport" && printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    IFS= read -r -t 2 line <&3 && [[ $line == *" 200"* ]]) 2>/dev/null
}
# The server's port: next to the database's, or another random one when that is taken.
sport=$((port + 1))
for try in 1 2 3 4 5; do
  {
    printf '[server]\nport = %s\nmax_connections = %s\nlog_level = warn\n\n' "$sport" "$slots"
    cat "$dbdir/client.conf"
  } >"$sconf"
  # shellcheck disable=SC2086  # BENCH_SERVE_OPTS is split on purpose ("--set a=1 --set b=2")
  "$bin" --config "$sconf" ${BENCH_SERVE_OPTS:-} serve >"$dwork/server.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 300); do
    healthy && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  healthy && break
  if ! kill -0 "$spid" 2>/dev/null && grep -q "could not listen" "$dwork/server.log" && [ "$try" -lt 5 ]; then
    wait "$spid" 2>/dev/null || true
    spid=''
    sport=$((20000 + RANDOM % 10000))
    continue
  fi
  echo "run-delivery: the server did not start or does not answer /healthz:" >&2
  tail -20 "$dwork/server.log" >&2
  exit 1
done
echo "delivery: server pid $spid on 127.0.0.1:$sport, max_connections $slots; $n candidates for $duration s"

# A hard limit over the generator's own: login ramp, start, steady phase, reconnect, tail,
# drain and a margin.
limit=$((n / 1000 + duration + 400))
set +e
# shellcheck disable=SC2086
timeout -k 10 "$limit" "$load" --port "$sport" --candidates "$dwork/data/candidates.csv" --count "$n" \
  --duration "$duration" --server-pid "$spid" --acked "$dwork/acked" ${KC_LOAD_OPTS:-} | tee "$dwork/load.out"
lrc=${PIPESTATUS[0]}
set -e
stop_server
[ "$lrc" = 0 ] || { echo "run-delivery: kc_load failed (exit status $lrc)" >&2; exit 1; }
warn=$(grep -c -E ' (WARN|ERROR) ' "$dwork/server.log" || true)
[ "$warn" = 0 ] || { echo "delivery: the server logged $warn warnings or errors; the first ones:"; grep -E ' (WARN|ERROR) ' "$dwork/server.log" | head -5 | sed 's/^/    /'; }

# Every acknowledged answer must be in the database with at least that seq; at the same
# seq, with the response that was sent (as stored: letters sorted, T/F, blanks joined).
loads=
for f in "$dwork"/acked.*.tsv; do
  loads+="LOAD DATA LOCAL INFILE '$f' INTO TABLE acked CHARACTER SET utf8mb4
            FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' (ticket, item, seq, response);"
done
lines=$(cat "$dwork"/acked.*.tsv | wc -l)
read -r rows missing differ newer < <(mysql --local-infile=1 --default-character-set=utf8mb4 -S "$(dbconf socket)" \
  -u "$(dbconf user)" -p"$(dbconf password)" -N -B "$(dbconf database)" -e "
  CREATE TEMPORARY TABLE acked (ticket VARCHAR(32) NOT NULL, item BIGINT UNSIGNED NOT NULL,
    seq BIGINT UNSIGNED NOT NULL, response VARCHAR(4000) NOT NULL, PRIMARY KEY (ticket, item))
    DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
  $loads
  SELECT COUNT(*), COALESCE(SUM(w.seq IS NULL OR w.seq < k.seq), 0),
         COALESCE(SUM(w.seq = k.seq AND BINARY w.response <> BINARY k.response), 0),
         COALESCE(SUM(w.seq > k.seq), 0)
    FROM acked k
    LEFT JOIN attempt a ON a.ticket_no = k.ticket
     AND a.session_id = (SELECT id FROM exam_session WHERE code = '$dsession')
    LEFT JOIN answer w ON w.attempt_id = a.id AND w.item_id = k.item")
[ "$rows" = "$lines" ] || { echo "run-delivery: $lines acknowledged answers written, $rows loaded" >&2; exit 1; }
stored=$(sql "SELECT COUNT(*) FROM answer w JOIN attempt a ON a.id = w.attempt_id JOIN exam_session s ON s.id = a.session_id WHERE s.code = '$dsession'")
echo "delivery: database: $rows acknowledged (ticket, item) checked: $missing missing or older, $differ with another response at the same seq, $newer newer than acknowledged; $stored answers stored in all"

line=$(grep '^delivery: candidates=' "$dwork/load.out" | tail -1)
declare -A v
for kv in ${line#delivery: }; do v[${kv%%=*}]=${kv#*=}; done
echo "bench=delivery candidates=${v[candidates]} connections=${v[connections]} msgs_per_s=${v[msgs_per_s]}" \
  "ack_p50_ms=${v[ack_p50_ms]} ack_p95_ms=${v[ack_p95_ms]} ack_p99_ms=${v[ack_p99_ms]} ack_max_ms=${v[ack_max_ms]}" \
  "ack_steady_p99_ms=${v[ack_steady_p99_ms]}" \
  "start_p50_ms=${v[start_p50_ms]} start_p99_ms=${v[start_p99_ms]} resume_p99_ms=${v[resume_p99_ms]}" \
  "errors=${v[errors]} missing=$((missing + differ)) server_cpu_pct=${v[server_cpu_pct]}" \
  "svc_cpu_ms_per_1k_msgs=${v[svc_cpu_ms_per_1k_msgs]} rss_per_candidate_kb=${v[rss_per_candidate_kb]}"
[ "$((missing + differ))" = 0 ] && [ "${v[errors]}" = 0 ]
