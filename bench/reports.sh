#!/usr/bin/env bash
# Standard reports on a large generated org in PostgreSQL: the SQL that hireplane generates
# against the best SQL we could write by hand for the same question (bench/handwritten/NAME.sql,
# checked to return the same rows, in the same order). Run from the repository root:
#
#   bench/reports.sh [N]          (applications in the generated org, default 1000000)
#
# Generates the org (`hireplane generate --org-id bench --seed 1`) into
# /var/tmp/hireplane-bench-org-N unless it is there, imports it into the PostgreSQL database
# hp_bench_N unless that database already holds the org (about a minute for 1,000,000
# applications), runs VACUUM ANALYZE, then for each standard report:
#   - takes the generated SQL and its parameters from `hireplane explain --name NAME --today DAY`
#     (the `== SQL` and `== parameters` sections) and PREPAREs it in psql with
#     plan_cache_mode = force_custom_plan (what the CLI gets: a plan for the actual values);
#   - runs it once and the hand-written SQL once, output to files, and compares the rows;
#   - then RUNS rounds of (generated, hand-written), timed by psql's \timing (client round trip,
#     rows fetched, output discarded), and prints the medians and their ratio.
# Both run in the same psql session, one after the other, with the server's settings as they are
# (JIT on, work_mem 4 MB on Debian's defaults) and only the tables and indexes that the store's
# migrations create (nothing is added). `explain` also runs the generated SQL under
# EXPLAIN (ANALYZE, BUFFERS): that plan is kept in $BENCH_OUT/NAME.explain.txt, beside the
# psql script, the rows of both and the raw timings.
#
# Environment: HIREPLANE_BENCH_POSTGRES (a server URL whose user may create databases; default
# postgres://postgres@127.0.0.1:5432/postgres), REPORTS_TODAY (default 2025-06-30: relative
# ranges such as `last 365 days` count back from it), REPORTS_RUNS (default 5), REPORTS_ONLY (a
# space-separated list of report names), BENCH_OUT (where SQL, rows and timings are kept; default
# a new directory under /tmp, printed at the end).
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
today=${REPORTS_TODAY:-2025-06-30}
runs=${REPORTS_RUNS:-5}
out=${BENCH_OUT:-$(mktemp -d /tmp/hireplane-reports.XXXXXX)}
mkdir -p "$out"
echo "rerun: bench/reports.sh $n   (REPORTS_TODAY=$today REPORTS_RUNS=$runs)" >&2

source bench/bench-org.sh
zone=$(psql -X "$dburl" -Atc "SELECT timezone FROM orgs WHERE org_id = 'bench'")

if [ -n "${REPORTS_ONLY:-}" ]; then
    read -r -a names <<<"$REPORTS_ONLY"
else
    names=()
    for f in reports/*.report; do names+=("$(basename "$f" .report)"); done
fi

echo "hireplane reports benchmark: $n applications, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), today $today ($zone), $runs runs" >&2
# Reports run as a user: an admin, whom the default policy does not filter.
admin=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = 'admin' AND active ORDER BY id LIMIT 1")
for name in "${names[@]}"; do
    "$bin" --database "$dburl" explain --as "$admin" --name "$name" --today "$today" >"$out/$name.explain.txt"
done

python3 - "$out" "$dburl" "$today" "$zone" "$runs" "${names[@]}" <<'PY'
import json, os, re, statistics, subprocess, sys
sys.path.insert(0, "bench")
from explainsql import literal, sections, timings

out, dburl, today, zone, runs = sys.argv[1:6]
runs = int(runs)
names = sys.argv[6:]


def run(name):
    text = open(os.path.join(out, f"{name}.explain.txt")).read()
    sql, params = sections(text)
    hand = os.path.abspath(os.path.join("bench", "handwritten", f"{name}.sql"))
    if not os.path.exists(hand):
        sys.exit(f"missing {hand}")
    execute = f"EXECUTE g({', '.join(literal(p) for p in params)});"
    gen_rows = os.path.join(out, f"{name}.generated.rows")
    hand_rows = os.path.join(out, f"{name}.handwritten.rows")
    lines = [
        "\\set ON_ERROR_STOP 1",
        # What the store sets for every report statement (store/src/postgres.rs, SESSION_SETTINGS),
        # for the generated and the hand-written SQL alike.
        "SET jit = off;",
        "SET work_mem = '64MB';",
        f"\\set org '{params[0]}'",
        f"\\set today '{today}'",
        f"\\set tz '{zone}'",
        "SET plan_cache_mode = force_custom_plan;",
        f"PREPARE g AS {sql};",
        "\\pset format unaligned",
        "\\pset tuples_only on",
        f"\\o {gen_rows}",
        execute,
        f"\\o {hand_rows}",
        f"\\i {hand}",
        "\\o /dev/null",
        "\\timing on",
    ]
    for _ in range(runs):
        lines += ["\\echo MARK generated", execute, "\\echo MARK handwritten", f"\\i {hand}"]
    script = os.path.join(out, f"{name}.psql")
    open(script, "w").write("\n".join(lines) + "\n")
    res = subprocess.run(["psql", "-X", "-q", dburl, "-f", script], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"{name}: psql failed:\n{res.stderr}")
    open(os.path.join(out, f"{name}.timings.txt"), "w").write(res.stdout)
    times = timings(res.stdout)
    g = open(gen_rows).read().splitlines()
    h = open(hand_rows).read().splitlines()
    same = "yes" if g == h else ("same rows, other order" if sorted(g) == sorted(h) else "NO")
    return times, len(g), same


print(f"{'report':<28} {'rows':>5} {'generated ms':>13} {'hand ms':>9} {'ratio':>6}  {'<= 1000 ms':>10}  {'<= 1.2x':>7}  same result")
ratios = []
for name in names:
    times, rows, same = run(name)
    gm = statistics.median(times["generated"])
    hm = statistics.median(times["handwritten"])
    ratio = gm / hm if hm else float("nan")
    ratios.append(ratio)
    print(f"{name:<28} {rows:>5} {gm:>13.1f} {hm:>9.1f} {ratio:>5.2f}x  {'yes' if gm <= 1000 else 'NO':>10}  {'yes' if ratio <= 1.2 else 'NO':>7}  {same}", flush=True)
print(f"medians of {runs} runs each, alternating generated / hand-written in one psql session; results in {out}")
PY
