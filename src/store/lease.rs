//! One process at a time per job. Two processes sending the same job's chunks could each re-read
//! a run before the other's replay shows and replay it twice, so a job is held by the process
//! running it: `host:pid`, with a heartbeat every second. A holder is gone when, on this host,
//! its process no longer runs, or, elsewhere, its heartbeat is older than `LEASE_TIMEOUT`.

use chrono::{DateTime, TimeDelta, Utc};

/// How long a holder on another host may stay silent before its job is free.
pub const LEASE_TIMEOUT: TimeDelta = TimeDelta::seconds(30);

/// Who holds a job, as the store says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: String,
    pub owner: String,
    pub heartbeat: DateTime<Utc>,
}

/// This process, as a lease owner.
pub fn this_process() -> String {
    format!("{}:{}", hostname(), std::process::id())
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

impl Lease {
    /// Whether its holder may still be running the job.
    pub fn is_held(&self, now: DateTime<Utc>) -> bool {
        let local_pid = self
            .owner
            .rsplit_once(':')
            .filter(|(host, _)| *host == hostname())
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        match (local_pid, can_see_processes()) {
            (Some(pid), true) => process_runs(pid),
            _ => now - self.heartbeat < LEASE_TIMEOUT,
        }
    }

    /// Whether a process that registered as arriving at a job (`Store::arrive`, with the job's
    /// identity as `job`) may still be on its way: its process runs as `is_held` says, and it
    /// arrived or renewed its arrival within `LEASE_TIMEOUT`, also on this host, since a service
    /// process lives on after a start that ended before its job (a refusal, nothing matching)
    /// and must not hold the others to a smaller share for ever.
    pub fn is_arriving(&self, now: DateTime<Utc>) -> bool {
        self.is_held(now) && now - self.heartbeat < LEASE_TIMEOUT
    }
}

fn can_see_processes() -> bool {
    std::path::Path::new("/proc/self/stat").exists()
}

/// A process that exited but was not reaped yet (state Z or X) does not run.
fn process_runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1;
            after_name.split_whitespace().next().map(str::to_string)
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_holder_is_judged_by_its_process_and_a_remote_one_by_its_heartbeat() {
        let now = Utc::now();
        let stale = now - LEASE_TIMEOUT - TimeDelta::seconds(1);
        let me = Lease {
            job: "j".into(),
            owner: this_process(),
            heartbeat: stale,
        };
        assert!(
            me.is_held(now),
            "this process runs, however old its heartbeat"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Lease {
            job: "j".into(),
            owner: format!("{}:{pid}", hostname()),
            heartbeat: now,
        };
        assert!(!gone.is_held(now), "an exited process holds nothing");
        let remote = |heartbeat| Lease {
            job: "j".into(),
            owner: "elsewhere.example:1".into(),
            heartbeat,
        };
        assert!(remote(now).is_held(now));
        assert!(!remote(stale).is_held(now));
    }
}
