//! Reading an org back out of the store as records of the interchange format.
//!
//! The queries are shared by both backends; the few places where their SQL differs (JSON text,
//! ordered JSON aggregation for nested lists) are capability methods of [`Dialect`]. Each backend
//! supplies a way to run a query for one org and hand its rows over as [`Get`].

use std::collections::BTreeMap;

use domain::custom::{CustomFieldDef, CustomSchema, CustomValues};
use domain::entity::*;
use domain::enums::*;
use domain::format::Record;
use domain::{Date, Id, Instant, LocalTime, TimeZone};

use crate::StoreError;

/// The SQL differences between the backends that the shared queries need.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A JSON column as text.
    pub(crate) fn json(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => col.to_owned(),
            Dialect::Postgres => format!("{col}::text"),
        }
    }

    /// A JSON array of arrays `[[c1, c2, ...], ...]` of the child rows of `table` matching `on`,
    /// in the order of `order`; `[]` when there are none.
    fn list(self, cols: &[&str], table: &str, on: &str, order: &str) -> String {
        let cols = cols.join(", ");
        match self {
            Dialect::Sqlite => format!(
                "(SELECT json_group_array(json_array({cols}) ORDER BY {order}) FROM {table} c WHERE {on})"
            ),
            Dialect::Postgres => format!(
                "(SELECT coalesce(json_agg(json_build_array({cols}) ORDER BY {order})::text, '[]') FROM {table} c WHERE {on})"
            ),
        }
    }
}

impl Dialect {
    /// A query parameter `$n` that holds an integer, passed as text.
    pub(crate) fn int_param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("CAST(${n} AS INTEGER)"),
            Dialect::Postgres => format!("CAST(${n} AS text)::bigint"),
        }
    }

    /// The set of strings in the JSON array that query parameter `$n` holds (text), for
    /// `x IN <set>`.
    pub(crate) fn json_text_set(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("(SELECT value FROM json_each(${n}))"),
            Dialect::Postgres => {
                format!("(SELECT jsonb_array_elements_text(CAST(${n} AS text)::jsonb))")
            }
        }
    }

    /// A query parameter `$n` that holds an instant, as passed by [`Dialect::instant_arg`].
    fn instant_param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("CAST(${n} AS INTEGER)"),
            Dialect::Postgres => format!("CAST(${n} AS text)::timestamptz"),
        }
    }

    /// The text to pass for an instant parameter.
    fn instant_arg(self, i: Instant) -> String {
        match self {
            Dialect::Sqlite => i.as_micros().to_string(),
            Dialect::Postgres => i.to_string(),
        }
    }
}

/// Typed access to the columns of a result row, whatever the backend.
pub trait Get {
    fn text(&self, i: usize) -> Result<Option<String>, String>;
    fn int(&self, i: usize) -> Result<Option<i64>, String>;
    fn real(&self, i: usize) -> Result<Option<f64>, String>;
    fn boolean(&self, i: usize) -> Result<Option<bool>, String>;
    fn instant(&self, i: usize) -> Result<Option<Instant>, String>;
    fn date(&self, i: usize) -> Result<Option<Date>, String>;
}

/// Runs `sql` with the org id as `$1` and `params` as `$2`, `$3`, ... (text), and calls the
/// callback for every row.
pub type RunQuery<'a> = dyn FnMut(
        &str,
        &[&str],
        &mut dyn FnMut(&dyn Get) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>
    + 'a;

struct Cols<'r> {
    row: &'r dyn Get,
    table: &'static str,
}

