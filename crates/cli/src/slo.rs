//! `hireplane slo rules`: the Prometheus recording rules and multi-window multi-burn-rate alerts
//! of an SLO spec (`slo.yaml`, format `hireplane-slo/1`, see docs/slo.md).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// `hireplane slo ...`.
#[derive(clap::Args, Debug)]
pub struct SloArgs {
    #[command(subcommand)]
    command: SloCommand,
}

#[derive(clap::Subcommand, Debug)]
enum SloCommand {
    /// Generate Prometheus recording rules and burn-rate alerts from an SLO spec; check the
    /// result with `promtool check rules FILE`
    Rules {
        /// The SLO spec (`hireplane-slo/1`), e.g. slo.yaml
        file: PathBuf,
        /// Write the rules to this file instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

pub fn run(args: SloArgs) -> Result<()> {
    match args.command {
        SloCommand::Rules { file, output } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read the SLO spec `{}`", file.display()))?;
            // The error names the file, line and column itself.
            let spec = ::slo::Spec::parse(&text, &file.display().to_string())?;
            let rules = ::slo::render_rules(&spec);
            match output {
                None => std::io::stdout().lock().write_all(rules.as_bytes())?,
                Some(path) => {
                    std::fs::write(&path, &rules)
                        .with_context(|| format!("cannot write `{}`", path.display()))?;
                    eprintln!(
                        "wrote the rules of {} SLOs of `{}` to {}",
                        spec.slos.len(),
                        spec.service,
                        path.display()
                    );
                }
            }
        }
    }
    Ok(())
}
