#!/usr/bin/env bash
# Report compile time, hireplane against prqlc (the PRQL compiler), side by side in one run. Run
# from the repository root:
#
#   bench/compile.sh [N] [WARMUP]        (timed compilations per report, default 2000; warm-up 200)
#
# hireplane: crates/query-compiler/examples/compile_timing.rs (release build) compiles each of
# the 17 standard reports (reports/*.report: text to PostgreSQL SQL and parameters, through
# `query_compiler::compile`) WARMUP times, then N times timed one call at a time.
# prqlc: bench/prqlc.py compiles the nearest PRQL equivalent of each report (written out in that
# file, with a comment where PRQL cannot say the same thing) with
# `prqlc.compile(text, prqlc.CompileOptions(target="sql.postgres"))`, in-process from Python, the
# same way. prqlc is installed (pinned) into a venv at /var/tmp/hireplane-bench-venv when missing.
# Both are single-threaded; they run one after the other, never at the same time.
#
# Prints one row per report: hireplane median µs, prqlc median µs, their ratio; then the median
# of the ratios and the slowest hireplane report. Raw JSON lines stay in $BENCH_OUT (default: a
# new directory under /tmp, printed at the end). The criterion benchmark of the same
# compilations (both dialects) is `cargo bench -p query-compiler --bench compile`.
set -euo pipefail

n=${1:-2000}
warmup=${2:-200}
prqlc_version=0.13.14
out=${BENCH_OUT:-$(mktemp -d /tmp/hireplane-compile.XXXXXX)}
mkdir -p "$out"
echo "rerun: bench/compile.sh $n $warmup" >&2

cargo build --release -q -p query-compiler --example compile_timing
bin=${CARGO_TARGET_DIR:-target}/release/examples/compile_timing

venv=/var/tmp/hireplane-bench-venv
if ! "$venv/bin/python" -c "import prqlc, importlib.metadata as m; assert m.version('prqlc') == '$prqlc_version'" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "prqlc==$prqlc_version"
fi

echo "hireplane compile benchmark: $n compilations per report (after $warmup), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)" >&2
"$bin" "$n" "$warmup" postgres >"$out/hireplane.jsonl"
"$venv/bin/python" bench/prqlc.py "$n" "$warmup" >"$out/prqlc.jsonl"

"$venv/bin/python" - "$out" "$prqlc_version" <<'PY'
import json, os, statistics, sys
out, version = sys.argv[1], sys.argv[2]
hp = {r["report"]: r for r in map(json.loads, open(os.path.join(out, "hireplane.jsonl")))}
pq = {r["report"]: r for r in map(json.loads, open(os.path.join(out, "prqlc.jsonl")))}
missing = sorted(set(hp) ^ set(pq))
if missing:
    sys.exit(f"reports on one side only: {missing}")
print(f"{'report':<28} {'hireplane median µs':>20} {'p90 µs':>8} {'prqlc ' + version + ' median µs':>26} {'ratio':>8}")
ratios = []
for name in sorted(hp):
    h, p = hp[name], pq[name]
    ratio = p["median_us"] / h["median_us"]
    ratios.append(ratio)
    print(f"{name:<28} {h['median_us']:>20.1f} {h['p90_us']:>8.1f} {p['median_us']:>26.1f} {ratio:>7.0f}x")
slow = max(hp.values(), key=lambda r: r["median_us"])
print(f"median of the ratios: {statistics.median(ratios):.0f}x (min {min(ratios):.0f}x, max {max(ratios):.0f}x)")
print(f"hireplane: median over reports {statistics.median(r['median_us'] for r in hp.values()):.1f} µs, slowest {slow['report']} {slow['median_us']:.1f} µs")
print(f"results in {out}")
PY
