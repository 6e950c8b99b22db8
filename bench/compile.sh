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
# Prints one row per report: hireplane median µs, prqlc median µs, their ratio, and (with
# valgrind installed) the instructions of one compilation, counted by callgrind: (I(N2) - I(N1)) /
# (N2 - N1) over two runs of N1 = 20 and N2 = 120 compilations, start-up cancelled out; a figure
# that does not move with the machine's load, unlike the times (COMPILE_INSTRUCTIONS=0 skips it).
# Then the median of the ratios, the slowest hireplane report, and the figures the README
# recorded last ("hireplane (PostgreSQL SQL)" and "instructions per compilation" rows of its
# Reports table) beside today's, so a regression shows. Raw JSON lines stay in $BENCH_OUT
# (default: a new directory under /tmp, printed at the end). COMPILE_BIN: another build's
# compile_timing to measure instead of the checkout's (to compare two builds in one session).
# The criterion benchmark of the same compilations (both dialects) is
# `cargo bench -p query-compiler --bench compile`.
set -euo pipefail

n=${1:-2000}
warmup=${2:-200}
prqlc_version=0.13.14
out=${BENCH_OUT:-$(mktemp -d /tmp/hireplane-compile.XXXXXX)}
mkdir -p "$out"
echo "rerun: bench/compile.sh $n $warmup" >&2

if [ -z "${COMPILE_BIN:-}" ]; then
    cargo build --release -q -p query-compiler --example compile_timing
fi
bin=${COMPILE_BIN:-${CARGO_TARGET_DIR:-target}/release/examples/compile_timing}

venv=/var/tmp/hireplane-bench-venv
if ! "$venv/bin/python" -c "import prqlc, importlib.metadata as m; assert m.version('prqlc') == '$prqlc_version'" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "prqlc==$prqlc_version"
fi

echo "hireplane compile benchmark: $n compilations per report (after $warmup), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)" >&2
"$bin" "$n" "$warmup" postgres >"$out/hireplane.jsonl"
"$venv/bin/python" bench/prqlc.py "$n" "$warmup" >"$out/prqlc.jsonl"
: >"$out/instructions.jsonl"
if [ "${COMPILE_INSTRUCTIONS:-1}" != 0 ] && command -v valgrind >/dev/null; then
    count() { # report, compilations: the instructions of the whole run
        valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$2" 0 postgres "$1" >/dev/null 2>&1
        grep '^summary' "$out/cg" | awk '{print $2}'
    }
    for name in $(grep -o '"report":"[^"]*"' "$out/hireplane.jsonl" | cut -d'"' -f4); do
        i1=$(count "$name" 20)
        i2=$(count "$name" 120)
        echo "{\"report\":\"$name\",\"instructions\":$(( (i2 - i1) / 100 ))}" >>"$out/instructions.jsonl"
    done
    rm -f "$out/cg"
elif [ "${COMPILE_INSTRUCTIONS:-1}" != 0 ]; then
    echo "valgrind not found: no instruction counts" >&2
fi

"$venv/bin/python" - "$out" "$prqlc_version" README.md <<'PY'
import json, os, re, statistics, sys
out, version, readme = sys.argv[1], sys.argv[2], sys.argv[3]
hp = {r["report"]: r for r in map(json.loads, open(os.path.join(out, "hireplane.jsonl")))}
pq = {r["report"]: r for r in map(json.loads, open(os.path.join(out, "prqlc.jsonl")))}
ins = {r["report"]: r["instructions"] for r in map(json.loads, open(os.path.join(out, "instructions.jsonl")))}
missing = sorted(set(hp) ^ set(pq))
if missing:
    sys.exit(f"reports on one side only: {missing}")
print(f"{'report':<28} {'hireplane median µs':>20} {'p90 µs':>8} {'prqlc ' + version + ' median µs':>26} {'ratio':>8} {'instructions':>13}")
ratios = []
for name in sorted(hp):
    h, p = hp[name], pq[name]
    ratio = p["median_us"] / h["median_us"]
    ratios.append(ratio)
    count = f"{ins[name]:,}" if name in ins else "-"
    print(f"{name:<28} {h['median_us']:>20.1f} {h['p90_us']:>8.1f} {p['median_us']:>26.1f} {ratio:>7.0f}x {count:>13}")
slow = max(hp.values(), key=lambda r: r["median_us"])
median = statistics.median(r["median_us"] for r in hp.values())
print(f"median of the ratios: {statistics.median(ratios):.0f}x (min {min(ratios):.0f}x, max {max(ratios):.0f}x)")
print(f"hireplane: median over reports {median:.1f} µs, slowest {slow['report']} {slow['median_us']:.1f} µs")

# The figures the README recorded last, beside today's.
text = open(readme, encoding="utf-8").read() if os.path.exists(readme) else ""
row = re.search(r"^\| hireplane \(PostgreSQL SQL\) \| ([\d.,]+) µs \| ([\d.,]+) µs \(([\w-]+)\)", text, re.M)
if row:
    before_median, before_slow, before_name = float(row[1].replace(",", "")), float(row[2].replace(",", "")), row[3]
    today_same = hp.get(before_name, {}).get("median_us")
    print(f"README (previous): median {before_median:.1f} µs, slowest {before_name} {before_slow:.1f} µs")
    print(f"today / README: median {median / before_median:.2f}x"
          + (f", {before_name} {today_same / before_slow:.2f}x" if today_same else "")
          + " (times move with the machine's load; the instruction counts do not)")
else:
    print("README (previous): no \"hireplane (PostgreSQL SQL)\" row found")
row = re.search(r"^\| instructions per compilation \| ([\d,]+) \| ([\d,]+) \(([\w-]+)\)", text, re.M)
if ins and row:
    before_median, before_slow, before_name = int(row[1].replace(",", "")), int(row[2].replace(",", "")), row[3]
    today_median = statistics.median(ins.values())
    print(f"instructions per compilation: median {today_median:,.0f} (README {before_median:,}, {today_median / before_median:.2f}x), "
          f"{before_name} {ins.get(before_name, 0):,} (README {before_slow:,}, {ins.get(before_name, 0) / before_slow:.2f}x)")
elif ins:
    print(f"instructions per compilation: median {statistics.median(ins.values()):,.0f}, max {max(ins.values()):,} ({max(ins, key=ins.get)})")
print(f"results in {out}")
PY
