//! The solver: exact branch and bound over grid placements, then over people.
//!
//! 1. The grid: slot `i` is `[origin + i*g, origin + (i+1)*g)`, from the first allowed start to
//!    the last candidate window end within the horizon. For every person who could sit in a seat,
//!    `run[i]` is the number of consecutive free slots starting at `i`, where a slot is free when it
//!    lies inside their working hours of some local date whose day and ISO week are still under
//!    their load limits (a person sits in at most one session of a loop, so the loop adds exactly
//!    one interview to one day and one week), and outside every busy block and booked interview.
//!    A session of `d` slots can start at `i` for that person iff `run[i] >= d`. The candidate gets
//!    the same from their windows.
//! 2. Placements: sessions are placed in time order, slot by slot from the earliest, honouring order,
//!    gap, span and same-day rules, and pruned as soon as a seat has too few free people. Because the
//!    first criterion is the end, a placement whose best possible end is later than the worst of the
//!    `options` best found so far is cut, which makes the search stop after the first day(s) with
//!    enough solutions.
//! 3. People: for a complete placement, seats are filled by depth-first search over candidates
//!    sorted by load, with a lower bound on the load still to come; trainee seats last.
//!
//! The objective, compared lexicographically (smaller is better):
//! - `end`: the end of the last session;
//! - `load`: over every non-trainee seat assignment (session, person), the number of interviews the
//!   person already has booked in the local ISO week (their zone) of that session's start;
//! - `idle_minutes`: the candidate's idle time, the sum of gaps between consecutive sessions of the
//!   same candidate-local day;
//! - `trainees_missing`: how many trainee seats stay empty.
//!
//! Ties keep the search order (earlier starts first). Options are distinct: no two have the same
//! start times and the same people in every session.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::interval::{Interval, IntervalSet, local_date, timestamp, working_intervals};
use crate::request::{Prepared, Request, TrainingStep};
use crate::{BUDGET_STEPS, Budget};

/// The result of solving: ranked options, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Solution {
    /// Ranked options, best first (at most `options`).
    Options {
        options: Vec<ScheduleOption>,
        /// The search was cut short: these are the best found, not proven optimal.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unproven: bool,
        /// What cut the search short, when something did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped: Option<Stop>,
    },
    /// Nothing fits.
    Infeasible { reasons: Vec<String> },
}

impl Solution {
    /// The options (empty when infeasible).
    pub fn options(&self) -> &[ScheduleOption] {
        match self {
            Solution::Options { options, .. } => options,
            Solution::Infeasible { .. } => &[],
        }
    }
}

/// What stopped a search before it had tried everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The caller's [`Budget`](crate::Budget) ran out (the request's deadline, `--time-limit`).
    TimeLimit,
    /// The search's own step limit (a valve against pathological inputs).
    StepLimit,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::TimeLimit => {
                "the search ran out of time before it found any schedule (one may still exist): allow more time, or ask for fewer sessions, people or days"
            }
            Stop::StepLimit => {
                "the search stopped at its step limit before it found any schedule (one may still exist): ask for fewer sessions, people or days"
            }
        })
    }
}

/// One complete schedule of the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleOption {
    /// 1 for the best.
    pub rank: u32,
    pub objective: Objective,
    /// One entry per session of the request, in the request's order.
    pub sessions: Vec<ScheduledSession>,
}

/// The objective values of an option (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// End of the loop (RFC 3339, UTC).
    pub end: String,
    pub load: u32,
    pub idle_minutes: u32,
    pub trainees_missing: u32,
}

/// A session placed in time with its people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledSession {
    pub session: String,
    pub start: String,
    pub end: String,
    /// The people of each seat, aligned with the request's seats.
    pub seats: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trainee: Option<TraineeAssignment>,
}

/// The trainee of a session and their role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraineeAssignment {
    pub person: String,
    pub role: TrainingStep,
}

/// What is fixed in advance (used by repair): the start minute of some sessions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pins {
    /// Start minute per session.
    pub start: Vec<Option<i64>>,
}

