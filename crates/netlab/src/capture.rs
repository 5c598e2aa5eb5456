//! Packet capture inside a lab host with tcpdump: a pcap file for the record, and one text line
//! per packet so tests can wait for a VRRP advert or a gratuitous ARP as an event.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::proc::Proc;

/// A running capture. Stopped on drop.
pub struct Capture {
    proc: Proc,
    pcap: PathBuf,
}

impl Capture {
    pub(crate) fn start(netns: &str, ifname: &str, filter: &str, pcap: PathBuf) -> Result<Self> {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns", "exec", netns, "tcpdump", "-l", "-n", "-e", "-vv", "-U",
        ])
        .args(["-i", ifname, "-w"])
        .arg(&pcap)
        .arg("--print");
        if !filter.is_empty() {
            cmd.arg(filter);
        }
        let proc = Proc::start(&format!("tcpdump@{netns}"), cmd)?;
        // tcpdump says "listening on" once its socket is open: from then on nothing is missed.
        proc.wait_for_line("listening on", Duration::from_secs(10))?;
        Ok(Self { proc, pcap })
    }

    /// Waits for the next captured packet whose text line matches `pattern`.
    pub fn wait_for(&self, pattern: &str, timeout: Duration) -> Result<String> {
        self.proc.wait_for_line(pattern, timeout)
    }

    /// Every line tcpdump printed so far.
    pub fn text(&self) -> String {
        self.proc.output()
    }

    /// The pcap file being written.
    pub fn pcap(&self) -> &Path {
        &self.pcap
    }
}