impl Cols<'_> {
    fn bad(&self, i: usize, why: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("`{}` column {i}: {why}", self.table))
    }
    fn need<T>(&self, i: usize, v: Result<Option<T>, String>) -> Result<T, StoreError> {
        v.map_err(|e| self.bad(i, e))?
            .ok_or_else(|| self.bad(i, "unexpected null"))
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.need(i, self.row.text(i))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.row.text(i).map_err(|e| self.bad(i, e))
    }
    fn id(&self, i: usize) -> Result<Id, StoreError> {
        Id::parse(self.text(i)?).map_err(|e| self.bad(i, e))
    }
    fn opt_id(&self, i: usize) -> Result<Option<Id>, StoreError> {
        self.opt_text(i)?
            .map(|s| Id::parse(s).map_err(|e| self.bad(i, e)))
            .transpose()
    }
    fn uint(&self, i: usize) -> Result<u32, StoreError> {
        let n = self.need(i, self.row.int(i))?;
        u32::try_from(n).map_err(|e| self.bad(i, e))
    }
    fn opt_uint(&self, i: usize) -> Result<Option<u32>, StoreError> {
        self.row
            .int(i)
            .map_err(|e| self.bad(i, e))?
            .map(|n| u32::try_from(n).map_err(|e| self.bad(i, e)))
            .transpose()
    }
    fn boolean(&self, i: usize) -> Result<bool, StoreError> {
        self.need(i, self.row.boolean(i))
    }
    fn instant(&self, i: usize) -> Result<Instant, StoreError> {
        self.need(i, self.row.instant(i))
    }
    fn opt_instant(&self, i: usize) -> Result<Option<Instant>, StoreError> {
        self.row.instant(i).map_err(|e| self.bad(i, e))
    }
    fn zone(&self, i: usize) -> Result<TimeZone, StoreError> {
        TimeZone::parse(&self.text(i)?).map_err(|e| self.bad(i, e))
    }
    fn parse<T>(&self, i: usize, r: Result<T, impl std::fmt::Display>) -> Result<T, StoreError> {
        r.map_err(|e| self.bad(i, e))
    }
    fn json(&self, i: usize) -> Result<serde_json::Value, StoreError> {
        let text = self.text(i)?;
        serde_json::from_str(&text).map_err(|e| self.bad(i, e))
    }
    fn list(&self, i: usize) -> Result<Vec<Vec<serde_json::Value>>, StoreError> {
        let text = self.text(i)?;
        serde_json::from_str(&text).map_err(|e| self.bad(i, e))
    }
    fn custom(
        &self,
        i: usize,
        schema: &CustomSchema,
        entity: CustomEntity,
    ) -> Result<CustomValues, StoreError> {
        match self.json(i)? {
            serde_json::Value::Object(m) => schema.check(entity, &m).map_err(|errs| {
                self.bad(
                    i,
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }),
            other => Err(self.bad(i, format!("expected an object, got {other}"))),
        }
    }
}

fn cell_str(v: &[serde_json::Value], i: usize) -> Result<&str, StoreError> {
    v.get(i).and_then(|x| x.as_str()).ok_or_else(|| {
        StoreError::Corrupt(format!("nested list: expected a string at {i} in {v:?}"))
    })
}

fn cell_uint(v: &[serde_json::Value], i: usize) -> Result<u32, StoreError> {
    v.get(i)
        .and_then(|x| x.as_u64())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!("nested list: expected a number at {i} in {v:?}"))
        })
}

