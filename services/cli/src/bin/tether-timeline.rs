//! `tether-timeline verify <file.json>`: checks a saved `GET /api/v1/sessions/{id}/timeline`
//! answer. Prints `OK` (with the event count and head hash) and exits 0, or prints the
//! first broken event and rule and exits 1; exits 2 when the file cannot be read or is
//! not JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tether_cli::timeline::verify_file;

/// Session timeline tools.
#[derive(Debug, Parser)]
#[command(name = "tether-timeline", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every rule of a saved timeline answer (hash chain, seq, types, order).
    Verify {
        /// The saved JSON answer.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let Args {
        command: Command::Verify { file },
    } = Args::parse();
    match verify_file(&file) {
        Ok(Ok(verified)) => {
            println!(
                "OK: {} events, head_hash {}",
                verified.events, verified.head_hash
            );
            ExitCode::SUCCESS
        }
        Ok(Err(broken)) => {
            println!("BROKEN: {broken}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("tether-timeline: {err:#}");
            ExitCode::from(2)
        }
    }
}
