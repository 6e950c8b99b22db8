//! Generates an org by hand and reports the time it took:
//! `cargo run --release -p synth --example gen -- DIR [APPLICATIONS] [SEED] [ORG_ID]`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: gen DIR [APPLICATIONS] [SEED] [ORG_ID]")?;
    let applications = args.next().map_or(Ok(10_000), |s| s.parse())?;
    let seed = args.next().map_or(Ok(42), |s| s.parse())?;
    let org_id = args.next().unwrap_or_else(|| "acme".to_owned());
    let config = synth::Config {
        org_id,
        applications,
        seed,
    };
    let started = Instant::now();
    let summary = synth::generate(&config, std::path::Path::new(&dir))?;
    let elapsed = started.elapsed();
    for (file, rows) in summary.files() {
        println!("{file:<26} {rows:>10}");
    }
    println!(
        "reference time {}; took {:.2?}",
        summary.reference_time, elapsed
    );
    Ok(())
}
