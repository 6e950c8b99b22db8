//! The `hireplane-slo/1` spec: its types, how it is read from YAML and what is checked.
//!
//! Every check happens in [`Spec::parse`]: a [`Spec`] that exists holds, so rendering cannot fail.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Location, SloError, SloErrorKind};
use crate::yaml::{self, Key, Node, Value};

/// The one version of the format this crate reads.
pub const VERSION: &str = "hireplane-slo/1";

/// The placeholder in `events` queries that becomes each window (`5m`, `1h`, ...).
pub const WINDOW_PLACEHOLDER: &str = "{{window}}";

/// A checked SLO spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Where the spec came from, as the caller named it (used in errors and the output's header).
    pub origin: String,
    /// The service the SLOs are of: the `slo_service` label.
    pub service: String,
    /// Labels added to every generated rule.
    pub labels: BTreeMap<String, String>,
    /// The SLOs, in the file's order.
    pub slos: Vec<Slo>,
}

/// One service level objective.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slo {
    /// Unique in the spec: the `slo_name` label.
    pub name: String,
    /// What the SLO promises, for people.
    pub description: String,
    /// The target in percent of good events, strictly between 0 and 100.
    pub objective: Decimal,
    /// The compliance period the error budget is counted over (default 30 days).
    pub period: Period,
    /// Labels added to this SLO's rules, over the spec's common ones.
    pub labels: BTreeMap<String, String>,
    /// How good and bad events are counted.
    pub sli: Sli,
    /// The page and ticket alerts.
    pub alerts: Alerts,
}

impl Slo {
    /// The objective as a ratio: 99.9 is 0.999.
    pub fn objective_ratio(&self) -> Decimal {
        self.objective.shifted(2)
    }

    /// The error budget as a ratio: 1 - objective ratio (99.9 gives 0.001).
    pub fn error_budget(&self) -> Decimal {
        self.objective_ratio().one_minus()
    }
}

/// The service level indicator: what fraction of events is bad, over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sli {
    /// Two PromQL queries with the [`WINDOW_PLACEHOLDER`], each aggregated to a single series
    /// without labels (`sum(rate(...[{{window}}]))`): the bad events' rate and all events' rate.
    Events {
        error_query: String,
        total_query: String,
    },
    /// A Prometheus histogram: events slower than `threshold_seconds` are bad.
    Latency {
        /// The histogram's base name (without `_bucket` or `_count`).
        metric: String,
        /// A bucket boundary (`le`) of the histogram, in seconds.
        threshold_seconds: Decimal,
        /// Label matchers without braces (`operation!="report"`), or empty.
        selector: String,
        /// The histogram's bucket boundaries, if the spec lists them (the threshold is one).
        buckets: Option<Vec<Decimal>>,
    },
}

/// The two alerts of an SLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    /// Fast burn: (1h and 5m above 14.4 × budget) or (6h and 30m above 6 × budget).
    pub page: Alert,
    /// Slow burn: (1d and 2h above 3 × budget) or (3d and 6h above 1 × budget).
    pub ticket: Alert,
}

/// One alert's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// False to generate no such alert.
    pub enabled: bool,
    /// The alert's name (default: the service and SLO name in CamelCase, then `BurnRate`).
    pub name: String,
    /// Labels of the alert (default `severity: page` or `severity: ticket`).
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alert (default `summary` and `description`; Prometheus templates).
    pub annotations: BTreeMap<String, String>,
}

/// A compliance period, a whole number of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub days: u32,
}

impl fmt::Display for Period {
    /// As a Prometheus duration: `30d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days)
    }
}

/// A non-negative decimal number kept exactly as written (`99.9` is 999 tenths), so objectives
/// and budgets print without binary floating point noise (`0.001`, not `0.0009999999999999432`).
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    units: u128,
    scale: u32,
}

/// At most this many digits after the point.
const MAX_SCALE: u32 = 12;

