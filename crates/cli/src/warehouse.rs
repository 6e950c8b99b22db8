//! `hireplane warehouse export --org ID DIR [--since PREV]`: the org's tables and events as
//! Parquet files with a manifest (crate `warehouse`, docs/warehouse.md). An operator's command
//! on the database, like `hireplane export`: no `--as`, since the export is the org's raw data
//! (compensation, demographics, notes) that no user's policy could narrow.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum WarehouseCommand {
    /// Write an org's tables and events as Parquet files with a manifest, in full or, with
    /// --since, what changed since a previous export
    Export {
        /// The org to export
        #[arg(long = "org", value_name = "ID")]
        org: String,
        /// The folder of a previous export of the org (full or delta): write only what changed
        /// since its event sequence number
        #[arg(long, value_name = "PREV_DIR")]
        since: Option<PathBuf>,
        /// The folder to write (created if missing); an existing one must be empty. Written whole
        /// or not at all
        dir: PathBuf,
    },
}

pub fn run(store: &mut Store, command: WarehouseCommand) -> Result<()> {
    match command {
        WarehouseCommand::Export { org, since, dir } => {
            let started = std::time::Instant::now();
            let options = warehouse::Options {
                org: org.clone(),
                dir: dir.clone(),
                since,
                at: domain::Instant::from_timestamp(jiff::Timestamp::now()),
                row_group_rows: warehouse::parquet_table::ROW_GROUP_ROWS,
            };
            let manifest = warehouse::export(store, &options).with_context(|| {
                format!(
                    "cannot export org `{org}` to the warehouse folder `{}`",
                    dir.display()
                )
            })?;
            let rows: u64 = manifest.files.iter().map(|f| f.rows).sum();
            let kind = match manifest.kind {
                warehouse::Kind::Full => "full",
                warehouse::Kind::Delta => "delta",
            };
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{kind} export of org `{org}` at event {} to {}: {} files, {rows} rows in {:.1?}",
                manifest.seq,
                dir.display(),
                manifest.files.len(),
                started.elapsed()
            )?;
        }
    }
    Ok(())
}
