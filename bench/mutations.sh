#!/usr/bin/env bash
# What a mutation's domain event costs (issue 18: at most 1.15x the same mutation without it).
# Run from the repository root:
#
#   bench/mutations.sh
#
# Builds and runs `crates/app/benches/mutations.rs` (cargo's bench profile: optimized): on a
# generated org (2,000 applications) in a fresh SQLite file and a fresh PostgreSQL database,
# `moveApplication` and `createCandidate` as the API runs them (`app::hiring`: authorization,
# one transaction, the events), with the outbox write on and off (`Store::set_emit_events`, a
# knob for this benchmark only), alternated in one run: ROUNDS rounds (default 15), each
# timing BATCH (default 100) of each mutation in both modes, the modes' order swapped every
# round. Prints the medians of the per-mutation times and their ratio.
#
# Environment: HIREPLANE_BENCH_POSTGRES (a server URL whose user may create databases; default
# postgres://postgres@127.0.0.1:5432/postgres; empty: SQLite only), ROUNDS, BATCH.
set -euo pipefail
export HIREPLANE_BENCH_POSTGRES=${HIREPLANE_BENCH_POSTGRES-postgres://postgres@127.0.0.1:5432/postgres}
[ -n "$HIREPLANE_BENCH_POSTGRES" ] || unset HIREPLANE_BENCH_POSTGRES
echo "rerun: bench/mutations.sh   (ROUNDS=${ROUNDS:-15} BATCH=${BATCH:-100}); $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)" >&2
cargo bench --workspace --bench mutations