impl Decimal {
    /// Reads `123`, `0.25` or `99.95`: digits with an optional fraction, nothing else.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || text.ends_with('.') {
            return None;
        }
        let scale = u32::try_from(frac.len()).ok().filter(|s| *s <= MAX_SCALE)?;
        let units = format!("{int}{frac}").parse::<u128>().ok()?;
        // 10^38 overflows u128 arithmetic below; no objective or threshold is that large.
        (units < 10u128.pow(30)).then_some(Decimal { units, scale })
    }

    fn pow10(n: u32) -> u128 {
        10u128.pow(n)
    }

    /// `self / 10^n`.
    fn shifted(self, n: u32) -> Decimal {
        Decimal {
            units: self.units,
            scale: self.scale + n,
        }
    }

    /// `1 - self`, for `self` in [0, 1].
    fn one_minus(self) -> Decimal {
        Decimal {
            units: Self::pow10(self.scale).saturating_sub(self.units),
            scale: self.scale,
        }
    }

    /// True if the number is 0.
    pub fn is_zero(&self) -> bool {
        self.units == 0
    }

    /// True if `self * factor_units / 10^factor_scale >= 1`.
    fn times_at_least_one(self, factor_units: u128, factor_scale: u32) -> bool {
        self.units * factor_units >= Self::pow10(self.scale + factor_scale)
    }

    /// Compares with `hundred`: -1, 0 or 1 for below, at and above 100.
    fn cmp_hundred(self) -> std::cmp::Ordering {
        self.units.cmp(&(100 * Self::pow10(self.scale)))
    }

    /// True if there is no fraction (`1`, `10`).
    pub fn is_integer(&self) -> bool {
        self.units.is_multiple_of(Self::pow10(self.scale))
    }

    /// The value as `f64`, for the rare consumer that wants one.
    pub fn to_f64(&self) -> f64 {
        // Precision: objectives and thresholds have few digits; the text form is the exact one.
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        let scale = self.scale.max(other.scale);
        self.units * Self::pow10(scale - self.scale)
            == other.units * Self::pow10(scale - other.scale)
    }
}

impl Eq for Decimal {}

impl fmt::Display for Decimal {
    /// The shortest exact form: `0.999`, `0.25`, `1`, `99.9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = Self::pow10(self.scale);
        let (int, frac) = (self.units / p, self.units % p);
        if frac == 0 {
            return write!(f, "{int}");
        }
        let frac = format!("{frac:0width$}", width = self.scale as usize);
        write!(f, "{int}.{}", frac.trim_end_matches('0'))
    }
}

impl Spec {
    /// Reads and checks a spec. `origin` names the text in errors (`slo.yaml:12:7: ...`).
    pub fn parse(text: &str, origin: &str) -> Result<Spec, SloError> {
        let root = yaml::parse(text, origin)?;
        let top = Fields::new(
            &root,
            "the spec",
            "the spec",
            &["version", "service", "labels", "slos"],
        )?;

        let version = top.required("version")?;
        let found = string(version, "version")?;
        if found != VERSION {
            return Err(SloError::new(
                version.at.clone(),
                SloErrorKind::Version {
                    expected: VERSION,
                    found,
                },
            ));
        }

        let service = name(top.required("service")?, "service")?;
        let labels = match top.optional("labels") {
            Some(node) => labels(node, "labels")?,
            None => BTreeMap::new(),
        };

        let slos_node = top.required("slos")?;
        let Value::Sequence(items) = &slos_node.value else {
            return Err(wrong_type(slos_node, "slos", "a list of SLOs"));
        };
        if items.is_empty() {
            return Err(invalid(slos_node, "slos", "must list at least one SLO"));
        }
        let mut slos: Vec<Slo> = Vec::with_capacity(items.len());
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for item in items {
            let (slo, name_at) = slo(item, &service)?;
            if let Some(line) = first_line.get(&slo.name) {
                return Err(SloError::new(
                    name_at,
                    SloErrorKind::DuplicateName {
                        name: slo.name,
                        first_line: *line,
                    },
                ));
            }
            first_line.insert(slo.name.clone(), name_at.line);
            slos.push(slo);
        }

        Ok(Spec {
            origin: origin.to_owned(),
            service,
            labels,
            slos,
        })
    }
}

