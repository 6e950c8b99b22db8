//! `hireplane schedule`: interview loops from a JSON request (see the `scheduling` crate's
//! `request` module for the format), printed as a table or as JSON, and repairs after a decline.

use std::path::Path;

use anyhow::{Context, Result, bail};
use scheduling::{Decline, Repair, Request, ScheduleOption, Solution};

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn request(path: &Path) -> Result<Request> {
    scheduling::parse_request(&read(path)?)
        .with_context(|| format!("invalid scheduling request `{}`", path.display()))
}

/// `hireplane schedule REQUEST.json`
pub fn solve(request_path: &Path, format: Format) -> Result<()> {
    let request = request(request_path)?;
    let solution = scheduling::solve(&request)
        .with_context(|| format!("invalid scheduling request `{}`", request_path.display()))?;
    self::check_all(&request, &solution)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&solution)?),
        Format::Table => print_solution(&request, &solution),
    }
    Ok(())
}

/// `hireplane schedule REQUEST.json --repair BOOKED.json (--declined USER | --candidate-unavailable)`
pub fn repair(
    request_path: &Path,
    booked_path: &Path,
    decline: Decline,
    format: Format,
) -> Result<()> {
    let request = request(request_path)?;
    let booked = booked(booked_path)?;
    let Repair { step, solution } = scheduling::repair(&request, &booked, &decline)
        .with_context(|| format!("cannot repair `{}`", booked_path.display()))?;
    self::check_all(&request, &solution)?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&Repair { step, solution })?
        ),
        Format::Table => {
            let how = match step {
                scheduling::RepairStep::Unchanged => "nothing had to change",
                scheduling::RepairStep::SwapSeat => "swapped the declined seat, same times",
                scheduling::RepairStep::MoveSession => "moved the affected session",
                scheduling::RepairStep::Replan => "re-planned the loop",
            };
            println!("repair: {how}");
            print_solution(&request, &solution);
        }
    }
    Ok(())
}

/// A booked schedule: one option, or a solution whose first option is the booked one.
fn booked(path: &Path) -> Result<ScheduleOption> {
    let text = read(path)?;
    if let Ok(option) = serde_json::from_str::<ScheduleOption>(&text) {
        return Ok(option);
    }
    match serde_json::from_str::<Solution>(&text) {
        Ok(Solution::Options { options }) => match options.into_iter().next() {
            Some(first) => Ok(first),
            None => bail!("`{}` holds no option to repair", path.display()),
        },
        Ok(Solution::Infeasible { .. }) => {
            bail!("`{}` holds no schedule: it is infeasible", path.display())
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "`{}` is neither a schedule option nor a solution as `--format json` prints them",
                path.display()
            )
        }),
    }
}

/// Every option printed has passed the independent checker: a wrong schedule is never shown.
fn check_all(request: &Request, solution: &Solution) -> Result<()> {
    for option in solution.options() {
        if let Err(violations) = scheduling::check(request, option) {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            bail!(
                "internal error: option {} breaks rules: {}",
                option.rank,
                list.join("; ")
            );
        }
    }
    Ok(())
}

fn print_solution(request: &Request, solution: &Solution) {
    match solution {
        Solution::Infeasible { reasons } => {
            println!("no schedule fits:");
            for r in reasons {
                println!("  - {r}");
            }
        }
        Solution::Options { options } => {
            let zone = jiff::tz::TimeZone::get(&request.candidate.zone).ok();
            for o in options {
                println!(
                    "option {}: ends {}, load {}, candidate idle {} min, trainee seats empty {}",
                    o.rank,
                    o.objective.end,
                    o.objective.load,
                    o.objective.idle_minutes,
                    o.objective.trainees_missing
                );
                for s in &o.sessions {
                    let local = zone
                        .as_ref()
                        .and_then(|z| {
                            let start: jiff::Timestamp = s.start.parse().ok()?;
                            Some(format!(
                                " ({} for the candidate)",
                                start.to_zoned_datetime(z.clone()).strftime("%a %H:%M %Z")
                            ))
                        })
                        .unwrap_or_default();
                    let people: Vec<String> = s.seats.iter().map(|seat| seat.join(" + ")).collect();
                    let trainee = s
                        .trainee
                        .as_ref()
                        .map(|t| {
                            let role = serde_json::to_value(t.role).ok();
                            let role = role.as_ref().and_then(|r| r.as_str()).unwrap_or("trainee");
                            format!("; trainee {} ({role})", t.person)
                        })
                        .unwrap_or_default();
                    println!(
                        "  {:<12} {} – {}{local}  {}{trainee}",
                        s.session,
                        s.start,
                        s.end,
                        people.join(", ")
                    );
                }
            }
        }
    }
}
