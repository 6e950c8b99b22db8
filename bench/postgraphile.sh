#!/usr/bin/env bash
# hireplane's API beside PostGraphile on the same database and the same page (issue 22): the
# page of bench/api.sh (50 applications with candidate, job and current stage after a random
# cursor, in id order) from `hireplane serve` as an admin and from PostGraphile 4 (npm, pinned
# below, with postgraphile-plugin-connection-filter for the cursor's `id > ...`), on the
# generated org of N applications in PostgreSQL (bench/bench-org.sh). Run from the repository
# root:
#
#   bench/postgraphile.sh [N]      (default 1000000; needs wrk, node and npm)
#
# First checks that both answer the same rows (every field of the 50 nodes, hasNextPage) on
# PG_CHECKS (default 24) starting points; then PG_PAIRS (default 5) pairs of saturation runs
# (PG_CONNECTIONS connections, default 64, PG_SECONDS each, default 20), the two servers
# alternating and the first of each pair alternating too, both running the whole time. Per run:
# pages/s, and the CPU per page of the server (its processes, from /proc) and of PostgreSQL (all
# its processes); at the end the medians, the ratios and each server's peak memory (VmHWM, summed
# over its processes). PostGraphile runs NODE_ENV=production, no query log, no GraphiQL, its pool
# as large as hireplane's (16) and PG_WORKERS (default 2) cluster workers: one Node.js process
# per core, its best on this machine. HP_NODES_ONLY=1: both pages without `pageInfo` (PostGraphile
# answers `hasNextPage` with an `exists (... not in (the page's cursors))` of its own, most of
# its database time for this page). Without node and npm it says so and measures nothing.
# Environment: HIREPLANE_BENCH_POSTGRES, API_BIN (as bench/api.sh).
set -euo pipefail

postgraphile_version=4.14.1
filter_version=2.3.0
n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
pairs=${PG_PAIRS:-5}
seconds=${PG_SECONDS:-20}
connections=${PG_CONNECTIONS:-64}
checks=${PG_CHECKS:-24}
workers=${PG_WORKERS:-2}
node_dir=${PG_NODE_DIR:-/var/tmp/hireplane-bench-postgraphile}
hp_port=18191
pg_port=18192
command -v wrk >/dev/null || { echo "bench/postgraphile.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "bench/postgraphile.sh: node and npm are needed for PostGraphile; nothing measured" >&2
    exit 0
fi
echo "rerun: bench/postgraphile.sh $n   (PG_PAIRS=$pairs PG_SECONDS=$seconds PG_CONNECTIONS=$connections PG_WORKERS=$workers HP_NODES_ONLY=${HP_NODES_ONLY:-0})" >&2

source bench/bench-org.sh
bin=${API_BIN:-$bin}

installed() {
    node -e "try{console.log(require('$node_dir/node_modules/$1/package.json').version)}catch(e){}"
}
if [ "$(installed postgraphile)" != "$postgraphile_version" ] ||
    [ "$(installed postgraphile-plugin-connection-filter)" != "$filter_version" ]; then
    mkdir -p "$node_dir"
    echo '{"name": "hireplane-bench-postgraphile", "private": true}' >"$node_dir/package.json"
    (cd "$node_dir" && npm install --no-audit --no-fund "postgraphile@$postgraphile_version" \
        "postgraphile-plugin-connection-filter@$filter_version" >&2)
fi

user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = 'admin' AND active ORDER BY id LIMIT 1")
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name bench --expires-in 1d 2>/dev/null)

HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LIMITS__MAX_CONNECTIONS_PER_IP=1000 HIREPLANE_LOG_LEVEL=warn HIREPLANE_POOL__SIZE=16 \
    "$bin" --database "$dburl" serve --listen "127.0.0.1:$hp_port" >/dev/null 2>/tmp/hireplane-pg-bench-hp.log &
