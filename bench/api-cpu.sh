#!/usr/bin/env bash
# Server CPU per API page, two builds side by side (issue 22: "server CPU per page at most
# 300 µs"). Run from the repository root:
#
#   API_BASE=<another build's binary> bench/api-cpu.sh [N]      (default 100000)
#
# Starts this checkout's release build (or API_BIN) and the build API_BASE on the org of
# bench/api.sh (hp_bench_N in PostgreSQL), each on its own port, as an admin (API_ROLE for
# another role), and alternates CPU_PAIRS (default 3) saturation runs of CPU_SECONDS (default
# 15) with wrk (bench/api-page.lua: 50 applications with candidate, job and current stage after
# a random cursor, the cursor in the variables), CPU_CONNECTIONS (default 32) connections. Per
# run: pages/s, the server's CPU per page (utime + stime of its process, /proc) and
# PostgreSQL's (all its processes); at the end the medians of each build and their ratios.
# CPU per page moves less than pages/s on a shared machine, but compare within one run.
set -euo pipefail
n=${1:-100000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
pairs=${CPU_PAIRS:-3}
seconds=${CPU_SECONDS:-15}
connections=${CPU_CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "bench/api-cpu.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -n "${API_BASE:-}" ] || { echo "bench/api-cpu.sh: set API_BASE to the binary to compare with" >&2; exit 1; }
echo "rerun: API_BASE=$API_BASE bench/api-cpu.sh $n   (CPU_PAIRS=$pairs CPU_SECONDS=$seconds CPU_CONNECTIONS=$connections)" >&2

source bench/bench-org.sh
bin=${API_BIN:-$bin}
role=${API_ROLE:-admin}
user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = '$role' AND active ORDER BY id LIMIT 1")
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name bench --expires-in 1d 2>/dev/null)

declare -A pid
start() { # start NAME BINARY PORT
    HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LIMITS__MAX_CONNECTIONS_PER_IP=1000 \
        HIREPLANE_LOG_LEVEL=warn HIREPLANE_POOL__SIZE=16 \
        "$2" --database "$dburl" serve --listen "127.0.0.1:$3" >/dev/null 2>"/tmp/hireplane-api-cpu-$1.log" &
    pid[$1]=$!
}
start this "$bin" 18195
start base "$API_BASE" 18196
trap 'kill ${pid[this]} ${pid[base]} 2>/dev/null || true' EXIT
for port in 18195 18196; do
    for _ in $(seq 150); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.2
    done
done
ticks() { # utime + stime of the given pids, summed
    local total=0 pid t
    for pid in "$@"; do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + t))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)
export HP_TOKEN=$token HP_APPLICATIONS=$n
for port in 18195 18196; do
    wrk -t2 -c16 -d5s -s bench/api-page.lua "http://127.0.0.1:$port" >/dev/null
done
results=$(mktemp)
trap 'kill ${pid[this]} ${pid[base]} 2>/dev/null || true; rm -f "$results"' EXIT
run() { # run NAME PORT
    local s0 d0 s1 d1 out requests
    s0=$(ticks "${pid[$1]}"); d0=$(ticks $(pgrep -x postgres))
    out=$(wrk -t2 -c"$connections" -d"${seconds}s" -s bench/api-page.lua "http://127.0.0.1:$2")
    s1=$(ticks "${pid[$1]}"); d1=$(ticks $(pgrep -x postgres))
    if echo "$out" | grep -q "Non-2xx"; then echo "$1: non-2xx answers" >&2; exit 1; fi
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    python3 -c "import sys; s, r, sec, a, b, hz = sys.argv[1:]; r = int(r); print(s, round(r / float(sec)), round((int(a) * 1e6 / int(hz)) / r), round((int(b) * 1e6 / int(hz)) / r))" \
        "$1" "$requests" "$seconds" "$((s1 - s0))" "$((d1 - d0))" "$hz" | tee -a "$results"
}
echo "== $pairs pairs of saturation runs ($connections connections, ${seconds}s): build, pages/s, server CPU µs/page, PostgreSQL CPU µs/page"
for i in $(seq "$pairs"); do
    if [ $((i % 2)) = 1 ]; then run this 18195; run base 18196; else run base 18196; run this 18195; fi
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {side: [statistics.median(float(r[i]) for r in rows if r[0] == side) for i in (1, 2, 3)] for side in ("this", "base")}
for side in ("this", "base"):
    print(f"{side}: {med[side][0]:.0f} pages/s, server {med[side][1]:.0f} µs/page, PostgreSQL {med[side][2]:.0f} µs/page (medians)")
t, b = med["this"], med["base"]
print(f"this / base: pages/s {t[0] / b[0]:.2f}x, server CPU per page {t[1] / b[1]:.2f}x, PostgreSQL CPU per page {t[2] / b[2]:.2f}x")
PY
