#!/usr/bin/env bash
# PostgreSQL's cost of one API page per role, the database alone: the statement the server runs
# for bench/api-page.lua's page (50 applications with candidate, job and current stage after a
# cursor) as a user of each role, taken from `hireplane explain --as USER` (so with that role's
# row filters in their page form), run by pgbench with the settings the store uses for pages
# (store::Plan::Page: a generic plan, no Memoize, no JIT) after random cursors. Run from the
# repository root:
#
#   bench/page-sql.sh [N]      (default 1000000: the org of bench/api.sh, hp_bench_N)
#
# Environment: HP_BIN (a hireplane binary; default the release build bench/bench-org.sh makes),
# HP_DATABASE (a database already holding the generated org `bench` of N applications: skips
# bench/bench-org.sh), PAGE_SECONDS (per run, default 5), PAGE_ROUNDS (default 3),
# PAGE_CLIENTS (default 1: one backend, so its latency is its CPU per page on an idle machine).
# The roles run one after the other, the admin first in every round, and each round's ratio is
# taken against that round's admin: the median ratio over rounds is the figure (this machine is
# shared; the latencies move by 20% from round to round, the ratios less). Prints per role the
# median latency (ms per page), transactions/s, and latency / admin's.
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
seconds=${PAGE_SECONDS:-5}
rounds=${PAGE_ROUNDS:-3}
clients=${PAGE_CLIENTS:-1}
if [ -n "${HP_DATABASE:-}" ]; then
    dburl=$HP_DATABASE
    bin=${HP_BIN:-${CARGO_TARGET_DIR:-target}/release/hireplane}
else
    source bench/bench-org.sh
    bin=${HP_BIN:-$bin}
fi
echo "rerun: bench/page-sql.sh $n   (PAGE_SECONDS=$seconds PAGE_ROUNDS=$rounds PAGE_CLIENTS=$clients)" >&2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

query='report applications where id > "CURSOR" show id, status, applied_at, candidate.id, candidate.name, job.id, job.title, current_stage.id, current_stage.name, current_stage.kind order by id limit 51'
roles=(admin recruiter hiring_manager interviewer)
for role in "${roles[@]}"; do
    user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = '$role' AND active ORDER BY id LIMIT 1")
    echo "$role: $user" >&2
    # The statement, its parameters made pgbench variables: $1 the org, $2 the cursor.
    "$bin" --database "$dburl" explain --as "$user" "$query" 2>/dev/null \
        | sed -n '/^== SQL/,/^== parameters/p' | sed '1d;$d' \
        | sed "s/\\\$1::text/:org/g; s/\\\$1)/:org)/g; s/\\\$2::text/('bench_app_' || :n)/g" \
        | tr '\n' ' ' >"$out/$role.body"
    if ! grep -q "'bench_app_' || :n" "$out/$role.body"; then
        echo "no page statement for $role (explain failed?)" >&2
        exit 1
    fi
    { echo "\\set n random(1, $n)"; cat "$out/$role.body"; echo ';'; } >"$out/$role.sql"
done

for round in $(seq "$rounds"); do
    for role in "${roles[@]}"; do
        PGOPTIONS="-c plan_cache_mode=force_generic_plan -c enable_memoize=off -c jit=off" \
            pgbench -n -M prepared -f "$out/$role.sql" -D org=bench -c "$clients" -j "$clients" \
            -T "$seconds" "$dburl" 2>&1 \
            | awk -v role="$role" -v round="$round" '/^latency average/ {lat=$4} /^tps/ {tps=$3} END {print round, role, lat, tps}' \
            >>"$out/runs"
    done
done

python3 - "$out/runs" "${roles[@]}" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
roles = sys.argv[2:]
lat = {(r, role): float(l) for r, role, l, _ in runs}
tps = {(r, role): float(t) for r, role, _, t in runs}
rounds = sorted({r for r, *_ in runs})
print(f"{'role':<16} {'ms per page':>12} {'pages/s':>10} {'/ admin (median of rounds)':>28}")
for role in roles:
    ratios = [lat[(r, role)] / lat[(r, "admin")] for r in rounds]
    print(f"{role:<16} {statistics.median(lat[(r, role)] for r in rounds):>12.3f} "
          f"{statistics.median(tps[(r, role)] for r in rounds):>10.0f} {statistics.median(ratios):>27.2f}x")
PY