/// Per-request precomputation: the grid and who is free when.
pub(crate) struct Grid {
    pub origin: i64,
    pub g: i64,
    pub n: usize,
    /// Candidate: consecutive free slots from each slot (one extra 0 at the end).
    pub cand_run: Vec<u16>,
    /// Candidate-local day number of each slot.
    pub day_of: Vec<u32>,
    /// Per person (None when not involved): consecutive free slots from each slot.
    pub run: Vec<Option<Vec<u16>>>,
    /// Per person: interviews already booked in the local week of each slot.
    pub week_load: Vec<Option<Vec<u16>>>,
}

pub(crate) const MAX_SLOTS: usize = 40_000;

fn runs(free: &IntervalSet, origin: i64, g: i64, n: usize) -> Vec<u16> {
    let mut mark = vec![false; n];
    for iv in free.intervals() {
        let first =
            (iv.start - origin).div_euclid(g) + i64::from((iv.start - origin).rem_euclid(g) != 0);
        let last = (iv.end - origin).div_euclid(g); // exclusive
        let (a, b) = (first.max(0), last.min(n as i64));
        for i in a..b {
            mark[i as usize] = true;
        }
    }
    let mut run = vec![0u16; n + 1];
    for i in (0..n).rev() {
        if mark[i] {
            run[i] = run[i + 1].saturating_add(1);
        }
    }
    run
}

impl Grid {
    pub(crate) fn build(p: &Prepared, involved: &[bool]) -> Option<Grid> {
        let g = p.grid;
        let windows =
            IntervalSet::from_intervals(p.cand_windows.iter().map(|&(a, b)| Interval::new(a, b)))
                .intersect(&IntervalSet::from_intervals([Interval::new(
                    p.earliest,
                    p.horizon_end,
                )]));
        let first = windows.intervals().first()?.start;
        let last = windows.intervals().last()?.end;
        let origin = p.earliest + (first - p.earliest).div_euclid(g) * g;
        let n = ((last - origin).div_euclid(g)).max(0) as usize;
        if n == 0 || n > MAX_SLOTS {
            return None;
        }
        let end = origin + n as i64 * g;
        let cand_run = runs(&windows, origin, g, n);
        let first_day = local_date(&p.cand_tz, origin);
        let mut day_of = Vec::with_capacity(n + 1);
        let mut cur_day = first_day;
        let mut idx = 0u32;
        for i in 0..=n {
            let d = local_date(&p.cand_tz, origin + i as i64 * g);
            while cur_day < d {
                match cur_day.tomorrow() {
                    Ok(nd) => cur_day = nd,
                    Err(_) => break,
                }
                idx += 1;
            }
            day_of.push(idx);
        }
        let mut run = Vec::with_capacity(p.people.len());
        let mut week_load = Vec::with_capacity(p.people.len());
        for (pi, person) in p.people.iter().enumerate() {
            if !involved[pi] || !person.active {
                run.push(None);
                week_load.push(None);
                continue;
            }
            let d0 = local_date(&person.tz, origin).yesterday().ok()?;
            let d1 = local_date(&person.tz, end).tomorrow().ok()?;
            let mut per_day: HashMap<jiff::civil::Date, u32> = HashMap::new();
            let mut per_week: HashMap<(i16, i8), u32> = HashMap::new();
            for &(s, _) in &person.booked {
                let d = local_date(&person.tz, s);
                *per_day.entry(d).or_default() += 1;
                let w = d.iso_week_date();
                *per_week.entry((w.year(), w.week())).or_default() += 1;
            }
            let mut allowed = Vec::new();
            let mut loads = Vec::new();
            for (d, iv) in working_intervals(&person.tz, &person.working, d0, d1) {
                let w = d.iso_week_date();
                let wl = per_week.get(&(w.year(), w.week())).copied().unwrap_or(0);
                let dl = per_day.get(&d).copied().unwrap_or(0);
                if person.max_day.is_some_and(|m| dl >= m)
                    || person.max_week.is_some_and(|m| wl >= m)
                {
                    continue;
                }
                allowed.push(iv);
                loads.push((iv, wl));
            }
            let blocked = IntervalSet::from_intervals(
                person
                    .busy
                    .iter()
                    .chain(person.booked.iter())
                    .map(|&(a, b)| Interval::new(a, b)),
            );
            let free = IntervalSet::from_intervals(allowed).subtract(&blocked);
            run.push(Some(runs(&free, origin, g, n)));
            let mut wl = vec![0u16; n];
            for (iv, l) in loads {
                let a = ((iv.start - origin).div_euclid(g)).clamp(0, n as i64) as usize;
                let b = ((iv.end - origin + g - 1).div_euclid(g)).clamp(0, n as i64) as usize;
                for x in &mut wl[a..b] {
                    *x = u16::try_from(l).unwrap_or(u16::MAX);
                }
            }
            week_load.push(Some(wl));
        }
        Some(Grid {
            origin,
            g,
            n,
            cand_run,
            day_of,
            run,
            week_load,
        })
    }

