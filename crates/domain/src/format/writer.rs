//! Writing an org folder: one JSON object a line, in the shape the reader takes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{FileKind, Record};

/// Writes records into an org folder, opening each entity's file on its first record. Files of
/// entities without records are not written (the format allows them to be missing).
pub struct OrgWriter {
    dir: PathBuf,
    open: Vec<(FileKind, BufWriter<File>)>,
}

/// Why a record could not be written; names the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl OrgWriter {
    /// Creates `dir` if needed. Existing files of the format in it are replaced.
    pub fn create(dir: &Path) -> Result<OrgWriter, WriteError> {
        std::fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_owned(),
            source,
        })?;
        // Remove files a previous export left, so that the folder holds exactly this org.
        for kind in FileKind::ALL {
            let path = dir.join(kind.file_name());
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(WriteError { path, source }),
            }
        }
        Ok(OrgWriter {
            dir: dir.to_owned(),
            open: Vec::new(),
        })
    }

    fn file(&mut self, kind: FileKind) -> Result<&mut BufWriter<File>, WriteError> {
        let pos = match self.open.iter().position(|(k, _)| *k == kind) {
            Some(pos) => pos,
            None => {
                let path = self.dir.join(kind.file_name());
                let f = File::create(&path).map_err(|source| WriteError { path, source })?;
                self.open.push((kind, BufWriter::with_capacity(1 << 16, f)));
                self.open.len() - 1
            }
        };
        match self.open.get_mut(pos) {
            Some((_, w)) => Ok(w),
            None => Err(WriteError {
                path: self.dir.join(kind.file_name()),
                source: std::io::Error::other("file handle lost"),
            }),
        }
    }

    pub fn write(&mut self, record: Record<'_>) -> Result<(), WriteError> {
        let kind = record.kind();
        let result = {
            let w = self.file(kind)?;
            let r = match record {
                Record::Org(v) => serde_json::to_writer_pretty(&mut *w, v),
                Record::Department(v) => serde_json::to_writer(&mut *w, v),
                Record::User(v) => serde_json::to_writer(&mut *w, v),
                Record::Source(v) => serde_json::to_writer(&mut *w, v),
                Record::CustomField(v) => serde_json::to_writer(&mut *w, v),
                Record::Job(v) => serde_json::to_writer(&mut *w, v),
                Record::Candidate(v) => serde_json::to_writer(&mut *w, v),
                Record::Application(v) => serde_json::to_writer(&mut *w, v),
                Record::StageTransition(v) => serde_json::to_writer(&mut *w, v),
                Record::Interview(v) => serde_json::to_writer(&mut *w, v),
                Record::Feedback(v) => serde_json::to_writer(&mut *w, v),
                Record::Offer(v) => serde_json::to_writer(&mut *w, v),
                Record::InterviewerPool(v) => serde_json::to_writer(&mut *w, v),
                Record::BusyBlock(v) => serde_json::to_writer(&mut *w, v),
            };
            r.map_err(std::io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
        };
        result.map_err(|source| WriteError {
            path: self.dir.join(kind.file_name()),
            source,
        })
    }

    /// Flushes every file; call it once at the end.
    pub fn finish(self) -> Result<(), WriteError> {
        for (kind, mut w) in self.open {
            w.flush().map_err(|source| WriteError {
                path: self.dir.join(kind.file_name()),
                source,
            })?;
        }
        Ok(())
    }
}

impl Record<'_> {
    /// The file a record belongs in.
    pub fn kind(&self) -> FileKind {
        match self {
            Record::Org(_) => FileKind::Org,
            Record::Department(_) => FileKind::Departments,
            Record::User(_) => FileKind::Users,
            Record::Source(_) => FileKind::Sources,
            Record::CustomField(_) => FileKind::CustomFields,
            Record::Job(_) => FileKind::Jobs,
            Record::Candidate(_) => FileKind::Candidates,
            Record::Application(_) => FileKind::Applications,
            Record::StageTransition(_) => FileKind::StageTransitions,
            Record::Interview(_) => FileKind::Interviews,
            Record::Feedback(_) => FileKind::Feedback,
            Record::Offer(_) => FileKind::Offers,
            Record::InterviewerPool(_) => FileKind::InterviewerPools,
            Record::BusyBlock(_) => FileKind::BusyBlocks,
        }
    }
}
