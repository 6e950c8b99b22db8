//! Offers: versions 1, 2, ... per application (the highest is the current offer, the format's
//! rule), and the status of the current version.
//!
//! Status moves forward through `draft`, `pending_approval`, `approved`, `sent` (steps may be
//! skipped); `accepted` and `declined` follow `sent`; `rescinded` may end any open offer. The three
//! final statuses set `resolved_at` and end the offer's changes. Terms change only before the offer
//! is sent; after that, new terms are a new version.

use domain::entity::{Amount, Application, Offer, Salary};
use domain::enums::{ApplicationStatus, OfferStatus};
use domain::{Date, Id, Instant};

use super::tx::{Kind, Row};
use super::{WriteError, non_empty};
use crate::rows::{Table, Val};
use crate::{Store, StoreError};

/// What an offer offers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfferTerms {
    pub start_date: Option<Date>,
    /// Amount not negative; currency an ISO 4217 code (`USD`).
    pub salary: Option<Salary>,
    /// Not negative.
    pub bonus: Option<Amount>,
    pub equity: Option<String>,
}

/// A new offer version for an application (version = the current highest + 1).
#[derive(Clone, Debug)]
pub struct NewOffer {
    /// The id to give the offer; generated (`off_...`) when `None`.
    pub id: Option<Id>,
    pub application_id: Id,
    pub created_at: Instant,
    /// `draft`, `pending_approval`, `approved` or `sent`.
    pub status: OfferStatus,
    pub terms: OfferTerms,
}

/// A change to the current version of an offer.
#[derive(Clone, Debug)]
pub struct UpdateOffer {
    pub offer_id: Id,
    /// When the change happens (`resolved_at` for a final status); not before `created_at`.
    pub at: Instant,
    pub status: Option<OfferStatus>,
    /// New terms, replacing the old ones (only before the offer is sent).
    pub terms: Option<OfferTerms>,
}

fn is_final(s: OfferStatus) -> bool {
    matches!(
        s,
        OfferStatus::Accepted | OfferStatus::Declined | OfferStatus::Rescinded
    )
}

/// The place of an open status in the offer's progress.
fn step(s: OfferStatus) -> u8 {
    match s {
        OfferStatus::Draft => 0,
        OfferStatus::PendingApproval => 1,
        OfferStatus::Approved => 2,
        OfferStatus::Sent => 3,
        OfferStatus::Accepted | OfferStatus::Declined | OfferStatus::Rescinded => 4,
    }
}

/// Amounts (salary, bonus) are below this, in any currency: a number beyond it is a mistake,
/// and stays exact in a double and in reports' sums.
const LARGEST_AMOUNT: f64 = 1e12;

fn check_terms(t: &OfferTerms) -> Result<(), WriteError> {
    if let Some(s) = &t.salary {
        if !s.amount.0.is_finite() || s.amount.0 < 0.0 || s.amount.0 >= LARGEST_AMOUNT {
            return Err(WriteError::invalid(
                "salary.amount",
                format!(
                    "expected a non-negative number below 10^12, got `{:?}`",
                    s.amount.0
                ),
            ));
        }
        if !(s.currency.len() == 3 && s.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(WriteError::invalid(
                "salary.currency",
                format!(
                    "expected an ISO 4217 currency code such as `USD`, got `{}`",
                    s.currency
                ),
            ));
        }
    }
    if let Some(b) = t.bonus
        && (!b.0.is_finite() || b.0 < 0.0 || b.0 >= LARGEST_AMOUNT)
    {
        return Err(WriteError::invalid(
            "bonus",
            format!(
                "expected a non-negative number below 10^12, got `{:?}`",
                b.0
            ),
        ));
    }
    if let Some(e) = &t.equity {
        non_empty("equity", e)?;
    }
    Ok(())
}

const OFFER_COLUMNS: &str = "id, application_id, version, created_at, status, resolved_at, start_date, salary_amount, salary_currency, salary_period, bonus, equity";
const OFFER_KINDS: [Kind; 12] = [
    Kind::Text,
    Kind::Text,
    Kind::Int,
    Kind::Instant,
    Kind::Text,
    Kind::Instant,
    Kind::Date,
    Kind::Real,
    Kind::Text,
    Kind::Text,
    Kind::Real,
    Kind::Text,
];

