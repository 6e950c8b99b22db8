//! hireplane's service level objectives: the `slo.yaml` spec (`hireplane-slo/1`) and the
//! Prometheus rule file generated from it, recording rules and multi-window multi-burn-rate
//! alerts in the shapes of [Sloth](https://sloth.dev), with `slo_*` labels in place of `sloth_*`.
//!
//! - [`Spec::parse`]: reads and checks a spec; every error names the input at fault and its
//!   `FILE:LINE:COL` ([`SloError`]).
//! - [`render_rules`]: the rule file, deterministic (the same spec gives the same bytes).
//!
//! # The spec
//!
//! ```yaml
//! version: hireplane-slo/1
//! service: hireplane            # the `slo_service` label
//! labels: {team: platform}      # optional, on every rule
//! slos:
//!   - name: api-availability    # the `slo_name` label; unique
//!     description: API requests succeed.
//!     objective: 99.9           # percent of good events, in (0, 100)
//!     period: 30d               # optional, default 30d; whole days or weeks, 7d to 365d
//!     labels: {tier: "1"}       # optional, on this SLO's rules
//!     events:                   # one SLI: `events` or `latency`
//!       error_query: sum(rate(http_requests_total{code=~"5.."}[{{window}}]))
//!       total_query: sum(rate(http_requests_total[{{window}}]))
//!   - name: api-latency
//!     description: API requests are answered within 250 ms.
//!     objective: 99
//!     latency:                  # a Prometheus histogram; slower than the threshold is bad
//!       metric: http_request_duration_seconds
//!       threshold_seconds: 0.25 # must be a bucket boundary (`le`) of the histogram
//!       selector: 'route!="/metrics"'          # optional matchers, without braces
//!       buckets: [0.05, 0.1, 0.25, 0.5, 1]     # optional: then the threshold is checked
//!     alerts:                   # optional
//!       page: {labels: {team: api}}            # also `name`, `annotations`, `enabled: false`
//!       ticket: {enabled: false}
//! ```
//!
//! `events` queries hold the `{{window}}` placeholder (Sloth's `{{.window}}`) and each returns
//! a single series without labels (aggregate with `sum`). The generator wraps them so that an
//! error counter with no series yet counts as zero errors, and a window without traffic records
//! no sample instead of NaN (so it raises no alert and does not poison the period's ratio).
//! For `latency`, the error ratio is `1 - good / total` with good the rate of
//! `<metric>_bucket{<selector>, le="<threshold>"}` and total that of `<metric>_count{<selector>}`;
//! a threshold that is not a bucket boundary matches no series and records nothing, which
//! `buckets` catches when given (otherwise it is the spec author's duty).
//!
//! Checked: the version, unknown and duplicate keys, names, labels (`slo_*` is reserved),
//! objective in (0, 100), unique SLO names, the period, the `{{window}}` placeholder, the
//! threshold against `buckets`, and that the page alert can fire at all (14.4 × budget < 1, so
//! the objective is above 93.06%, unless the page alert is disabled).
//!
//! # The rules
//!
//! See [`render`]: per SLO, the error ratio over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the period,
//! metadata (objective, budget, burn rates, budget remaining), and two alerts sharing one name
//! (default `<Service><Name>BurnRate`), told apart by `severity` and `slo_severity`:
//! page = (1h and 5m > 14.4 × budget) or (6h and 30m > 6 × budget);
//! ticket = (1d and 2h > 3 × budget) or (3d and 6h > 1 × budget).
//!
//! Architecture invariant: pure. No IO, no clock: text in, text out.

mod error;
pub mod render;
pub mod spec;
mod yaml;

pub use error::{Location, SloError, SloErrorKind};
pub use render::render_rules;
pub use spec::{Alert, Alerts, Decimal, Period, Sli, Slo, Spec, VERSION, WINDOW_PLACEHOLDER};