    pub(crate) fn free(&self, person: usize, slot: usize, d: usize) -> bool {
        self.run
            .get(person)
            .and_then(|r| r.as_ref())
            .and_then(|r| r.get(slot))
            .is_some_and(|&r| r as usize >= d)
    }

    fn load(&self, person: usize, slot: usize) -> u32 {
        self.week_load
            .get(person)
            .and_then(|r| r.as_ref())
            .and_then(|r| r.get(slot))
            .map_or(0, |&x| u32::from(x))
    }
}

/// Everyone who could sit in a seat or a trainee seat.
pub(crate) fn involved(p: &Prepared) -> Vec<bool> {
    let mut v = vec![false; p.people.len()];
    for s in &p.sessions {
        for seat in &s.seats {
            for &x in &seat.eligible {
                v[x] = true;
            }
        }
        if let Some(tp) = s.trainee_pool {
            for &(x, _) in &p.pools[tp].trainees {
                v[x] = true;
            }
        }
    }
    v
}

type Key = (usize, u32, i64, u32);

#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub key: Key,
    pub starts: Vec<usize>,
    pub seats: Vec<Vec<Vec<usize>>>,
    pub trainee: Vec<Option<(usize, TrainingStep)>>,
}

struct Search<'a> {
    budget: &'a mut dyn Budget,
    /// Set once the search must stop.
    stopped: Option<Stop>,
    p: &'a Prepared,
    grid: &'a Grid,
    pins: &'a Pins,
    k: usize,
    best: Vec<Found>,
    seen: HashSet<Vec<usize>>,
    start: Vec<usize>,
    dur: Vec<usize>,
    min_gap: usize,
    max_gap: Option<usize>,
    max_span: Option<usize>,
    cache: HashMap<(usize, usize), Rc<Vec<Vec<usize>>>>,
    // Assignment state.
    used: Vec<bool>,
    items: Vec<(usize, usize)>,
    chosen: Vec<Vec<Vec<usize>>>,
    trainee: Vec<Option<(usize, TrainingStep)>>,
    lists: Vec<Rc<Vec<Vec<usize>>>>,
    nodes: u64,
    /// Units of work, for the budget.
    ticks: u64,
}

const UNPLACED: usize = usize::MAX;
/// Safety valve: stop exploring after this many search nodes (keeps pathological inputs bounded).
const NODE_LIMIT: u64 = 50_000_000;