/// One SLO, and where its name is (for the duplicate check).
fn slo(node: &Node, service: &str) -> Result<(Slo, Location), SloError> {
    let f = Fields::new(
        node,
        "an SLO",
        "slos[]",
        &[
            "name",
            "description",
            "objective",
            "period",
            "labels",
            "events",
            "latency",
            "alerts",
        ],
    )?;
    let name_node = f.required("name")?;
    let slo_name = name(name_node, "name")?;
    let description = nonempty(f.required("description")?, "description")?;

    let objective_node = f.required("objective")?;
    let objective = objective(objective_node)?;

    let period = match f.optional("period") {
        Some(node) => period(node)?,
        None => Period { days: 30 },
    };
    let labels = match f.optional("labels") {
        Some(node) => labels(node, "labels")?,
        None => BTreeMap::new(),
    };

    let sli = match (f.optional("events"), f.optional("latency")) {
        (Some(events), None) => events_sli(events)?,
        (None, Some(latency)) => latency_sli(latency)?,
        (Some(_), Some(latency)) => {
            return Err(SloError::new(
                f.key_at("latency").unwrap_or_else(|| latency.at.clone()),
                SloErrorKind::Sli {
                    found: ", not both".to_owned(),
                },
            ));
        }
        (None, None) => {
            return Err(SloError::new(
                node.at.clone(),
                SloErrorKind::Sli {
                    found: format!(" (SLO `{slo_name}` has neither)"),
                },
            ));
        }
    };

    let default_name = format!("{}{}BurnRate", camel(service), camel(&slo_name));
    let alerts = alerts(f.optional("alerts"), &default_name)?;

    let slo = Slo {
        name: slo_name,
        description,
        objective,
        period,
        labels,
        sli,
        alerts,
    };
    if slo.alerts.page.enabled && slo.error_budget().times_at_least_one(144, 1) {
        return Err(SloError::new(
            objective_node.at.clone(),
            SloErrorKind::ObjectiveTooLowForPage {
                objective: slo.objective.to_string(),
                budget: slo.error_budget().to_string(),
            },
        ));
    }
    Ok((slo, name_node.at.clone()))
}

fn objective(node: &Node) -> Result<Decimal, SloError> {
    let err = |found: String| SloError::new(node.at.clone(), SloErrorKind::Objective { found });
    let Value::Scalar { text, .. } = &node.value else {
        return Err(err(format!("a {}", node.kind())));
    };
    let text = text.trim();
    let value = Decimal::parse(text).ok_or_else(|| err(text.to_owned()))?;
    if value.is_zero() || value.cmp_hundred().is_ge() {
        return Err(err(text.to_owned()));
    }
    Ok(value)
}

fn period(node: &Node) -> Result<Period, SloError> {
    let text = string(node, "period")?;
    let days = text
        .strip_suffix('d')
        .and_then(|n| n.parse::<u32>().ok())
        .or_else(|| {
            text.strip_suffix('w')
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(|w| w.checked_mul(7))
        });
    match days {
        Some(days) if (7..=365).contains(&days) => Ok(Period { days }),
        _ => Err(invalid(
            node,
            "period",
            &format!(
                "must be whole days or weeks from 7d to 365d (`30d`, `28d`, `4w`), got `{text}`"
            ),
        )),
    }
}

fn events_sli(node: &Node) -> Result<Sli, SloError> {
    let f = Fields::new(node, "`events`", "events", &["error_query", "total_query"])?;
    let query = |key: &str| -> Result<String, SloError> {
        let node = f.required(key)?;
        let q = nonempty(node, key)?;
        if !q.contains(WINDOW_PLACEHOLDER) {
            let hint = if q.contains("{{.window}}") {
                " (Sloth's `{{.window}}` is written `{{window}}` here)"
            } else {
                ""
            };
            return Err(invalid(
                node,
                key,
                &format!("must contain the `{WINDOW_PLACEHOLDER}` placeholder{hint}"),
            ));
        }
        if q.replace(WINDOW_PLACEHOLDER, "").contains("{{") {
            return Err(invalid(
                node,
                key,
                &format!("has a `{{{{` placeholder other than `{WINDOW_PLACEHOLDER}`"),
            ));
        }
        Ok(q)
    };
    Ok(Sli::Events {
        error_query: query("error_query")?,
        total_query: query("total_query")?,
    })
}

