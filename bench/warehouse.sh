#!/usr/bin/env bash
# Warehouse export benchmark: `hireplane warehouse export` of a large generated org from
# PostgreSQL, as Parquet (docs/warehouse.md). Run from the repository root:
#
#   bench/warehouse.sh [N]          (applications in the generated org, default 1000000)
#
# bench/bench-org.sh builds the release CLI and makes sure the org (`hireplane generate --org-id
# bench --seed 1 --today 2026-01-12`) is imported into the PostgreSQL database hp_bench_N
# (reused when it is there; about three minutes to make for 1,000,000 applications). Then the
# org is exported WAREHOUSE_RUNS times (default 3) into a fresh folder each, each timed with
# /usr/bin/time (wall seconds, peak resident memory); prints each run, the median, the files'
# rows and size.
#
# Environment: HIREPLANE_BENCH_POSTGRES (a server URL whose user may create databases; default
# postgres://postgres@127.0.0.1:5432/postgres), WAREHOUSE_RUNS.
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
runs=${WAREHOUSE_RUNS:-3}
echo "rerun: bench/warehouse.sh $n   (WAREHOUSE_RUNS=$runs)" >&2

source bench/bench-org.sh
work=$(mktemp -d /var/tmp/hireplane-warehouse.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "hireplane warehouse export benchmark: $n applications, PostgreSQL, $(nproc) cores, $(date -u +%Y-%m-%d)"
times=()
for i in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$work/time" \
        "$bin" --database "$dburl" warehouse export --org bench "$work/run$i" >"$work/out" 2>&1 ||
        { cat "$work/out" >&2; exit 1; }
    read -r secs kb <"$work/time"
    printf 'run %d: %8.2f s %8.0f MB peak   %s\n' "$i" "$secs" "$((kb / 1024))" "$(cat "$work/out")"
    times+=("$secs")
    last=$work/run$i
    if [ "$i" -lt "$runs" ]; then rm -rf "$work/run$i"; fi
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median: $median s over $runs runs (target: under 60 s)"
echo "files of the last run ($(du -sh "$last" | cut -f1) in all):"
python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
for f in m["files"]:
    print("  %-26s %10d rows" % (f["file"], f["rows"]))
' "$last"
