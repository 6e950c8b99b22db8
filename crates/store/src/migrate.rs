//! Versioned migrations: numbered SQL files per backend, applied in order, each in a transaction,
//! recorded in `schema_migrations`. A database newer than the binary is refused, not touched.

/// One migration: its version, a short name, and the SQL for each backend.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, in order. Append only: a released migration never changes.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "application_stage_kinds",
        sqlite: include_str!("../migrations/sqlite/0002_application_stage_kinds.sql"),
        postgres: include_str!("../migrations/postgres/0002_application_stage_kinds.sql"),
    },
    Migration {
        version: 3,
        name: "stage_transitions_left_at",
        sqlite: include_str!("../migrations/sqlite/0003_stage_transitions_left_at.sql"),
        postgres: include_str!("../migrations/postgres/0003_stage_transitions_left_at.sql"),
    },
    Migration {
        version: 4,
        name: "policies_audit",
        sqlite: include_str!("../migrations/sqlite/0004_policies_audit.sql"),
        postgres: include_str!("../migrations/postgres/0004_policies_audit.sql"),
    },
    Migration {
        version: 5,
        name: "policy_indexes",
        sqlite: include_str!("../migrations/sqlite/0005_policy_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0005_policy_indexes.sql"),
    },
    Migration {
        version: 6,
        name: "job_id_below_applications",
        sqlite: include_str!("../migrations/sqlite/0006_job_id_below_applications.sql"),
        postgres: include_str!("../migrations/postgres/0006_job_id_below_applications.sql"),
    },
    Migration {
        version: 7,
        name: "api_tokens",
        sqlite: include_str!("../migrations/sqlite/0007_api_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0007_api_tokens.sql"),
    },
    Migration {
        version: 8,
        name: "candidates_has_non_confidential_job",
        sqlite: include_str!("../migrations/sqlite/0008_candidates_has_non_confidential_job.sql"),
        postgres: include_str!(
            "../migrations/postgres/0008_candidates_has_non_confidential_job.sql"
        ),
    },
    Migration {
        version: 9,
        name: "replicas",
        sqlite: include_str!("../migrations/sqlite/0009_replicas.sql"),
        postgres: include_str!("../migrations/postgres/0009_replicas.sql"),
    },
    Migration {
        version: 10,
        name: "demographics_privacy",
        sqlite: include_str!("../migrations/sqlite/0010_demographics_privacy.sql"),
        postgres: include_str!("../migrations/postgres/0010_demographics_privacy.sql"),
    },
    Migration {
        version: 11,
        name: "list_orders",
        sqlite: include_str!("../migrations/sqlite/0011_list_orders.sql"),
        postgres: include_str!("../migrations/postgres/0011_list_orders.sql"),
    },
    Migration {
        version: 12,
        name: "flags",
        sqlite: include_str!("../migrations/sqlite/0012_flags.sql"),
        postgres: include_str!("../migrations/postgres/0012_flags.sql"),
    },
    Migration {
        version: 13,
        name: "archive_reasons",
        sqlite: include_str!("../migrations/sqlite/0013_archive_reasons.sql"),
        postgres: include_str!("../migrations/postgres/0013_archive_reasons.sql"),
    },
    Migration {
        version: 14,
        name: "published_populations",
        sqlite: include_str!("../migrations/sqlite/0014_published_populations.sql"),
        postgres: include_str!("../migrations/postgres/0014_published_populations.sql"),
    },
    Migration {
        version: 15,
        name: "outbox",
        sqlite: include_str!("../migrations/sqlite/0015_outbox.sql"),
        postgres: include_str!("../migrations/postgres/0015_outbox.sql"),
    },
    Migration {
        version: 16,
        name: "rollouts",
        sqlite: include_str!("../migrations/sqlite/0016_rollouts.sql"),
        postgres: include_str!("../migrations/postgres/0016_rollouts.sql"),
    },
    Migration {
        version: 17,
        name: "outbox_relay",
        sqlite: include_str!("../migrations/sqlite/0017_outbox_relay.sql"),
        postgres: include_str!("../migrations/postgres/0017_outbox_relay.sql"),
    },
    Migration {
        version: 19,
        name: "org_generations",
        sqlite: include_str!("../migrations/sqlite/0019_org_generations.sql"),
        postgres: include_str!("../migrations/postgres/0019_org_generations.sql"),
    },
    Migration {
        version: 20,
        name: "jobs",
        sqlite: include_str!("../migrations/sqlite/0020_jobs.sql"),
        postgres: include_str!("../migrations/postgres/0020_jobs.sql"),
    },
    Migration {
        version: 21,
        name: "destinations",
        sqlite: include_str!("../migrations/sqlite/0021_destinations.sql"),
        postgres: include_str!("../migrations/postgres/0021_destinations.sql"),
    },
    Migration {
        version: 22,
        name: "automation",
        sqlite: include_str!("../migrations/sqlite/0022_automation.sql"),
        postgres: include_str!("../migrations/postgres/0022_automation.sql"),
    },
    Migration {
        version: 23,
        name: "fair_claims",
        sqlite: include_str!("../migrations/sqlite/0023_fair_claims.sql"),
        postgres: include_str!("../migrations/postgres/0023_fair_claims.sql"),
    },
    Migration {
        version: 24,
        name: "jobs_confidential",
        sqlite: include_str!("../migrations/sqlite/0024_jobs_confidential.sql"),
        postgres: include_str!("../migrations/postgres/0024_jobs_confidential.sql"),
    },
    Migration {
        version: 25,
        name: "console_sessions",
        sqlite: include_str!("../migrations/sqlite/0025_console_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0025_console_sessions.sql"),
    },
    Migration {
        version: 26,
        name: "console_credentials",
        sqlite: include_str!("../migrations/sqlite/0026_console_credentials.sql"),
        postgres: include_str!("../migrations/postgres/0026_console_credentials.sql"),
    },
    Migration {
        version: 29,
        name: "applications_job_page",
        sqlite: include_str!("../migrations/sqlite/0029_applications_job_page.sql"),
        postgres: include_str!("../migrations/postgres/0029_applications_job_page.sql"),
    },
    Migration {
        version: 30,
        name: "applications_job_confidential",
        sqlite: include_str!("../migrations/sqlite/0030_applications_job_confidential.sql"),
        postgres: include_str!("../migrations/postgres/0030_applications_job_confidential.sql"),
    },
    Migration {
        version: 31,
        name: "console_session_token",
        sqlite: include_str!("../migrations/sqlite/0031_console_session_token.sql"),
        postgres: include_str!("../migrations/postgres/0031_console_session_token.sql"),
    },
    Migration {
        version: 32,
        name: "interview_loops",
        sqlite: include_str!("../migrations/sqlite/0032_interview_loops.sql"),
        postgres: include_str!("../migrations/postgres/0032_interview_loops.sql"),
    },
    Migration {
        version: 34,
        name: "interview_participants_application",
        sqlite: include_str!("../migrations/sqlite/0034_interview_participants_application.sql"),
        postgres: include_str!(
            "../migrations/postgres/0034_interview_participants_application.sql"
        ),
    },
    Migration {
        version: 35,
        name: "installation_keys",
        sqlite: include_str!("../migrations/sqlite/0035_installation_keys.sql"),
        postgres: include_str!("../migrations/postgres/0035_installation_keys.sql"),
    },
    Migration {
        version: 36,
        name: "token_provenance",
        sqlite: include_str!("../migrations/sqlite/0036_token_provenance.sql"),
        postgres: include_str!("../migrations/postgres/0036_token_provenance.sql"),
    },
];

