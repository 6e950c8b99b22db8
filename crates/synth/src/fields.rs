//! Tenant-defined custom fields: their definitions and typed values.
//!
//! The definitions cover every field type of the spec on every entity that carries custom
//! fields, some of them sensitive. Values are drawn per record so that each one matches its
//! definition (dates as `YYYY-MM-DD`, selects from the options); not every record carries
//! every field.

use rand::RngExt;

use crate::records::{Fields, Value};
use crate::rng::{Rng, chance, pick, pick_str};
use crate::time::{DAY, Day};
use crate::vocab::{LEVELS, REFERRAL_NOTES};

/// One custom field definition.
pub struct FieldDef {
    pub entity: &'static str,
    pub key: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub options: &'static [&'static str],
    pub sensitive: bool,
    /// Probability that a record carries the field.
    pub presence: f64,
}

const fn def(
    entity: &'static str,
    key: &'static str,
    label: &'static str,
    kind: &'static str,
    options: &'static [&'static str],
    sensitive: bool,
    presence: f64,
) -> FieldDef {
    FieldDef {
        entity,
        key,
        label,
        kind,
        options,
        sensitive,
        presence,
    }
}

const LANGUAGES: &[&str] = &[
    "English",
    "Deutsch",
    "Español",
    "Français",
    "Mandarin",
    "हिन्दी",
    "日本語",
    "Português",
];
const WORK_MODES: &[&str] = &["remote", "hybrid", "onsite"];
const RATINGS: &[&str] = &["A", "B", "C", "D"];
const SKILLS: &[&str] = &[
    "Rust",
    "Go",
    "Python",
    "TypeScript",
    "SQL",
    "Kubernetes",
    "Leadership",
    "Négociation",
];
const LEVEL_OPTIONS: &[&str] = &["L1", "L2", "L3", "L4", "L5", "L6", "L7"];
const PRIORITIES: &[&str] = &["P0", "P1", "P2", "P3"];

/// All definitions, in id order (`{org}_cf_1` is the first).
pub const FIELDS: &[FieldDef] = &[
    def(
        "candidate",
        "years_of_experience",
        "Years of experience",
        "number",
        &[],
        false,
        0.8,
    ),
    def(
        "candidate",
        "visa_sponsorship",
        "Needs visa sponsorship",
        "boolean",
        &[],
        true,
        0.6,
    ),
    def(
        "candidate",
        "languages",
        "Languages spoken",
        "multi_select",
        LANGUAGES,
        false,
        0.5,
    ),
    def(
        "candidate",
        "linkedin_url",
        "LinkedIn profile",
        "text",
        &[],
        false,
        0.55,
    ),
    def(
        "candidate",
        "available_from",
        "Available from",
        "date",
        &[],
        false,
        0.35,
    ),
    def(
        "candidate",
        "work_mode",
        "Preferred work mode",
        "select",
        WORK_MODES,
        false,
        0.5,
    ),
    def(
        "candidate",
        "expected_salary",
        "Expected salary (annual)",
        "number",
        &[],
        true,
        0.3,
    ),
    def(
        "application",
        "referral_note",
        "Referral note",
        "text",
        &[],
        false,
        0.12,
    ),
    def(
        "application",
        "relocation",
        "Requires relocation",
        "boolean",
        &[],
        false,
        0.4,
    ),
    def(
        "application",
        "notice_period_weeks",
        "Notice period (weeks)",
        "number",
        &[],
        false,
        0.45,
    ),
    def(
        "application",
        "screening_rating",
        "Screening rating",
        "select",
        RATINGS,
        false,
        0.5,
    ),
    def(
        "application",
        "earliest_start",
        "Earliest start date",
        "date",
        &[],
        false,
        0.3,
    ),
    def(
        "application",
        "assessed_skills",
        "Skills assessed",
        "multi_select",
        SKILLS,
        false,
        0.35,
    ),
    def(
        "application",
        "current_salary",
        "Current salary",
        "number",
        &[],
        true,
        0.2,
    ),
    def("job", "level", "Level", "select", LEVEL_OPTIONS, false, 1.0),
    def("job", "cost_center", "Cost center", "text", &[], false, 0.8),
    def(
        "job",
        "remote_eligible",
        "Remote eligible",
        "boolean",
        &[],
        false,
        0.9,
    ),
    def(
        "job",
        "target_start",
        "Target start date",
        "date",
        &[],
        false,
        0.5,
    ),
    def(
        "job",
        "required_skills",
        "Required skills",
        "multi_select",
        SKILLS,
        false,
        0.6,
    ),
    def(
        "job",
        "budget_max",
        "Budget ceiling — base salary",
        "number",
        &[],
        true,
        0.7,
    ),
    def(
        "job",
        "priority",
        "Hiring priority",
        "select",
        PRIORITIES,
        false,
        0.6,
    ),
];

/// Context a value may depend on.
pub struct Context {
    /// A time the record is about (created, applied, opened); dates are drawn after it.
    pub at: i64,
    /// The job level (index into `LEVELS`) for job fields.
    pub level: usize,
    /// A number used to make text values distinct.
    pub serial: u64,
}

fn some_of(rng: &mut Rng, options: &'static [&'static str]) -> Vec<&'static str> {
    let n = rng.random_range(1..=3.min(options.len()));
    let mut chosen: Vec<&'static str> = Vec::with_capacity(n);
    while chosen.len() < n {
        let o = *pick(rng, options);
        if !chosen.contains(&o) {
            chosen.push(o);
        }
    }
    // Keep the options' order so equal sets print equally.
    chosen.sort_by_key(|o| options.iter().position(|x| x == o));
    chosen
}

fn value(def: &FieldDef, rng: &mut Rng, ctx: &Context) -> Value {
    match def.key {
        "years_of_experience" => {
            Value::Number((rng.random_range(0.0_f64..1.0).powi(2) * 250.0).round() / 10.0)
        }
        "expected_salary" | "current_salary" => Value::Int(rng.random_range(40_i64..260) * 1000),
        "notice_period_weeks" => Value::Int(*pick(rng, &[0, 1, 2, 4, 4, 6, 8, 12])),
        "budget_max" => {
            let base = LEVELS.get(ctx.level).map_or(120_000.0, |l| l.2);
            Value::Int((base * rng.random_range(1.05..1.25) / 1000.0).round() as i64 * 1000)
        }
        "linkedin_url" => Value::Text(format!("https://www.linkedin.com/in/c-{}", ctx.serial)),
        "referral_note" => Value::Text((*pick(rng, REFERRAL_NOTES)).to_owned()),
        "cost_center" => Value::Text(format!("CC-{}", rng.random_range(1000..9999))),
        "level" => Value::Select(LEVELS.get(ctx.level).map_or("L3", |l| l.0)),
        _ => match def.kind {
            "boolean" => Value::Bool(chance(rng, 0.3)),
            "date" => Value::Date(Day(
                (ctx.at + rng.random_range(7..120) * DAY).div_euclid(DAY)
            )),
            "select" => Value::Select(pick_str(rng, def.options)),
            "multi_select" => Value::Multi(some_of(rng, def.options)),
            "number" => Value::Int(rng.random_range(0..100)),
            _ => Value::Text(String::new()),
        },
    }
}

/// Draws the custom fields of one record of `entity`.
pub fn draw(entity: &str, rng: &mut Rng, ctx: &Context) -> Fields {
    let mut fields = Fields::default();
    for def in FIELDS.iter().filter(|d| d.entity == entity) {
        if chance(rng, def.presence) {
            fields.0.push((def.key, value(def, rng, ctx)));
        }
    }
    fields
}
