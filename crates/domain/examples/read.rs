//! Reads and checks an org folder without storing it: `cargo run --release -p domain --example read -- DIR`.
//! Shows how long parsing and checking take on their own (the floor under any import).
use domain::format::{OrgSink, ReadError, Record, read_org};

struct Count(u64);
impl OrgSink for Count {
    type Error = std::convert::Infallible;
    fn record(&mut self, _: Record<'_>) -> Result<(), Self::Error> {
        self.0 += 1;
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: read DIR");
        return std::process::ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    let mut sink = Count(0);
    match read_org(std::path::Path::new(&dir), &mut sink, &mut |_| {}) {
        Ok(_) => {
            println!("{} records checked in {:.2?}", sink.0, started.elapsed());
            std::process::ExitCode::SUCCESS
        }
        Err(ReadError::Invalid { problems, total }) => {
            for p in problems {
                eprintln!("{p}");
            }
            eprintln!("{total} problems");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
