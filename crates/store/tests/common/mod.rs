//! What the store's integration tests share: a store on a fresh database (a SQLite file in a
//! temporary folder, or a PostgreSQL database created for the test and dropped after it), one
//! test per backend, and generated orgs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use store::Store;

/// A store on a fresh database; dropping it removes the database.
pub struct Fresh {
    store: Option<Store>,
    /// The store's URL.
    pub url: String,
    /// SQLite: the database file.
    pub file: Option<PathBuf>,
    /// PostgreSQL: the admin URL and the database's name.
    pub pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    pub fn store(&mut self) -> &mut Store {
        self.store.as_mut().unwrap()
    }

    /// Runs `sql` on the database behind the store's back, on a connection of its own (to undo
    /// a migration, say).
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn execute_raw(&self, sql: &str) {
        match &self.pg {
            None => rusqlite::Connection::open(self.file.as_ref().unwrap())
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Some(_) => postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        self.store = None;
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

pub fn sqlite() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.db");
    let url = format!("sqlite://{}", file.display());
    Fresh {
        store: Some(Store::open(&url).unwrap()),
        url,
        file: Some(file),
        pg: None,
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database named `PREFIX_PID_N_MILLIS` on the server of
/// `HIREPLANE_TEST_POSTGRES`.
pub fn postgres(prefix: &str) -> Fresh {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("HIREPLANE_TEST_POSTGRES").expect("HIREPLANE_TEST_POSTGRES");
    let name = format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        jiff::Timestamp::now().as_millisecond() % 1_000_000
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let url = pg_url(&admin, &name);
    Fresh {
        store: Some(Store::open(&url).unwrap()),
        url,
        file: None,
        pg: Some((admin, name)),
        _dir: None,
    }
}

/// The admin URL with its database replaced by `db`.
pub fn pg_url(admin: &str, db: &str) -> String {
    let scheme_end = admin.find("://").unwrap() + 3;
    match admin.rfind('/') {
        Some(i) if i > scheme_end => format!("{}/{db}", &admin[..i]),
        _ => format!("{admin}/{db}"),
    }
}

/// A generated org in a temporary folder.
pub fn generated(org_id: &str, applications: u64, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: org_id.into(),
            applications,
            seed,
        },
        dir.path(),
    )
    .unwrap();
    dir
}

/// One test per backend: `NAME::sqlite` always, `NAME::postgres` when a server is configured
/// (databases named after `$prefix`).
#[allow(unused_macros)]
macro_rules! on_both {
    ($prefix:literal, $name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                let f: fn(Fresh) = $body;
                f(crate::common::sqlite());
            }
            #[test]
            #[cfg_attr(
                not(hp_postgres),
                ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
            )]
            fn postgres() {
                let f: fn(Fresh) = $body;
                f(crate::common::postgres($prefix));
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both;
