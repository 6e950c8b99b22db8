#!/usr/bin/env bash
# Jobs per second through the PostgreSQL job queue (issue 19): enqueue, run a no-op, complete,
# with 2 workers, side by side with graphile-worker (npm, pinned below) on the same database,
# alternating rounds, the median of JOBS_ROUNDS (default 3) each. Run from the repository root:
#
#   bench/jobs.sh        (needs node and npm for graphile-worker; psql)
#
# Builds the release CLI, creates the database hp_bench_jobs on HIREPLANE_BENCH_POSTGRES
# (default postgres://postgres@127.0.0.1:5432/postgres), installs graphile-worker into
# /var/tmp/hireplane-bench-graphile (once), then runs `hireplane worker --workers 2
# --bench-noop` (a hidden flag: the no-op kind exists only there) and `graphile-worker --jobs 2`
# with a no-op task, both idle and listening, and bench/jobs/drive.js puts JOBS_N (default
# 10,000) jobs in one statement per round into one system and times it until all are complete.
# Without npm it says so and exits (nothing measured).
set -euo pipefail

graphile_version=0.16.6
n=${JOBS_N:-10000}
rounds=${JOBS_ROUNDS:-3}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
db=hp_bench_jobs
dburl=${pg%/*}/$db
node_dir=${JOBS_NODE_DIR:-/var/tmp/hireplane-bench-graphile}
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "bench/jobs.sh: npm and node are needed for graphile-worker (apt-get install npm); nothing measured" >&2
    exit 0
fi
echo "rerun: bench/jobs.sh   (JOBS_N=$n JOBS_ROUNDS=$rounds)" >&2

cargo build --release -q -p cli --bin hireplane
bin=${CARGO_TARGET_DIR:-target}/release/hireplane

if [ "$(node -e "try{console.log(require('$node_dir/node_modules/graphile-worker/package.json').version)}catch(e){}")" != "$graphile_version" ]; then
    mkdir -p "$node_dir"
    echo '{"name": "hireplane-bench-graphile", "private": true}' >"$node_dir/package.json"
    (cd "$node_dir" && npm install --no-audit --no-fund "graphile-worker@$graphile_version" >&2)
fi
mkdir -p "$node_dir/tasks"
cp bench/jobs/tasks-noop.js "$node_dir/tasks/noop.js"
cp bench/jobs/drive.js "$node_dir/drive.js"

psql -X "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
psql -X "$pg" -qc "CREATE DATABASE $db" >/dev/null

ours=
theirs=
cleanup() {
    [ -n "$ours" ] && kill -INT "$ours" 2>/dev/null || true
    [ -n "$theirs" ] && kill "$theirs" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

HIREPLANE_LOG_LEVEL=warn "$bin" --database "$dburl" worker --workers 2 --bench-noop \
    >/dev/null 2>/tmp/hireplane-jobs-bench.log &
ours=$!
(cd "$node_dir" && exec node_modules/.bin/graphile-worker -c "$dburl" --jobs 2 \
    >/dev/null 2>/tmp/graphile-jobs-bench.log) &
theirs=$!
# Both have migrated and listen.
for _ in $(seq 100); do
    if psql -X "$dburl" -Atc "SELECT 1 FROM job_queue LIMIT 0" >/dev/null 2>&1 \
        && psql -X "$dburl" -Atc "SELECT 1 FROM graphile_worker.jobs LIMIT 0" >/dev/null 2>&1; then
        break
    fi
    sleep 0.2
done
sleep 2
echo "hireplane $(git rev-parse --short HEAD), graphile-worker $graphile_version, node $(node --version), $(psql -X "$dburl" -Atc 'SHOW server_version'), $(nproc) cores" >&2
node "$node_dir/drive.js" "$dburl" "$n" "$rounds"
