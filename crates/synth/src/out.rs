//! Buffered JSON Lines output, one sink per file, with row counts and path-carrying errors.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::SynthError;

/// One `.jsonl` file being written.
pub struct Sink {
    path: PathBuf,
    writer: BufWriter<File>,
    rows: u64,
}

impl Sink {
    pub fn create(dir: &Path, name: &str) -> Result<Sink, SynthError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| SynthError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Sink {
            path,
            writer: BufWriter::with_capacity(1 << 18, file),
            rows: 0,
        })
    }

    /// Appends one row.
    pub fn row<T: Serialize>(&mut self, row: &T) -> Result<(), SynthError> {
        let result = serde_json::to_writer(&mut self.writer, row)
            .map_err(std::io::Error::from)
            .and_then(|()| self.writer.write_all(b"\n"));
        match result {
            Ok(()) => {
                self.rows += 1;
                Ok(())
            }
            Err(source) => Err(SynthError::Write {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Flushes the file and returns how many rows it holds.
    pub fn finish(mut self) -> Result<u64, SynthError> {
        self.writer.flush().map_err(|source| SynthError::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.rows)
    }
}

/// Writes a whole (small) JSON document, pretty-printed.
pub fn write_document<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), SynthError> {
    let path = dir.join(name);
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| SynthError::Write {
        path: path.clone(),
        source: e.into(),
    })?;
    text.push(b'\n');
    std::fs::write(&path, text).map_err(|source| SynthError::Write { path, source })
}
