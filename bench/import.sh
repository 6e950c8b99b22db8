#!/usr/bin/env bash
# Import benchmark: generate an org of N applications (default 1,000,000), then import it into a
# fresh SQLite file and into a fresh PostgreSQL database, measuring wall time and peak memory of
# each step with /usr/bin/time. Run from the repository root:
#
#   bench/import.sh [N]
#
# PostgreSQL: HIREPLANE_BENCH_POSTGRES (a server URL whose user may create databases; default
# postgres://postgres@127.0.0.1:5432/postgres). Set it to `skip` to bench SQLite only.
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build --release -q -p cli
bin=${CARGO_TARGET_DIR:-target}/release/hireplane
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command under /usr/bin/time; prints "SECONDS PEAK_MB".
measure() {
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    awk '{ printf "%.1f %.0f\n", $1, $2 / 1024 }' "$work/time"
}

echo "hireplane import benchmark: $n applications, $(nproc) cores, $(date -u +%Y-%m-%d)"
read -r gen_s gen_mb < <(measure "$bin" generate --org-id bench --applications "$n" --seed 1 "$work/org")
size=$(du -sh "$work/org" | cut -f1)
records=$(cat "$work/org"/*.jsonl | wc -l)
printf '%-28s %8s s %8s MB   (%s records, %s on disk)\n' "generate" "$gen_s" "$gen_mb" "$records" "$size"

read -r sq_s sq_mb < <(measure "$bin" --database "sqlite://$work/bench.db" import "$work/org")
printf '%-28s %8s s %8s MB\n' "import into SQLite" "$sq_s" "$sq_mb"

if [ "$pg" != skip ]; then
    db="hp_bench_$$"
    base=${pg%/*}
    psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
    trap 'psql "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT
    read -r pg_s pg_mb < <(measure "$bin" --database "$base/$db" import "$work/org")
    printf '%-28s %8s s %8s MB\n' "import into PostgreSQL" "$pg_s" "$pg_mb"
fi
