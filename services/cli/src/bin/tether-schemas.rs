//! `tether-schemas`: regenerates `proto-schemas/` from the `tether-proto` types, or with
//! `--check` exits 1 listing the files that differ (CI).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tether_cli::schemas::{Artefacts, default_dir};

/// Generate (or check) Tether's JSON Schemas and AsyncAPI document.
#[derive(Debug, Parser)]
#[command(name = "tether-schemas", version)]
struct Args {
    /// Only compare; exit 1 and list the files that differ.
    #[arg(long)]
    check: bool,
    /// The proto-schemas directory (default: this workspace's).
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tether-schemas: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(default_dir);
    let artefacts = Artefacts::generate()?;
    if args.check {
        let drift = artefacts.check(&dir)?;
        if drift.is_empty() {
            println!(
                "proto-schemas is current ({} files in {})",
                artefacts.files().len(),
                dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "proto-schemas is out of date; run `cargo run -p tether-cli --bin tether-schemas`:"
        );
        for change in &drift {
            eprintln!("  {change}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let changes = artefacts.write(&dir)?;
    for change in &changes {
        println!("  {change}");
    }
    println!(
        "wrote {} ({} files, {} changed)",
        dir.display(),
        artefacts.files().len(),
        changes.len()
    );
    Ok(ExitCode::SUCCESS)
}
