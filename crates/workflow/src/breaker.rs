//! The circuit breaker of one destination, in the style of resilience4j's `CircuitBreaker`.
//!
//! Three states:
//!
//! - **closed**: every call is permitted; each outcome goes into a count-based sliding window of
//!   the last `window` calls. Once the window holds at least `minimum_calls` outcomes (capped at
//!   `window`), the breaker opens when the failure rate reaches `failure_rate_percent`, or when
//!   the rate of slow calls (slower than `slow_call`, failed or not) reaches
//!   `slow_call_rate_percent`.
//! - **open**: every call is rejected, with the time left, for `open_for`; the first call asked
//!   for after that turns the breaker half-open (resilience4j's default: no timer of its own).
//! - **half-open**: `half_open_probes` calls are permitted, the others rejected; once all the
//!   probes have reported, their own window decides with the same thresholds: open again, or
//!   closed with an empty window. Probes that never report (a caller that died) do not hold it
//!   half-open for ever: after `max_half_open` it opens again.
//!
//! A call is asked for with [`Breaker::try_acquire`], which hands out a [`Permit`]; its outcome
//! comes back with [`Breaker::record`] (or [`Breaker::release`] when the call was not made).
//! A permit carries the breaker's *epoch*, bumped by every transition: an outcome that reports
//! after the state changed (a slow call issued while closed that ends after the breaker opened)
//! is ignored rather than counted as a probe of the new state.
//!
//! Time is the caller's: monotonic milliseconds (`now_ms`), never read here.

use std::collections::VecDeque;
use std::time::Duration;

/// What shapes a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// How many of the last call outcomes the closed state looks at.
    pub window: u32,
    /// How many outcomes the window must hold before a rate counts (capped at `window`).
    pub minimum_calls: u32,
    /// The failure rate, in percent of the window's calls, at which the breaker opens (1..=100).
    pub failure_rate_percent: u8,
    /// A call that took longer than this is slow; `None`: no call is slow.
    pub slow_call: Option<Duration>,
    /// The rate of slow calls, in percent, at which the breaker opens (1..=100).
    pub slow_call_rate_percent: u8,
    /// How long the breaker stays open before it lets probes through.
    pub open_for: Duration,
    /// How many probe calls the half-open state permits (and waits for).
    pub half_open_probes: u32,
    /// The longest the half-open state waits for its probes before it opens again.
    pub max_half_open: Duration,
}

impl Default for BreakerSettings {
    /// resilience4j's defaults but a smaller window: 20 calls, at least 10, 50% failures,
    /// calls over 10 s slow and 100% slow calls to open, open for 30 s, 3 probes waited for at
    /// most 2 minutes.
    fn default() -> BreakerSettings {
        BreakerSettings {
            window: 20,
            minimum_calls: 10,
            failure_rate_percent: 50,
            slow_call: Some(Duration::from_secs(10)),
            slow_call_rate_percent: 100,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
            max_half_open: Duration::from_secs(120),
        }
    }
}

/// Settings a breaker cannot work with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BreakerSettingsError {
    #[error("`window` must be at least 1")]
    Window,
    #[error("`half_open_probes` must be at least 1")]
    Probes,
    #[error("`{name}` is {value}: a rate is a percentage from 1 to 100")]
    Rate { name: &'static str, value: u8 },
}

impl BreakerSettings {
    /// Checks the settings (also done by [`Breaker::new`]).
    pub fn check(&self) -> Result<(), BreakerSettingsError> {
        if self.window == 0 {
            return Err(BreakerSettingsError::Window);
        }
        if self.half_open_probes == 0 {
            return Err(BreakerSettingsError::Probes);
        }
        for (name, value) in [
            ("failure_rate_percent", self.failure_rate_percent),
            ("slow_call_rate_percent", self.slow_call_rate_percent),
        ] {
            if !(1..=100).contains(&value) {
                return Err(BreakerSettingsError::Rate { name, value });
            }
        }
        Ok(())
    }
}

/// The state of a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    /// The value of the `hireplane_breaker_state` gauge: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::HalfOpen => 1.0,
            State::Open => 2.0,
        }
    }

    /// `closed`, `open` or `half_open`, as metrics labels and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// A change of state, for metrics and the status the operators see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub at_ms: u64,
}

/// Leave to make one call. Give it back with [`Breaker::record`] or [`Breaker::release`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a permit's outcome must be recorded, or the permit released"]
pub struct Permit {
    epoch: u64,
}

