#!/usr/bin/env bash
# Scheduling benchmark and optimality comparison with CP-SAT (issue 5). Builds the instance
# generator (crates/scheduling/examples/instances.rs) in release, times `scheduling::solve` on
# seeded instances of the three sizes (30 interviewers / pools of 10, 200 / 40, 1,000 / 150;
# every returned option passes `scheduling::check`, else the run stops), then solves the same
# request files with the CP-SAT model of bench/cpsat.py (ortools, one worker; installed into a
# venv under /tmp when missing) and compares the optimum objective tuples (end, load, idle,
# trainees_missing). Run from the repository root:
#
#   bench/scheduling.sh [N30] [N200] [N1000]     (instances per size, default 100 each)
#
# Prints a table: size, hireplane median/p90 ms, CP-SAT median ms (solver wall time over its four
# lexicographic stages, model building excluded), ratio of the medians, instances compared,
# mismatches; mismatches are listed with their seed and both tuples. Per-instance results stay in
# $BENCH_OUT (default: a new directory under /tmp, printed at the end).
set -euo pipefail

n30=${1:-100}
n200=${2:-100}
n1000=${3:-100}
out=${BENCH_OUT:-$(mktemp -d /tmp/hireplane-bench.XXXXXX)}
mkdir -p "$out"

cargo build --release -q -p scheduling --example instances
bin=${CARGO_TARGET_DIR:-target}/release/examples/instances

if python3 -c 'import ortools' 2>/dev/null; then
    py=python3
else
    venv=/tmp/hireplane-bench-venv
    if ! "$venv/bin/python" -c 'import ortools' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q ortools
    fi
    py=$venv/bin/python
fi

sizes=(30 200 1000)
counts=("$n30" "$n200" "$n1000")

# hireplane first, on a quiet machine.
for i in 0 1 2; do
    size=${sizes[$i]} n=${counts[$i]}
    [ "$n" -gt 0 ] || continue
    echo "hireplane: size $size, $n instances" >&2
    "$bin" time "$size" "$n" 5 > "$out/hireplane-$size.jsonl"
    "$bin" dump "$size" "$n" "$out/requests-$size"
done

for i in 0 1 2; do
    size=${sizes[$i]} n=${counts[$i]}
    [ "$n" -gt 0 ] || continue
    echo "cp-sat: size $size, $n instances" >&2
    "$py" bench/cpsat.py --compare "$out/hireplane-$size.jsonl" "$out/requests-$size"/*.json \
        > "$out/cpsat-$size.jsonl" 2> "$out/mismatches-$size.txt" || {
        echo "cp-sat failed on size $size, see $out/mismatches-$size.txt" >&2
        exit 1
    }
done

"$py" - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = []
print(f"{'size':>6} {'hp median ms':>13} {'hp p90 ms':>10} {'cp-sat median ms':>17} {'ratio':>8} {'compared':>9} {'mismatches':>11}")
for size in (30, 200, 1000):
    hp = os.path.join(out, f"hireplane-{size}.jsonl")
    cp = os.path.join(out, f"cpsat-{size}.jsonl")
    if not (os.path.exists(hp) and os.path.exists(cp)):
        continue
    h = [json.loads(l) for l in open(hp)][-1]
    c = [json.loads(l) for l in open(cp)][-1]
    ratio = c["median_ms"] / h["median_ms"] if h["median_ms"] else float("nan")
    print(f"{size:>6} {h['median_ms']:>13.3f} {h['p90_ms']:>10.3f} {c['median_ms']:>17.1f} {ratio:>7.0f}x {c['compared']:>9} {c['mismatches']:>11}")
for size in (30, 200, 1000):
    p = os.path.join(out, f"mismatches-{size}.txt")
    if os.path.exists(p):
        for line in open(p):
            print(f"size {size}: {line.rstrip()}")
print(f"results in {out}")
PY
