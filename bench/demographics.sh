#!/usr/bin/env bash
# Reports over demographics on a large generated org in PostgreSQL (docs/privacy.md). Run from
# the repository root:
#
#   bench/demographics.sh [N]     (applications in the generated org, default 1000000)
#
# Generates and imports the benchmark org as bench/reports.sh does (bench/bench-org.sh's steps:
# the org `bench`, seed 1, in the database hp_bench_N), builds the release binary
# `hireplane-privacy-bench` (`cli`'s `bench` feature: a benchmark tool, never installed with
# `hireplane`, that reaches the database with its own credentials) and runs it as an active
# admin of the org (the org's daily budget of reports over demographics is raised for it):
#   (a) utility: for the two EEO standard reports and four other reports over demographics
#       (group-bys of candidates and applications, one filtered, one with a count's own
#       filter), the relative error |published - true| / true of every published count whose
#       true count is at least 20 (mean, p50, p90, p99, max; limit: max <= 10%);
#   (b) time: each EEO standard report as users get it (compile, budget, the statement with the
#       record-key sums, perturbation and suppression, audit) against the same report
#       unperturbed (compiled by the same stages with the cells cleared: one count of distinct
#       candidates per group, nothing published), alternated RUNS times (default 7), medians
#       and their ratio (limit: <= 1.5x).
# Exits non-zero when a limit is exceeded.
#
# Environment: HIREPLANE_BENCH_POSTGRES (a server URL whose user may create databases; default
# postgres://postgres@127.0.0.1:5432/postgres), RUNS.
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
runs=${RUNS:-7}
echo "rerun: bench/demographics.sh $n   (RUNS=$runs)" >&2

# The benchmark org, built with the `bench` feature (its unperturbed path).
BENCH_FEATURES=bench
. "$(dirname "$0")/bench-org.sh"
echo "hireplane demographics benchmark: $n applications, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $runs runs" >&2
"${CARGO_TARGET_DIR:-target}/release/hireplane-privacy-bench" --database "$dburl" --org bench --runs "$runs"