/// How PostgreSQL plans what an import runs on the org's rows before commit (the derived
/// updates below, the set-based foreign key checks), set for the rest of its transaction.
///
/// The planner has no statistics for the rows being imported: `ANALYZE` runs after commit, and
/// running it inside the transaction would sample the whole table, whatever else the store
/// holds, and hold its lock until commit. In an empty store the planner sees the tables' real
/// sizes; in a store that already holds an org it uses that org's statistics, estimates one row
/// for the new org and picks nested loops, which are quadratic in the org's rows (a 6,000-
/// application org took 235 s after an 800-application one instead of 1.5 s; `EXPLAIN`: a
/// nested loop re-running the `left_at` window per transition, and an anti join scanning the
/// org's applications per candidate). Without nested and merge joins, every join of these
/// statements is a hash join on the org's rows, read through the `org_id` prefix of an index:
/// linear in the org, whatever the estimates, so an import costs the same whatever the store
/// holds (`bench/import.sh` checks the ratio).
pub const IMPORT_PLAN_POSTGRES: &str = "SET LOCAL enable_nestloop = off; \
    SET LOCAL enable_mergejoin = off; SET LOCAL work_mem = '256MB'";

/// Fills the derived `stage_transitions.left_at` of one org (`$1`/`?1`) from its history: the
/// next transition of the same application by time, then id. Run by every import before commit.
pub const DERIVE_LEFT_AT_SQLITE: &str = "UPDATE stage_transitions AS t SET left_at = n.next_at \
    FROM (SELECT id, lead(at) OVER (PARTITION BY application_id ORDER BY at, id) AS next_at \
          FROM stage_transitions WHERE org_id = ?1) AS n \
    WHERE t.org_id = ?1 AND t.id = n.id AND n.next_at IS NOT NULL";