/// Why a call was not permitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// The breaker is open; it lets probes through in `retry_in`.
    Open { retry_in: Duration },
    /// The breaker is half-open and its probes are out; their outcomes decide.
    ProbesOut,
}

/// The breaker's view, for the status the operators see.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerStatus {
    pub state: State,
    /// The outcomes in the current window (the closed window, or the probes' when half-open).
    pub calls: u32,
    pub failures: u32,
    pub slow_calls: u32,
    /// `failures / calls`, from 0 to 1; `None` with no calls.
    pub failure_rate: Option<f64>,
    /// Open: the time until probes are let through.
    pub retry_in: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Call {
    failed: bool,
    slow: bool,
}

/// A count-based sliding window of outcomes, with running counts.
#[derive(Clone, Debug)]
struct Window {
    calls: VecDeque<Call>,
    failures: u32,
    slow: u32,
}

impl Window {
    fn new() -> Window {
        Window {
            calls: VecDeque::new(),
            failures: 0,
            slow: 0,
        }
    }

    fn push(&mut self, call: Call, size: u32) {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        while self.calls.len() >= size {
            match self.calls.pop_front() {
                Some(old) => {
                    self.failures -= u32::from(old.failed);
                    self.slow -= u32::from(old.slow);
                }
                None => break,
            }
        }
        self.failures += u32::from(call.failed);
        self.slow += u32::from(call.slow);
        self.calls.push_back(call);
    }

    fn len(&self) -> u32 {
        u32::try_from(self.calls.len()).unwrap_or(u32::MAX)
    }

    /// Whether the window, holding at least `minimum` calls, reaches a threshold.
    fn trips(&self, minimum: u32, settings: &BreakerSettings) -> bool {
        let calls = u64::from(self.len());
        if calls == 0 || calls < u64::from(minimum) {
            return false;
        }
        let reaches =
            |count: u32, percent: u8| u64::from(count) * 100 >= u64::from(percent) * calls;
        reaches(self.failures, settings.failure_rate_percent)
            || reaches(self.slow, settings.slow_call_rate_percent)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Closed,
    Open { since_ms: u64 },
    HalfOpen { since_ms: u64, issued: u32 },
}

/// The circuit breaker of one destination. Pure: the caller passes the time and keeps it behind
/// whatever lock it shares it with.
#[derive(Clone, Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    phase: Phase,
    window: Window,
    epoch: u64,
}

impl Default for Breaker {
    /// A closed breaker with [`BreakerSettings::default`] (valid: tested).
    fn default() -> Breaker {
        Breaker {
            settings: BreakerSettings::default(),
            phase: Phase::Closed,
            window: Window::new(),
            epoch: 0,
        }
    }
}

impl Breaker {
    /// A closed breaker with an empty window.
    pub fn new(settings: BreakerSettings) -> Result<Breaker, BreakerSettingsError> {
        settings.check()?;
        Ok(Breaker {
            settings,
            phase: Phase::Closed,
            window: Window::new(),
            epoch: 0,
        })
    }

