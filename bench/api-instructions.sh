#!/usr/bin/env bash
# Instructions the server executes per API page, counted by valgrind's callgrind: a figure that
# does not depend on what else the machine is doing (wrk's requests/s on a shared 2-core
# machine moves by 20% from run to run). Run from the repository root:
#
#   bench/api-instructions.sh [N]      (default 1000000; needs valgrind)
#
# Starts the release server under callgrind on the org of bench/api.sh (hp_bench_N in
# PostgreSQL), sends N1 (default 20) then, in a second server, N2 (default 120) page requests one
# after the other with curl (the page of bench/api-page.lua: 50 applications with candidate, job
# and current stage after a cursor), and prints (I2 - I1) / (N2 - N1): the instructions of one
# page, start-up and shut-down cancelled out. PostgreSQL's own work is not counted. The page is
# sent as Relay and Apollo clients send it, one text with the cursor in its variables
# (API_QUERY_FORM=inline: the cursor written into the text, a new text per page). API_ROLE as
# for bench/api.sh. To compare two builds, copy one binary aside and run this script once with
# API_BIN set to it and once without (the build of the checkout). API_PROFILE=<file>: keep the
# second run's callgrind output there, for `callgrind_annotate --inclusive=yes <file>`.
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
n1=${N1:-20}
n2=${N2:-120}
form=${API_QUERY_FORM:-variables}
port=${API_PORT:-18184}
command -v valgrind >/dev/null || { echo "bench/api-instructions.sh needs valgrind" >&2; exit 1; }

source bench/bench-org.sh
bin=${API_BIN:-$bin}

role=${API_ROLE:-admin}
user=$(psql -X "$dburl" -Atc "SELECT id FROM users WHERE org_id = 'bench' AND role = '$role' AND active ORDER BY id LIMIT 1")
token=$("$bin" --database "$dburl" token create --org bench --user "$user" --name bench --expires-in 1d 2>/dev/null)
echo "as $role $user; $n1 then $n2 pages" >&2
# Caches kept warm for the whole run, so that every page costs the same.
export HIREPLANE_LIMITS__RATE_PER_SECOND=0 HIREPLANE_LOG_LEVEL=warn HIREPLANE_POOL__SIZE=2 \
    HIREPLANE_AUTH__CACHE_MS=600000 HIREPLANE_CATALOG_CACHE_MS=600000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

selection='pageInfo { hasNextPage endCursor } nodes { id status appliedAt candidate { id name } job { id title } currentStage { id name kind } }'
count() {
    local pages=$1
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" --database "$dburl" serve \
        --listen "127.0.0.1:$port" >/dev/null 2>"$out/server.log" &
    local vg=$!
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.5
    done
    for i in $(seq "$pages"); do
        local after
        after=$(printf 'bench_app_%d' $(( (i * 7919) % n + 1 )) | od -An -tx1 | tr -d ' \n')
        local body
        if [ "$form" = inline ]; then
            body="{\"query\":\"{ applications(first: 50, after: \\\"$after\\\", orderBy: {field: ID}) { $selection } }\"}"
        else
            body="{\"query\":\"query Page(\$after: String) { applications(first: 50, after: \$after, orderBy: {field: ID}) { $selection } }\",\"variables\":{\"after\":\"$after\"}}"
        fi
        curl -sf -o "$out/answer" "http://127.0.0.1:$port/graphql" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d "$body"
        # An error answer costs a fraction of a page: counting it would flatter the server.
        if grep -q '"errors"' "$out/answer"; then
            echo "bench/api-instructions.sh: the page failed: $(head -c 300 "$out/answer")" >&2
            kill -INT "$vg"; exit 1
        fi
    done
    kill -INT "$vg"
    wait "$vg" || true
    grep '^summary' "$out/cg" | awk '{print $2}'
}

i1=$(count "$n1")
i2=$(count "$n2")
[ -n "${API_PROFILE:-}" ] && cp "$out/cg" "$API_PROFILE"
echo "instructions per page: $(( (i2 - i1) / (n2 - n1) ))   ($n1 pages: $i1, $n2 pages: $i2)"
