//! The standard report library: recruiting questions every talent team asks, shipped as files
//! in `reports/` (one report per file, `#` comments first) and runnable by name.

/// Every standard report: (name, text), sorted by name.
pub const STANDARD: &[(&str, &str)] = &[
    (
        "applications-by-source",
        include_str!("../../../reports/applications-by-source.report"),
    ),
    (
        "archive-reasons",
        include_str!("../../../reports/archive-reasons.report"),
    ),
    (
        "feedback-distribution",
        include_str!("../../../reports/feedback-distribution.report"),
    ),
    ("funnel", include_str!("../../../reports/funnel.report")),
    (
        "hires-by-month",
        include_str!("../../../reports/hires-by-month.report"),
    ),
    (
        "hires-by-recruiter",
        include_str!("../../../reports/hires-by-recruiter.report"),
    ),
    (
        "interviewer-load",
        include_str!("../../../reports/interviewer-load.report"),
    ),
    (
        "interviews-by-month",
        include_str!("../../../reports/interviews-by-month.report"),
    ),
    (
        "jobs-activity",
        include_str!("../../../reports/jobs-activity.report"),
    ),
    (
        "level-breakdown",
        include_str!("../../../reports/level-breakdown.report"),
    ),
    (
        "offer-acceptance",
        include_str!("../../../reports/offer-acceptance.report"),
    ),
    (
        "open-jobs-ageing",
        include_str!("../../../reports/open-jobs-ageing.report"),
    ),
    (
        "pass-through-by-department",
        include_str!("../../../reports/pass-through-by-department.report"),
    ),
    (
        "pipeline-by-stage",
        include_str!("../../../reports/pipeline-by-stage.report"),
    ),
    (
        "source-effectiveness",
        include_str!("../../../reports/source-effectiveness.report"),
    ),
    (
        "time-in-stage",
        include_str!("../../../reports/time-in-stage.report"),
    ),
    (
        "time-to-hire",
        include_str!("../../../reports/time-to-hire.report"),
    ),
];

/// The standard reports over demographics (`reports/eeo-*.report`): EEO-1 style tables in the
/// safe form (`crate::demographics`), for users allowed `viewDemographicsAggregate`. Kept apart
/// from [`STANDARD`], which every role can run.
pub const DEMOGRAPHIC: &[(&str, &str)] = &[
    (
        "eeo-applicants",
        include_str!("../../../reports/eeo-applicants.report"),
    ),
    (
        "eeo-hires",
        include_str!("../../../reports/eeo-hires.report"),
    ),
];

/// A standard report's text by name (one of [`STANDARD`] or [`DEMOGRAPHIC`]).
pub fn get(name: &str) -> Option<&'static str> {
    STANDARD
        .iter()
        .chain(DEMOGRAPHIC)
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The leading `#` comment of a report, joined into one line: what it answers.
pub fn summary(text: &str) -> String {
    text.lines()
        .map_while(|l| l.strip_prefix('#'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}