hp_pid=$!
# setsid: PostGraphile's cluster master and workers in a process group of their own, to sum
# their CPU and stop them all.
NODE_ENV=production setsid "$node_dir/node_modules/.bin/postgraphile" -c "$dburl" \
    --host 127.0.0.1 --port "$pg_port" --append-plugins postgraphile-plugin-connection-filter \
    --disable-query-log --disable-graphiql --max-pool-size 16 --cluster-workers "$workers" \
    >/tmp/hireplane-pg-bench-postgraphile.log 2>&1 &
pg_pid=$!
trap 'kill $hp_pid 2>/dev/null || true; kill -- -$pg_pid 2>/dev/null || true' EXIT
for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$hp_port/readyz" >/dev/null &&
        curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' \
            "http://127.0.0.1:$pg_port/graphql" && break
    sleep 0.2
done

# The processes of each side: hireplane's one; PostGraphile's group; PostgreSQL's all.
hp_pids() { echo "$hp_pid"; }
pg_pids() { pgrep -g "$pg_pid" || true; }
db_pids() { pgrep -x postgres || true; }
cpu_ticks() { # "pid ticks" (utime + stime) per line, for the given pids
    local pid
    for pid in "$@"; do
        awk -v p="$pid" '{print p, $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
    done
}
cpu_delta() { # ticks spent between two cpu_ticks listings: a pid new in the second counts whole
    # (PostGraphile's pool opens connections as the load starts; a backend gone by the end is lost)
    awk 'NR == FNR { before[$1] = $2; next } { total += $2 - (($1 in before) ? before[$1] : 0) } END { print total + 0 }' \
        <(echo "$1") <(echo "$2")
}
hz=$(getconf CLK_TCK)

echo "== the same rows from both on $checks starting points"
python3 - "$hp_port" "$pg_port" "$token" "$n" "$checks" <<'PY'
import json, random, sys, urllib.request
# (The check always asks for pageInfo too; HP_NODES_ONLY drops it from the load only.)
from datetime import datetime
hp_port, pg_port, token, n, checks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def post(port, body, headers={}):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", json.dumps(body).encode(),
                                 {"Content-Type": "application/json", **headers})
    answer = json.load(urllib.request.urlopen(req))
    if "errors" in answer:
        sys.exit(f"errors from port {port}: {answer['errors']}")
    return answer["data"]
def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
rng = random.Random(22)
for check in range(checks):
    after = f"bench_app_{rng.randint(1, n)}"
    hp = post(hp_port, {"query": "query Page($after: String) { applications(first: 50, after: $after, orderBy: {field: ID}) { pageInfo { hasNextPage } nodes { id status appliedAt candidate { id name } job { id title } currentStage { id name kind } } } }",
                        "variables": {"after": after.encode().hex()}},
              {"Authorization": f"Bearer {token}"})["applications"]
    pg = post(pg_port, {"query": "query Page($after: String!) { allApplications(first: 50, orderBy: PRIMARY_KEY_ASC, condition: {orgId: \"bench\"}, filter: {id: {greaterThan: $after}}) { pageInfo { hasNextPage } nodes { id status appliedAt candidateByOrgIdAndCandidateId { id name } jobByOrgIdAndJobId { id title } stageByOrgIdAndCurrentStageId { id name kind } } } }",
                        "variables": {"after": after}})["allApplications"]
    ours = [(a["id"], a["status"].lower(), when(a["appliedAt"]), a["candidate"]["id"], a["candidate"]["name"],
             a["job"]["id"], a["job"]["title"], a["currentStage"]["id"], a["currentStage"]["name"],
             a["currentStage"]["kind"].lower()) for a in hp["nodes"]]
    theirs = [(a["id"], a["status"].lower(), when(a["appliedAt"]), a["candidateByOrgIdAndCandidateId"]["id"],
               a["candidateByOrgIdAndCandidateId"]["name"], a["jobByOrgIdAndJobId"]["id"],
               a["jobByOrgIdAndJobId"]["title"], a["stageByOrgIdAndCurrentStageId"]["id"],
               a["stageByOrgIdAndCurrentStageId"]["name"], a["stageByOrgIdAndCurrentStageId"]["kind"].lower())
              for a in pg["nodes"]]
    if ours != theirs or hp["pageInfo"]["hasNextPage"] != pg["pageInfo"]["hasNextPage"]:
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if a != b:
                sys.exit(f"after {after}: row {i} differs:\n  hireplane    {a}\n  postgraphile {b}")
        sys.exit(f"after {after}: {len(ours)} rows against {len(theirs)}, or hasNextPage differs")
