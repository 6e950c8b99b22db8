#!/usr/bin/env bash
# Import benchmark: generate an org of N applications (default 1,000,000), then import it into a
# fresh SQLite file and into a fresh PostgreSQL database, measuring wall time and peak memory of
# each step with /usr/bin/time. Run from the repository root:
#
#   bench/import.sh [N]
#
# PostgreSQL: HIREPLANE_BENCH_POSTGRES (a server URL whose user may create databases; default
# postgres://postgres@127.0.0.1:5432/postgres). Set it to `skip` to bench SQLite only, and
# HIREPLANE_BENCH_SQLITE to `skip` to bench PostgreSQL only.
#
# Then, on PostgreSQL, an import must cost the same whatever else the store holds: the same org
# is imported into an empty database and into one that already holds a small org
# (HIREPLANE_BENCH_SMALL applications, default 800, imported first and analyzed), each
# HIREPLANE_BENCH_REPEAT times (default 3); prints the medians and their ratio (target <= 1.5).
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
small=${HIREPLANE_BENCH_SMALL:-800}
repeat=${HIREPLANE_BENCH_REPEAT:-3}
# HIREPLANE_BENCH_BIN: a hireplane binary to measure instead of building the release one.
bin=${HIREPLANE_BENCH_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release -q -p cli
    bin=${CARGO_TARGET_DIR:-target}/release/hireplane
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command under /usr/bin/time; prints "SECONDS PEAK_MB".
measure() {
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' "$work/time"
}

echo "hireplane import benchmark: $n applications, $(nproc) cores, $(date -u +%Y-%m-%d)"
read -r gen_s gen_mb < <(measure "$bin" generate --org-id bench --applications "$n" --seed 1 --today 2026-01-12 "$work/org")
size=$(du -sh "$work/org" | cut -f1)
records=$(cat "$work/org"/*.jsonl | wc -l)
printf '%-28s %8s s %8s MB   (%s records, %s on disk)\n' "generate" "$gen_s" "$gen_mb" "$records" "$size"

if [ "${HIREPLANE_BENCH_SQLITE:-}" != skip ]; then
    read -r sq_s sq_mb < <(measure "$bin" --database "sqlite://$work/bench.db" import "$work/org")
    printf '%-28s %8s s %8s MB\n' "import into SQLite" "$sq_s" "$sq_mb"
fi

if [ "$pg" != skip ]; then
    db="hp_bench_$$"
    base=${pg%/*}
    psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
    trap 'psql "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT
    read -r pg_s pg_mb < <(measure "$bin" --database "$base/$db" import "$work/org")
    printf '%-28s %8s s %8s MB\n' "import into PostgreSQL" "$pg_s" "$pg_mb"

    # Empty store versus a store that already holds a small org.
    "$bin" generate --org-id bench_small --applications "$small" --seed 2 "$work/small" >/dev/null 2>&1
    median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
    empty=() after=()
    for _ in $(seq "$repeat"); do
        psql "$pg" -qc "DROP DATABASE $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
        read -r s _ < <(measure "$bin" --database "$base/$db" import "$work/org")
        empty+=("$s")
        psql "$pg" -qc "DROP DATABASE $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
        "$bin" --database "$base/$db" import "$work/small" >/dev/null 2>&1
        read -r s _ < <(measure "$bin" --database "$base/$db" import "$work/org")
        after+=("$s")
    done
    e=$(printf '%s\n' "${empty[@]}" | median)
    a=$(printf '%s\n' "${after[@]}" | median)
    printf '%-28s %8s s   (runs: %s)\n' "PostgreSQL, empty store" "$e" "${empty[*]}"
    printf '%-28s %8s s   (runs: %s)\n' "PostgreSQL, after $small" "$a" "${after[*]}"
    awk -v a="$a" -v e="$e" 'BEGIN { printf "%-28s %8.2f   (target <= 1.5)\n", "ratio after / empty", a / e }'
fi
