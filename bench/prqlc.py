#!/usr/bin/env python3
# Compile time of prqlc (the PRQL compiler, Python bindings, called in-process) on the nearest
# PRQL equivalents of hireplane's 17 standard reports (reports/*.report), for bench/compile.sh,
# which runs it side by side with crates/query-compiler/examples/compile_timing.rs.
#
#   python3 bench/prqlc.py [N] [WARMUP]        (defaults 2000 and 200)
#   python3 bench/prqlc.py --print NAME        the SQL prqlc produces for one report
#
# Each query is compiled WARMUP times untimed, then N times timed one call at a time
# (`prqlc.compile(text, prqlc.CompileOptions(target="sql.postgres"))`, time.perf_counter_ns);
# one JSON line per report with the median and p90 in microseconds.
#
# The PRQL is written against the store's PostgreSQL tables (crates/store/migrations/postgres),
# scoped to one org by the parameter $1 as hireplane's SQL is, with the joins written out (PRQL
# has no catalog of relations) and the same filters, groups, measures and order. Where PRQL
# cannot say something, the comment above the query says what was done instead:
# - no correlated EXISTS: "reached a stage of kind K" becomes a left join to a grouped relation
#   (per application, from stage_transitions joined to stages);
# - no ordered-set aggregates: median and percentiles are s-strings (percentile_cont ... WITHIN
#   GROUP), which PRQL passes through without analysing them;
# - time-zone bucketing (month, ISO week in the org's zone) is an s-string around to_char;
# - relative dates are parameters ($2, $3 ...) as in hireplane's SQL, not resolved by prqlc.
# The queries are therefore of the same size and shape as the reports' questions; they are not
# claimed to compile to the same SQL text.
import importlib.metadata
import json
import os
import statistics
import sys
import time

# This file is named prqlc.py: keep its own folder off the path so that `import prqlc` finds the
# installed compiler, not this script.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
import prqlc  # noqa: E402

KIND_ORDER = (
    'case [s.kind == "lead" => 1, s.kind == "application_review" => 2, s.kind == "screen" => 3, '
    's.kind == "assessment" => 4, s.kind == "interview" => 5, s.kind == "onsite" => 6, '
    's.kind == "offer" => 7, s.kind == "hired" => 8]'
)


def reached(kind, name):
    """A left join to the applications that reached a stage of `kind` (PRQL has no EXISTS)."""
    return f"""join side:left {name} = (
  from t = stage_transitions
  join st = stages (st.org_id == t.org_id && st.id == t.to_stage_id)
  filter t.org_id == $1 && st.kind == "{kind}"
  group {{t.application_id}} (aggregate {{n = count this}})
) ({name}.application_id == a.id)"""


