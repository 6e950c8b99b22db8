#!/usr/bin/env bash
# The API under load, on the generated org of N applications in PostgreSQL (the database of
# bench/reports.sh: /var/tmp/hireplane-bench-org-N imported into hp_bench_N). Run from the
# repository root:
#
#   bench/api.sh [N]      (default 1000000; needs `wrk`: apt-get install wrk)
#
# Starts `hireplane serve` (release build) on the database, makes a token for a user of role
# API_ROLE (default admin; `recruiter`, `hiring_manager`, `interviewer` add the policy's row
# filters to every query), and measures with wrk (bench/api-page.lua: a page of 50
# applications with candidate, job and current stage after a random cursor, the cursor in the
# query's variables as Relay and Apollo clients send it; HP_QUERY_FORM=inline writes it into the
# query text instead):
#   0. the database alone: the page's SQL (bench/api-page.sql, as an admin) with pgbench and the
#      settings the store uses for pages (store::Plan::Page), the ceiling of any server on this
#      machine;
#   1. a fixed offered rate of API_RATE requests/s (default 1000) for API_SECONDS (default 30),
#      an open loop (bench/api-page.lua: requests on a fixed schedule, not a pause after each
#      response, so slow responses do not lower the rate offered): rate served and latency
#      percentiles (wrk's, from sending a request to its response);
#   2. saturation: API_CONNECTIONS (default 64) connections as fast as they go;
#   3. a standard report (API_REPORT, default funnel) through the API and through the CLI,
#      API_RUNS times each, alternating: medians and the ratio API / CLI;
#   4. the server's peak memory (VmHWM) after all of it.
# Environment: HIREPLANE_BENCH_POSTGRES (server URL, default postgres://postgres@127.0.0.1:5432/postgres),
# API_BIN (a binary to run instead of the checkout's release build).
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
rate=${API_RATE:-1000}
seconds=${API_SECONDS:-30}
connections=${API_CONNECTIONS:-64}
report=${API_REPORT:-funnel}
runs=${API_RUNS:-7}
port=${API_PORT:-18181}
command -v wrk >/dev/null || { echo "bench/api.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
echo "rerun: bench/api.sh $n   (API_RATE=$rate API_SECONDS=$seconds API_CONNECTIONS=$connections API_REPORT=$report)" >&2

source bench/bench-org.sh
# API_BIN: another build's binary, to compare two builds side by side in one session.
bin=${API_BIN:-$bin}

role=${API_ROLE:-admin}
user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = '$role' AND active ORDER BY id LIMIT 1")
echo "as $role $user" >&2
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name bench --expires-in 1d 2>/dev/null)

# 100 connections in phase 1: over the default per-address limit of 64.
export HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LIMITS__MAX_CONNECTIONS_PER_IP=1000 HIREPLANE_LOG_LEVEL=warn HIREPLANE_POOL__SIZE=${API_POOL:-16}
"$bin" --database "$dburl" serve --listen "127.0.0.1:$port" >/dev/null 2>/tmp/hireplane-api-bench.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
done

echo "== 0. the database alone: the page's statement with pgbench (16 clients, prepared, the store's page settings), ${seconds}s"
PGOPTIONS="-c plan_cache_mode=force_generic_plan -c enable_memoize=off -c jit=off" \
    pgbench -n -M prepared -f bench/api-page.sql -D org=bench -c 16 -j 2 -T "$seconds" "$dburl" 2>&1 \
    | grep -E "^(tps|latency average)"

export HP_TOKEN=$token HP_APPLICATIONS=$n
echo "== warm-up" >&2
wrk -t2 -c16 -d5s -s bench/api-page.lua "http://127.0.0.1:$port" >/dev/null

conns=100
echo "== 1. fixed rate: $rate requests/s offered (open loop on a fixed schedule, $conns connections), ${seconds}s"
HP_RATE=$rate HP_THREADS=2 wrk -t2 -c$conns -d${seconds}s --latency -s bench/api-page.lua "http://127.0.0.1:$port" \
    | grep -E "Latency|50%|75%|90%|99%|Requests/sec|requests in|Non-2xx|Socket"

echo "== 2. saturation: $connections connections"
wrk -t2 -c$connections -d${seconds}s --latency -s bench/api-page.lua "http://127.0.0.1:$port" \
    | grep -E "Latency|50%|75%|90%|99%|Requests/sec|requests in|Non-2xx|Socket"

echo "== 3. standard report \`$report\` through the API and the CLI, $runs runs each (seconds)"
api_times=(); cli_times=()
json_body="{\"query\": \"{ report(name: \\\"$report\\\") { rows } }\"}"
for i in $(seq "$runs"); do
    a=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/graphql" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$json_body")
    s=$(date +%s.%N)
    "$bin" --database "$dburl" report --name "$report" --as "$user" >/dev/null 2>&1
    e=$(date +%s.%N)
    api_times+=("$a"); cli_times+=("$(echo "$e - $s" | bc)")
done
python3 - "${api_times[*]}" "${cli_times[*]}" <<'PY'
import statistics, sys
api = [float(x) for x in sys.argv[1].split()]
cli = [float(x) for x in sys.argv[2].split()]
ma, mc = statistics.median(api), statistics.median(cli)
print(f"API median {ma:.3f} s, CLI median {mc:.3f} s (CLI includes process start), API/CLI {ma/mc:.2f}")
PY

echo "== 4. server memory"
grep -E "VmHWM|VmRSS" "/proc/$server/status"