impl<'a> Search<'a> {
    /// Counts a search node; whether the search must stop (step limit, or the budget).
    fn out(&mut self) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        self.nodes += 1;
        if self.nodes > NODE_LIMIT {
            self.stopped = Some(Stop::StepLimit);
        }
        self.tick()
    }

    /// Counts a unit of work (a node, or a time slot tried); every [`BUDGET_STEPS`] of them the
    /// budget is asked. Whether the search must stop.
    fn tick(&mut self) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        self.ticks += 1;
        if self.ticks.is_multiple_of(BUDGET_STEPS) && !self.budget.keep_going() {
            self.stopped = Some(Stop::TimeLimit);
        }
        self.stopped.is_some()
    }

    fn worst(&self) -> Option<Key> {
        if self.best.len() >= self.k {
            self.best.last().map(|f| f.key)
        } else {
            None
        }
    }

    /// Candidates per seat of session `s` at slot `t`, sorted by load, or None when a seat cannot
    /// be filled.
    fn seat_lists(&mut self, s: usize, t: usize) -> Option<Rc<Vec<Vec<usize>>>> {
        if let Some(l) = self.cache.get(&(s, t)) {
            return if l
                .iter()
                .zip(&self.p.sessions[s].seats)
                .all(|(l, seat)| l.len() >= seat.count)
            {
                Some(l.clone())
            } else {
                None
            };
        }
        let d = self.dur[s];
        let mut lists = Vec::new();
        for seat in &self.p.sessions[s].seats {
            let mut l: Vec<usize> = seat.eligible.clone();
            l.retain(|&x| self.grid.free(x, t, d));
            l.sort_by_key(|&x| (self.grid.load(x, t), x));
            lists.push(l);
        }
        let ok = lists
            .iter()
            .zip(&self.p.sessions[s].seats)
            .all(|(l, seat)| l.len() >= seat.count);
        let rc = Rc::new(lists);
        self.cache.insert((s, t), rc.clone());
        ok.then_some(rc)
    }

    fn can_place(&mut self, s: usize, t: usize) -> bool {
        let d = self.dur[s];
        let g = self.grid;
        if t + d > g.n || (g.cand_run[t] as usize) < d || g.day_of[t] != g.day_of[t + d - 1] {
            return false;
        }
        if let Some(Some(pin)) = self.pins.start.get(s)
            && g.origin + t as i64 * g.g != *pin
        {
            return false;
        }
        self.seat_lists(s, t).is_some()
    }

    fn ready(&self, s: usize, placed: usize) -> bool {
        if self.start[s] != UNPLACED {
            return false;
        }
        if self.p.last == Some(s) && placed + 1 != self.p.sessions.len() {
            return false;
        }
        self.p
            .before
            .iter()
            .all(|&(a, b)| b != s || self.start[a] != UNPLACED)
    }

    /// Sum of durations and minimum gaps still to come after the current session.
    fn rest(&self) -> usize {
        self.start
            .iter()
            .zip(&self.dur)
            .filter(|(st, _)| **st == UNPLACED)
            .map(|(_, d)| d + self.min_gap_lb())
            .sum()
    }

    fn min_gap_lb(&self) -> usize {
        if self.p.split_days { 0 } else { self.min_gap }
    }

    /// Places the next session. `prev`: (end slot of the previous session, first slot of its day,
    /// idle slots so far).
    fn place(&mut self, placed: usize, prev: Option<(usize, usize, usize)>) {
        if self.out() {
            return;
        }
        let n_s = self.p.sessions.len();
        if placed == n_s {
            if let Some((end, _, idle)) = prev {
                self.assign_all(end, idle as i64 * self.grid.g);
            }
            return;
        }
        let rest = self.rest();
        let (from, base_day) = match prev {
            None => (0, None),
            Some((end, first, _)) => (end, Some((self.grid.day_of[first], first))),
        };
        for t in from..self.grid.n {
            if self.tick() {
                return;
            }
            // Bound: every completion from here ends at t + rest at the earliest.
            if let Some(w) = self.worst() {
                let lb = t + rest - self.min_gap_lb();
                if lb > w.0 {
                    return;
                }
            }
            let (same_day, day_first, gap) = match (prev, base_day) {
                (Some((end, _, _)), Some((day, first))) => {
                    let same = self.grid.day_of[t] == day;
                    if !same && !self.p.split_days {
                        return;
                    }
                    (same, if same { first } else { t }, t - end)
                }
                _ => (false, t, 0),
            };
            if same_day {
                if gap < self.min_gap {
                    continue;
                }
                if self.max_gap.is_some_and(|m| gap > m) {
                    if self.p.split_days {
                        continue;
                    }
                    return;
                }
            }
            for s in 0..n_s {
                if !self.ready(s, placed) {
                    continue;
                }
                let d = self.dur[s];
                if self.max_span.is_some_and(|m| t + d - day_first > m) {
                    continue;
                }
                if !self.can_place(s, t) {
                    continue;
                }
                self.start[s] = t;
                let idle = prev.map_or(0, |(_, _, i)| i) + if same_day { gap } else { 0 };
                self.place(placed + 1, Some((t + d, day_first, idle)));
                self.start[s] = UNPLACED;
            }
        }
    }

    fn assign_all(&mut self, end: usize, idle: i64) {
        let n_s = self.p.sessions.len();
        let mut lists = Vec::with_capacity(n_s);
        for s in 0..n_s {
            match self.seat_lists(s, self.start[s]) {
                Some(l) => lists.push(l),
                None => return,
            }
        }
        self.lists = lists;
        let mut items: Vec<(usize, usize)> = Vec::new();
        for (s, sess) in self.p.sessions.iter().enumerate() {
            for j in 0..sess.seats.len() {
                items.push((s, j));
            }
        }
        items.sort_by_key(|&(s, j)| {
            self.lists[s][j]
                .len()
                .saturating_sub(self.p.sessions[s].seats[j].count)
        });
        // Lower bound of the load of items i.. : sum of their cheapest candidates.
        let mut suffix = vec![0u32; items.len() + 1];
        for i in (0..items.len()).rev() {
            let (s, j) = items[i];
            let c = self.p.sessions[s].seats[j].count;
            let t = self.start[s];
            let lb: u32 = self.lists[s][j]
                .iter()
                .take(c)
                .map(|&x| self.grid.load(x, t))
                .sum();
            suffix[i] = suffix[i + 1] + lb;
        }
        self.items = items;
        self.chosen = self
            .p
            .sessions
            .iter()
            .map(|s| vec![Vec::new(); s.seats.len()])
            .collect();
        self.trainee = vec![None; n_s];
        self.fill(0, 0, 0, end, idle, &suffix);
    }

    /// Fills item `i` from candidate position `from` onwards, the loop's load so far being `cost`.
    fn fill(&mut self, i: usize, from: usize, cost: u32, end: usize, idle: i64, suffix: &[u32]) {
        if self.out() {
            return;
        }
        if i == self.items.len() {
            self.fill_trainees(0, cost, end, idle, 0);
            return;
        }
        let (s, j) = self.items[i];
        let need = self.p.sessions[s].seats[j].count;
        // Lower bound of what is still to come: the cheapest members of the untouched seats.
        let lb = if self.chosen[s][j].is_empty() {
            suffix[i]
        } else {
            suffix[i + 1]
        };
        if let Some(w) = self.worst()
            && (end, cost + lb, idle, 0) >= w
        {
            return;
        }
        let t = self.start[s];
        let list = self.lists[s].clone();
        let cands = &list[j];
        for (pos, &x) in cands.iter().enumerate().skip(from) {
            if self.used[x] {
                continue;
            }
            self.used[x] = true;
            self.chosen[s][j].push(x);
            let c = cost + self.grid.load(x, t);
            if self.chosen[s][j].len() == need {
                self.fill(i + 1, 0, c, end, idle, suffix);
            } else {
                self.fill(i, pos + 1, c, end, idle, suffix);
            }
            self.chosen[s][j].pop();
            self.used[x] = false;
        }
    }

    fn fill_trainees(&mut self, s: usize, cost: u32, end: usize, idle: i64, missing: u32) {
        if self.out() {
            return;
        }
        if let Some(w) = self.worst()
            && (end, cost, idle, missing) >= w
        {
            return;
        }
        let n_s = self.p.sessions.len();
        if s == n_s {
            self.record((end, cost, idle, missing));
            return;
        }
        let Some(tp) = self.p.sessions[s].trainee_pool else {
            self.fill_trainees(s + 1, cost, end, idle, missing);
            return;
        };
        let t = self.start[s];
        let d = self.dur[s];
        let pool = &self.p.pools[tp];
        let has_qualified = self.chosen[s]
            .iter()
            .flatten()
            .any(|x| pool.qualified.binary_search(x).is_ok());
        let cands: Vec<(usize, TrainingStep)> = pool
            .trainees
            .iter()
            .copied()
            .filter(|&(x, step)| {
                !self.used[x]
                    && self.grid.free(x, t, d)
                    && (step != TrainingStep::ReverseShadow || has_qualified)
            })
            .collect();
        for (x, step) in cands {
            self.used[x] = true;
            self.trainee[s] = Some((x, step));
            self.fill_trainees(s + 1, cost, end, idle, missing);
            self.trainee[s] = None;
            self.used[x] = false;
        }
        self.fill_trainees(s + 1, cost, end, idle, missing + 1);
    }

    fn record(&mut self, key: Key) {
        let canon = canonical(&self.start, &self.chosen, &self.trainee);
        if self.seen.contains(&canon) {
            return;
        }
        let pos = self.best.partition_point(|f| f.key <= key);
        if pos >= self.k {
            return;
        }
        self.best.insert(
            pos,
            Found {
                key,
                starts: self.start.clone(),
                seats: self.chosen.clone(),
                trainee: self.trainee.clone(),
            },
        );
        self.seen.insert(canon);
        if self.best.len() > self.k
            && let Some(evicted) = self.best.pop()
        {
            self.seen.remove(&canonical(
                &evicted.starts,
                &evicted.seats,
                &evicted.trainee,
            ));
        }
    }
}

