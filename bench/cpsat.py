#!/usr/bin/env python3
# CP-SAT reference model for hireplane's scheduling requests (issue 5), built from the same request
# JSON as `scheduling::solve` (documented in crates/scheduling/src/request.rs) without calling the
# Rust code. It encodes the hard rules independently: working hours per local date with
# daylight-saving resolved by zoneinfo (fold=0: a time in a gap moves forward, a time in a fold
# takes the earlier instant), busy and booked time (widened to whole minutes), candidate windows
# (narrowed), breaks, minimum notice and horizon, sessions on the UTC grid, no overlap, one
# candidate-local day per loop (no `split_days`), order (`fixed`, `before`, `last`), gaps between
# consecutive sessions, span, distinct people per loop, pool eligibility (active, qualified or
# graduated), load limits per local day and local ISO week counting booked interviews by the local
# date of their start, and trainee seats (shadow; reverse shadow needs a qualified pool member in a
# seat of the session). Objective, lexicographic, solved in stages (each optimum fixed before the
# next): end of the loop; load (per non-trainee seat, the person's booked interviews in the local
# ISO week of the session start); candidate idle minutes; empty trainee seats.
#
#   python3 bench/cpsat.py [--workers N] REQUEST.json...            one JSON line per request
#   python3 bench/cpsat.py --compare HIREPLANE.jsonl REQUEST.json... also compare with hireplane
#
# Request files are named SIZE-SEED.json (as `instances dump` writes them); HIREPLANE.jsonl holds
# the lines of `instances time SIZE N`. `ms` is CP-SAT's own wall time summed over the four stages
# (model building in Python excluded); `build_ms` is the model building. `split_days` requests are
# refused (the benchmark instances do not use it).
import argparse
import bisect
import itertools
import json
import math
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

UTC = timezone.utc
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def instant(s):
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        raise ValueError(f"instant without offset: {s}")
    return dt


def min_floor(dt):
    return math.floor(dt.timestamp()) // 60


