//! `nsmap watch` against real changes: each expected event must arrive, in
//! order, within a bounded wait. Events about other tests' objects are
//! skipped, never the order of ours.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use common::{Topology, inode_of, ip};
use serde_json::Value;

/// The running `nsmap watch`, killed on drop.
struct Watch {
    child: Child,
    lines: Receiver<Value>,
}

impl Watch {
    fn start() -> Watch {
        let mut child = common::nsmap()
            .args(["watch", "--interval", "0.5", "--initial", "-q"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start nsmap watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event: Value =
                    serde_json::from_str(&line).expect("every line is one JSON object");
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        let watch = Watch { child, lines };
        // --initial reports what exists: once our namespace is announced,
        // the first scan is done and subscriptions are in place.
        let own = inode_of("/proc/self/ns/net");
        watch.expect("the initial scan", |e| is(e, "namespace_added", own));
        watch
    }

    /// Waits (at most 5 s) for the next event matching `what`.
    fn expect(&self, description: &str, what: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(event) if what(&event) => return event,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => panic!("no {description} within 5 s"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("nsmap watch ended before {description}")
                }
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is(event: &Value, kind: &str, netns: u64) -> bool {
    event["event"] == kind && event["netns"] == netns
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn watch_reports_changes_in_order() {
    let mut t = Topology::new("watch");
    let host = inode_of("/proc/self/ns/net");
    let watch = Watch::start();

    let ns = t.netns("w");
    let inode = inode_of(format!("/run/netns/{ns}"));
    let added = watch.expect("namespace_added", |e| is(e, "namespace_added", inode));
    assert_eq!(added["name"], ns.as_str());
    assert!(added["time"].as_str().is_some_and(|t| t.ends_with('Z')));

    let (br, h) = (t.name("br"), t.name("h"));
    t.host_link(&br);
    t.host_link(&h);
    ip(&["link", "add", &br, "type", "bridge"]);
    ip(&[
        "link", "add", &h, "type", "veth", "peer", "name", "eth0", "netns", &ns,
    ]);
    let host_end = watch.expect("the host end added", |e| {
        is(e, "interface_added", host) && e["ifname"] == h.as_str()
    });
    assert_eq!(
        host_end["interface"]["peer"]["netns"], inode,
        "added with its peer resolved"
    );

    ip(&["link", "set", &h, "master", &br]);
    let changed = watch.expect("master changed", |e| {
        is(e, "interface_changed", host)
            && e["ifname"] == h.as_str()
            && e["changes"].get("master").is_some()
    });
    assert_eq!(changed["changes"]["master"][0], Value::Null);
    assert_eq!(changed["changes"]["master"][1]["ifname"], br.as_str());

    ip(&["-n", &ns, "link", "set", "eth0", "up"]);
    watch.expect("eth0 came up", |e| {
        is(e, "interface_changed", inode)
            && e["ifname"] == "eth0"
            && e["changes"]["flags"][1]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "UP"))
    });

    // A namespace only a process holds: no notification, the rescan finds it.
    let pid = t.process_netns();
    let held = inode_of(format!("/proc/{pid}/ns/net"));
    let e = watch.expect("process namespace added", |e| {
        is(e, "namespace_added", held)
    });
    assert_eq!(e["name"], format!("sleep({pid})"));
    t.kill(pid);
    watch.expect("process namespace removed", |e| {
        is(e, "namespace_removed", held)
    });

    // Deleting the named namespace: nsmap's own subscription must not keep
    // it (and the host end) alive.
    ip(&["netns", "del", &ns]);
    watch.expect("namespace_removed", |e| is(e, "namespace_removed", inode));
    watch.expect("the host end removed with it", |e| {
        is(e, "interface_removed", host) && e["ifname"] == h.as_str()
    });
}
