# Sourced by the report benchmarks (bench/reports.sh, bench/policy-reports.sh): builds the CLI and
# makes sure the generated org of $n applications (`hireplane generate --org-id bench --seed 1
# --today 2026-01-12`: seed 1's own date, the data every measurement in the README was taken on,
# kept in /var/tmp/hireplane-bench-org-$n) is imported into the PostgreSQL database hp_bench_$n
# of the server $pg, then VACUUM ANALYZE (BENCH_FEATURES: the CLI's cargo features to build;
# HP_BENCH_DB: another database name, for a session of its own beside others on one server).
# Sets: bin, org_dir, db, dburl.
cargo build --release -q -p cli ${BENCH_FEATURES:+--features "$BENCH_FEATURES"}
bin=${CARGO_TARGET_DIR:-target}/release/hireplane
org_dir=/var/tmp/hireplane-bench-org-$n
db=${HP_BENCH_DB:-hp_bench_$n}
base=${pg%/*}
dburl=$base/$db

if [ ! -f "$org_dir/applications.jsonl" ]; then
    echo "generating $n applications into $org_dir" >&2
    rm -rf "$org_dir.tmp"
    "$bin" generate --org-id bench --applications "$n" --seed 1 --today 2026-01-12 "$org_dir.tmp" >&2
    mv "$org_dir.tmp" "$org_dir"
fi
imported=$(psql -X "$dburl" -Atc "SELECT count(*) FROM orgs WHERE org_id = 'bench'" 2>/dev/null || echo none)
if [ "$imported" != 1 ]; then
    echo "importing $org_dir into $db" >&2
    psql -X "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    psql -X "$pg" -qc "CREATE DATABASE $db" >/dev/null
    "$bin" --database "$dburl" import "$org_dir" >&2
fi
# Open the store once so that any newer migration (indexes) is applied, then statistics.
"$bin" --database "$dburl" orgs >/dev/null
psql -X "$dburl" -qc "VACUUM ANALYZE" >/dev/null
