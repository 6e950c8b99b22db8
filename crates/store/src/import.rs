//! The import pipeline shared by both backends: parsing and checking on one thread, writing on
//! another, so that on two cores the database never waits for the parser nor the parser for the
//! database.
//!
//! The reader thread runs [`read_org`] into a [`Producer`], which turns each record into rows and
//! packs them into batches in the backend's own encoding ([`Batch`]); batches go through a
//! bounded channel (memory stays flat) to the writer thread, which owns the one transaction of
//! the import. The writer commits only when the reader says the whole folder was sound
//! ([`Msg::Commit`]); if the channel closes without it, the transaction is rolled back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use domain::Id;
use domain::format::{OrgSink, Progress, Record, read_org};

use crate::rows::{Context, Table, Val, rows};
use crate::{ImportError, ImportOptions, ImportReport, StoreError};

/// Rows of one or more tables, encoded the way a backend writes them.
pub(crate) trait Batch: Default + Send {
    fn push(&mut self, table: Table, vals: &[Val<'_>]);
    /// Bytes held, roughly: a batch is sent once it passes [`BATCH_BYTES`].
    fn size(&self) -> usize;
}

/// Size at which a batch is handed to the writer.
const BATCH_BYTES: usize = 4 << 20;
/// Batches in flight between the threads.
const IN_FLIGHT: usize = 4;

pub(crate) enum Msg<B> {
    /// The org record came: check whether it exists, and replace or refuse it.
    Org(Id),
    Batch(B),
    /// The whole folder was read without a problem: commit.
    Commit,
}

/// What the writer did.
pub(crate) struct Written {
    pub replaced: bool,
    pub foreign_keys: crate::ForeignKeyChecks,
    /// The org exists and `--replace` was not given: nothing was written.
    pub refused: Option<Id>,
}

struct Producer<B> {
    to_writer: SyncSender<Msg<B>>,
    batch: B,
    org: Option<Id>,
    seq: i64,
    /// Each stage's kind as a bit (see `application_stage_kinds`).
    stage_bits: HashMap<Id, u16>,
    /// Per application, the kinds of the stages it entered.
    reached: HashMap<Id, u16>,
    /// The job of every application read so far.
    jobs: ApplicationJobs,
}

/// The job of each application, for the rows below an application, which store it (`job_id`,
/// migration 6). The reader streams jobs before applications and applications before the records
/// below them, having resolved every reference. Per application one number, the job's place.
#[derive(Default)]
struct ApplicationJobs {
    jobs: Vec<Id>,
    places: HashMap<Id, u32>,
    of_application: HashMap<Id, u32>,
}

impl ApplicationJobs {
    fn add_job(&mut self, job: &Id) -> Result<(), StoreError> {
        let place = u32::try_from(self.jobs.len())
            .map_err(|_| StoreError::Corrupt("more than 2^32 jobs".into()))?;
        self.places.insert(job.clone(), place);
        self.jobs.push(job.clone());
        Ok(())
    }

    fn add_application(&mut self, application: &Id, job: &Id) -> Result<(), StoreError> {
        let place = self.places.get(job).copied().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "application `{application}` came before its job `{job}`"
            ))
        })?;
        self.of_application.insert(application.clone(), place);
        Ok(())
    }

    fn job_of(&self, application: &Id) -> Result<&str, StoreError> {
        self.of_application
            .get(application)
            .and_then(|place| self.jobs.get(*place as usize))
            .map(Id::as_str)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "a record below application `{application}` came before the application"
                ))
            })
    }
}

/// A stage kind's bit in `application_stage_kinds.reached_kinds`: its place in the format's list.
pub(crate) fn kind_bit(kind: domain::enums::StageKind) -> u16 {
    let place = domain::enums::StageKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0);
    1 << place
}

impl<B: Batch> Producer<B> {
    /// The derived rows that need the whole folder: the stage kinds each application reached.
    fn finish(&mut self) -> Result<(), StoreError> {
        let Some(org) = self.org.clone() else {
            return Ok(());
        };
        for (app, bits) in std::mem::take(&mut self.reached) {
            self.batch.push(
                Table::ApplicationStageKinds,
                &[
                    Val::Text(org.as_str()),
                    Val::Text(app.as_str()),
                    Val::Int(i64::from(bits)),
                ],
            );
            if self.batch.size() >= BATCH_BYTES {
                self.send_batch()?;
            }
        }
        Ok(())
    }

    fn send(&mut self, msg: Msg<B>) -> Result<(), StoreError> {
        // A send fails only when the writer has stopped; its own error is reported instead.
        self.to_writer
            .send(msg)
            .map_err(|_| StoreError::WriterStopped)
    }

    fn send_batch(&mut self) -> Result<(), StoreError> {
        if self.batch.size() > 0 {
            let batch = std::mem::take(&mut self.batch);
            self.send(Msg::Batch(batch))?;
        }
        Ok(())
    }
}

impl<B: Batch> OrgSink for Producer<B> {
    type Error = StoreError;

