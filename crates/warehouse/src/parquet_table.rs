//! One table as one Parquet file, written through the `parquet` crate's low-level column
//! writers (no Arrow): rows are buffered column by column and written as a row group every
//! [`ROW_GROUP_ROWS`] rows, so memory stays bounded whatever the table's size. Snappy pages,
//! dictionary encoding where the writer finds it pays, page statistics.
//!
//! Types: text and JSON as `BYTE_ARRAY` (`STRING`), integers as `INT64`, reals as `DOUBLE`,
//! booleans as `BOOLEAN`, instants as `INT64` `TIMESTAMP(MICROS, UTC)`, dates as `INT32`
//! `DATE`; a nullable column is `OPTIONAL`, others `REQUIRED`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use sha2::{Digest, Sha256};
use store::Get;
use store::warehouse::{Column, ColumnType};

use crate::WarehouseError;

/// Rows per row group: what is held in memory per table at most (a few tens of MB for the
/// widest table), and a unit DuckDB reads in parallel.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// The values of one column for the row group being filled.
enum Values {
    Bytes(Vec<ByteArray>),
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
}

struct Buffer {
    values: Values,
    /// Definition levels (1 present, 0 null) of an optional column; empty for a required one.
    defs: Vec<i16>,
}

/// A file being written; hashes what it writes.
struct Hashing {
    file: BufWriter<File>,
    hash: Sha256,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A table's Parquet file being written.
pub struct ParquetTable {
    path: PathBuf,
    table: &'static str,
    columns: &'static [Column],
    writer: SerializedFileWriter<Hashing>,
    buffers: Vec<Buffer>,
    pending: usize,
    row_group_rows: usize,
    rows: u64,
}

/// A finished file: its rows and the SHA-256 of its bytes (hex).
pub struct Written {
    pub rows: u64,
    pub sha256: String,
}

fn schema(columns: &[Column]) -> Result<Type, parquet::errors::ParquetError> {
    let fields = columns
        .iter()
        .map(|c| {
            let (physical, logical) = match c.ty {
                ColumnType::Text | ColumnType::Json => {
                    (PhysicalType::BYTE_ARRAY, Some(LogicalType::String))
                }
                ColumnType::Integer => (PhysicalType::INT64, None),
                ColumnType::Real => (PhysicalType::DOUBLE, None),
                ColumnType::Boolean => (PhysicalType::BOOLEAN, None),
                ColumnType::Instant => (
                    PhysicalType::INT64,
                    Some(LogicalType::Timestamp {
                        is_adjusted_to_u_t_c: true,
                        unit: TimeUnit::MICROS,
                    }),
                ),
                ColumnType::Date => (PhysicalType::INT32, Some(LogicalType::Date)),
            };
            let repetition = if c.nullable {
                Repetition::OPTIONAL
            } else {
                Repetition::REQUIRED
            };
            Type::primitive_type_builder(c.name, physical)
                .with_logical_type(logical)
                .with_repetition(repetition)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
}

fn days_since_epoch(d: domain::Date) -> Option<i32> {
    let days = d
        .as_civil()
        .duration_since(jiff::civil::date(1970, 1, 1))
        .as_secs()
        / 86_400;
    i32::try_from(days).ok()
}

impl ParquetTable {
    /// Creates `path` (which must not exist) for a table of `columns`, written in row groups of
    /// `row_group_rows` rows.
    pub fn create(
        path: &Path,
        table: &'static str,
        columns: &'static [Column],
        row_group_rows: usize,
    ) -> Result<ParquetTable, WarehouseError> {
        let io = |source| WarehouseError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        let props = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("hireplane {}", env!("CARGO_PKG_VERSION")))
            .build();
        let parquet = |e| WarehouseError::Parquet {
            path: path.to_owned(),
            source: e,
        };
        let writer = SerializedFileWriter::new(
            Hashing {
                file: BufWriter::with_capacity(1 << 20, file),
                hash: Sha256::new(),
            },
            Arc::new(schema(columns).map_err(parquet)?),
            Arc::new(props),
        )
        .map_err(parquet)?;
        let buffers = columns
            .iter()
            .map(|c| Buffer {
                values: match c.ty {
                    ColumnType::Text | ColumnType::Json => Values::Bytes(Vec::new()),
                    ColumnType::Integer | ColumnType::Instant => Values::Int64(Vec::new()),
                    ColumnType::Date => Values::Int32(Vec::new()),
                    ColumnType::Real => Values::Double(Vec::new()),
                    ColumnType::Boolean => Values::Bool(Vec::new()),
                },
                defs: Vec::new(),
            })
            .collect();
        Ok(ParquetTable {
            path: path.to_owned(),
            table,
            columns,
            writer,
            buffers,
            pending: 0,
            row_group_rows,
            rows: 0,
        })
    }

    /// Adds one row, its columns typed as the table's columns say.
    pub fn push(&mut self, row: &dyn Get) -> Result<(), WarehouseError> {
        for (i, (column, buffer)) in self.columns.iter().zip(&mut self.buffers).enumerate() {
            let bad = |why: String| WarehouseError::Value {
                table: self.table,
                column: column.name,
                why,
            };
            let present = match &mut buffer.values {
                Values::Bytes(v) => row
                    .text(i)
                    .map_err(bad)?
                    .map(|s| v.push(ByteArray::from(s.into_bytes())))
                    .is_some(),
                Values::Int64(v) => match column.ty {
                    ColumnType::Instant => row
                        .instant(i)
                        .map_err(bad)?
                        .map(|t| v.push(t.as_micros()))
                        .is_some(),
                    _ => row.int(i).map_err(bad)?.map(|n| v.push(n)).is_some(),
                },
                Values::Int32(v) => match row.date(i).map_err(bad)? {
                    Some(d) => {
                        let days = days_since_epoch(d)
                            .ok_or_else(|| bad(format!("date `{d}` out of range")))?;
                        v.push(days);
                        true
                    }
                    None => false,
                },
                Values::Double(v) => row.real(i).map_err(bad)?.map(|x| v.push(x)).is_some(),
                Values::Bool(v) => row.boolean(i).map_err(bad)?.map(|b| v.push(b)).is_some(),
            };
            if column.nullable {
                buffer.defs.push(i16::from(present));
            } else if !present {
                return Err(bad("null in a column that is never null".into()));
            }
        }
        self.pending += 1;
        self.rows += 1;
        if self.pending >= self.row_group_rows {
            self.flush_group()?;
        }
        Ok(())
    }

    fn parquet_error(&self, source: parquet::errors::ParquetError) -> WarehouseError {
        WarehouseError::Parquet {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the buffered rows as one row group.
    fn flush_group(&mut self) -> Result<(), WarehouseError> {
        if self.pending == 0 {
            return Ok(());
        }
        let result = self.write_group();
        self.pending = 0;
        result.map_err(|e| self.parquet_error(e))
    }

    fn write_group(&mut self) -> Result<(), parquet::errors::ParquetError> {
        let mut group = self.writer.next_row_group()?;
        for (column, buffer) in self.columns.iter().zip(&mut self.buffers) {
            let Some(mut writer) = group.next_column()? else {
                break;
            };
            let defs = column.nullable.then_some(buffer.defs.as_slice());
            match &mut buffer.values {
                Values::Bytes(v) => {
                    writer.typed::<ByteArrayType>().write_batch(v, defs, None)?;
                    v.clear();
                }
                Values::Int64(v) => {
                    writer.typed::<Int64Type>().write_batch(v, defs, None)?;
                    v.clear();
                }
                Values::Int32(v) => {
                    writer.typed::<Int32Type>().write_batch(v, defs, None)?;
                    v.clear();
                }
                Values::Double(v) => {
                    writer.typed::<DoubleType>().write_batch(v, defs, None)?;
                    v.clear();
                }
                Values::Bool(v) => {
                    writer.typed::<BoolType>().write_batch(v, defs, None)?;
                    v.clear();
                }
            }
            buffer.defs.clear();
            writer.close()?;
        }
        group.close()?;
        Ok(())
    }

    /// Writes the last row group and the footer, and closes the file.
    pub fn finish(mut self) -> Result<Written, WarehouseError> {
        self.flush_group()?;
        let path = self.path.clone();
        let parquet = |source| WarehouseError::Parquet {
            path: path.clone(),
            source,
        };
        let mut inner = self.writer.into_inner().map_err(parquet)?;
        inner.flush().map_err(|source| WarehouseError::Io {
            path: path.clone(),
            source,
        })?;
        let file = inner.file.into_inner().map_err(|e| WarehouseError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| WarehouseError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Written {
            rows: self.rows,
            sha256: hex(&inner.hash.finalize()),
        })
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