fn cell_id(v: &[serde_json::Value], i: usize) -> Result<Id, StoreError> {
    Id::parse(cell_str(v, i)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn cell_enum<E>(
    v: &[serde_json::Value],
    i: usize,
    parse: fn(&str) -> Result<E, EnumError>,
) -> Result<E, StoreError> {
    parse(cell_str(v, i)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn working_hours(v: serde_json::Value) -> Result<WorkingHours, StoreError> {
    let bad = |why: String| StoreError::Corrupt(format!("`users.working_hours`: {why}"));
    let map: BTreeMap<String, Vec<(String, String)>> =
        serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (day, spans) in map {
        let day = Weekday::parse(&day).map_err(|e| bad(e.to_string()))?;
        let spans = spans
            .into_iter()
            .map(|(a, b)| {
                Ok((
                    LocalTime::parse(&a).map_err(|e| bad(e.to_string()))?,
                    LocalTime::parse(&b).map_err(|e| bad(e.to_string()))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.insert(day, spans);
    }
    Ok(WorkingHours(out))
}

/// Writes every record of org `org` through `write`, in file order; returns the org's records.
pub fn export(
    dialect: Dialect,
    run: &mut RunQuery<'_>,
    write: &mut dyn FnMut(Record<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let d = dialect;
    let mut found = false;
    run(
        "SELECT org_id, name, timezone, created_at FROM orgs WHERE org_id = $1",
        &[],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "orgs",
            };
            found = true;
            write(Record::Org(&Org {
                format: FORMAT,
                id: c.id(0)?,
                name: c.text(1)?,
                timezone: c.zone(2)?,
                created_at: c.instant(3)?,
            }))
        },
    )?;
    if !found {
        return Err(StoreError::NoSuchOrg(String::new()));
    }
    run(
        "SELECT id, name, parent_id FROM departments WHERE org_id = $1 ORDER BY id",
        &[],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "departments",
            };
            write(Record::Department(&Department {
                id: c.id(0)?,
                name: c.text(1)?,
                parent_id: c.opt_id(2)?,
            }))
        },
    )?;
    users(d, run, write)?;
    run(
        "SELECT id, name, kind FROM sources WHERE org_id = $1 ORDER BY id",
        &[],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "sources",
            };
            write(Record::Source(&Source {
                id: c.id(0)?,
                name: c.text(1)?,
                kind: c.parse(2, SourceKind::parse(&c.text(2)?))?,
            }))
        },
    )?;
    let mut schema = CustomSchema::default();
    let sql = format!(
        "SELECT id, entity, key, label, type, {}, sensitive FROM custom_fields WHERE org_id = $1 ORDER BY id",
        d.json("options")
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "custom_fields",
        };
        let options: Vec<String> = c.parse(5, serde_json::from_value(c.json(5)?))?;
        let def = CustomFieldDef {
            id: c.id(0)?,
            entity: c.parse(1, CustomEntity::parse(&c.text(1)?))?,
            key: c.text(2)?,
            label: c.text(3)?,
            field_type: c.parse(4, CustomFieldType::parse(&c.text(4)?))?,
            options,
            sensitive: c.boolean(6)?,
        };
        write(Record::CustomField(&def))?;
        schema.insert(def).map_err(|prev| {
            StoreError::Corrupt(format!("custom field `{}` defined twice", prev.key))
        })
    })?;
    let sql = format!(
        "SELECT id, title, department_id, location, employment_type, status, confidential, opened_at, closed_at, headcount, {}, {}, {} FROM jobs j WHERE org_id = $1 ORDER BY id",
        d.json("custom_fields"),
        d.list(
            &["c.id", "c.name", "c.kind", "c.position"],
            "stages",
            "c.org_id = j.org_id AND c.job_id = j.id",
            "c.position"
        ),
        d.list(
            &["c.user_id", "c.role"],
            "hiring_team",
            "c.org_id = j.org_id AND c.job_id = j.id",
            "c.position"
        ),
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "jobs",
        };
        let stages = c
            .list(11)?
            .iter()
            .map(|v| {
                Ok(Stage {
                    id: cell_id(v, 0)?,
                    name: cell_str(v, 1)?.to_owned(),
                    kind: cell_enum(v, 2, StageKind::parse)?,
                    position: cell_uint(v, 3)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let hiring_team = c
            .list(12)?
            .iter()
            .map(|v| {
                Ok(HiringTeamMember {
                    user_id: cell_id(v, 0)?,
                    role: cell_enum(v, 1, HiringTeamRole::parse)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        write(Record::Job(&Job {
            id: c.id(0)?,
            title: c.text(1)?,
            department_id: c.id(2)?,
            location: c.text(3)?,
            employment_type: c.parse(4, EmploymentType::parse(&c.text(4)?))?,
            status: c.parse(5, JobStatus::parse(&c.text(5)?))?,
            confidential: c.boolean(6)?,
            opened_at: c.instant(7)?,
            closed_at: c.opt_instant(8)?,
            headcount: c.uint(9)?,
            hiring_team,
            stages,
            custom_fields: c.custom(10, &schema, CustomEntity::Job)?,
        }))
    })?;
    let sql = format!(
        "SELECT c.id, c.name, c.email, c.phone, c.location, c.timezone, c.created_at, {}, {}, d.candidate_id, d.gender, d.race_ethnicity, d.veteran_status, d.disability_status \
         FROM candidates c LEFT JOIN candidate_demographics d ON d.org_id = c.org_id AND d.candidate_id = c.id WHERE c.org_id = $1 ORDER BY c.id",
        d.json("c.tags"),
        d.json("c.custom_fields"),
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "candidates",
        };
        let demographics = match c.opt_text(9)? {
            Some(_) => Some(Demographics {
                gender: c.opt_text(10)?,
                race_ethnicity: c.opt_text(11)?,
                veteran_status: c.opt_text(12)?,
                disability_status: c.opt_text(13)?,
            }),
            None => None,
        };
        write(Record::Candidate(&Candidate {
            id: c.id(0)?,
            name: c.text(1)?,
            email: c.opt_text(2)?,
            phone: c.opt_text(3)?,
            location: c.opt_text(4)?,
            timezone: c
                .opt_text(5)?
                .map(|z| c.parse(5, TimeZone::parse(&z)))
                .transpose()?,
            created_at: c.instant(6)?,
            tags: c.parse(7, serde_json::from_value(c.json(7)?))?,
            custom_fields: c.custom(8, &schema, CustomEntity::Candidate)?,
            demographics,
        }))
    })?;
    let sql = format!(
        "SELECT id, candidate_id, job_id, source_id, credited_to_user_id, applied_at, status, current_stage_id, hired_at, archived_at, archive_reason, {} FROM applications WHERE org_id = $1 ORDER BY id",
        d.json("custom_fields")
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "applications",
        };
        write(Record::Application(&Application {
            id: c.id(0)?,
            candidate_id: c.id(1)?,
            job_id: c.id(2)?,
            source_id: c.opt_id(3)?,
            credited_to_user_id: c.opt_id(4)?,
            applied_at: c.instant(5)?,
            status: c.parse(6, ApplicationStatus::parse(&c.text(6)?))?,
            current_stage_id: c.id(7)?,
            hired_at: c.opt_instant(8)?,
            archived_at: c.opt_instant(9)?,
            archive_reason: c.opt_text(10)?,
            custom_fields: c.custom(11, &schema, CustomEntity::Application)?,
        }))
    })?;
    run(
        "SELECT id, application_id, from_stage_id, to_stage_id, at, by_user_id FROM stage_transitions WHERE org_id = $1 ORDER BY id",
        &[],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "stage_transitions",
            };
            write(Record::StageTransition(&StageTransition {
                id: c.id(0)?,
                application_id: c.id(1)?,
                from_stage_id: c.opt_id(2)?,
                to_stage_id: c.id(3)?,
                at: c.instant(4)?,
                by_user_id: c.opt_id(5)?,
            }))
        },
    )?;
    let sql = format!(
        "SELECT id, application_id, stage_id, title, starts_at, ends_at, status, {} FROM interviews i WHERE org_id = $1 ORDER BY id",
        d.list(
            &["c.user_id", "c.role"],
            "interview_participants",
            "c.org_id = i.org_id AND c.interview_id = i.id",
            "c.position"
        ),
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "interviews",
        };
        let interviewers = c
            .list(7)?
            .iter()
            .map(|v| {
                Ok(InterviewParticipant {
                    user_id: cell_id(v, 0)?,
                    role: cell_enum(v, 1, InterviewerRole::parse)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        write(Record::Interview(&Interview {
            id: c.id(0)?,
            application_id: c.id(1)?,
            stage_id: c.id(2)?,
            title: c.text(3)?,
            starts_at: c.instant(4)?,
            ends_at: c.instant(5)?,
            status: c.parse(6, InterviewStatus::parse(&c.text(6)?))?,
            interviewers,
        }))
    })?;
    let sql = format!(
        "SELECT id, interview_id, application_id, author_id, submitted_at, recommendation, {}, notes FROM feedback WHERE org_id = $1 ORDER BY id",
        d.json("scores")
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "feedback",
        };
        write(Record::Feedback(&Feedback {
            id: c.id(0)?,
            interview_id: c.id(1)?,
            application_id: c.id(2)?,
            author_id: c.id(3)?,
            submitted_at: c.instant(4)?,
            recommendation: c.parse(5, Recommendation::parse(&c.text(5)?))?,
            scores: c.parse(6, serde_json::from_value(c.json(6)?))?,
            notes: c.opt_text(7)?,
        }))
    })?;
    run(
        "SELECT id, application_id, version, created_at, status, resolved_at, start_date, salary_amount, salary_currency, salary_period, bonus, equity FROM offers WHERE org_id = $1 ORDER BY id",
        &[],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "offers",
            };
            let salary = match (
                r.real(7).map_err(|e| c.bad(7, e))?,
                c.opt_text(8)?,
                c.opt_text(9)?,
            ) {
                (Some(amount), Some(currency), Some(period)) => Some(Salary {
                    amount: Amount(amount),
                    currency,
                    period: c.parse(9, SalaryPeriod::parse(&period))?,
                }),
                (None, None, None) => None,
                _ => return Err(c.bad(7, "salary is partly null")),
            };
            write(Record::Offer(&Offer {
                id: c.id(0)?,
                application_id: c.id(1)?,
                version: c.uint(2)?,
                created_at: c.instant(3)?,
                status: c.parse(4, OfferStatus::parse(&c.text(4)?))?,
                resolved_at: c.opt_instant(5)?,
                start_date: r.date(6).map_err(|e| c.bad(6, e))?,
                salary,
                bonus: r.real(10).map_err(|e| c.bad(10, e))?.map(Amount),
                equity: c.opt_text(11)?,
            }))
        },
    )?;
    pools(d, run, write)?;
    run(BUSY_BLOCKS, &[], &mut |r| busy_block(r, write))?;
    Ok(())
}

