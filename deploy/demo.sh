#!/usr/bin/env bash
# `make demo`: a private MariaDB under var/, the schema, the demo bank, a demo paper and
# session with demo candidates, then the server on http://127.0.0.1:${PORT:-8080}.
# Ctrl-C stops the server and the private MariaDB cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-8080}
bin=$root/build/kaochang
var=$root/var
mkdir -p "$var"

deploy/mariadb-local start --dir "$var/mariadb" --port "${KC_DB_PORT:-3407}"
stop_db() { deploy/mariadb-local stop --dir "$var/mariadb" || true; }
trap stop_db EXIT

conf=$var/kaochang.conf
{
  echo "[server]"
  echo "port = $port"
  echo
  cat "$var/mariadb/client.conf"
} >"$conf"
kc() { "$bin" --config "$conf" "$@"; }

kc db migrate
kc bank occupation add --code 4-04-04-02 --name 网络与信息安全管理员 --edition 2020年版 \
   --levels 4,3 --work-types 网络安全管理员,信息安全管理员
# The blueprints first: every 鉴定点代码 of the bank is then checked against them.
for part in theory skills; do
  kc bank blueprint import --occupation 4-04-04-02 --level 4 --part $part \
     "bank/demo/netsec-l4-$part-blueprint.csv"
done
# The demo bank is shown to candidates as is: imported approved (a real bank goes through
# kaochang bank review / approve). A second start finds the items unchanged.
for f in netsec-l4-single netsec-l4-theory netsec-l4-practical; do
  kc bank import --format csv --occupation 4-04-04-02 --level 4 --status approved --by demo \
     "bank/demo/$f.csv"
done
# The theory paper (组卷方案): 按鉴定点组卷 over the theory blueprint, 100 points of single,
# multiple, true/false, fill-in and short-answer items; checked against the bank on import.
kc paper template import --by demo bank/demo/netsec-l4-theory-template.json
if ! kc results DEMO >/dev/null 2>&1; then
  # Every candidate gets a paper of their own (千人千卷), made before the session opens.
  kc session create --code DEMO --title "网络与信息安全管理员（四级）理论知识考试（演示）" \
     --template DEMO-NETSEC-L4-T --duration 60m --opens now --closes +30d --show-score \
     --seat-columns 5
  kc session add-candidates --session DEMO deploy/demo/candidates.csv
fi
kc session prepare DEMO
# Staff accounts for the author and reviewer pages (demo passwords; a real centre sets
# its own with kaochang user add).
kc user add --login author --name 演示命题员 --roles author --password-file deploy/demo/staff-password
kc user add --login reviewer --name 演示审核员 --roles reviewer --password-file deploy/demo/staff-password
kc user add --login chief --name 演示题库管理员 --roles admin,author,reviewer \
   --password-file deploy/demo/staff-password

cat <<MSG

  Kaochang demo: http://127.0.0.1:$port/

  Demo candidates (准考证号 / 身份证号):
$(tail -n +2 deploy/demo/candidates.csv | awk -F, '{printf "    %s / %s  %s\n", $1, $2, $3}')

  Staff pages (命题、审核、题库健康度): http://127.0.0.1:$port/author.html
    author (命题员), reviewer (审核员), chief (admin), password: $(head -n1 deploy/demo/staff-password)

  Results: build/kaochang --config var/kaochang.conf results DEMO
  Press Ctrl-C to stop the server and the private MariaDB.

MSG
# Not exec: the EXIT trap must run after the server stops to shut MariaDB down.
"$bin" --config "$conf" serve &
srv=$!
trap 'kill -TERM $srv 2>/dev/null || true' INT TERM
wait $srv || true
wait $srv 2>/dev/null || true
