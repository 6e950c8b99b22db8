//! hireplane's warehouse export: one org's tables (every table the report language reads, its
//! custom field definitions, the per-application stage kinds reached) and its domain events as
//! Parquet files, with a manifest (`manifest.json`) that says what was exported and how it
//! stands to the org's event sequence. docs/warehouse.md is the consumer's guide.
//!
//! - [`export`] reads the org through [`store::Store::warehouse_read`] (one snapshot, rows
//!   streamed) and writes each table as it arrives ([`parquet_table`]: row groups of bounded
//!   size), so a million applications are never held in memory.
//! - With a previous export's folder, it writes a *delta*: the events after the previous
//!   export's `seq` and the rows of the entities they name, plus `scope.parquet`, what each
//!   table replaces (docs/warehouse.md, "Deltas").
//! - All or nothing: everything is written into a temporary folder beside the target, which is
//!   renamed to the target only once the manifest is written; on any error it is removed.
//!
//! Why a crate of its own: Parquet is not the interchange format (`domain::format`), and
//! `store` only reads rows; keeping the `parquet` dependency here keeps it out of every other
//! crate's build. The CLI (`hireplane warehouse export`) is its only caller: an operator's
//! command on the database, like `hireplane export` (no `--as`: the export is the org's raw
//! data, compensation and demographics included).

pub mod parquet_table;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use store::warehouse::{ColumnType, ScopeList, WarehouseSink, WarehouseTable};
use store::{Get, Store, StoreError};

use parquet_table::{ParquetTable, Written};

/// The manifest's format.
pub const FORMAT: &str = "hireplane-warehouse/1";

/// The manifest's file name in an export's folder.
pub const MANIFEST: &str = "manifest.json";

/// The columns of `scope.parquet`, a delta's list of what each table replaces.
pub const SCOPE: store::warehouse::WarehouseTable = store::warehouse::WarehouseTable {
    name: "scope",
    table: None,
    key: &["table", "column", "value"],
    scope: "table",
    columns: &[
        store::warehouse::Column {
            name: "table",
            ty: ColumnType::Text,
            nullable: false,
        },
        store::warehouse::Column {
            name: "column",
            ty: ColumnType::Text,
            nullable: false,
        },
        store::warehouse::Column {
            name: "value",
            ty: ColumnType::Text,
            nullable: false,
        },
    ],
};

/// Why an export did not happen. In every case nothing was left at the target.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "`{}` exists and is not an empty folder: a warehouse export goes into a new or empty folder",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error("cannot write `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the Parquet file `{}`", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("`{table}.{column}`: {why}")]
    Value {
        table: &'static str,
        column: &'static str,
        why: String,
    },
    #[error(
        "`--since`: no manifest at `{}`: give the folder of a previous warehouse export",
        .0.display()
    )]
    NoPreviousManifest(PathBuf),
    #[error("`--since`: `{}` is not a warehouse manifest: {why}", path.display())]
    BadPreviousManifest { path: PathBuf, why: String },
    #[error("`--since`: the previous export is of org `{previous}`, not `{org}`")]
    OtherOrg { previous: String, org: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether an export holds everything or what changed since a previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Full,
    Delta,
}

/// The previous export a delta follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follows {
    /// Its event `seq`: the delta holds the events after it.
    pub seq: i64,
    /// The SHA-256 of its `manifest.json`.
    pub manifest_sha256: String,
}

/// One column of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestColumn {
    pub name: String,
    /// `text`, `json`, `integer`, `real`, `boolean`, `timestamp` or `date`.
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
}

/// One file of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The table (`applications`, ..., `events`, `scope`).
    pub table: String,
    /// The file's name in the export's folder.
    pub file: String,
    pub rows: u64,
    /// The columns that identify a row within the org (after `org_id`).
    pub key: Vec<String>,
    /// The column a delta's scope lists for this table (docs/warehouse.md).
    pub scope: String,
    pub columns: Vec<ManifestColumn>,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// `manifest.json`: what an export holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    pub org: String,
    pub kind: Kind,
    /// The org's last event `seq` the export is consistent with: its rows are the org after
    /// that event and before the next (0: no event yet).
    pub seq: i64,
    /// How many times the org had been imported (0: before the store counted): a delta is
    /// refused across an import (`--replace` writes no events).
    pub generation: i64,
    /// For a delta: the export it applies to.
    pub follows: Option<Follows>,
    /// When the export was taken (RFC 3339, UTC).
    pub exported_at: String,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// The entry of `table`.
    pub fn file(&self, table: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.table == table)
    }
}