print(f"same rows on {checks} starting points (50 nodes each, every field)")
PY

export HP_TOKEN=$token HP_APPLICATIONS=$n
echo "== warm-up" >&2
wrk -t2 -c16 -d5s -s bench/api-page.lua "http://127.0.0.1:$hp_port" >/dev/null
HP_TARGET=postgraphile wrk -t2 -c16 -d5s -s bench/api-page.lua "http://127.0.0.1:$pg_port" >/dev/null

results=$(mktemp)
trap 'kill $hp_pid 2>/dev/null || true; kill -- -$pg_pid 2>/dev/null || true; rm -f "$results"' EXIT
run() { # run SIDE PORT: one saturation run; appends "SIDE rate server_us db_us" to $results
    local side=$1 port=$2 target="" pids
    [ "$side" = postgraphile ] && target=postgraphile
    if [ "$side" = postgraphile ]; then pids=$(pg_pids); else pids=$(hp_pids); fi
    local dbp server0 db0 out requests server1 db1
    dbp=$(db_pids)
    # shellcheck disable=SC2086
    server0=$(cpu_ticks $pids); db0=$(cpu_ticks $dbp)
    out=$(HP_TARGET=$target wrk -t2 -c"$connections" -d"${seconds}s" -s bench/api-page.lua "http://127.0.0.1:$port")
    # shellcheck disable=SC2086
    server1=$(cpu_ticks $pids); db1=$(cpu_ticks $(db_pids))
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    if echo "$out" | grep -q "Non-2xx"; then echo "$side: non-2xx answers" >&2; exit 1; fi
    python3 -c "import sys; s, r, sec, a, b, hz = sys.argv[1:]; r = int(r); print(s, r / float(sec), int(a) * 1e6 / int(hz) / r, int(b) * 1e6 / int(hz) / r)" \
        "$side" "$requests" "$seconds" "$(cpu_delta "$server0" "$server1")" "$(cpu_delta "$db0" "$db1")" "$hz" | tee -a "$results"
}
echo "== $pairs pairs of saturation runs ($connections connections, ${seconds}s): side, pages/s, server CPU µs/page, PostgreSQL CPU µs/page"
for i in $(seq "$pairs"); do
    if [ $((i % 2)) = 1 ]; then
        run hireplane "$hp_port"; run postgraphile "$pg_port"
    else
        run postgraphile "$pg_port"; run hireplane "$hp_port"
    fi
done

hwm() { # peak resident memory in MB, summed over the pids
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
    done
    echo $((total / 1024))
}
# shellcheck disable=SC2046
python3 - "$results" "$(hwm $(hp_pids))" "$(hwm $(pg_pids))" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
def med(side, col):
    return statistics.median(float(r[col]) for r in runs if r[0] == side)
hp = [med("hireplane", c) for c in (1, 2, 3)]
pg = [med("postgraphile", c) for c in (1, 2, 3)]
pairs = [(float(a[1]) / float(b[1])) for a, b in zip([r for r in runs if r[0] == "hireplane"], [r for r in runs if r[0] == "postgraphile"])]
print(f"medians        pages/s   server CPU/page   PostgreSQL CPU/page")
print(f"hireplane      {hp[0]:7.0f}   {hp[1]:10.0f} µs   {hp[2]:12.0f} µs")
print(f"postgraphile   {pg[0]:7.0f}   {pg[1]:10.0f} µs   {pg[2]:12.0f} µs")
print(f"ratio          {hp[0] / pg[0]:6.2f}x   {hp[1] / pg[1]:10.2f}x   {hp[2] / pg[2]:12.2f}x")
print(f"throughput ratio per pair: {', '.join(f'{p:.2f}x' for p in pairs)} (median {statistics.median(pairs):.2f}x)")
print(f"peak memory: hireplane {sys.argv[2]} MB, postgraphile {sys.argv[3]} MB (all its processes)")
PY