    pub fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// The state, as last changed (an open breaker whose time is up stays open until a call is
    /// asked for or [`Breaker::poll`] runs).
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
        }
    }

    /// Applies the changes that time alone makes: open to half-open once `open_for` has passed,
    /// half-open back to open once `max_half_open` has.
    pub fn poll(&mut self, now_ms: u64) -> Option<Transition> {
        match self.phase {
            Phase::Open { since_ms }
                if now_ms >= since_ms.saturating_add(ms(self.settings.open_for)) =>
            {
                Some(self.go(
                    Phase::HalfOpen {
                        since_ms: now_ms,
                        issued: 0,
                    },
                    now_ms,
                ))
            }
            Phase::HalfOpen { since_ms, .. }
                if now_ms >= since_ms.saturating_add(ms(self.settings.max_half_open)) =>
            {
                Some(self.go(Phase::Open { since_ms: now_ms }, now_ms))
            }
            _ => None,
        }
    }

    /// Asks for leave to make one call at `now_ms`; also returns the transition this caused.
    pub fn try_acquire(&mut self, now_ms: u64) -> (Result<Permit, Rejected>, Option<Transition>) {
        let transition = self.poll(now_ms);
        let permit = match &mut self.phase {
            Phase::Closed => Ok(self.permit()),
            Phase::Open { since_ms } => {
                let until = since_ms.saturating_add(ms(self.settings.open_for));
                Err(Rejected::Open {
                    retry_in: Duration::from_millis(until.saturating_sub(now_ms)),
                })
            }
            Phase::HalfOpen { issued, .. } => {
                if *issued < self.settings.half_open_probes {
                    *issued += 1;
                    Ok(self.permit())
                } else {
                    Err(Rejected::ProbesOut)
                }
            }
        };
        (permit, transition)
    }

    /// Records the outcome of a permitted call that ended at `now_ms` after `took`; returns the
    /// transition it caused. An outcome from before the last transition is ignored.
    pub fn record(
        &mut self,
        permit: Permit,
        now_ms: u64,
        succeeded: bool,
        took: Duration,
    ) -> Option<Transition> {
        if permit.epoch != self.epoch {
            return None;
        }
        let call = Call {
            failed: !succeeded,
            slow: self.settings.slow_call.is_some_and(|limit| took > limit),
        };
        match self.phase {
            Phase::Closed => {
                self.window.push(call, self.settings.window);
                let minimum = self.settings.minimum_calls.min(self.settings.window);
                if self.window.trips(minimum, &self.settings) {
                    return Some(self.go(Phase::Open { since_ms: now_ms }, now_ms));
                }
                None
            }
            // A permit of this epoch cannot come from the open state.
            Phase::Open { .. } => None,
            Phase::HalfOpen { .. } => {
                let probes = self.settings.half_open_probes;
                self.window.push(call, probes);
                if self.window.len() < probes {
                    return None;
                }
                if self.window.trips(probes, &self.settings) {
                    Some(self.go(Phase::Open { since_ms: now_ms }, now_ms))
                } else {
                    Some(self.go(Phase::Closed, now_ms))
                }
            }
        }
    }

    /// Gives back a permit whose call was not made: a half-open breaker may hand it out again.
    pub fn release(&mut self, permit: Permit) {
        if permit.epoch != self.epoch {
            return;
        }
        if let Phase::HalfOpen { issued, .. } = &mut self.phase {
            *issued = issued.saturating_sub(1);
        }
    }

    /// The breaker's view at `now_ms` (without applying [`Breaker::poll`]'s changes).
    pub fn status(&self, now_ms: u64) -> BreakerStatus {
        let calls = self.window.len();
        BreakerStatus {
            state: self.state(),
            calls,
            failures: self.window.failures,
            slow_calls: self.window.slow,
            failure_rate: (calls > 0).then(|| f64::from(self.window.failures) / f64::from(calls)),
            retry_in: match self.phase {
                Phase::Open { since_ms } => Some(Duration::from_millis(
                    since_ms
                        .saturating_add(ms(self.settings.open_for))
                        .saturating_sub(now_ms),
                )),
                _ => None,
            },
        }
    }

    fn permit(&self) -> Permit {
        Permit { epoch: self.epoch }
    }

    /// Moves to `to` with an empty window and a new epoch.
    fn go(&mut self, to: Phase, at_ms: u64) -> Transition {
        let from = self.state();
        self.phase = to;
        self.window = Window::new();
        self.epoch += 1;
        Transition {
            from,
            to: self.state(),
            at_ms,
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(5);

    fn settings() -> BreakerSettings {
        BreakerSettings {
            window: 4,
            minimum_calls: 4,
            failure_rate_percent: 50,
            slow_call: Some(Duration::from_millis(100)),
            slow_call_rate_percent: 75,
            open_for: Duration::from_secs(10),
            half_open_probes: 2,
            max_half_open: Duration::from_secs(60),
        }
    }

    /// One call at `now` with its outcome; the transition it caused.
    fn call(b: &mut Breaker, now: u64, ok: bool, took: Duration) -> Option<Transition> {
        let (permit, t) = b.try_acquire(now);
        assert_eq!(t, None, "no transition when asking at {now}");
        b.record(permit.unwrap(), now, ok, took)
    }

    fn opened(at_ms: u64) -> Option<Transition> {
        Some(Transition {
            from: State::Closed,
            to: State::Open,
            at_ms,
        })
    }

    #[test]
    fn closed_opens_at_the_failure_rate_only_after_the_minimum_of_calls() {
        let mut b = Breaker::new(settings()).unwrap();
        // Three failures: below the minimum of 4 calls, still closed.
        for now in 0..3 {
            assert_eq!(call(&mut b, now, false, FAST), None);
        }
        assert_eq!(b.state(), State::Closed);
        // The fourth: 4 of 4 failed.
        assert_eq!(call(&mut b, 3, false, FAST), opened(3));
        assert_eq!(b.state(), State::Open);
    }

    #[test]
    fn the_window_slides_and_a_rate_below_the_threshold_keeps_it_closed() {
        let mut b = Breaker::new(settings()).unwrap();
        // One failure in every 4 calls: never 50% of the last 4.
        for (i, ok) in [
            true, false, true, true, true, false, true, true, true, false,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(call(&mut b, i as u64, ok, FAST), None, "call {i}");
        }
        let s = b.status(10);
        assert_eq!((s.calls, s.failures), (4, 1));
        assert_eq!(s.failure_rate, Some(0.25));
        // One more failure: the last 4 are ok, ok, fail, fail.
        assert_eq!(call(&mut b, 10, false, FAST), opened(10));
    }

    #[test]
    fn a_minimum_larger_than_the_window_is_capped_at_the_window() {
        let mut b = Breaker::new(BreakerSettings {
            minimum_calls: 100,
            ..settings()
        })
        .unwrap();
        for now in 0..3 {
            assert_eq!(call(&mut b, now, false, FAST), None);
        }
        assert_eq!(call(&mut b, 3, false, FAST), opened(3));
    }

    #[test]
    fn slow_calls_open_it_at_their_own_rate_even_when_they_succeed() {
        let mut b = Breaker::new(settings()).unwrap();
        let slow = Duration::from_millis(101);
        assert_eq!(call(&mut b, 0, true, slow), None);
        assert_eq!(call(&mut b, 1, true, FAST), None);
        assert_eq!(call(&mut b, 2, true, slow), None);
        // 3 of 4 slow = 75%.
        assert_eq!(call(&mut b, 3, true, slow), opened(3));
        // Exactly at the threshold is not slow.
        let mut b = Breaker::new(settings()).unwrap();
        for now in 0..8 {
            assert_eq!(call(&mut b, now, true, Duration::from_millis(100)), None);
        }
        // No slow threshold: nothing is slow.
        let mut b = Breaker::new(BreakerSettings {
            slow_call: None,
            ..settings()
        })
        .unwrap();
        for now in 0..8 {
            assert_eq!(call(&mut b, now, true, Duration::from_secs(3600)), None);
        }
    }

    fn open_breaker() -> Breaker {
        let mut b = Breaker::new(settings()).unwrap();
        for now in 0..4 {
            let _ = call(&mut b, now, false, FAST);
        }
        assert_eq!(b.state(), State::Open);
        b
    }

    #[test]
    fn open_rejects_with_the_time_left_then_lets_probes_through() {
        let mut b = open_breaker(); // opened at 3, for 10 s
        let (r, t) = b.try_acquire(4);
        assert_eq!(
            r,
            Err(Rejected::Open {
                retry_in: Duration::from_millis(9_999)
            })
        );
        assert_eq!(t, None);
        assert_eq!(b.status(4).retry_in, Some(Duration::from_millis(9_999)));
        assert_eq!(b.status(4).calls, 0, "opening empties the window");
        let (r, _) = b.try_acquire(10_002);
        assert_eq!(
            r,
            Err(Rejected::Open {
                retry_in: Duration::from_millis(1)
            })
        );
        // At 10_003 the first call turns it half-open and is a probe.
        let (p1, t) = b.try_acquire(10_003);
        assert_eq!(
            t,
            Some(Transition {
                from: State::Open,
                to: State::HalfOpen,
                at_ms: 10_003
            })
        );
        let p1 = p1.unwrap();
        let p2 = b.try_acquire(10_004).0.unwrap();
        // Two probes out: a third is rejected.
        assert_eq!(b.try_acquire(10_005), (Err(Rejected::ProbesOut), None));
        assert_eq!(b.record(p1, 10_006, true, FAST), None);
        assert_eq!(
            b.record(p2, 10_007, true, FAST),
            Some(Transition {
                from: State::HalfOpen,
                to: State::Closed,
                at_ms: 10_007
            })
        );
        assert_eq!(b.status(10_008).calls, 0, "closing empties the window");
        // Closed again: failures count from scratch.
        for now in 0..3 {
            assert_eq!(call(&mut b, 20_000 + now, false, FAST), None);
        }
    }

    #[test]
    fn failing_probes_reopen_it_for_a_full_open_duration() {
        let mut b = open_breaker();
        let p1 = b.try_acquire(20_000).0.unwrap();
        let p2 = b.try_acquire(20_000).0.unwrap();
        assert_eq!(b.record(p1, 20_001, true, FAST), None);
        assert_eq!(
            b.record(p2, 20_002, false, FAST),
            Some(Transition {
                from: State::HalfOpen,
                to: State::Open,
                at_ms: 20_002
            })
        );
        assert_eq!(
            b.try_acquire(29_000).0,
            Err(Rejected::Open {
                retry_in: Duration::from_millis(1_002)
            })
        );
        // Slow probes reopen it too (2 of 2 slow >= 75%).
        let mut b = open_breaker();
        let slow = Duration::from_millis(500);
        let p1 = b.try_acquire(20_000).0.unwrap();
        let p2 = b.try_acquire(20_000).0.unwrap();
        assert_eq!(b.record(p1, 20_500, true, slow), None);
        assert_eq!(b.record(p2, 20_500, true, slow).unwrap().to, State::Open);
    }

    #[test]
    fn probes_that_never_report_do_not_hold_it_half_open() {
        let mut b = open_breaker();
        let _lost1 = b.try_acquire(20_000).0.unwrap();
        let _lost2 = b.try_acquire(20_000).0.unwrap();
        assert_eq!(b.try_acquire(79_999), (Err(Rejected::ProbesOut), None));
        let (r, t) = b.try_acquire(80_000);
        assert_eq!(
            t,
            Some(Transition {
                from: State::HalfOpen,
                to: State::Open,
                at_ms: 80_000
            })
        );
        assert!(matches!(r, Err(Rejected::Open { .. })));
    }

    #[test]
    fn released_probes_can_be_handed_out_again() {
        let mut b = open_breaker();
        let p1 = b.try_acquire(20_000).0.unwrap();
        let p2 = b.try_acquire(20_000).0.unwrap();
        b.release(p1);
        let p3 = b.try_acquire(20_001).0.unwrap();
        assert_eq!(b.record(p2, 20_002, true, FAST), None);
        assert_eq!(b.record(p3, 20_003, true, FAST).unwrap().to, State::Closed);
    }

    #[test]
    fn outcomes_from_before_a_transition_are_ignored() {
        let mut b = Breaker::new(settings()).unwrap();
        let late = b.try_acquire(0).0.unwrap();
        for now in 1..5 {
            let _ = call(&mut b, now, false, FAST);
        }
        assert_eq!(b.state(), State::Open);
        // Half-open, one probe out: the closed-era call reports and is not taken as a probe.
        let probe = b.try_acquire(20_000).0.unwrap();
        assert_eq!(b.record(late, 20_001, true, FAST), None);
        assert_eq!(b.status(20_001).calls, 0);
        assert_eq!(b.record(probe, 20_002, true, FAST), None);
        assert_eq!(b.status(20_002).calls, 1);
        assert_eq!(b.state(), State::HalfOpen);
    }

    #[test]
    fn poll_applies_time_alone() {
        let mut b = open_breaker();
        assert_eq!(b.poll(5_000), None);
        assert_eq!(b.poll(10_003).map(|t| t.to), Some(State::HalfOpen));
        assert_eq!(b.poll(10_004), None);
        assert_eq!(b.poll(70_003).map(|t| t.to), Some(State::Open));
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |s: BreakerSettings| Breaker::new(s).unwrap_err().to_string();
        assert_eq!(
            bad(BreakerSettings {
                window: 0,
                ..settings()
            }),
            "`window` must be at least 1"
        );
        assert_eq!(
            bad(BreakerSettings {
                half_open_probes: 0,
                ..settings()
            }),
            "`half_open_probes` must be at least 1"
        );
        assert_eq!(
            bad(BreakerSettings {
                failure_rate_percent: 0,
                ..settings()
            }),
            "`failure_rate_percent` is 0: a rate is a percentage from 1 to 100"
        );
        assert_eq!(
            bad(BreakerSettings {
                slow_call_rate_percent: 101,
                ..settings()
            }),
            "`slow_call_rate_percent` is 101: a rate is a percentage from 1 to 100"
        );
        assert_eq!(BreakerSettings::default().check(), Ok(()));
        assert_eq!(Breaker::default().settings(), &BreakerSettings::default());
    }

    mod invariants {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Acquire,
            /// Reports the outcome of the `n`-th held permit (modulo how many are held).
            Report {
                n: usize,
                ok: bool,
                slow: bool,
            },
            Release {
                n: usize,
            },
            Wait {
                ms: u64,
            },
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => Just(Op::Acquire),
                3 => (0..8usize, any::<bool>(), any::<bool>())
                    .prop_map(|(n, ok, slow)| Op::Report { n, ok, slow }),
                1 => (0..8usize).prop_map(|n| Op::Release { n }),
                2 => (0..25_000u64).prop_map(|ms| Op::Wait { ms }),
            ]
        }

        fn legal(t: &Transition) -> bool {
            matches!(
                (t.from, t.to),
                (State::Closed, State::Open)
                    | (State::Open, State::HalfOpen)
                    | (State::HalfOpen, State::Open)
                    | (State::HalfOpen, State::Closed)
            )
        }

        proptest! {
            /// Whatever the calls, outcomes and waits: transitions are the four legal ones and
            /// follow each other; the window never exceeds its size; a half-open breaker never
            /// has more probes out than permitted; an open breaker permits nothing before its
            /// time; a closed breaker that saw only fast successes never opens.
            #[test]
            fn the_breaker_keeps_its_invariants(ops in proptest::collection::vec(op(), 0..200)) {
                let s = settings();
                let mut b = Breaker::new(s).unwrap();
                let mut now = 0u64;
                let mut held: Vec<Permit> = Vec::new();
                let mut last = State::Closed;
                let mut opened_at: Option<u64> = None;
                let mut failures_seen = false;
                for op in ops {
                    let before = b.state();
                    let mut rejected_for = None;
                    let t = match op {
                        Op::Acquire => {
                            let (r, t) = b.try_acquire(now);
                            match r {
                                Ok(p) => {
                                    prop_assert!(
                                        !(t.is_none() && before == State::Open),
                                        "an open breaker permitted a call"
                                    );
                                    held.push(p);
                                }
                                Err(Rejected::Open { retry_in }) => {
                                    prop_assert_eq!(b.state(), State::Open);
                                    rejected_for = Some(retry_in);
                                }
                                Err(Rejected::ProbesOut) => {
                                    prop_assert_eq!(b.state(), State::HalfOpen);
                                }
                            }
                            t
                        }
                        Op::Report { n, ok, slow } if !held.is_empty() => {
                            let p = held.remove(n % held.len());
                            failures_seen |= !ok || slow;
                            let took = if slow { Duration::from_millis(150) } else { FAST };
                            b.record(p, now, ok, took)
                        }
                        Op::Release { n } if !held.is_empty() => {
                            let p = held.remove(n % held.len());
                            b.release(p);
                            None
                        }
                        Op::Wait { ms } => {
                            now += ms;
                            None
                        }
                        _ => None,
                    };
                    if let Some(t) = t {
                        prop_assert!(legal(&t), "{:?}", t);
                        prop_assert_eq!(t.from, last);
                        prop_assert_eq!(t.to, b.state());
                        prop_assert_eq!(t.at_ms, now);
                        if t.to == State::Open {
                            opened_at = Some(now);
                        }
                        if t.from == State::Closed {
                            prop_assert!(failures_seen, "opened without a failure or slow call");
                        }
                    }
                    if t.is_none() {
                        prop_assert_eq!(last, b.state());
                    }
                    if let (Some(retry_in), Some(at)) = (rejected_for, opened_at) {
                        // Rejected exactly until the end of the open duration.
                        prop_assert!(retry_in > Duration::ZERO);
                        prop_assert_eq!(now + ms(retry_in), at + ms(s.open_for));
                    }
                    last = b.state();
                    let st = b.status(now);
                    prop_assert!(st.failures <= st.calls && st.slow_calls <= st.calls);
                    match b.phase {
                        Phase::Closed => prop_assert!(st.calls <= s.window),
                        Phase::Open { .. } => prop_assert_eq!(st.calls, 0),
                        Phase::HalfOpen { issued, .. } => {
                            prop_assert!(issued <= s.half_open_probes);
                            prop_assert!(st.calls < s.half_open_probes);
                        }
                    }
                }
            }
        }
    }
}