def min_ceil(dt):
    secs = dt.timestamp()
    return -((-math.ceil(secs)) // 60)


def clock(s):
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def local_minute(tz, d, minute_of_day):
    """UTC minute of a local date and clock minute (1440 = next midnight), fold=0."""
    d2 = d + timedelta(days=minute_of_day // 1440)
    m = minute_of_day % 1440
    dt = datetime(d2.year, d2.month, d2.day, m // 60, m % 60, tzinfo=tz, fold=0)
    return int(dt.timestamp()) // 60


def merge(iv):
    iv = sorted((a, b) for a, b in iv if b > a)
    out = []
    for a, b in iv:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def subtract(base, cut):
    out = []
    cut = merge(cut)
    for a, b in base:
        cur = a
        for x, y in cut:
            if y <= cur or x >= b:
                continue
            if x > cur:
                out.append([cur, x])
            cur = max(cur, y)
        if cur < b:
            out.append([cur, b])
    return out


def contains(ivs, starts, a, b):
    i = bisect.bisect_right(starts, a) - 1
    return i >= 0 and ivs[i][0] <= a and b <= ivs[i][1]


def dates_between(d0, d1):
    d = d0
    while d <= d1:
        yield d
        d += timedelta(days=1)


def fmt(minute):
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def solve(req, workers=1):
    t_build = time.perf_counter()
    g = req.get("grid_minutes", 15)
    lp = req["loop"]
    if lp.get("split_days", False):
        raise ValueError("split_days is not modelled")
    now = instant(req["now"])
    cand = req["candidate"]
    ctz = ZoneInfo(cand["zone"])
    earliest = min_ceil(now) + cand.get("min_notice_minutes", 0)
    earliest = -((-earliest) // g) * g
    horizon_end = min_floor(now) + cand.get("horizon_days", 14) * 1440

    def cdate(m, cache={}):
        k = (cand["zone"], m)
        if k not in cache:
            cache[k] = datetime.fromtimestamp(m * 60, ctz).date()
        return cache[k]

    dates_cand = list(
        dates_between(
            datetime.fromtimestamp(earliest * 60, ctz).date() - timedelta(days=1),
            datetime.fromtimestamp(max(earliest, horizon_end) * 60, ctz).date() + timedelta(days=1),
        )
    )
    windows = merge([(min_ceil(instant(a)), min_floor(instant(b))) for a, b in cand["windows"]])
    brk = []
    for a, b in lp.get("breaks", []):
        for d in dates_cand:
            brk.append((local_minute(ctz, d, clock(a)), local_minute(ctz, d, clock(b))))
    windows = subtract(windows, brk)
    windows = [[max(a, earliest), min(b, horizon_end)] for a, b in windows]
    windows = [w for w in windows if w[1] > w[0]]
    wstarts = [w[0] for w in windows]

    sessions = lp["sessions"]
    ns = len(sessions)
    sid = {s["id"]: i for i, s in enumerate(sessions)}
    dur = [s["duration_minutes"] for s in sessions]
    # Candidate-allowed starts per session: on the grid, inside a window, within one local day.
    cstarts = []
    for s in range(ns):
        out = []
        if windows:
            t = -((-windows[0][0]) // g) * g
            while t + dur[s] <= windows[-1][1]:
                if contains(windows, wstarts, t, t + dur[s]) and cdate(t) == cdate(t + dur[s] - 1):
                    out.append(t)
                t += g
        cstarts.append(out)

    people = {p["id"]: p for p in req["interviewers"]}
    pools = {p["id"]: p for p in req.get("pools", [])}

    def step(pool, m):
        if m["status"] == "qualified":
            return "qualified"
        if m.get("shadows_completed", 0) < pool.get("required_shadows", 0):
            return "shadow"
        if m.get("reverse_shadows_completed", 0) < pool.get("required_reverse_shadows", 0):
            return "reverse_shadow"
        return "qualified"

    def qualified(pool_id):
        pool = pools[pool_id]
        return [
            m["user"]
            for m in pool["members"]
            if people[m["user"]].get("active", True) and step(pool, m) == "qualified"
        ]

    # Seats: (session, eligible ids, count).
    seats = []
    for s, sess in enumerate(sessions):
        for seat in sess["seats"]:
            if "person" in seat:
                p = seat["person"]
                seats.append((s, [p] if people[p].get("active", True) else [], 1))
            else:
                seats.append((s, qualified(seat["pool"]), seat.get("count", 1)))
    trainee_cands = {}  # session -> [(id, step)]
    for s, sess in enumerate(sessions):
        if sess.get("trainee"):
            pool = pools[sess["trainee"]["pool"]]
            trainee_cands[s] = [
                (m["user"], step(pool, m))
                for m in pool["members"]
                if people[m["user"]].get("active", True)
                and step(pool, m) in ("shadow", "reverse_shadow")
            ]

    involved = {p for _, el, _ in seats for p in el} | {
        p for c in trainee_cands.values() for p, _ in c
    }

    # Per person: allowed starts per session with the load value of each.
    date_cache = {}

    def pdate(zone, tz, m):
        k = (zone, m)
        if k not in date_cache:
            date_cache[k] = datetime.fromtimestamp(m * 60, tz).date()
        return date_cache[k]

    allowed = {}  # (s, person) -> {start: load}
    for pid in involved:
        p = people[pid]
        tz = ZoneInfo(p["zone"])
        d0 = datetime.fromtimestamp(earliest * 60, tz).date() - timedelta(days=1)
        d1 = datetime.fromtimestamp(max(earliest, horizon_end) * 60, tz).date() + timedelta(days=1)
        work = []
        wh = p.get("working_hours", {})
        for d in dates_between(d0, d1):
            for a, b in wh.get(DAYS[d.weekday()], []):
                x, y = local_minute(tz, d, clock(a)), local_minute(tz, d, clock(b))
                if x < y:
                    work.append((x, y))
        blocks = [
            (min_floor(instant(a)), min_ceil(instant(b)))
            for a, b in p.get("busy", []) + p.get("booked", [])
        ]
        free = subtract(merge(work), blocks)
        fstarts = [f[0] for f in free]
        per_day, per_week = {}, {}
        for a, _ in p.get("booked", []):
            d = instant(a).astimezone(tz).date()
            per_day[d] = per_day.get(d, 0) + 1
            w = d.isocalendar()[:2]
            per_week[w] = per_week.get(w, 0) + 1
        mday, mweek = p.get("max_per_day"), p.get("max_per_week")
        for s in range(ns):
            res = {}
            for t in cstarts[s]:
                if not contains(free, fstarts, t, t + dur[s]):
                    continue
                d = pdate(p["zone"], tz, t)
                wl = per_week.get(d.isocalendar()[:2], 0)
                if mday is not None and per_day.get(d, 0) + 1 > mday:
                    continue
                if mweek is not None and wl + 1 > mweek:
                    continue
                res[t] = wl
            allowed[(s, pid)] = res

    m = cp_model.CpModel()
    base = earliest
    slot = lambda t: (t - base) // g
    cand_days = sorted({cdate(t) for s in range(ns) for t in cstarts[s]})
    if not cand_days or any(not c for c in cstarts):
        return {"status": "infeasible", "build_ms": 1000 * (time.perf_counter() - t_build), "ms": 0.0}
    start = []
    for s in range(ns):
        dom = cp_model.Domain.FromValues([slot(t) for t in cstarts[s]])
        start.append(m.NewIntVarFromDomain(dom, f"start{s}"))
    dsl = [d // g for d in dur]
    end = [start[s] + dsl[s] for s in range(ns)]
    ivs = [m.NewFixedSizeIntervalVar(start[s], dsl[s], f"iv{s}") for s in range(ns)]
    m.AddNoOverlap(ivs)
    # One candidate-local day for the whole loop.
    dayv = [m.NewBoolVar(f"day{k}") for k in range(len(cand_days))]
    m.AddExactlyOne(dayv)
    for k, d in enumerate(cand_days):
        for s in range(ns):
            vals = [slot(t) for t in cstarts[s] if cdate(t) == d]
            if vals:
                m.AddLinearExpressionInDomain(start[s], cp_model.Domain.FromValues(vals)).OnlyEnforceIf(dayv[k])
            else:
                m.Add(dayv[k] == 0)
    # Order rules.
    before, last = [], None
    for rule in lp.get("order", []):
        if "fixed" in rule:
            ids = rule["fixed"]
            before += [(sid[a], sid[b]) for a, b in zip(ids, ids[1:])]
        elif "before" in rule:
            before.append((sid[rule["before"][0]], sid[rule["before"][1]]))
        elif "last" in rule:
            last = sid[rule["last"]]
    for a, b in before:
        m.Add(end[a] <= start[b])
    if last is not None:
        for s in range(ns):
            if s != last:
                m.Add(end[s] <= start[last])
    # Consecutive gaps: one boolean per order of the sessions.
    min_gap = lp.get("min_gap_minutes", 0)
    max_gap = lp.get("max_gap_minutes")
    perms = []
    for perm in itertools.permutations(range(ns)):
        pos = {s: i for i, s in enumerate(perm)}
        if any(pos[a] > pos[b] for a, b in before) or (last is not None and perm[-1] != last):
            continue
        b = m.NewBoolVar("perm")
        perms.append(b)
        for a, c in zip(perm, perm[1:]):
            m.Add(start[c] * g - end[a] * g >= min_gap).OnlyEnforceIf(b)
            if max_gap is not None:
                m.Add(start[c] * g - end[a] * g <= max_gap).OnlyEnforceIf(b)
    m.AddExactlyOne(perms)
    horizon_slots = slot(windows[-1][1]) + 1
    first = m.NewIntVar(0, horizon_slots, "first")
    loop_end = m.NewIntVar(0, horizon_slots, "end")
    m.AddMinEquality(first, start)
    m.AddMaxEquality(loop_end, end)
    if lp.get("max_span_minutes") is not None:
        m.Add((loop_end - first) * g <= lp["max_span_minutes"])
    idle = (loop_end - first) * g - sum(dur)

    # People.
    x = {}  # (seat index, person) -> bool
    for j, (s, el, count) in enumerate(seats):
        vs = []
        for pid in el:
            if allowed.get((s, pid)):
                x[(j, pid)] = m.NewBoolVar(f"x{j}_{pid}")
                vs.append(x[(j, pid)])
        m.Add(sum(vs) == count)
    w = {}  # (session, person) -> bool (trainee seat)
    for s, cands in trainee_cands.items():
        for pid, _ in cands:
            if allowed.get((s, pid)):
                w[(s, pid)] = m.NewBoolVar(f"w{s}_{pid}")
        m.Add(sum(w[(s, pid)] for pid, _ in cands if (s, pid) in w) <= 1)
    # One seat per person per loop.
    per_person = {}
    for (j, pid), v in x.items():
        per_person.setdefault(pid, []).append(v)
    for (s, pid), v in w.items():
        per_person.setdefault(pid, []).append(v)
    for vs in per_person.values():
        if len(vs) > 1:
            m.Add(sum(vs) <= 1)
    # Availability and load per (session, person) in a seat: z_v, the person sits in s at a
    # start where their booked load in that week is v.
    load_terms = []
    for s in range(ns):
        for pid in sorted({p for (j, p) in x if seats[j][0] == s}):
            xs = [v for (j, p), v in x.items() if p == pid and seats[j][0] == s]
            by_load = {}
            for t, wl in allowed[(s, pid)].items():
                by_load.setdefault(wl, []).append(slot(t))
            zs = []
            for wl, vals in sorted(by_load.items()):
                z = m.NewBoolVar("z")
                m.AddLinearExpressionInDomain(start[s], cp_model.Domain.FromValues(vals)).OnlyEnforceIf(z)
                zs.append((wl, z))
            m.Add(sum(z for _, z in zs) == sum(xs))
            load_terms += [wl * z for wl, z in zs if wl]
    # Trainees: available at the start (their load is not part of the objective).
    for (s, pid), tv in w.items():
        vals = [slot(t) for t in allowed[(s, pid)]]
        m.AddLinearExpressionInDomain(start[s], cp_model.Domain.FromValues(vals)).OnlyEnforceIf(tv)
    # Reverse shadows need a qualified member of the trainee pool in a seat of the session.
    for s, cands in trainee_cands.items():
        pool_q = set(qualified(sessions[s]["trainee"]["pool"]))
        sitting = [v for (j, p), v in x.items() if seats[j][0] == s and p in pool_q]
        for pid, st in cands:
            if st == "reverse_shadow" and (s, pid) in w:
                m.Add(sum(sitting) >= 1).OnlyEnforceIf(w[(s, pid)])
    load = sum(load_terms)
    missing = sum(
        1 - sum(w[(s, pid)] for pid, _ in cands if (s, pid) in w) for s, cands in trainee_cands.items()
    )
    build_ms = 1000 * (time.perf_counter() - t_build)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    total = 0.0
    vals = []
    for stage, expr in enumerate([loop_end, load, idle, missing]):
        m.Minimize(expr)
        st = solver.Solve(m)
        total += solver.WallTime()
        if st == cp_model.INFEASIBLE and stage == 0:
            return {"status": "infeasible", "build_ms": build_ms, "ms": 1000 * total}
        if st != cp_model.OPTIMAL:
            return {"status": f"stage {stage}: {solver.StatusName(st)}", "build_ms": build_ms, "ms": 1000 * total}
        v = int(round(solver.ObjectiveValue()))
        vals.append(v)
        m.Add(expr == v)
    return {
        "status": "optimal",
        "end": fmt(base + vals[0] * g),
        "load": vals[1],
        "idle": vals[2],
        "trainees_missing": vals[3],
        "build_ms": build_ms,
        "ms": 1000 * total,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--compare")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    hp = {}
    if a.compare:
        with open(a.compare) as f:
            for line in f:
                r = json.loads(line)
                if "seed" in r:
                    hp[r["seed"]] = r
    times, mism, compared = [], [], 0
    for path in a.files:
        name = os.path.basename(path)[: -len(".json")]
        try:
            size, seed = (int(v) for v in name.split("-"))
        except ValueError:
            size, seed = None, name
        with open(path) as f:
            req = json.load(f)
        r = solve(req, a.workers)
        r.update({"size": size, "seed": seed})
        times.append(r["ms"])
        if a.compare:
            h = hp.get(seed)
            mine = (r.get("end"), r.get("load"), r.get("idle"), r.get("trainees_missing"))
            theirs = None if h is None else (h["end"], h["load"], h["idle"], h["trainees_missing"])
            if r["status"] not in ("optimal", "infeasible"):
                r["mismatch"] = "cp-sat did not prove an optimum"
                mism.append(r)
            elif theirs is None:
                r["mismatch"] = "no hireplane result"
                mism.append(r)
            else:
                compared += 1
                if mine != theirs:
                    r["mismatch"] = {"hireplane": theirs, "cpsat": mine}
                    mism.append(r)
        print(json.dumps(r), flush=True)
    summary = {
        "summary": True,
        "instances": len(a.files),
        "compared": compared,
        "mismatches": len(mism),
        "median_ms": statistics.median(times) if times else None,
    }
    print(json.dumps(summary), flush=True)
    for r in mism:
        print("MISMATCH", json.dumps(r), file=sys.stderr)


if __name__ == "__main__":
    main()
