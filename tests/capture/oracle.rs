//! The topology and the readers the capture tests hold the file to:
//! quiet namespaces (IPv6 off, permanent neighbours), the running capture,
//! and tshark, tcpdump and pcap-file on what it wrote.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Topology, exec_in, ip, nsmap, wait_for};
use pcap_file::pcapng::blocks::interface_statistics::InterfaceStatisticsOption;
use pcap_file::pcapng::{Block, PcapNgReader};

/// A namespace with IPv6 off (no router or neighbour solicitations).
pub fn quiet_netns(topo: &mut Topology, suffix: &str) -> String {
    let ns = topo.netns(suffix);
    for key in ["all", "default"] {
        exec_in(
            &ns,
            &[
                "busybox",
                "sysctl",
                "-w",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ],
            "",
        );
    }
    ns
}

/// A veth `a_if`@a ↔ `b_if`@b, addressed 10.77.`net`.1 and .2, up, with
/// permanent neighbours (no ARP on the wire).
pub fn wire(a: &str, a_if: &str, b: &str, b_if: &str, net: u8) {
    let (mac_a, mac_b) = (
        format!("02:77:{net:02x}:00:00:01"),
        format!("02:77:{net:02x}:00:00:02"),
    );
    ip(&[
        "-n", a, "link", "add", a_if, "address", &mac_a, "type", "veth", "peer", "name", b_if,
        "address", &mac_b, "netns", b,
    ]);
    for (ns, dev, me, peer, mac) in [(a, a_if, 1, 2, &mac_b), (b, b_if, 2, 1, &mac_a)] {
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("10.77.{net}.{me}/24"),
            "dev",
            dev,
        ]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
        ip(&[
            "-n",
            ns,
            "neigh",
            "replace",
            &format!("10.77.{net}.{peer}"),
            "lladdr",
            mac,
            "dev",
            dev,
            "nud",
            "permanent",
        ]);
    }
}

/// Two quiet namespaces A and B on one veth (eth0 on both sides).
pub fn pair(topo: &mut Topology, net: u8) -> (String, String) {
    let a = quiet_netns(topo, "a");
    let b = quiet_netns(topo, "b");
    wire(&a, "eth0", &b, "eth0", net);
    (a, b)
}

pub fn ping(from: &str, to: &str, count: u32, extra: &[&str]) {
    let count = count.to_string();
    let mut argv = vec!["busybox", "ping", "-c", &count, "-i", "0.2", "-W", "2"];
    argv.extend_from_slice(extra);
    argv.push(to);
    exec_in(from, &argv, "");
}

/// `nsmap capture ARGS` in the background, stderr kept.
pub fn start(args: &[&str]) -> Child {
    nsmap()
        .arg("capture")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsmap capture")
}

/// Waits until the file has its header (the handles are open by then).
pub fn wait_ready(file: &Path) {
    wait_for(|| std::fs::metadata(file).is_ok_and(|m| m.len() > 0));
}

/// Waits (at most 20 s) for the capture to end by itself.
pub fn finish(child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut child = child;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "nsmap capture did not end: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// `tshark -r FILE -T fields -e …` lines, each split at tabs.
pub fn tshark(file: &Path, fields: &[&str], filter: Option<&str>) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    if let Some(f) = filter {
        cmd.args(["-Y", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

pub fn count(rows: &[Vec<String>], want: &[&str]) -> usize {
    rows.iter()
        .filter(|r| r.iter().map(String::as_str).eq(want.iter().copied()))
        .count()
}

/// `tcpdump -r FILE -n` lines (tcpdump reads pcapng too).
pub fn tcpdump(file: &Path) -> Vec<String> {
    let out = Command::new("tcpdump")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .output()
        .expect("run tcpdump");
    assert!(
        out.status.success(),
        "tcpdump -r: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The file's statistics blocks as (interface, ifrecv, ifdrop).
pub fn statistics(file: &Path) -> Vec<(u32, Option<u64>, Option<u64>)> {
    let bytes = std::fs::read(file).expect("read capture");
    let mut reader = PcapNgReader::new(bytes.as_slice()).expect("a pcapng file");
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::InterfaceStatistics(isb) = block.expect("a valid block") {
            let recv = isb.options.iter().find_map(|o| match o {
                InterfaceStatisticsOption::IsbIfRecv(n) => Some(*n),
                _ => None,
            });
            let drop = isb.options.iter().find_map(|o| match o {
                InterfaceStatisticsOption::IsbIfDrop(n) => Some(*n),
                _ => None,
            });
            out.push((isb.interface_id, recv, drop));
        }
    }
    out
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn file(topo: &mut Topology, name: &str) -> PathBuf {
    topo.path(std::env::temp_dir().join(format!("{}-{name}.pcapng", topo.prefix)))
}