/// What to export.
#[derive(Clone, Debug)]
pub struct Options {
    pub org: String,
    /// The folder to write: created (with missing parents), or an existing empty one.
    pub dir: PathBuf,
    /// The folder of a previous export of the org: write a delta since its `seq`.
    pub since: Option<PathBuf>,
    /// When the export is taken (for the manifest).
    pub at: domain::Instant,
    /// Rows per row group ([`parquet_table::ROW_GROUP_ROWS`]): the rows of a table held in
    /// memory at most.
    pub row_group_rows: usize,
}

/// Reads the manifest of the export in `dir`.
pub fn read_manifest(dir: &Path) -> Result<(Manifest, String), WarehouseError> {
    let path = dir.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WarehouseError::NoPreviousManifest(dir.to_owned()));
        }
        Err(e) => return Err(WarehouseError::Io { path, source: e }),
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| WarehouseError::BadPreviousManifest {
            path: path.clone(),
            why: e.to_string(),
        })?;
    if manifest.format != FORMAT {
        return Err(WarehouseError::BadPreviousManifest {
            path,
            why: format!(
                "format `{}`, this hireplane writes `{FORMAT}`",
                manifest.format
            ),
        });
    }
    use sha2::Digest;
    Ok((manifest, parquet_table::hex(&sha2::Sha256::digest(&bytes))))
}

/// Writes the tables as the store hands them over.
struct Writer<'a> {
    dir: &'a Path,
    row_group_rows: usize,
    current: Option<(&'static WarehouseTable, ParquetTable)>,
    files: Vec<ManifestFile>,
    /// The first error of the Parquet side (the store sees [`StoreError::Sink`]).
    error: Option<WarehouseError>,
}

fn manifest_file(table: &WarehouseTable, written: Written) -> ManifestFile {
    ManifestFile {
        table: table.name.to_owned(),
        file: format!("{}.parquet", table.name),
        rows: written.rows,
        key: table.key.iter().map(|k| (*k).to_owned()).collect(),
        scope: table.scope.to_owned(),
        columns: table
            .columns
            .iter()
            .map(|c| ManifestColumn {
                name: c.name.to_owned(),
                ty: c.ty.name().to_owned(),
                nullable: c.nullable,
            })
            .collect(),
        sha256: written.sha256,
    }
}

impl Writer<'_> {
    fn fail(&mut self, e: WarehouseError) -> StoreError {
        let message = e.to_string();
        self.error.get_or_insert(e);
        StoreError::Sink(message.into())
    }
}