fn latency_sli(node: &Node) -> Result<Sli, SloError> {
    let f = Fields::new(
        node,
        "`latency`",
        "latency",
        &["metric", "threshold_seconds", "selector", "buckets"],
    )?;
    let metric_node = f.required("metric")?;
    let metric = string(metric_node, "metric")?;
    if !is_metric_name(&metric) {
        return Err(invalid(
            metric_node,
            "metric",
            &format!("must be a Prometheus metric name, got `{metric}`"),
        ));
    }
    if let Some(suffix) = ["_bucket", "_count", "_sum"]
        .into_iter()
        .find(|s| metric.ends_with(s))
    {
        return Err(invalid(
            metric_node,
            "metric",
            &format!("must be the histogram's base name, without `{suffix}` (got `{metric}`)"),
        ));
    }

    let threshold_node = f.required("threshold_seconds")?;
    let threshold = positive_decimal(threshold_node, "threshold_seconds")?;

    let selector = match f.optional("selector") {
        Some(node) => {
            let s = string(node, "selector")?.trim().to_owned();
            if s.starts_with('{') || s.ends_with('}') {
                return Err(invalid(
                    node,
                    "selector",
                    "is label matchers without braces, like `operation!=\"report\"`",
                ));
            }
            if s.split(',').any(|m| {
                m.trim_start().starts_with("le")
                    && m.trim_start()[2..].trim_start().starts_with(['=', '!'])
            }) {
                return Err(invalid(
                    node,
                    "selector",
                    "must not match `le`: the threshold sets it",
                ));
            }
            s
        }
        None => String::new(),
    };

    let buckets = match f.optional("buckets") {
        Some(node) => {
            let Value::Sequence(items) = &node.value else {
                return Err(wrong_type(node, "buckets", "a list of numbers"));
            };
            let buckets = items
                .iter()
                .map(|b| positive_decimal(b, "buckets"))
                .collect::<Result<Vec<_>, _>>()?;
            if !buckets.contains(&threshold) {
                let list: Vec<String> = buckets.iter().map(ToString::to_string).collect();
                return Err(invalid(
                    threshold_node,
                    "threshold_seconds",
                    &format!(
                        "must be one of the histogram's `buckets` ({}), got {threshold}",
                        list.join(", ")
                    ),
                ));
            }
            Some(buckets)
        }
        None => None,
    };

    Ok(Sli::Latency {
        metric,
        threshold_seconds: threshold,
        selector,
        buckets,
    })
}

fn alerts(node: Option<&Node>, default_name: &str) -> Result<Alerts, SloError> {
    let f = match node {
        Some(node) => Some(Fields::new(
            node,
            "`alerts`",
            "alerts",
            &["page", "ticket"],
        )?),
        None => None,
    };
    let one = |key: &str| -> Result<Alert, SloError> {
        let node = f.as_ref().and_then(|f| f.optional(key));
        alert(node, key, default_name)
    };
    Ok(Alerts {
        page: one("page")?,
        ticket: one("ticket")?,
    })
}

fn alert(node: Option<&Node>, severity: &str, default_name: &str) -> Result<Alert, SloError> {
    let mut alert = Alert {
        enabled: true,
        name: default_name.to_owned(),
        labels: BTreeMap::from([("severity".to_owned(), severity.to_owned())]),
        annotations: BTreeMap::new(),
    };
    let Some(node) = node else {
        return Ok(alert);
    };
    let context = format!("alerts.{severity}");
    let described = format!("`{context}`");
    let f = Fields::new(
        node,
        &described,
        &context,
        &["enabled", "name", "labels", "annotations"],
    )?;
    if let Some(node) = f.optional("enabled") {
        alert.enabled = match &node.value {
            Value::Scalar { text, plain: true } if text == "true" => true,
            Value::Scalar { text, plain: true } if text == "false" => false,
            _ => return Err(wrong_type(node, "enabled", "`true` or `false`")),
        };
    }
    if let Some(node) = f.optional("name") {
        let name = string(node, "name")?;
        if !is_alert_name(&name) {
            return Err(invalid(
                node,
                "name",
                &format!("must be letters, digits and `_`, starting with a letter, got `{name}`"),
            ));
        }
        alert.name = name;
    }
    if let Some(node) = f.optional("labels") {
        alert.labels.extend(labels(node, "labels")?);
    }
    if let Some(node) = f.optional("annotations") {
        alert.annotations = string_map(node, "annotations", false)?;
    }
    Ok(alert)
}

/// A mapping's entries, with unknown keys already refused.
struct Fields<'a> {
    node: &'a Node,
    entries: &'a [(Key, Node)],
    context: &'a str,
}