/// What makes two options the same: the start of every session and the set of people in it.
fn canonical(
    starts: &[usize],
    seats: &[Vec<Vec<usize>>],
    trainee: &[Option<(usize, TrainingStep)>],
) -> Vec<usize> {
    let mut canon = starts.to_vec();
    for (s, seats) in seats.iter().enumerate() {
        let mut people: Vec<usize> = seats.iter().flatten().copied().collect();
        people.sort_unstable();
        canon.push(usize::MAX);
        canon.extend(people);
        canon.push(
            trainee
                .get(s)
                .copied()
                .flatten()
                .map_or(usize::MAX - 1, |(x, _)| x),
        );
    }
    canon
}

/// Runs the search: the best options, at most `options` of them, and what cut the search short
/// if anything did (then they are the best found, not proven best).
pub(crate) fn search(
    p: &Prepared,
    grid: &Grid,
    pins: &Pins,
    budget: &mut dyn Budget,
) -> (Vec<Found>, Option<Stop>) {
    let g = p.grid;
    let slots = |m: i64| -> usize { usize::try_from(m / g).unwrap_or(0) };
    let mut s = Search {
        budget,
        stopped: None,
        p,
        grid,
        pins,
        k: p.options,
        best: Vec::new(),
        seen: HashSet::new(),
        start: vec![UNPLACED; p.sessions.len()],
        dur: p.sessions.iter().map(|s| slots(s.dur)).collect(),
        min_gap: usize::try_from((p.min_gap + g - 1) / g).unwrap_or(0),
        max_gap: p.max_gap.map(slots),
        max_span: p.max_span.map(slots),
        cache: HashMap::new(),
        used: vec![false; p.people.len()],
        items: Vec::new(),
        chosen: Vec::new(),
        trainee: Vec::new(),
        lists: Vec::new(),
        nodes: 0,
        ticks: 0,
    };
    s.place(0, None);
    (s.best, s.stopped)
}

