#!/usr/bin/env bash
# The console's server time per page (issue 21: under 50 ms p95 on the demo org): `serve --demo`
# on a fresh demo store, signed in as each role through its one-time link, then each page
# (jobs, a job's board, an application; for the admin also the policy, audit log and custom
# fields pages) requested N times one after the other; prints p50,
# p95 and max of the time to the first byte (curl's `time_starttransfer`, loopback), per role
# and page. Run from the repository root:
#
#   bench/console.sh [N]     (default 200 requests per page and role)
#
# CONSOLE_BIN (default target/release/hireplane; build it with `cargo build --release -p cli`),
# CONSOLE_APPLICATIONS (default 5000, the demo's size). The machine is shared: rerun and compare
# medians; numbers from a debug binary are not the server's.
set -euo pipefail

n=${1:-200}
bin=${CONSOLE_BIN:-target/release/hireplane}
apps=${CONSOLE_APPLICATIONS:-5000}
port=${CONSOLE_PORT:-18191}
echo "rerun: CONSOLE_BIN=$bin CONSOLE_APPLICATIONS=$apps bench/console.sh $n" >&2
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && HIREPLANE_LOG_LEVEL=warn HIREPLANE_LIMITS__RATE_PER_SECOND=0 \
    exec "$OLDPWD/$bin" serve --demo --applications "$apps" --listen "127.0.0.1:$port" >"$work/banner" 2>"$work/log") &
server=$!
for _ in $(seq 600); do
    grep -q 'hpt_' "$work/banner" 2>/dev/null && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.5
done
base="http://127.0.0.1:$port"
stats() { # times in seconds on stdin -> "p50 p95 max" in ms
    sort -n | awk '{t[NR]=$1} END {p50=t[int(NR*0.5)+0]; p95=t[int(NR*0.95)+0]; if (p50=="") p50=t[1]; if (p95=="") p95=t[NR];
        printf "%.1f %.1f %.1f\n", p50*1000, p95*1000, t[NR]*1000}'
}
printf '%-15s %-12s %8s %8s %8s\n' role page p50_ms p95_ms max_ms
for role in admin recruiter hiring_manager interviewer; do
    link=$(grep -E "^  $role +http://.*/console/code/" "$work/banner" | awk '{print $2}')
    jar="$work/$role.cookies"
    curl -s -o /dev/null -c "$jar" -X POST "$link"
    jobs=$(curl -s -b "$jar" "$base/console/jobs")
    job=$(grep -o 'href="/console/jobs/[^"]*"' <<<"$jobs" | head -1 | sed 's/href="//; s/"$//' || true)
    board=$( [ -n "$job" ] && curl -s -b "$jar" "$base$job" || true)
    app=$(grep -o 'href="/console/applications/[^"]*"' <<<"$board" | head -1 | sed 's/href="//; s/"$//' || true)
    # The admin pages, for the admin (others get the API's refusal).
    admin_pages=()
    [ "$role" = admin ] && admin_pages=(/console/admin/policy /console/admin/audit /console/admin/custom-fields)
    for page in /console/jobs "$job" "$app" "${admin_pages[@]}"; do
        [ -n "$page" ] || continue
        name=$(case "$page" in /console/jobs) echo jobs ;; /console/jobs/*) echo board ;; /console/admin/*) echo "${page#/console/admin/}" ;; *) echo application ;; esac)
        for _ in $(seq "$n"); do
            curl -s -o /dev/null -b "$jar" -w '%{time_starttransfer}\n' "$base$page"
        done | stats | { read -r p50 p95 max; printf '%-15s %-12s %8s %8s %8s\n' "$role" "$name" "$p50" "$p95" "$max"; }
    done
done
