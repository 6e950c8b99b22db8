#!/usr/bin/env bash
# Feature flags on the API's read path (issue 20): bench/api.sh's page (50 applications with
# candidate, job and current stage, as an admin) at saturation, with 10 flags under running
# rollout plans against the same with none, alternating. Under a plan every request is labelled
# with its cohort for each flag: 10 evaluations per request of a flag with a rollout (stickiness
# `orgId`) and a constraint (`role`), in the caller's context (docs/flags.md, "Rollouts").
# Run from the repository root:
#
#   bench/flags-page.sh [N]      (default 100000 applications; needs `wrk`)
#
# FLAGS_ROUNDS pairs (default 5) of FLAGS_SECONDS (default 15) each, on FLAGS_CONNECTIONS
# (default 32) connections; prints each run, the medians and the ratio with / without.
# Environment: HIREPLANE_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

n=${1:-100000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
rounds=${FLAGS_ROUNDS:-5}
seconds=${FLAGS_SECONDS:-15}
connections=${FLAGS_CONNECTIONS:-32}
port=${FLAGS_PORT:-18183}
command -v wrk >/dev/null || { echo "bench/flags-page.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
echo "rerun: bench/flags-page.sh $n   (FLAGS_ROUNDS=$rounds FLAGS_SECONDS=$seconds FLAGS_CONNECTIONS=$connections)" >&2

source bench/bench-org.sh

user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = 'admin' AND active ORDER BY id LIMIT 1")
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name flags-bench --expires-in 1d 2>/dev/null)
hp() { "$bin" --database "$dburl" "$@" >/dev/null; }

# Ten flags a plan can drive: a flexibleRollout on orgId with a constraint on the role.
flags_dir=$(mktemp -d)
for i in $(seq 10); do
    cat >"$flags_dir/f$i.json" <<JSON
{"name": "bench-f$i", "enabled": true, "strategies": [{"name": "flexibleRollout",
  "parameters": {"rollout": "0", "stickiness": "orgId", "groupId": "bench-f$i"},
  "constraints": [{"contextName": "role", "operator": "IN", "values": ["admin", "recruiter"]}]}]}
JSON
    # The same definition again is no change; an earlier run's plan is aborted first.
    "$bin" --database "$dburl" rollout abort "bench-f$i" --reason bench >/dev/null 2>&1 || true
    hp flags set "bench-f$i" "$flags_dir/f$i.json" --reason bench
done
rm -rf "$flags_dir"
plans() { # on|off: ten running plans, or none
    for i in $(seq 10); do
        if [ "$1" = on ]; then
            hp rollout plan "bench-f$i" --steps 50,100 --hold 1d --min-requests 1000000000 --reason bench
        else
            hp rollout abort "bench-f$i" --reason bench
        fi
    done
    sleep 1.5 # the replica picks the plans up within flags.rollout_tick_ms (200 ms here)
}

export HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LOG_LEVEL=warn HIREPLANE_FLAGS__ROLLOUT_TICK_MS=200
"$bin" --database "$dburl" serve --listen "127.0.0.1:$port" >/dev/null 2>/tmp/hireplane-flags-bench.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
done
export HP_TOKEN=$token HP_APPLICATIONS=$n
wrk -t2 -c16 -d5s -s bench/api-page.lua "http://127.0.0.1:$port" >/dev/null # warm-up

labelled() { # requests counted in flag bench-f1's cohorts so far
    curl -sf "http://127.0.0.1:$port/metrics" |
        awk '/^hireplane_rollout_requests_total\{/ && /flag="bench-f1"/ { s += $2 } END { printf "%d\n", s }'
}
run() { # label
    local rps before
    before=$(labelled)
    rps=$(wrk -t2 -c"$connections" -d"${seconds}s" -s bench/api-page.lua "http://127.0.0.1:$port" |
        awk '/Requests\/sec/ { print $2 }')
    echo "$1 $rps pages/s ($(( $(labelled) - before )) requests labelled for bench-f1)" >&2
    echo "$1 $rps"
}
results=$(mktemp)
# Rounds alternate which goes first; plans run only for the "on" measurement.
for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="on off"; else order="off on"; fi
    for state in $order; do
        if [ "$state" = on ]; then
            plans on
            run on >>"$results"
            plans off
        else
            run off >>"$results"
        fi
    done
done
python3 - "$results" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
# Each round measured both, one after the other: the ratio within a round cancels the machine's
# drift from round to round, which on 2 shared cores is larger than the effect measured.
ratios = []
for i in range(0, len(runs) - 1, 2):
    pair = {state: float(rps) for state, rps in runs[i:i + 2]}
    ratios.append(pair["on"] / pair["off"])
on = statistics.median(float(r) for s, r in runs if s == "on")
off = statistics.median(float(r) for s, r in runs if s == "off")
ratio = statistics.median(ratios)
print(f"pages/s, medians of {len(ratios)}: with 10 flags under plans {on:.0f}, without {off:.0f}; "
      f"per-round ratios {' '.join(f'{r:.3f}' for r in ratios)}: median {ratio:.3f}x "
      f"({(1 - ratio) * 100:+.1f}% cost)")
PY
rm -f "$results"
