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
];

pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
