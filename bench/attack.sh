#!/usr/bin/env bash
# Org B's latency while org A attacks the server (issue 16). Run from the repository root:
#
#   bench/attack.sh            (ATTACK_SECONDS=20 per phase; needs python3)
#   ATTACK_FAIR="16 0 16 0" bench/attack.sh   (the fair gate off and on, alternating)
#
# Builds the release CLI, generates two orgs (A: ATTACK_A applications, default 3000; B:
# ATTACK_B, default 500) into a fresh store (ATTACK_DB: a PostgreSQL server URL, default
# postgres://postgres@127.0.0.1:5432/postgres, database hp_attack; `sqlite` for a SQLite file),
# makes an admin token in each, starts `hireplane serve` with the default settings (rate limit
# off, so that the attacks reach the limits behind it), and runs bench/attack.py: a baseline of
# org B's ordinary requests alone, then the same while org A sends nesting bombs, 2,000-alias
# reports, heavy reports at the cost limit from six clients, and failed-authentication floods.
# Prints org B's p50/p99 in both phases and their ratio, org B's errors, and what each attack
# got back. Exits non-zero when org B's p99 under attack is 200 ms or more, or B saw an error.
set -euo pipefail

a=${ATTACK_A:-3000}
b=${ATTACK_B:-500}
seconds=${ATTACK_SECONDS:-20}
pg=${ATTACK_DB:-postgres://postgres@127.0.0.1:5432/postgres}
port=${ATTACK_PORT:-18190}
echo "rerun: bench/attack.sh   (ATTACK_A=$a ATTACK_B=$b ATTACK_SECONDS=$seconds ATTACK_DB=$pg ATTACK_FAIR=\"${ATTACK_FAIR:-0}\")" >&2

[ -n "${ATTACK_NO_BUILD:-}" ] || cargo build --release -q -p cli
bin=${CARGO_TARGET_DIR:-target}/release/hireplane
work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$pg" = sqlite ]; then
    dburl=sqlite://$work/attack.db
else
    psql -X "$pg" -qc "DROP DATABASE IF EXISTS hp_attack WITH (FORCE)" >/dev/null
    psql -X "$pg" -qc "CREATE DATABASE hp_attack" >/dev/null
    dburl=${pg%/*}/hp_attack
fi
"$bin" generate --org-id attacker --applications "$a" --seed 11 "$work/a" >/dev/null
"$bin" generate --org-id bystander --applications "$b" --seed 12 "$work/b" >/dev/null
"$bin" --database "$dburl" import "$work/a" >/dev/null
"$bin" --database "$dburl" import "$work/b" >/dev/null
# The first active admin of a generated org folder.
admin_of() {
    python3 -c 'import json, sys
print(next(u["id"] for u in map(json.loads, open(sys.argv[1])) if u["role"] == "admin" and u.get("active", True)))' "$1/users.jsonl"
}
token_a=$("$bin" --database "$dburl" token create --org attacker --user "$(admin_of "$work/a")" --name bench 2>/dev/null)
token_b=$("$bin" --database "$dburl" token create --org bystander --user "$(admin_of "$work/b")" --name bench 2>/dev/null)

# One server per entry of ATTACK_FAIR (limits.fair_share_slots; 0: the default, the cores;
# the pool's size, 16: no fair gate), one after the other in this run, so that the gate's effect
# is measured side by side; the exit status is the last run's.
status=0
for slots in ${ATTACK_FAIR:-0}; do
    HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LIMITS__FAIR_SHARE_SLOTS=$slots HIREPLANE_LOG_LEVEL=error \
        "$bin" --database "$dburl" serve --listen "127.0.0.1:$port" >/dev/null 2>"$work/server.log" &
    server=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.2
    done
    echo "== limits.fair_share_slots=$slots: server on $dburl, $(nproc) cores; $seconds s per phase" >&2
    status=0
    python3 bench/attack.py "http://127.0.0.1:$port" "$token_a" "$token_b" "$seconds" || status=$?
    echo "healthz after the attack: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")"
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
done
exit $status
