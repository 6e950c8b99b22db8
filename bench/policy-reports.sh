#!/usr/bin/env bash
# The cost of access policies in reports: each standard report run as an admin (no filter under
# the default policy) and as a recruiter, a hiring manager and an interviewer (row filters and
# masks compiled into the SQL), side by side on the same PostgreSQL database. Run from the
# repository root:
#
#   bench/policy-reports.sh [N]   (applications in the generated org, default 1000000)
#
# Uses the org and database of bench/reports.sh (run it first, or this script does the same
# generate/import: /var/tmp/hireplane-bench-org-N into hp_bench_N). The viewers: the first
# active admin; the recruiter on the hiring team of a confidential job (so both branches of the
# recruiter policy count); the hiring manager on the most hiring teams; the interviewer with
# the most interview seats. For each report, `hireplane explain --as USER` gives each viewer's
# SQL and parameters; psql PREPAREs them (plan_cache_mode = force_custom_plan, the store's
# SESSION_SETTINGS) and runs RUNS rounds alternating admin / viewer, timed by \timing; the table
# shows the medians and the ratio viewer / admin (the target is <= 1.3x).
#
# Environment: HIREPLANE_BENCH_POSTGRES, REPORTS_TODAY, REPORTS_RUNS, REPORTS_ONLY, BENCH_OUT as
# for bench/reports.sh; POLICY_ROLES (default "recruiter hiring_manager interviewer").
set -euo pipefail

n=${1:-1000000}
pg=${HIREPLANE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
today=${REPORTS_TODAY:-2025-06-30}
runs=${REPORTS_RUNS:-5}
roles=${POLICY_ROLES:-recruiter hiring_manager interviewer}
out=${BENCH_OUT:-$(mktemp -d /tmp/hireplane-policy.XXXXXX)}
mkdir -p "$out"
echo "rerun: bench/policy-reports.sh $n   (REPORTS_TODAY=$today REPORTS_RUNS=$runs)" >&2

source bench/bench-org.sh

q() { psql -X "$dburl" -Atc "$1"; }
admin=$(q "SELECT id FROM users WHERE org_id = 'bench' AND role = 'admin' AND active ORDER BY id LIMIT 1")
declare -A viewer
viewer[recruiter]=$(q "SELECT u.id FROM users u JOIN hiring_team h ON h.org_id = u.org_id AND h.user_id = u.id JOIN jobs j ON j.org_id = h.org_id AND j.id = h.job_id WHERE u.org_id = 'bench' AND u.role = 'recruiter' AND u.active AND j.confidential ORDER BY u.id LIMIT 1")
[ -n "${viewer[recruiter]}" ] || viewer[recruiter]=$(q "SELECT id FROM users WHERE org_id = 'bench' AND role = 'recruiter' AND active ORDER BY id LIMIT 1")
viewer[hiring_manager]=$(q "SELECT u.id FROM users u JOIN hiring_team h ON h.org_id = u.org_id AND h.user_id = u.id WHERE u.org_id = 'bench' AND u.role = 'hiring_manager' AND u.active GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1")
viewer[interviewer]=$(q "SELECT u.id FROM users u JOIN interview_participants p ON p.org_id = u.org_id AND p.user_id = u.id WHERE u.org_id = 'bench' AND u.role = 'interviewer' AND u.active GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1")

if [ -n "${REPORTS_ONLY:-}" ]; then
    read -r -a names <<<"$REPORTS_ONLY"
else
    names=()
    for f in reports/*.report; do names+=("$(basename "$f" .report)"); done
fi

echo "hireplane policy benchmark: $n applications, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), today $today, $runs runs; admin $admin" >&2
for name in "${names[@]}"; do
    "$bin" --database "$dburl" explain --as "$admin" --name "$name" --today "$today" >"$out/$name.admin.explain.txt"
    for role in $roles; do
        echo "  $role: ${viewer[$role]}" >"$out/viewers.txt.$role"
        "$bin" --database "$dburl" explain --as "${viewer[$role]}" --name "$name" --today "$today" >"$out/$name.$role.explain.txt"
    done
done
for role in $roles; do echo "$role: ${viewer[$role]}" >&2; done

python3 - "$out" "$dburl" "$runs" "$roles" "${names[@]}" <<'PY'
import os, statistics, subprocess, sys
sys.path.insert(0, "bench")
from explainsql import literal, sections, timings

out, dburl, runs, roles = sys.argv[1:5]
runs = int(runs)
roles = roles.split()
names = sys.argv[5:]


def prepared(label, name, who):
    sql, params = sections(open(os.path.join(out, f"{name}.{who}.explain.txt")).read())
    return f"PREPARE {label} AS {sql};", f"EXECUTE {label}({', '.join(literal(p) for p in params)});"


print(f"{'report':<28} {'viewer':<15} {'rows':>5} {'admin ms':>9} {'viewer ms':>10} {'ratio':>6}  <= 1.3x")
ratios = []
for name in names:
    for role in roles:
        prep_a, exec_a = prepared("a", name, "admin")
        prep_v, exec_v = prepared("v", name, role)
        rows = os.path.join(out, f"{name}.{role}.rows")
        lines = [
            "\\set ON_ERROR_STOP 1",
            "SET jit = off;",
            "SET work_mem = '64MB';",
            "SET plan_cache_mode = force_custom_plan;",
            prep_a,
            prep_v,
            "\\pset format unaligned",
            "\\pset tuples_only on",
            f"\\o {rows}",
            exec_v,
            "\\o /dev/null",
            exec_a,
            "\\timing on",
        ]
        for _ in range(runs):
            lines += ["\\echo MARK admin", exec_a, "\\echo MARK viewer", exec_v]
        script = os.path.join(out, f"{name}.{role}.psql")
        open(script, "w").write("\n".join(lines) + "\n")
        res = subprocess.run(["psql", "-X", "-q", dburl, "-f", script], capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"{name} as {role}: psql failed:\n{res.stderr}")
        t = timings(res.stdout)
        am, vm = statistics.median(t["admin"]), statistics.median(t["viewer"])
        ratio = vm / am if am else float("nan")
        ratios.append(ratio)
        n_rows = len(open(rows).read().splitlines())
        print(f"{name:<28} {role:<15} {n_rows:>5} {am:>9.1f} {vm:>10.1f} {ratio:>5.2f}x  {'yes' if ratio <= 1.3 else 'NO'}", flush=True)
print(f"median ratio {statistics.median(ratios):.2f}x, highest {max(ratios):.2f}x; medians of {runs} runs each, alternating admin / viewer in one psql session; files in {out}")
PY
