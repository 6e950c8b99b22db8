#!/usr/bin/env bash
# The floor of a role's API page in PostgreSQL (issue 22 item 1): how much of a filtered page's
# cost is reading its rows, wherever they lie, and how much is finding which rows they are.
# Run from the repository root:
#
#   bench/page-floor.sh [N] [ROLE]      (default 1000000 hiring_manager: the org of bench/api.sh)
#
# For 200 cursors it records the ids of the page the admin and ROLE see (bench/page-sql.sh's
# page: 50 applications with candidate, job and current stage after a cursor, the statements
# from `hireplane explain --as`), then runs with pgbench, in rounds, side by side:
#   - each role's real page statement after random cursors;
#   - a "floor" statement per role: the admin's statement (same columns and joins), its rows
#     given by key (`s.id = ANY(<the page's recorded ids>)`), so it costs what reading those
#     rows and their joins costs, without finding them.
# The ROLE's floor against the admin's floor is the price of where its rows lie (a hiring
# manager's 51 rows are scattered over the key index and the heap, the admin's are one range);
# its real page against its floor is what finding the ids costs. Prints medians of the rounds,
# each ratio taken within its round. Environment: HP_BIN, HP_DATABASE as for
# bench/page-sql.sh; PAGE_SECONDS (default 5), PAGE_ROUNDS (default 5).
set -euo pipefail

n=${1:-1000000}
role=${2:-hiring_manager}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
seconds=${PAGE_SECONDS:-5}
rounds=${PAGE_ROUNDS:-5}
if [ -n "${HP_DATABASE:-}" ]; then
    dburl=$HP_DATABASE
    bin=${HP_BIN:-${CARGO_TARGET_DIR:-target}/release/hireplane}
else
    source bench/bench-org.sh
    bin=${HP_BIN:-$bin}
fi
echo "rerun: bench/page-floor.sh $n $role   (PAGE_SECONDS=$seconds PAGE_ROUNDS=$rounds)" >&2
out=$(mktemp -d)
trap 'rm -rf "$out"; psql -X "$dburl" -qc "DROP TABLE IF EXISTS hp_floor_pages" >/dev/null 2>&1 || true' EXIT

query='report applications where id > "CURSOR" show id, status, applied_at, candidate.id, candidate.name, job.id, job.title, current_stage.id, current_stage.name, current_stage.kind order by id limit 51'
roles=(admin "$role")
for r in "${roles[@]}"; do
    user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = '$r' AND active ORDER BY id LIMIT 1")
    echo "$r: $user" >&2
    "$bin" --database "$dburl" explain --as "$user" "$query" 2>/dev/null \
        | sed -n '/^== SQL/,/^== parameters/p' | sed '1d;$d' >"$out/$r.sql"
    grep -q '\$2::text' "$out/$r.sql" || { echo "no page statement for $r (explain failed?)" >&2; exit 1; }
done

# The pages' ids after 200 cursors spread over the org.
psql -X "$dburl" -qc "DROP TABLE IF EXISTS hp_floor_pages; CREATE TABLE hp_floor_pages (role text, n int, ids text[], PRIMARY KEY (role, n))"
for i in $(seq 200); do
    cursor=$(( (i * 7919) % n + 1 ))
    for r in "${roles[@]}"; do
        body=$(sed "s/\\\$1::text/'bench'/g; s/\\\$2::text/'bench_app_$cursor'/g" "$out/$r.sql")
        psql -X "$dburl" -qc "INSERT INTO hp_floor_pages SELECT '$r', $i, coalesce(array_agg(id), '{}') FROM ($body) x"
    done
done
psql -X "$dburl" -qc "VACUUM ANALYZE hp_floor_pages"

for r in "${roles[@]}"; do
    { echo "\\set n random(1, $n)"
      sed "s/\\\$1::text/'bench'/g; s/\\\$2::text/('bench_app_' || :n)/g" "$out/$r.sql" | tr '\n' ' '
      echo ';'; } >"$out/real_$r.sql"
    # The admin's statement, its rows given by key instead of found after the cursor.
    { echo '\set i random(1, 200)'
      sed "s/(\"s\".\"org_id\" = \$1::text) AND ((\"s\".\"id\" COLLATE \"C\") > \$2::text)/(\"s\".\"org_id\" = 'bench') AND (\"s\".\"id\" = ANY((SELECT ids FROM hp_floor_pages WHERE role = '$r' AND n = :i)::text[]))/" \
          "$out/admin.sql" | tr '\n' ' '
      echo ';'; } >"$out/floor_$r.sql"
    grep -q hp_floor_pages "$out/floor_$r.sql" || { echo "the admin's statement changed shape: update this script" >&2; exit 1; }
done

kinds=(real_admin "real_$role" floor_admin "floor_$role")
for round in $(seq "$rounds"); do
    for k in "${kinds[@]}"; do
        PGOPTIONS="-c plan_cache_mode=force_generic_plan -c enable_memoize=off -c jit=off" \
            pgbench -n -M prepared -f "$out/$k.sql" -c 1 -j 1 -T "$seconds" "$dburl" 2>&1 \
            | awk -v k="$k" -v r="$round" '/^latency average/ {print r, k, $4}' >>"$out/runs"
    done
done

python3 - "$out/runs" "$role" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
role = sys.argv[2]
lat = {(r, k): float(l) for r, k, l in runs}
rounds = sorted({r for r, *_ in runs})
def ratio(a, b):
    return statistics.median(lat[(r, a)] / lat[(r, b)] for r in rounds)
print(f"{'statement':<28} {'ms per page':>12} {'/ admin page':>13}")
for k in ["real_admin", f"real_{role}", "floor_admin", f"floor_{role}"]:
    print(f"{k:<28} {statistics.median(lat[(r, k)] for r in rounds):>12.3f} {ratio(k, 'real_admin'):>12.2f}x")
print(f"{role}: reading its rows {ratio(f'floor_{role}', 'floor_admin'):.2f}x the admin's (floor against floor); "
      f"its page {ratio(f'real_{role}', f'floor_{role}'):.2f}x its floor")
PY