impl WarehouseSink for Writer<'_> {
    fn begin(&mut self, table: &'static WarehouseTable) -> Result<(), StoreError> {
        let path = self.dir.join(format!("{}.parquet", table.name));
        match ParquetTable::create(&path, table.name, table.columns, self.row_group_rows) {
            Ok(file) => {
                self.current = Some((table, file));
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn row(&mut self, row: &dyn Get) -> Result<(), StoreError> {
        let result = match &mut self.current {
            Some((_, file)) => file.push(row),
            None => Ok(()),
        };
        result.map_err(|e| self.fail(e))
    }

    fn end(&mut self) -> Result<(), StoreError> {
        let Some((table, file)) = self.current.take() else {
            return Ok(());
        };
        match file.finish() {
            Ok(written) => {
                self.files.push(manifest_file(table, written));
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// A row of `scope.parquet`.
struct ScopeRow<'a> {
    table: &'a str,
    column: &'a str,
    value: &'a str,
}

impl Get for ScopeRow<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, String> {
        let s = match i {
            0 => self.table,
            1 => self.column,
            _ => self.value,
        };
        Ok(Some(s.to_owned()))
    }
    fn int(&self, _: usize) -> Result<Option<i64>, String> {
        Err("not an integer".into())
    }
    fn real(&self, _: usize) -> Result<Option<f64>, String> {
        Err("not a real".into())
    }
    fn boolean(&self, _: usize) -> Result<Option<bool>, String> {
        Err("not a boolean".into())
    }
    fn instant(&self, _: usize) -> Result<Option<domain::Instant>, String> {
        Err("not an instant".into())
    }
    fn date(&self, _: usize) -> Result<Option<domain::Date>, String> {
        Err("not a date".into())
    }
}

fn write_scope(dir: &Path, scopes: &[ScopeList]) -> Result<ManifestFile, WarehouseError> {
    let mut file = ParquetTable::create(
        &dir.join("scope.parquet"),
        SCOPE.name,
        SCOPE.columns,
        parquet_table::ROW_GROUP_ROWS,
    )?;
    for scope in scopes {
        for value in &scope.values {
            file.push(&ScopeRow {
                table: scope.table,
                column: scope.column,
                value,
            })?;
        }
    }
    Ok(manifest_file(&SCOPE, file.finish()?))
}

/// Checks that `dir` may be written: missing (its parent must exist), or an empty folder.
fn check_target(dir: &Path) -> Result<(), WarehouseError> {
    let io = |source| WarehouseError::Io {
        path: dir.to_owned(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            let mut entries = std::fs::read_dir(dir).map_err(io)?;
            if entries.next().is_some() {
                return Err(WarehouseError::NotEmpty(dir.to_owned()));
            }
            Ok(())
        }
        Ok(_) => Err(WarehouseError::NotEmpty(dir.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// The temporary folder an export of `dir` is written into: beside it, so that the final
/// rename stays on one file system.
fn temporary(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "warehouse".into());
    dir.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Exports org `options.org` into `options.dir` (see the crate's doc); returns the manifest
/// written.
pub fn export(store: &mut Store, options: &Options) -> Result<Manifest, WarehouseError> {
    let previous = match &options.since {
        Some(prev) => {
            let (manifest, sha) = read_manifest(prev)?;
            if manifest.org != options.org {
                return Err(WarehouseError::OtherOrg {
                    previous: manifest.org,
                    org: options.org.clone(),
                });
            }
            Some((
                Follows {
                    seq: manifest.seq,
                    manifest_sha256: sha,
                },
                manifest.generation,
            ))
        }
        None => None,
    };
    let dir = options.dir.as_path();
    check_target(dir)?;
    // Missing parents are created, as `hireplane export` does.
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| WarehouseError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let tmp = temporary(dir);
    // A leftover of this process id (it cannot be running) is ours to remove.
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|source| WarehouseError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let result = write_all(store, options, previous, &tmp).and_then(|manifest| {
        // An empty target folder is replaced by the rename (rename(2) replaces an empty
        // directory); a missing one is created by it.
        check_target(dir)?;
        std::fs::rename(&tmp, dir).map_err(|source| WarehouseError::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(manifest)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_all(
    store: &mut Store,
    options: &Options,
    previous: Option<(Follows, i64)>,
    tmp: &Path,
) -> Result<Manifest, WarehouseError> {
    let mut writer = Writer {
        dir: tmp,
        row_group_rows: options.row_group_rows.max(1),
        current: None,
        files: Vec::new(),
        error: None,
    };
    let since = previous
        .as_ref()
        .map(|(follows, generation)| store::warehouse::Since {
            seq: follows.seq,
            generation: *generation,
        });
    let read = match store.warehouse_read(&options.org, since, &mut writer) {
        Ok(read) => read,
        Err(e) => return Err(writer.error.take().unwrap_or(WarehouseError::Store(e))),
    };
    let mut files = writer.files;
    if let Some(scopes) = &read.scopes {
        files.push(write_scope(tmp, scopes)?);
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        org: options.org.clone(),
        kind: if previous.is_some() {
            Kind::Delta
        } else {
            Kind::Full
        },
        seq: read.seq,
        generation: read.generation,
        follows: previous.map(|(follows, _)| follows),
        exported_at: options.at.to_string(),
        files,
    };
    let path = tmp.join(MANIFEST);
    let io = |source| WarehouseError::Io {
        path: path.clone(),
        source,
    };
    let mut text = serde_json::to_string_pretty(&manifest).map_err(|e| io(e.into()))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(io)?;
    Ok(manifest)
}