QUERIES = {
    # Same question and shape: group by the source's kind, count, count hired, rate.
    "applications-by-source": """
from a = applications
join side:left so = sources (so.org_id == a.org_id && so.id == a.source_id)
filter a.org_id == $1
group {so.kind} (
  aggregate {applications = count this, hires = sum (case [a.status == "hired" => 1, true => 0])}
)
derive {hire_rate = math.round 4 (hires / applications)}
sort {-applications, kind}
select {source = kind, applications, hires, hire_rate}
""",
    # Median as an s-string (PRQL has no ordered-set aggregates).
    "archive-reasons": """
from a = applications
filter a.org_id == $1 && a.status == "archived"
group {a.archive_reason} (
  aggregate {
    applications = count this,
    median_days = s"percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM {a.archived_at} - {a.applied_at}) / 86400.0)"
  }
)
derive {median_days = math.round 1 median_days}
sort {-applications, archive_reason}
select {reason = archive_reason, applications, median_days}
""",
    # Same shape: join the author, count per recommendation, average score from a case.
    "feedback-distribution": """
from f = feedback
join side:left u = users (u.org_id == f.org_id && u.id == f.author_id)
filter f.org_id == $1
group {u.name} (
  aggregate {
    scorecards = count this,
    strong_yes = sum (case [f.recommendation == "strong_yes" => 1, true => 0]),
    yes = sum (case [f.recommendation == "yes" => 1, true => 0]),
    no = sum (case [f.recommendation == "no" => 1, true => 0]),
    strong_no = sum (case [f.recommendation == "strong_no" => 1, true => 0]),
    avg_score = average (case [f.recommendation == "strong_no" => 1, f.recommendation == "no" => 2, f.recommendation == "yes" => 3, f.recommendation == "strong_yes" => 4])
  }
)
derive {avg_score = math.round 2 avg_score}
sort {-scorecards, name}
select {interviewer = name, scorecards, strong_yes, yes, no, strong_no, avg_score}
""",
    # Five "reached kind K or later" counts: per application the furthest step reached, from one
    # grouped join (PRQL has no EXISTS), then the five counts; one row with five columns, not
    # five rows (PRQL has no UNION-of-rows unpivot short of `append` of five relations).
    "funnel": """
let furthest = (
  from t = stage_transitions
  join st = stages (st.org_id == t.org_id && st.id == t.to_stage_id)
  filter t.org_id == $1
  derive step = case [st.kind == "application_review" => 1, st.kind == "screen" => 2, st.kind == "onsite" => 3, st.kind == "offer" => 4, st.kind == "hired" => 5]
  filter step != null
  group {t.application_id} (aggregate {step = max step})
)
from a = applications
filter a.org_id == $1 && a.applied_at >= $2 && a.applied_at < $3
join side:left r = furthest (r.application_id == a.id)
aggregate {
  m0 = sum (case [r.step >= 1 => 1, true => 0]),
  m1 = sum (case [r.step >= 2 => 1, true => 0]),
  m2 = sum (case [r.step >= 3 => 1, true => 0]),
  m3 = sum (case [r.step >= 4 => 1, true => 0]),
  m4 = sum (case [r.step >= 5 => 1, true => 0])
}
derive {
  pass_1 = m0 / m0, pass_2 = m1 / m0, pass_3 = m2 / m1, pass_4 = m3 / m2, pass_5 = m4 / m3,
  overall_2 = m1 / m0, overall_3 = m2 / m0, overall_4 = m3 / m0, overall_5 = m4 / m0
}
""",
    # Month in the org's zone as an s-string.
    "hires-by-month": """
from a = applications
join side:left j = jobs (j.org_id == a.org_id && j.id == a.job_id)
join side:left d = departments (d.org_id == j.org_id && d.id == j.department_id)
filter a.org_id == $1 && a.status == "hired"
derive {month = s"to_char({a.hired_at} AT TIME ZONE $2, 'YYYY-MM')"}
group {month, department = d.name} (aggregate {hires = count this})
sort {month, department}
""",
    "hires-by-recruiter": """
from a = applications
join side:left u = users (u.org_id == a.org_id && u.id == a.credited_to_user_id)
filter a.org_id == $1 && a.status == "hired" && a.hired_at >= $2 && a.hired_at < $3
group {credited_to = u.name} (aggregate {hires = count this, jobs = count_distinct a.job_id})
sort {-hires, credited_to}
""",
    # ISO week in the org's zone as an s-string.
    "interviewer-load": """
from p = interview_participants
join side:left i = interviews (i.org_id == p.org_id && i.id == p.interview_id)
join side:left u = users (u.org_id == p.org_id && u.id == p.user_id)
filter p.org_id == $1 && i.status != "cancelled" && i.starts_at >= $2 && i.starts_at < $3
derive {week = s"to_char({i.starts_at} AT TIME ZONE $4, 'IYYY-\\"W\\"IW')"}
group {interviewer = u.name, week} (
  aggregate {interviews = count this, training_seats = sum (case [p.role != "interviewer" => 1, true => 0])}
)
sort {-week, -interviews, interviewer}
""",
    "interviews-by-month": """
from i = interviews
filter i.org_id == $1
derive {month = s"to_char({i.starts_at} AT TIME ZONE $2, 'YYYY-MM')"}
derive {minutes = s"EXTRACT(EPOCH FROM {i.ends_at} - {i.starts_at}) / 60.0"}
group {month, i.status} (aggregate {interviews = count this, avg_minutes = average minutes})
derive {avg_minutes = math.round 0 avg_minutes}
sort {month, status}
""",
    # Five grains, each grouped per title and department in its own relation, joined on the two
    # dimensions (the shape hireplane generates).
    "jobs-activity": """
let open_jobs = (
  from j = jobs
  join side:left d = departments (d.org_id == j.org_id && d.id == j.department_id)
  filter j.org_id == $1 && j.status == "open"
  select {j.org_id, j.id, j.title, department = d.name, j.headcount}
)
let g0 = (from oj = open_jobs | group {oj.title, oj.department} (aggregate {headcount = sum oj.headcount}))
let g1 = (
  from oj = open_jobs
  join a = applications (a.org_id == oj.org_id && a.job_id == oj.id)
  group {oj.title, oj.department} (aggregate {applications = count this, active = sum (case [a.status == "active" => 1, true => 0])})
)
let g2 = (
  from oj = open_jobs
  join a = applications (a.org_id == oj.org_id && a.job_id == oj.id)
  join i = interviews (i.org_id == a.org_id && i.application_id == a.id)
  group {oj.title, oj.department} (aggregate {interviews = count this})
)
let g3 = (
  from oj = open_jobs
  join a = applications (a.org_id == oj.org_id && a.job_id == oj.id)
  join f = feedback (f.org_id == a.org_id && f.application_id == a.id)
  group {oj.title, oj.department} (aggregate {
    scorecards = count this,
    avg_score = average (case [f.recommendation == "strong_no" => 1, f.recommendation == "no" => 2, f.recommendation == "yes" => 3, f.recommendation == "strong_yes" => 4])
  })
)
let current_offers = (
  from o = offers
  filter o.org_id == $1
  group {o.org_id, o.application_id} (aggregate {version = max o.version})
)
let g4 = (
  from oj = open_jobs
  join a = applications (a.org_id == oj.org_id && a.job_id == oj.id)
  join o = current_offers (o.org_id == a.org_id && o.application_id == a.id)
  group {oj.title, oj.department} (aggregate {offers = count this})
)
from g0
join side:left g1 (g1.title == g0.title && g1.department == g0.department)
join side:left g2 (g2.title == g0.title && g2.department == g0.department)
join side:left g3 (g3.title == g0.title && g3.department == g0.department)
join side:left g4 (g4.title == g0.title && g4.department == g0.department)
derive {
  applications = g1.applications ?? 0, active = g1.active ?? 0, interviews = g2.interviews ?? 0,
  scorecards = g3.scorecards ?? 0, avg_score = math.round 2 g3.avg_score, offers = g4.offers ?? 0
}
sort {-applications, g0.title, g0.department}
select {g0.title, g0.department, g0.headcount, applications, active, interviews, scorecards, avg_score, offers}
""",
    # Custom fields read from jsonb with s-strings (PRQL has no JSON operators).
    "level-breakdown": """
from a = applications
join side:left j = jobs (j.org_id == a.org_id && j.id == a.job_id)
join side:left c = candidates (c.org_id == a.org_id && c.id == a.candidate_id)
filter a.org_id == $1
derive {level = s"{j.custom_fields} ->> 'level'"}
derive {years = s"CAST({c.custom_fields} ->> 'years_of_experience' AS double precision)"}
group {level} (
  aggregate {applications = count this, hires = sum (case [a.status == "hired" => 1, true => 0]), avg_years = average years}
)
derive {hire_rate = math.round 4 (hires / applications), avg_years_experience = math.round 1 avg_years}
sort {level}
select {level, applications, hire_rate, avg_years_experience}
""",
    # "Current offer" (no newer version) as a join to the highest version per application
    # (PRQL has no NOT EXISTS).
    "offer-acceptance": """
let latest = (
  from o = offers
  filter o.org_id == $1
  group {o.org_id, o.application_id} (aggregate {version = max o.version})
)
from o = offers
join l = latest (l.org_id == o.org_id && l.application_id == o.application_id && l.version == o.version)
join side:left a = applications (a.org_id == o.org_id && a.id == o.application_id)
join side:left j = jobs (j.org_id == a.org_id && j.id == a.job_id)
join side:left d = departments (d.org_id == j.org_id && d.id == j.department_id)
filter (o.status == "accepted" || o.status == "declined")
group {department = d.name} (aggregate {decided = count this, accepted = sum (case [o.status == "accepted" => 1, true => 0])})
derive {acceptance_rate = math.round 4 (accepted / decided)}
sort {-decided, department}
""",
    # Two groupings (jobs; jobs x applications) joined on title and department, as generated.
    "open-jobs-ageing": """
let oj = (
  from j = jobs
  join side:left d = departments (d.org_id == j.org_id && d.id == j.department_id)
  filter j.org_id == $1 && j.status == "open"
  select {j.org_id, j.id, j.title, department = d.name, j.opened_at}
)
let g0 = (
  from oj
  derive days = s"EXTRACT(EPOCH FROM $2 - {oj.opened_at}) / 86400.0"
  group {oj.title, oj.department} (aggregate {opened_at = min oj.opened_at, days_open = max days})
)
let g1 = (
  from oj
  join a = applications (a.org_id == oj.org_id && a.job_id == oj.id)
  group {oj.title, oj.department} (aggregate {
    applications = count this,
    active = sum (case [a.status == "active" => 1, true => 0]),
    hired = sum (case [a.status == "hired" => 1, true => 0])
  })
)
from g0
join side:left g1 (g1.title == g0.title && g1.department == g0.department)
derive {days_open = math.round 0 g0.days_open, applications = g1.applications ?? 0, active = g1.active ?? 0, hired = g1.hired ?? 0}
sort {g0.opened_at, g0.title, g0.department}
select {g0.title, g0.department, g0.opened_at, days_open, applications, active, hired}
""",
    # Three conversions: "reached K" as left joins to grouped relations (PRQL has no EXISTS).
    "pass-through-by-department": f"""
from a = applications
join side:left j = jobs (j.org_id == a.org_id && j.id == a.job_id)
join side:left d = departments (d.org_id == j.org_id && d.id == j.department_id)
{reached("screen", "rs")}
{reached("onsite", "ro")}
{reached("offer", "rf")}
{reached("hired", "rh")}
filter a.org_id == $1
group {{department = d.name}} (
  aggregate {{
    applications = count this,
    screen_onsite = sum (case [rs.n != null && ro.n != null => 1, true => 0]),
    screen = sum (case [rs.n != null => 1, true => 0]),
    onsite_offer = sum (case [ro.n != null && rf.n != null => 1, true => 0]),
    onsite = sum (case [ro.n != null => 1, true => 0]),
    offer_hired = sum (case [rf.n != null && rh.n != null => 1, true => 0]),
    offer = sum (case [rf.n != null => 1, true => 0])
  }}
)
derive {{
  screen_to_onsite = math.round 3 (screen_onsite / screen),
  onsite_to_offer = math.round 3 (onsite_offer / onsite),
  offer_to_hired = math.round 3 (offer_hired / offer)
}}
sort {{-applications, department}}
select {{department, applications, screen_to_onsite, onsite_to_offer, offer_to_hired}}
""",
    "pipeline-by-stage": f"""
from a = applications
join side:left s = stages (s.org_id == a.org_id && s.id == a.current_stage_id)
filter a.org_id == $1 && a.status == "active"
derive {{kind_order = {KIND_ORDER}}}
group {{s.kind}} (aggregate {{applications = count this, jobs = count_distinct a.job_id, o = min kind_order}})
sort {{o, kind}}
select {{stage = kind, applications, jobs}}
""",
    "source-effectiveness": f"""
from a = applications
join side:left so = sources (so.org_id == a.org_id && so.id == a.source_id)
{reached("onsite", "ro")}
filter a.org_id == $1 && a.source_id != null
group {{so.name, so.kind}} (
  aggregate {{
    applications = count this,
    onsites = sum (case [ro.n != null => 1, true => 0]),
    hires = sum (case [a.status == "hired" => 1, true => 0])
  }}
)
filter applications >= $2
derive {{onsite_rate = math.round 4 (onsites / applications), hire_rate = math.round 4 (hires / applications)}}
sort {{-hire_rate, -applications, name, kind}}
select {{source = name, kind, applications, onsites, hires, onsite_rate, hire_rate}}
""",
    # left_at (the next transition of the same application) from a window (PRQL has no
    # correlated sub-query); median and p90 as s-strings.
    "time-in-stage": f"""
from t = stage_transitions
filter t.org_id == $1
group {{t.application_id}} (
  window (sort {{t.at, t.id}} (derive {{left_at = lead 1 t.at}}))
)
filter left_at != null
join side:left s = stages (s.org_id == t.org_id && s.id == t.to_stage_id)
derive {{days = s"EXTRACT(EPOCH FROM {{left_at}} - {{t.at}}) / 86400.0"}}
derive {{kind_order = {KIND_ORDER}}}
group {{s.kind}} (
  aggregate {{
    entries = count this,
    median_days = s"percentile_cont(0.5) WITHIN GROUP (ORDER BY {{days}})",
    p90_days = s"percentile_cont(0.9) WITHIN GROUP (ORDER BY {{days}})",
    o = min kind_order
  }}
)
derive {{median_days = math.round 1 median_days, p90_days = math.round 1 p90_days}}
sort {{o, kind}}
select {{stage = kind, entries, median_days, p90_days}}
""",
    # Median and p90 as s-strings.
    "time-to-hire": """
from a = applications
join side:left j = jobs (j.org_id == a.org_id && j.id == a.job_id)
join side:left d = departments (d.org_id == j.org_id && d.id == j.department_id)
filter a.org_id == $1 && a.status == "hired"
derive {days = s"EXTRACT(EPOCH FROM {a.hired_at} - {a.applied_at}) / 86400.0"}
group {department = d.name} (
  aggregate {
    hires = count this,
    median_days = s"percentile_cont(0.5) WITHIN GROUP (ORDER BY {days})",
    avg_days = average days,
    p90_days = s"percentile_cont(0.9) WITHIN GROUP (ORDER BY {days})"
  }
)
derive {median_days = math.round 1 median_days, avg_days = math.round 1 avg_days, p90_days = math.round 1 p90_days}
sort {-hires, department}
""",
}


def main():
    opts = prqlc.CompileOptions(target="sql.postgres", format=True, signature_comment=False)
    if len(sys.argv) == 3 and sys.argv[1] == "--print":
        print(prqlc.compile(QUERIES[sys.argv[2]], opts))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    # The options the issue names: the default target options with the PostgreSQL dialect.
    opts = prqlc.CompileOptions(target="sql.postgres")
    for name in sorted(QUERIES):
        text = QUERIES[name]
        sql = prqlc.compile(text, opts)
        for _ in range(warmup):
            prqlc.compile(text, opts)
        times = []
        for _ in range(n):
            start = time.perf_counter_ns()
            prqlc.compile(text, opts)
            times.append((time.perf_counter_ns() - start) / 1000.0)
        times.sort()
        p90 = times[min(len(times) - 1, round((len(times) - 1) * 0.9))]
        print(json.dumps({
            "report": name,
            "compiler": "prqlc",
            "version": importlib.metadata.version("prqlc"),
            "n": n,
            "median_us": round(statistics.median(times), 3),
            "p90_us": round(p90, 3),
            "sql_bytes": len(sql),
        }), flush=True)


if __name__ == "__main__":
    main()