    fn record(&mut self, record: Record<'_>) -> Result<(), StoreError> {
        if let Record::Org(org) = record {
            self.org = Some(org.id.clone());
            self.send(Msg::Org(org.id.clone()))?;
        }
        let Some(org) = &self.org else {
            return Err(StoreError::Corrupt("a record came before its org".into()));
        };
        match &record {
            Record::BusyBlock(_) => self.seq += 1,
            Record::Job(job) => {
                for stage in &job.stages {
                    self.stage_bits
                        .insert(stage.id.clone(), kind_bit(stage.kind));
                }
                self.jobs.add_job(&job.id)?;
            }
            Record::Application(a) => self.jobs.add_application(&a.id, &a.job_id)?,
            Record::StageTransition(t) => {
                let bit = self.stage_bits.get(&t.to_stage_id).copied().unwrap_or(0);
                match self.reached.get_mut(&t.application_id) {
                    Some(bits) => *bits |= bit,
                    None => {
                        self.reached.insert(t.application_id.clone(), bit);
                    }
                }
            }
            _ => {}
        }
        let application = match &record {
            Record::StageTransition(v) => Some(&v.application_id),
            Record::Interview(v) => Some(&v.application_id),
            Record::Feedback(v) => Some(&v.application_id),
            Record::Offer(v) => Some(&v.application_id),
            _ => None,
        };
        let job_id = match application {
            Some(a) => Some(self.jobs.job_of(a)?),
            None => None,
        };
        let context = Context {
            seq: self.seq,
            job_id,
        };
        let batch = &mut self.batch;
        rows(org.as_str(), record, context, &mut |table, vals| {
            batch.push(table, vals);
            Ok::<(), StoreError>(())
        })?;
        if self.batch.size() >= BATCH_BYTES {
            self.send_batch()?;
        }
        Ok(())
    }
}

/// What a backend's import transaction must do; the message loop around it is [`write_all`].
pub(crate) trait ImportTx<B> {
    fn org_exists(&mut self, org: &Id) -> Result<bool, StoreError>;
    /// Deletes every row of `org`, children first.
    fn delete_org(&mut self, org: &Id) -> Result<(), StoreError>;
    /// Counts the import in the org's generation (migration 19, `warehouse`).
    fn next_generation(&mut self, org: &Id) -> Result<(), StoreError>;
    fn write(&mut self, batch: B) -> Result<(), StoreError>;
    /// Last checks, then commit.
    fn commit(self, org: Option<&Id>) -> Result<(), StoreError>;
}

/// The writer thread's loop, the same for every backend: replace or refuse an existing org,
/// write the batches, and commit only on [`Msg::Commit`]. If the reader stops without it, `tx`
/// is dropped un-committed and the backend rolls everything back.
pub(crate) fn write_all<B, T: ImportTx<B>>(
    mut tx: T,
    from_reader: Receiver<Msg<B>>,
    options: ImportOptions,
    foreign_keys: crate::ForeignKeyChecks,
) -> Result<Written, StoreError> {
    let mut written = Written {
        replaced: false,
        foreign_keys,
        refused: None,
    };
    let mut org = None;
    for msg in from_reader {
        if written.refused.is_some() {
            // Refused: keep draining so that the reader can finish checking the folder.
            continue;
        }
        match msg {
            Msg::Org(id) => {
                if tx.org_exists(&id)? {
                    if !options.replace {
                        written.refused = Some(id);
                        continue;
                    }
                    tx.delete_org(&id)?;
                    written.replaced = true;
                }
                tx.next_generation(&id)?;
                org = Some(id);
            }
            Msg::Batch(batch) => tx.write(batch)?,
            Msg::Commit => {
                tx.commit(org.as_ref())?;
                return Ok(written);
            }
        }
    }
    Ok(written)
}

/// Imports `dir`: reads on this thread, writes with `write` on a second one.
pub(crate) fn run<B: Batch>(
    dir: &Path,
    options: ImportOptions,
    progress: &mut dyn FnMut(Progress),
    write: impl FnOnce(Receiver<Msg<B>>, ImportOptions) -> Result<Written, StoreError> + Send,
) -> Result<ImportReport, ImportError> {
    let (to_writer, from_reader) = sync_channel(IN_FLIGHT);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || write(from_reader, options));
        let mut producer = Producer {
            to_writer,
            batch: B::default(),
            org: None,
            seq: 0,
            stage_bits: HashMap::new(),
            reached: HashMap::new(),
            jobs: ApplicationJobs::default(),
        };
        let read = read_org(dir, &mut producer, progress).and_then(|summary| {
            producer.finish().map_err(domain::format::ReadError::Sink)?;
            producer
                .send_batch()
                .map_err(domain::format::ReadError::Sink)?;
            producer
                .send(Msg::Commit)
                .map_err(domain::format::ReadError::Sink)?;
            Ok(summary)
        });
        let org = producer.org.take();
        drop(producer);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(StoreError::Corrupt("the writer thread panicked".into())));
        match (read, written) {
            // A problem in the folder explains everything else.
            (Err(e @ domain::format::ReadError::Invalid { .. }), _) => {
                Err(ImportError::from_read(dir, e))
            }
            (
                _,
                Ok(Written {
                    refused: Some(id), ..
                }),
            ) => Err(StoreError::OrgExists(id.to_string()).into()),
            (_, Err(e)) => Err(e.into()),
            (Err(e), Ok(_)) => Err(ImportError::from_read(dir, e)),
            (
                Ok(summary),
                Ok(Written {
                    replaced,
                    foreign_keys,
                    ..
                }),
            ) => match org {
                Some(org_id) => Ok(ImportReport {
                    org_id,
                    replaced,
                    foreign_keys,
                    summary,
                }),
                None => Err(StoreError::Corrupt("the org folder yielded no org".into()).into()),
            },
        }
    })
}
