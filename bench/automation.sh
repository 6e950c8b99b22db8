#!/usr/bin/env bash
# Automation rules (issue 19): from a committed change to its rule's action, on PostgreSQL. Run
# from the repository root:
#
#   bench/automation.sh      (needs `wrk`: apt-get install wrk)
#
# With the release build, on the generated org of 10,000 applications (bench/bench-org.sh's
# hp_bench_10000): one rule "when application.moved, then webhook" to a receiver on this machine
# (Python's threading HTTP server), `hireplane serve` with AUTO_WORKERS job workers (default 4, the default of `workflow.workers`)
# running the dispatcher and the jobs, and wrk sending moveApplication at each rate of
# AUTO_RATES (moves/s, default "100 250 500") for AUTO_SECONDS each (default 20), an open loop
# (bench/relay-moves.lua). The receiver takes, for each webhook, its arrival time minus the
# event's `time` (set by the command before its transaction: the latency from the change, its
# commit included), and prints the percentiles per rate, with the moves committed and the
# webhooks received. The rule is deleted afterwards (the database is shared by other benches).
# Environment: HIREPLANE_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

n=10000
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
rates=${AUTO_RATES:-100 250 500}
seconds=${AUTO_SECONDS:-20}
workers=${AUTO_WORKERS:-4}
port=${AUTO_PORT:-18183}
recv_port=${AUTO_RECEIVER_PORT:-18184}
command -v wrk >/dev/null || { echo "bench/automation.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
echo "rerun: bench/automation.sh   (AUTO_RATES=\"$rates\" AUTO_SECONDS=$seconds AUTO_WORKERS=$workers)" >&2

source bench/bench-org.sh

work=$(mktemp -d)
server=
receiver=
rule=
user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = 'admin' AND active ORDER BY id LIMIT 1")
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    [ -n "$receiver" ] && kill "$receiver" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "$rule" ] && "$bin" --database "$dburl" rule delete "$rule" --as "$user" --org bench --reason "bench done" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The receiver: one line per webhook (arrival minus event time, in ms) into $work/latencies.
cat >"$work/receiver.py" <<'PY'
import http.server, json, sys, time, datetime
out = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        t = json.loads(body)["event"]["time"].replace("Z", "+00:00")
        sent = datetime.datetime.fromisoformat(t).timestamp()
        out.write("%.3f %s\n" % ((arrived - sent) * 1000, self.headers["webhook-id"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$work/receiver.py" "$recv_port" "$work/latencies" &
receiver=$!

cat >"$work/rule.json" <<JSON
{"name": "bench: every move to a webhook", "when": "application.moved",
 "then": [{"do": "webhook", "url": "http://127.0.0.1:$recv_port/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}
JSON
rule=$("$bin" --database "$dburl" rule save "$work/rule.json" --as "$user" --org bench --reason bench |
    python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["id"])')
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name automation-bench --expires-in 1d 2>/dev/null)
moves=$work/moves
psql -X "$dburl" -At -F ' ' >"$moves" <<'SQL'
SELECT a.id, s[1], s[2] FROM applications a
CROSS JOIN LATERAL (
    SELECT array_agg(st.id ORDER BY st.position) AS s FROM stages st
    WHERE st.org_id = a.org_id AND st.job_id = a.job_id AND st.id <> a.current_stage_id
      AND st.kind NOT IN ('lead', 'hired', 'offer')
) x
WHERE a.org_id = 'bench' AND a.status = 'active' AND cardinality(s) >= 2
SQL

export HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LOG_LEVEL=warn
export HIREPLANE_WORKFLOW__WORKERS=$workers HIREPLANE_WORKFLOW__DISPATCH_POLL_MS=10
export HIREPLANE_WORKFLOW__CALLS__ALLOW_PRIVATE_NETWORKS=true   # the receiver is on this machine
"$bin" --database "$dburl" serve --listen "127.0.0.1:$port" >/dev/null 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
done

echo "rate offered (moves/s) | moves committed (events) | webhooks received | p50 | p90 | p99 | max (ms, change to webhook received)"
for rate in $rates; do
    : >"$work/latencies"
    head() { psql -X "$dburl" -Atc "SELECT coalesce((SELECT last_seq FROM outbox_heads WHERE org_id = 'bench'), 0)"; }
    before=$(head)
    HP_TOKEN=$token HP_RATE=$rate HP_THREADS=2 HP_MOVES=$moves \
        wrk -t 2 -c 16 -d "${seconds}s" -s bench/relay-moves.lua "http://127.0.0.1:$port" >/dev/null 2>&1
    # The moves that committed: each wrote one event (wrk counts refused ones too).
    committed=$(( $(head) - before ))
    # Wait for the queue to drain (no new webhook for 3 s).
    last=-1
    while :; do
        got=$(wc -l <"$work/latencies")
        [ "$got" = "$last" ] && break
        last=$got
        sleep 3
    done
    python3 - "$rate" "$committed" "$work/latencies" <<'PY'
import sys
rate, committed, path = sys.argv[1], sys.argv[2], sys.argv[3]
lat = sorted(float(l.split()[0]) for l in open(path) if l.strip())
ids = {l.split()[1] for l in open(path) if l.strip()}
def p(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
print("%s | %s | %d (%d distinct) | %.1f | %.1f | %.1f | %.1f" % (rate, committed, len(lat), len(ids), p(.5), p(.9), p(.99), lat[-1] if lat else float("nan")))
PY
done