/// The users of the org, as records.
pub fn users(
    d: Dialect,
    run: &mut RunQuery<'_>,
    write: &mut dyn FnMut(Record<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT id, name, email, role, timezone, {}, max_interviews_per_day, max_interviews_per_week, active, {} FROM users u WHERE org_id = $1 ORDER BY id",
        d.json("working_hours"),
        d.list(
            &["c.department_id"],
            "user_departments",
            "c.org_id = u.org_id AND c.user_id = u.id",
            "c.position"
        ),
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "users",
        };
        let department_ids = c
            .list(9)?
            .iter()
            .map(|v| cell_id(v, 0))
            .collect::<Result<_, _>>()?;
        write(Record::User(&User {
            id: c.id(0)?,
            name: c.text(1)?,
            email: c.text(2)?,
            role: c.parse(3, Role::parse(&c.text(3)?))?,
            department_ids,
            timezone: c.zone(4)?,
            working_hours: working_hours(c.json(5)?)?,
            max_interviews_per_day: c.opt_uint(6)?,
            max_interviews_per_week: c.opt_uint(7)?,
            active: c.boolean(8)?,
        }))
    })?;
    Ok(())
}

/// The interviewer pools of the org, with their members, as records.
pub fn pools(
    d: Dialect,
    run: &mut RunQuery<'_>,
    write: &mut dyn FnMut(Record<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT id, name, required_shadows, required_reverse_shadows, {} FROM interviewer_pools p WHERE org_id = $1 ORDER BY id",
        d.list(
            &[
                "c.user_id",
                "c.status",
                "c.shadows_completed",
                "c.reverse_shadows_completed"
            ],
            "pool_members",
            "c.org_id = p.org_id AND c.pool_id = p.id",
            "c.position"
        ),
    );
    run(&sql, &[], &mut |r| {
        let c = Cols {
            row: r,
            table: "interviewer_pools",
        };
        let members = c
            .list(4)?
            .iter()
            .map(|v| {
                Ok(PoolMember {
                    user_id: cell_id(v, 0)?,
                    status: cell_enum(v, 1, PoolMemberStatus::parse)?,
                    shadows_completed: cell_uint(v, 2)?,
                    reverse_shadows_completed: cell_uint(v, 3)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        write(Record::InterviewerPool(&InterviewerPool {
            id: c.id(0)?,
            name: c.text(1)?,
            required_shadows: c.uint(2)?,
            required_reverse_shadows: c.uint(3)?,
            members,
        }))
    })?;
    Ok(())
}

const BUSY_BLOCKS: &str =
    "SELECT user_id, starts_at, ends_at FROM busy_blocks WHERE org_id = $1 ORDER BY seq";

fn busy_block(
    r: &dyn Get,
    write: &mut dyn FnMut(Record<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let c = Cols {
        row: r,
        table: "busy_blocks",
    };
    write(Record::BusyBlock(&BusyBlock {
        user_id: c.id(0)?,
        starts_at: c.instant(1)?,
        ends_at: c.instant(2)?,
    }))
}

/// What scheduling needs to know of an org's calendars, for one application and a time window.
#[derive(Clone, Debug, Default)]
pub struct Calendars {
    pub org_timezone: Option<TimeZone>,
    /// The application's candidate's zone, if known.
    pub candidate_timezone: Option<TimeZone>,
    pub users: Vec<User>,
    pub pools: Vec<InterviewerPool>,
    /// Busy blocks that overlap the window.
    pub busy: Vec<BusyBlock>,
    /// Interviews (scheduled or completed) that overlap the window: who, from, to, the
    /// interview's title (which only the person's own view of their calendar shows).
    pub booked: Vec<(Id, Instant, Instant, String)>,
}

/// Reads the calendars of the org for scheduling `application_id` between `from` and `to`.
pub fn calendars(
    d: Dialect,
    run: &mut RunQuery<'_>,
    application_id: &str,
    from: Instant,
    to: Instant,
) -> Result<Calendars, StoreError> {
    let mut cal = Calendars::default();
    run(
        "SELECT timezone FROM orgs WHERE org_id = $1",
        &[],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "orgs",
            };
            cal.org_timezone = Some(c.zone(0)?);
            Ok(())
        },
    )?;
    if cal.org_timezone.is_none() {
        return Err(StoreError::NoSuchOrg(String::new()));
    }
    let mut found = false;
    run(
        "SELECT c.timezone FROM applications a JOIN candidates c ON c.org_id = a.org_id AND c.id = a.candidate_id \
         WHERE a.org_id = $1 AND a.id = $2",
        &[application_id],
        &mut |r| {
            let c = Cols {
                row: r,
                table: "candidates",
            };
            found = true;
            cal.candidate_timezone = c
                .opt_text(0)?
                .map(|z| c.parse(0, TimeZone::parse(&z)))
                .transpose()?;
            Ok(())
        },
    )?;
    if !found {
        return Err(StoreError::NoSuchApplication(application_id.to_owned()));
    }
    users(d, run, &mut |rec| {
        if let Record::User(u) = rec {
            cal.users.push(u.clone());
        }
        Ok(())
    })?;
    pools(d, run, &mut |rec| {
        if let Record::InterviewerPool(p) = rec {
            cal.pools.push(p.clone());
        }
        Ok(())
    })?;
    let (lo, hi) = (d.instant_arg(from), d.instant_arg(to));
    let window = format!(
        "ends_at > {} AND starts_at < {}",
        d.instant_param(2),
        d.instant_param(3)
    );
    let sql = format!(
        "SELECT user_id, starts_at, ends_at FROM busy_blocks WHERE org_id = $1 AND {window} ORDER BY seq"
    );
    run(&sql, &[&lo, &hi], &mut |r| {
        busy_block(r, &mut |rec| {
            if let Record::BusyBlock(b) = rec {
                cal.busy.push(b.clone());
            }
            Ok(())
        })
    })?;
    let sql = format!(
        "SELECT p.user_id, i.starts_at, i.ends_at, i.title FROM interview_participants p \
         JOIN interviews i ON i.org_id = p.org_id AND i.id = p.interview_id \
         WHERE p.org_id = $1 AND i.status IN ('scheduled', 'completed') AND i.{}",
        window.replace(" AND starts_at", " AND i.starts_at")
    );
    run(&sql, &[&lo, &hi], &mut |r| {
        let c = Cols {
            row: r,
            table: "interviews",
        };
        cal.booked
            .push((c.id(0)?, c.instant(1)?, c.instant(2)?, c.text(3)?));
        Ok(())
    })?;
    Ok(cal)
}
