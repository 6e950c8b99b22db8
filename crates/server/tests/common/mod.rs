//! What every end-to-end test of the server shares: a fresh database per test (a SQLite file in
//! a temporary folder, or a PostgreSQL database created on `HIREPLANE_TEST_POSTGRES` and dropped
//! afterwards) and `on_both!`, which runs one test on each store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

/// A test's database; dropping it removes it.
pub struct Db {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pub pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A SQLite store in a fresh temporary folder.
pub fn sqlite_db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    Db {
        url: format!("sqlite://{}", dir.path().join("api.db").display()),
        _dir: Some(dir),
        pg: None,
    }
}

/// A fresh PostgreSQL database on the server `HIREPLANE_TEST_POSTGRES` names.
pub fn postgres_db() -> Db {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let admin = std::env::var("HIREPLANE_TEST_POSTGRES").expect("HIREPLANE_TEST_POSTGRES");
    let name = format!(
        "hp_apitest_{}_{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_microsecond() % 1_000_000_000,
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = &admin[..admin.rfind('/').unwrap()];
    Db {
        url: format!("{base}/{name}"),
        _dir: None,
        pg: Some((admin, name)),
    }
}

/// Two tests of the end-to-end test `$name(db: Db)`: `$name::on_sqlite`, and
/// `$name::on_postgres` when `HIREPLANE_TEST_POSTGRES` names a server.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn on_sqlite() {
                super::$name($crate::common::sqlite_db());
            }

            #[test]
            #[cfg_attr(
                not(hp_postgres),
                ignore = "set HIREPLANE_TEST_POSTGRES to run against PostgreSQL"
            )]
            fn on_postgres() {
                super::$name($crate::common::postgres_db());
            }
        }
    };
}

/// A server started on port 0 for a test, with its runtime and an HTTP client that returns
/// every status as an answer; dropping it stops the server.
pub struct Server {
    pub rt: tokio::runtime::Runtime,
    pub running: Option<server::Running>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub agent: ureq::Agent,
}

impl Server {
    /// Starts a server with `settings` on a runtime of two workers with 2 MB stacks (the size
    /// the nesting attacks are checked against).
    pub fn start(settings: server::Settings) -> Server {
        Server::start_inner(settings, None)
    }

    /// [`Server::start`] with requests failed on purpose by `faults`.
    pub fn start_with_faults(
        settings: server::Settings,
        faults: std::sync::Arc<dyn server::rollouts::Faults>,
    ) -> Server {
        Server::start_inner(settings, Some(faults))
    }

    fn start_inner(
        settings: server::Settings,
        faults: Option<std::sync::Arc<dyn server::rollouts::Faults>>,
    ) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(2 * 1024 * 1024)
            .enable_all()
            .build()
            .unwrap();
        let running = match faults {
            Some(f) => rt.block_on(server::start_with_faults(settings, f)),
            None => rt.block_on(server::start(settings)),
        }
        .unwrap();
        let base = format!("http://{}", running.addr);
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(120)))
                .build(),
        );
        Server {
            rt,
            running: Some(running),
            base,
            agent,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.rt.block_on(r.stop());
        }
    }
}

/// A user of a generated org and a fresh API token of theirs.
pub struct RoleToken {
    pub role: String,
    pub user_id: String,
    pub name: String,
    pub token: String,
}

/// Generates org `org` (`applications`, `seed`) into `db` and makes a token for the first active
/// user of each of `roles`, in that order.
pub fn generated_org(
    db: &Db,
    org: &str,
    applications: u64,
    seed: u64,
    roles: &[&str],
) -> Vec<RoleToken> {
    let dir = tempfile::tempdir().unwrap();
    synth::generate(
        &synth::Config {
            org_id: org.into(),
            applications,
            seed,
        },
        dir.path(),
    )
    .unwrap();
    let mut store = store::Store::open(&db.url).unwrap();
    store
        .import(dir.path(), store::ImportOptions::default(), &mut |_| {})
        .unwrap();
    let users = store.active_users(org).unwrap();
    let services = app::Services::new();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    roles
        .iter()
        .map(|role| {
            let user = users.iter().find(|u| u.role == *role).unwrap();
            let made = services
                .create_token(&mut store, org, &user.id, "test", None, now)
                .unwrap();
            RoleToken {
                role: (*role).to_owned(),
                user_id: user.id.clone(),
                name: user.name.clone(),
                token: made.token,
            }
        })
        .collect()
}