impl<'a> Fields<'a> {
    /// `context` names the mapping in "missing" errors (`an SLO`); `path` names it in "unknown
    /// key" errors and type errors (`slos[]`).
    fn new(
        node: &'a Node,
        context: &'a str,
        path: &str,
        allowed: &[&str],
    ) -> Result<Self, SloError> {
        let Value::Mapping(entries) = &node.value else {
            return Err(wrong_type(node, path, "a mapping"));
        };
        if let Some((key, _)) = entries
            .iter()
            .find(|(k, _)| !allowed.contains(&k.name.as_str()))
        {
            return Err(SloError::new(
                key.at.clone(),
                SloErrorKind::UnknownKey {
                    key: key.name.clone(),
                    context: path.to_owned(),
                    expected: allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            ));
        }
        Ok(Self {
            node,
            entries,
            context,
        })
    }

    /// The value of `key`; absent and `null` are the same.
    fn optional(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, v)| k.name == key && !v.is_null())
            .map(|(_, v)| v)
    }

    fn key_at(&self, key: &str) -> Option<Location> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k.at.clone())
    }

    fn required(&self, key: &str) -> Result<&'a Node, SloError> {
        self.optional(key).ok_or_else(|| {
            SloError::new(
                self.key_at(key).unwrap_or_else(|| self.node.at.clone()),
                SloErrorKind::MissingKey {
                    key: key.to_owned(),
                    context: self.context.to_owned(),
                },
            )
        })
    }
}

fn wrong_type(node: &Node, key: &str, expected: &'static str) -> SloError {
    SloError::new(
        node.at.clone(),
        SloErrorKind::WrongType {
            key: key.to_owned(),
            expected,
            found: node.kind(),
        },
    )
}

fn invalid(node: &Node, key: &str, message: &str) -> SloError {
    SloError::new(
        node.at.clone(),
        SloErrorKind::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        },
    )
}

fn string(node: &Node, key: &str) -> Result<String, SloError> {
    match &node.value {
        Value::Scalar { text, .. } if !node.is_null() => Ok(text.clone()),
        _ => Err(wrong_type(node, key, "a string")),
    }
}

fn nonempty(node: &Node, key: &str) -> Result<String, SloError> {
    let s = string(node, key)?.trim().to_owned();
    if s.is_empty() {
        return Err(invalid(node, key, "must not be empty"));
    }
    Ok(s)
}

fn positive_decimal(node: &Node, key: &str) -> Result<Decimal, SloError> {
    let text = string(node, key)?;
    match Decimal::parse(text.trim()) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(invalid(
            node,
            key,
            &format!("must be a positive decimal number like 0.25, got `{text}`"),
        )),
    }
}

/// A service or SLO name: lower case letters, digits, `-` and `_`, starting with a letter.
fn name(node: &Node, key: &str) -> Result<String, SloError> {
    let s = string(node, key)?;
    let ok = s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(invalid(
            node,
            key,
            &format!(
                "must be lower case letters, digits, `-` and `_`, starting with a letter, got `{s}`"
            ),
        ));
    }
    Ok(s)
}

/// A mapping of label names to values; `slo_*` names are the generator's own.
fn labels(node: &Node, key: &str) -> Result<BTreeMap<String, String>, SloError> {
    string_map(node, key, true)
}

fn string_map(
    node: &Node,
    key: &str,
    reserve_slo: bool,
) -> Result<BTreeMap<String, String>, SloError> {
    let Value::Mapping(entries) = &node.value else {
        return Err(wrong_type(node, key, "a mapping of names to strings"));
    };
    let mut map = BTreeMap::new();
    for (k, v) in entries {
        if !is_label_name(&k.name) {
            return Err(SloError::new(
                k.at.clone(),
                SloErrorKind::Invalid {
                    key: k.name.clone(),
                    message: format!(
                        "is not a valid name in `{key}`: letters, digits and `_`, not starting \
                         with a digit or `__`"
                    ),
                },
            ));
        }
        if reserve_slo && k.name.starts_with("slo_") {
            return Err(SloError::new(
                k.at.clone(),
                SloErrorKind::Invalid {
                    key: k.name.clone(),
                    message: "is reserved: the generator sets the `slo_*` labels".to_owned(),
                },
            ));
        }
        let Value::Scalar { text, .. } = &v.value else {
            return Err(wrong_type(v, &k.name, "a string"));
        };
        map.insert(k.name.clone(), text.clone());
    }
    Ok(map)
}

fn is_label_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && !s.starts_with("__")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_metric_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_alert_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `hireplane-api` → `HireplaneApi`.
fn camel(s: &str) -> String {
    s.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
