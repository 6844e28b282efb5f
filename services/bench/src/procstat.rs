//! CPU time and memory of the processes under test, read from `/proc`.
//!
//! CPU is `utime + stime + cutime + cstime` of `/proc/<pid>/stat` (the children's share
//! matters for PostgreSQL, whose postmaster reaps short-lived backends), in clock ticks of
//! 1/100 s (Linux's `USER_HZ`). Processes are grouped as "app" (the Tether services, or
//! the floor), `nats-server`, PostgreSQL (every process named `postgres`) and the bench
//! itself.

use std::collections::BTreeMap;
use std::fs;

use crate::traffic::Traffic;

const TICKS_PER_S: f64 = 100.0;

/// Which processes count as the application under test.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    /// Explicit process ids (from `scripts/bench`); when empty, every process whose name
    /// starts with `tether-` except the bench and the floor.
    pub pids: Vec<u32>,
}

/// CPU seconds used so far by each group (and, where measured, the traffic between them).
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    /// The application (Tether processes or the floor).
    pub app: f64,
    /// The application per process name (`tether-ws-edge`, `tether-chat`, ...).
    pub procs: BTreeMap<String, f64>,
    /// NATS messages and PostgreSQL statements (see [`crate::traffic`]).
    pub traffic: Traffic,
    /// nats-server.
    pub nats: f64,
    /// All PostgreSQL processes.
    pub pg: f64,
    /// This load generator.
    pub bench: f64,
}

impl CpuSnapshot {
    /// The CPU used between `earlier` and `self`.
    pub fn since(&self, earlier: &CpuSnapshot) -> CpuSnapshot {
        CpuSnapshot {
            app: (self.app - earlier.app).max(0.0),
            procs: self
                .procs
                .iter()
                .map(|(name, secs)| {
                    let before = earlier.procs.get(name).copied().unwrap_or(0.0);
                    (name.clone(), (secs - before).max(0.0))
                })
                .collect(),
            traffic: self.traffic.since(&earlier.traffic),
            nats: (self.nats - earlier.nats).max(0.0),
            pg: (self.pg - earlier.pg).max(0.0),
            bench: (self.bench - earlier.bench).max(0.0),
        }
    }
}

/// Name (`comm`) and CPU seconds of one process.
fn read_stat(pid: u32) -> Option<(String, f64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is the state (field 3); utime is field 14.
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .filter_map(|f| f.parse::<i64>().ok())
        .map(|v| v.max(0) as u64)
        .sum();
    Some((comm, ticks as f64 / TICKS_PER_S))
}

/// Every process id in `/proc`.
fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Process ids whose name is exactly `comm`.
pub fn pids_named(comm: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| read_stat(pid).is_some_and(|(c, _)| c == comm))
        .collect()
}

/// Current CPU seconds per group.
pub fn cpu_snapshot(filter: &AppFilter) -> CpuSnapshot {
    let me = std::process::id();
    let mut snap = CpuSnapshot::default();
    for pid in all_pids() {
        let Some((comm, secs)) = read_stat(pid) else {
            continue;
        };
        if pid == me {
            snap.bench += secs;
        } else if filter.pids.contains(&pid)
            || (filter.pids.is_empty()
                && comm.starts_with("tether-")
                && !comm.starts_with("tether-bench")
                && !comm.starts_with("tether-floor"))
        {
            snap.app += secs;
            *snap.procs.entry(comm).or_default() += secs;
        } else if comm == "nats-server" {
            snap.nats += secs;
        } else if comm == "postgres" {
            snap.pg += secs;
        }
    }
    snap
}

/// Resident set size of a process in KiB (`VmRSS`), 0 when unknown.
pub fn rss_kib(pid: u32) -> u64 {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Summed RSS of several processes in KiB.
pub fn rss_sum_kib(pids: &[u32]) -> u64 {
    pids.iter().map(|&p| rss_kib(p)).sum()
}

/// The machine: CPU model, core count and memory, for the results file.
pub fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
    let mem = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!(
        "{model}, {cores} cores, {:.1} GiB memory",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}