pub const DERIVE_LEFT_AT_POSTGRES: &str = "UPDATE stage_transitions AS t SET left_at = n.next_at \
    FROM (SELECT id, lead(at) OVER (PARTITION BY application_id ORDER BY at, id) AS next_at \
          FROM stage_transitions WHERE org_id = $1) AS n \
    WHERE t.org_id = $1 AND t.id = n.id AND n.next_at IS NOT NULL";

/// Sets the derived `candidates.has_non_confidential_job` (migration 8) of one org (`$1`/`?1`)
/// to FALSE where the candidate has no application to a job that is not confidential. Run by
/// every import before commit: the import writes candidates without the column, so each of them
/// holds the default TRUE (replacing an org deletes its rows first), and only these exceptions
/// change, in one anti join, never an update of every candidate.
pub const DERIVE_CANDIDATE_FLAGS_SQLITE: &str = "UPDATE candidates SET has_non_confidential_job = 0 \
    WHERE org_id = ?1 AND has_non_confidential_job = 1 \
    AND NOT EXISTS (SELECT 1 FROM applications a JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id \
        WHERE a.org_id = ?1 AND a.candidate_id = candidates.id AND j.confidential = 0)";
pub const DERIVE_CANDIDATE_FLAGS_POSTGRES: &str = "UPDATE candidates AS c SET has_non_confidential_job = FALSE \
    WHERE c.org_id = $1 AND c.has_non_confidential_job \
    AND NOT EXISTS (SELECT 1 FROM applications a JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id \
        WHERE a.org_id = $1 AND a.candidate_id = c.id AND NOT j.confidential)";

/// Sets the derived `applications.job_confidential` (migration 30) of one org (`$1`/`?1`) to
/// TRUE for the applications of its confidential jobs. Run by every import before commit: the
/// import writes applications without the column, so each of them holds the default FALSE
/// (replacing an org deletes its rows first), and only the applications of the few confidential
/// jobs change.
pub const DERIVE_APPLICATION_JOB_CONFIDENTIAL_SQLITE: &str = "UPDATE applications SET job_confidential = 1 \
    WHERE org_id = ?1 AND job_confidential = 0 \
    AND job_id IN (SELECT id FROM jobs WHERE org_id = ?1 AND confidential = 1)";
pub const DERIVE_APPLICATION_JOB_CONFIDENTIAL_POSTGRES: &str = "UPDATE applications SET job_confidential = TRUE \
    WHERE org_id = $1 AND NOT job_confidential \
    AND job_id IN (SELECT id FROM jobs WHERE org_id = $1 AND confidential)";

pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
