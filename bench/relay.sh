#!/usr/bin/env bash
# The outbox relay to NATS JetStream (issue 18), on PostgreSQL. Run from the repository root:
#
#   bench/relay.sh      (needs `wrk` and `nats-server`: apt-get install wrk nats-server)
#
# Starts a private `nats-server -js` (port RELAY_NATS_PORT, default 14222, its store in a
# temporary folder, removed afterwards) and measures with the release build:
#   1. commit to JetStream ack: `hireplane serve` with its relay on the generated org of 10,000
#      applications (bench/bench-org.sh's hp_bench_10000) while wrk sends moveApplication at
#      RELAY_RATE mutations/s (default 500) for RELAY_SECONDS (default 30), an open loop
#      (bench/relay-moves.lua); percentiles of `hireplane_relay_commit_to_ack_seconds` (from
#      the event's commit, `outbox.committed_at`, to JetStream's ack) from the server's
#      histogram (fine buckets, interpolated), and the mutations' own latency (wrk's);
#   2. relay throughput: RELAY_EVENTS events (default 200,000, over 8 orgs) put straight into
#      the outbox of a fresh database, then `hireplane serve` with its relay drains them: events
#      per second from the first to the last publish (`hireplane_relay_published_total`).
# Environment: HIREPLANE_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

n=10000
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
rate=${RELAY_RATE:-500}
seconds=${RELAY_SECONDS:-30}
events=${RELAY_EVENTS:-200000}
nats_port=${RELAY_NATS_PORT:-14222}
port=${RELAY_PORT:-18182}
command -v wrk >/dev/null || { echo "bench/relay.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$nats_server" ] || { echo "bench/relay.sh needs nats-server (apt-get install nats-server)" >&2; exit 1; }
echo "rerun: bench/relay.sh   (RELAY_RATE=$rate RELAY_SECONDS=$seconds RELAY_EVENTS=$events)" >&2

source bench/bench-org.sh

nats_dir=$(mktemp -d)
"$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$nats_dir" >/dev/null 2>&1 &
nats=$!
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    kill "$nats" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$nats_dir"
}
trap cleanup EXIT
export HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LOG_LEVEL=warn
export HIREPLANE_EVENTS__NATS__URL=nats://127.0.0.1:$nats_port

serve() { # DATABASE_URL
    "$bin" --database "$1" serve --listen "127.0.0.1:$port" >/dev/null 2>/tmp/hireplane-relay-bench.log &
    server=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return
        sleep 0.1
    done
    echo "the server did not start: $(cat /tmp/hireplane-relay-bench.log)" >&2
    exit 1
}
stop() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
}
metric() { # NAME: the sum of its samples
    curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d\n", s }'
}

echo "== 1. commit to JetStream ack at $rate moves/s for ${seconds}s (org of $n applications)"
user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = 'admin' AND active ORDER BY id LIMIT 1")
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name relay-bench --expires-in 1d 2>/dev/null)
moves=$(mktemp)
psql -X "$dburl" -At -F ' ' >"$moves" <<'SQL'
SELECT a.id, s[1], s[2] FROM applications a
CROSS JOIN LATERAL (
    SELECT array_agg(st.id ORDER BY st.position) AS s FROM stages st
    WHERE st.org_id = a.org_id AND st.job_id = a.job_id AND st.id <> a.current_stage_id
      AND st.kind NOT IN ('lead', 'hired', 'offer')
) x
WHERE a.org_id = 'bench' AND a.status = 'active' AND cardinality(s) >= 2
SQL
echo "$(wc -l <"$moves") applications to move" >&2
serve "$dburl"
# Publish any backlog of earlier runs first.
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/readyz" | grep -q " 0 event(s) behind" && break
    sleep 0.1
done
before=$(metric hireplane_relay_published_total)
HP_TOKEN=$token HP_RATE=$rate HP_THREADS=2 HP_MOVES=$moves \
    wrk -t 2 -c 16 -d "${seconds}s" --latency -s bench/relay-moves.lua "http://127.0.0.1:$port" 2>&1 |
    grep -E "Requests/sec|requests in|Non-2xx|bad response|50%|99%" | head -8
sleep 1
after=$(metric hireplane_relay_published_total)
echo "events published during the load: $((after - before))"
curl -sf "http://127.0.0.1:$port/metrics" | python3 -c '
import sys, re
buckets = []
for line in sys.stdin:
    m = re.match(r"hireplane_relay_commit_to_ack_seconds_bucket\{le=\"([^\"]+)\"\} (\S+)", line)
    if m:
        buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), float(m.group(2))))
buckets.sort()
total = buckets[-1][1]
def pct(p):
    want, prev_le, prev_n = p * total, 0.0, 0.0
    for le, n in buckets:
        if n >= want:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (want - prev_n) / max(n - prev_n, 1)
        prev_le, prev_n = le, n
print("commit to ack over all %d events this server published: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms" % (total, pct(.5) * 1e3, pct(.9) * 1e3, pct(.99) * 1e3))
'
stop
rm -f "$moves"

echo "== 2. relay throughput: $events events in the outbox of a fresh database, 8 orgs"
tdb=hp_relay_bench
psql -X "$pg" -qc "DROP DATABASE IF EXISTS $tdb WITH (FORCE)" >/dev/null
psql -X "$pg" -qc "CREATE DATABASE $tdb" >/dev/null
turl=${pg%/*}/$tdb
"$bin" --database "$turl" orgs >/dev/null
psql -X "$turl" -q <<SQL
INSERT INTO outbox (org_id, seq, id, type, subject, time, data)
SELECT 'relaybench' || (s % 8), s / 8 + 1, gen_random_uuid()::text,
       'hireplane.candidate.updated.v1', 'candidate/cand_' || s, now(),
       jsonb_build_object('candidate_id', 'cand_' || s, 'changed', jsonb_build_array('name'), 'actor_id', null)
FROM generate_series(0, $events - 1) s;
INSERT INTO outbox_heads (org_id, last_seq) SELECT org_id, max(seq) FROM outbox GROUP BY org_id;
VACUUM ANALYZE outbox;
SQL
serve "$turl"
start=
while :; do
    done_=$(metric hireplane_relay_published_total)
    now=$(date +%s.%N)
    if [ -z "$start" ] && [ "$done_" -gt 0 ]; then start=$now; first=$done_; fi
    [ "$done_" -ge "$events" ] && break
    sleep 0.05
done
python3 -c "import sys; s, e, f, n = map(float, sys.argv[1:]); print('published %d events in %.2f s: %.0f events/s' % (n - f, e - s, (n - f) / (e - s)))" "$start" "$now" "$first" "$done_"
stop
psql -X "$pg" -qc "DROP DATABASE IF EXISTS $tdb WITH (FORCE)" >/dev/null