/// Turns search results into options.
pub(crate) fn to_options(
    r: &Request,
    p: &Prepared,
    grid: &Grid,
    found: &[Found],
) -> Vec<ScheduleOption> {
    let g = grid.g;
    found
        .iter()
        .enumerate()
        .map(|(rank, f)| ScheduleOption {
            rank: rank as u32 + 1,
            objective: Objective {
                end: timestamp(grid.origin + f.key.0 as i64 * g).to_string(),
                load: f.key.1,
                idle_minutes: u32::try_from(f.key.2).unwrap_or(u32::MAX),
                trainees_missing: f.key.3,
            },
            sessions: r
                .interview_loop
                .sessions
                .iter()
                .enumerate()
                .map(|(s, sess)| {
                    let start = grid.origin + f.starts[s] as i64 * g;
                    ScheduledSession {
                        session: sess.id.clone(),
                        start: timestamp(start).to_string(),
                        end: timestamp(start + p.sessions[s].dur).to_string(),
                        seats: f.seats[s]
                            .iter()
                            .map(|people| {
                                let mut ids: Vec<String> = people
                                    .iter()
                                    .map(|&x| r.interviewers[x].id.clone())
                                    .collect();
                                ids.sort();
                                ids
                            })
                            .collect(),
                        trainee: f.trainee[s].map(|(x, role)| TraineeAssignment {
                            person: r.interviewers[x].id.clone(),
                            role,
                        }),
                    }
                })
                .collect(),
        })
        .collect()
}