fn offer_of(r: &Row) -> Result<Offer, StoreError> {
    let salary = match (r.opt_real(7)?, r.opt_text(8)?, r.opt_text(9)?) {
        (Some(amount), Some(currency), Some(period)) => Some(Salary {
            amount: Amount(amount),
            currency,
            period: domain::enums::SalaryPeriod::parse(&period)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        }),
        (None, None, None) => None,
        _ => return Err(StoreError::Corrupt("offer salary is partly null".into())),
    };
    Ok(Offer {
        id: r.id(0)?,
        application_id: r.id(1)?,
        version: r.uint(2)?,
        created_at: r.instant(3)?,
        status: r.enumeration(4, OfferStatus::parse)?,
        resolved_at: r.opt_instant(5)?,
        start_date: r.opt_date(6)?,
        salary,
        bonus: r.opt_real(10)?.map(Amount),
        equity: r.opt_text(11)?,
    })
}

impl Store {
    /// Creates the next offer version of an application that is not archived.
    pub fn create_offer(&mut self, org: &str, cmd: NewOffer) -> Result<Offer, WriteError> {
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            // Locked: versions are numbered one writer at a time.
            let app: Application =
                tx.must_application(org, "application_id", &cmd.application_id, &schema, true)?;
            if app.status == ApplicationStatus::Archived {
                return Err(WriteError::conflict(
                    "application_id",
                    format!("application `{}` is archived", app.id),
                ));
            }
            if is_final(cmd.status) {
                return Err(WriteError::invalid(
                    "status",
                    format!(
                        "a new offer is `draft`, `pending_approval`, `approved` or `sent`, not `{}`",
                        cmd.status
                    ),
                ));
            }
            check_terms(&cmd.terms)?;
            if cmd.created_at < app.applied_at {
                return Err(WriteError::invalid(
                    "created_at",
                    format!(
                        "`{}` is before the application's `applied_at` `{}`",
                        cmd.created_at, app.applied_at
                    ),
                ));
            }
            let row = tx.query_opt(
                "SELECT CAST(coalesce(max(version), 0) AS bigint) FROM offers WHERE org_id = $1 AND application_id = $2",
                &[Val::Text(org), Val::Text(app.id.as_str())],
                &[Kind::Int],
            )?;
            let last = match row {
                Some(r) => r.uint(0)?,
                None => 0,
            };
            let id = tx.fresh_id(Table::Offers, org, cmd.id.as_ref(), "off")?;
            let offer = Offer {
                id,
                application_id: app.id.clone(),
                version: last + 1,
                created_at: cmd.created_at,
                status: cmd.status,
                resolved_at: None,
                start_date: cmd.terms.start_date,
                salary: cmd.terms.salary,
                bonus: cmd.terms.bonus,
                equity: cmd.terms.equity,
            };
            tx.insert_offer(org, &app, &offer)?;
            tx.emit(
                &crate::events::OFFER_CREATED,
                format!("offer/{}", offer.id),
                serde_json::json!({
                    "offer_id": offer.id,
                    "application_id": app.id,
                    "job_id": app.job_id,
                    "version": offer.version,
                    "status": offer.status.as_str(),
                }),
            );
            Ok(offer)
        })
    }

    /// Changes the status or the terms of the current version of an offer.
    pub fn update_offer(&mut self, org: &str, cmd: UpdateOffer) -> Result<Offer, WriteError> {
        if cmd.status.is_none() && cmd.terms.is_none() {
            return Err(WriteError::invalid(
                "input",
                "nothing to change: give `status` or `terms`",
            ));
        }
        self.write_tx(org, |tx| {
            let schema = tx.custom_schema(org)?;
            let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE org_id = $1 AND id = $2");
            let Some(r) = tx.query_opt(
                &sql,
                &[Val::Text(org), Val::Text(cmd.offer_id.as_str())],
                &OFFER_KINDS,
            )?
            else {
                return Err(WriteError::not_found(
                    "offer_id",
                    "offer",
                    cmd.offer_id.as_str(),
                ));
            };
            let application_id = r.id(1)?;
            // Lock the application, then read the offer again: it is now current.
            let app = tx.must_application(org, "offer_id", &application_id, &schema, true)?;
            let r = tx
                .query_opt(
                    &sql,
                    &[Val::Text(org), Val::Text(cmd.offer_id.as_str())],
                    &OFFER_KINDS,
                )?
                .ok_or_else(|| {
                    WriteError::not_found("offer_id", "offer", cmd.offer_id.as_str())
                })?;
            let mut offer = offer_of(&r)?;
            let from_status = offer.status;
            let changed: Vec<&str> = [("status", cmd.status.is_some()), ("terms", cmd.terms.is_some())]
                .into_iter()
                .filter_map(|(name, given)| given.then_some(name))
                .collect();
            let latest = tx.query_opt(
                "SELECT CAST(max(version) AS bigint) FROM offers WHERE org_id = $1 AND application_id = $2",
                &[Val::Text(org), Val::Text(app.id.as_str())],
                &[Kind::Int],
            )?;
            let latest = match latest {
                Some(r) => r.uint(0)?,
                None => offer.version,
            };
            if offer.version != latest {
                return Err(WriteError::conflict(
                    "offer_id",
                    format!(
                        "offer `{}` is version {} of application `{}`; only the current version {latest} can change",
                        offer.id, offer.version, app.id
                    ),
                ));
            }
            if is_final(offer.status) {
                return Err(WriteError::conflict(
                    "offer_id",
                    format!("offer `{}` is already {}", offer.id, offer.status),
                ));
            }
            if cmd.at < offer.created_at {
                return Err(WriteError::invalid(
                    "at",
                    format!("`{}` is before the offer's `created_at` `{}`", cmd.at, offer.created_at),
                ));
            }
            if let Some(terms) = cmd.terms {
                if step(offer.status) >= step(OfferStatus::Sent) {
                    return Err(WriteError::conflict(
                        "terms",
                        format!(
                            "offer `{}` is {}: new terms need a new offer version",
                            offer.id, offer.status
                        ),
                    ));
                }
                check_terms(&terms)?;
                offer.start_date = terms.start_date;
                offer.salary = terms.salary;
                offer.bonus = terms.bonus;
                offer.equity = terms.equity;
            }
            if let Some(to) = cmd.status {
                let from = offer.status;
                let allowed = match to {
                    OfferStatus::Rescinded => true,
                    OfferStatus::Accepted | OfferStatus::Declined => from == OfferStatus::Sent,
                    _ => step(to) > step(from),
                };
                if !allowed {
                    return Err(WriteError::invalid(
                        "status",
                        format!("an offer that is {from} cannot become {to}"),
                    ));
                }
                offer.status = to;
                if is_final(to) {
                    offer.resolved_at = Some(cmd.at);
                }
            }
            let s = offer.salary.as_ref();
            tx.execute(
                "UPDATE offers SET status = $3, resolved_at = $4, start_date = $5, salary_amount = $6, salary_currency = $7, salary_period = $8, bonus = $9, equity = $10 \
                 WHERE org_id = $1 AND id = $2",
                &[
                    Val::Text(org),
                    Val::Text(offer.id.as_str()),
                    Val::Text(offer.status.as_str()),
                    offer.resolved_at.map_or(Val::Null, Val::Instant),
                    offer.start_date.map_or(Val::Null, Val::Date),
                    s.map_or(Val::Null, |s| Val::Real(s.amount.0)),
                    s.map_or(Val::Null, |s| Val::Text(&s.currency)),
                    s.map_or(Val::Null, |s| Val::Text(s.period.as_str())),
                    offer.bonus.map_or(Val::Null, |b| Val::Real(b.0)),
                    offer.equity.as_deref().map_or(Val::Null, Val::Text),
                ],
            )?;
            let subject = format!("offer/{}", offer.id);
            if is_final(offer.status) {
                tx.emit(
                    &crate::events::OFFER_RESOLVED,
                    subject,
                    serde_json::json!({
                        "offer_id": offer.id,
                        "application_id": app.id,
                        "job_id": app.job_id,
                        "from_status": from_status.as_str(),
                        "status": offer.status.as_str(),
                    }),
                );
            } else {
                tx.emit(
                    &crate::events::OFFER_UPDATED,
                    subject,
                    serde_json::json!({
                        "offer_id": offer.id,
                        "application_id": app.id,
                        "job_id": app.job_id,
                        "from_status": from_status.as_str(),
                        "status": offer.status.as_str(),
                        "changed": changed,
                    }),
                );
            }
            Ok(offer)
        })
    }

    /// The offers of application `application_id` of org `org`, by version.
    pub fn offers(&mut self, org: &str, application_id: &str) -> Result<Vec<Offer>, StoreError> {
        self.read_tx(org, |tx| {
            let sql = format!(
                "SELECT {OFFER_COLUMNS} FROM offers WHERE org_id = $1 AND application_id = $2 ORDER BY version"
            );
            tx.query(&sql, &[Val::Text(org), Val::Text(application_id)], &OFFER_KINDS)?
                .iter()
                .map(offer_of)
                .collect()
        })
    }
}
