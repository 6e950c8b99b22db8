//! PLACEHOLDER until the job queue lands (helper h-jobs): the fixed interface only.

use domain::Instant;

use crate::StoreError;
use crate::write::tx::Tx;

pub struct NewJob {
    pub org_id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub priority: i16,
    pub run_at: Instant,
    pub max_attempts: i32,
    pub unique_key: Option<String>,
}

pub struct Enqueued {
    pub id: i64,
    pub existing: bool,
}

#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub org_id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempt: i32,
    pub max_attempts: i32,
    pub unique_key: Option<String>,
    pub enqueued_at: Instant,
    pub run_at: Instant,
}

impl Tx<'_> {
    pub fn enqueue_job(&mut self, _job: &NewJob, _now: Instant) -> Result<Enqueued, StoreError> {
        Err(StoreError::Corrupt("the job queue has not landed".into()))
    }
}

impl crate::Store {
    pub fn enqueue_job(&mut self, _job: &NewJob, _now: Instant) -> Result<Enqueued, StoreError> {
        Err(StoreError::Corrupt("the job queue has not landed".into()))
    }
}
