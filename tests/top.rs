//! `nsmap top`: its usage errors (no root), and as root on real
//! namespaces: a steady stream ranks first at the rate iproute2's counters
//! give, and a namespace deleted while top runs leaves its lines and is
//! really freed (nsmap's kept socket must not pin it).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Topology, ip, nsmap};
use serde_json::Value;

/// The rediscovery period of `nsmap top` (`cli::top::REDISCOVER_EVERY`).
const REDISCOVER: Duration = Duration::from_secs(5);

#[test]
fn top_with_input_is_a_usage_error() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo-l2.json");
    let out = nsmap()
        .args(["top", "--input", fixture, "--count", "1"])
        .output()
        .expect("run nsmap");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("drop --input"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn top_help_and_argument_errors() {
    let out = nsmap().args(["top", "--help"]).output().expect("run nsmap");
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--interval",
        "--count",
        "--ns",
        "--sort",
        "--bits",
        "--json",
    ] {
        assert!(help.contains(word), "help lacks {word}: {help}");
    }
    assert!(!help.contains("debug-timing"), "hidden flag shown: {help}");
    for bad in [
        &["top", "--interval", "0"][..],
        &["top", "--sort", "speed"],
        &["top", "--count", "x"],
    ] {
        let out = nsmap().args(bad).output().expect("run nsmap");
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

/// A child killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tx_bytes` and `rx_bytes` of `ifname` in `netns`, from `ip -s -j link`.
fn ip_counters(netns: &str, ifname: &str) -> (u64, u64) {
    let out = Command::new("ip")
        .args(["-n", netns, "-s", "-j", "link", "show", "dev", ifname])
        .output()
        .expect("run ip");
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).expect("ip -j parses");
    let stats = &v[0]["stats64"];
    let get = |dir: &str| stats[dir]["bytes"].as_u64().expect("byte counter");
    (get("tx"), get("rx"))
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_steady_stream_ranks_first_at_the_kernels_rate() {
    let mut t = Topology::new("top_stream");
    let a = t.netns("a");
    let b = t.netns("b");
    let (va, vb) = (t.name("va"), t.name("vb"));
    ip(&[
        "-n", &a, "link", "add", &va, "type", "veth", "peer", "name", &vb, "netns", &b,
    ]);
    ip(&["-n", &a, "addr", "add", "10.231.0.1/24", "dev", &va]);
    ip(&["-n", &b, "addr", "add", "10.231.0.2/24", "dev", &vb]);
    for (ns, dev) in [(&a, &va), (&b, &vb)] {
        ip(&["-n", ns, "link", "set", dev, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    t.spawn(&[
        "ip",
        "netns",
        "exec",
        &b,
        "iperf3",
        "-s",
        "-1",
        "-B",
        "10.231.0.2",
        "--logfile",
        "/dev/null",
    ]);
    common::wait_for(|| common::exec_in(&b, &["ss", "-Hltn"], "").contains("10.231.0.2:5201"));
    // 20 Mbit/s of UDP from a to b for longer than the measurement.
    t.spawn(&[
        "ip",
        "netns",
        "exec",
        &a,
        "iperf3",
        "-c",
        "10.231.0.2",
        "-u",
        "-b",
        "20M",
        "-t",
        "10",
        "--logfile",
        "/dev/null",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    let before = (ip_counters(&a, &va).0, Instant::now());
    let out = nsmap()
        .args(["top", "--json", "--interval", "0.5", "--count", "6"])
        .output()
        .expect("run nsmap top");
    let after = (ip_counters(&a, &va).0, Instant::now());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines(&out.stdout);
    assert_eq!(lines.len(), 6);
    let kernel = (after.0 - before.0) as f64 / after.1.duration_since(before.1).as_secs_f64();
    assert!(kernel > 1.5e6, "the stream did not run: {kernel} B/s");
    let mut rates = Vec::new();
    for line in &lines {
        let ms = line["interval_ms"].as_u64().expect("interval_ms");
        // Measured, so near the nominal 500 ms; a loaded machine may stretch one.
        assert!((350..=1000).contains(&ms), "interval {ms} ms");
        assert!(line["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        let first = &line["interfaces"][0];
        let name = first["ifname"].as_str().expect("ifname");
        // Both ends of the stream carry it; either may rank first.
        assert!(name == va || name == vb, "{name} ranks first: {line}");
        let ours = line["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .find(|i| i["ifname"] == va.as_str() && i["label"] == a.as_str())
            .unwrap_or_else(|| panic!("{va} missing: {line}"));
        rates.push(ours["tx_bytes_per_s"].as_f64().expect("tx rate"));
    }
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    assert!(
        (mean - kernel).abs() <= 0.2 * kernel,
        "nsmap says {mean:.0} B/s, the kernel's counters {kernel:.0} B/s ({rates:?})"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_namespace_deleted_while_top_runs_is_dropped_and_freed() {
    let mut t = Topology::new("top_delete");
    let c = t.netns("c");
    let d = t.netns("d");
    let (vc, vd) = (t.name("vc"), t.name("vd"));
    ip(&[
        "-n", &c, "link", "add", &vc, "type", "veth", "peer", "name", &vd, "netns", &d,
    ]);
    let mut child = nsmap()
        .args(["top", "--json", "--interval", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run nsmap top");
    let stdout = child.stdout.take().expect("stdout");
    let _top = Running(child);
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let v = serde_json::from_str(&line).expect("each line is one JSON object");
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("top keeps printing")
    };
    let has = |line: &Value, label: &str| {
        line["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .any(|i| i["label"] == label)
    };
    let first = next();
    assert!(has(&first, &c) && has(&first, &d), "{first}");
    ip(&["netns", "del", &c]);
    let deleted = Instant::now();
    // The peer end in d goes when c is freed: nsmap's socket in c must be
    // closed within the rediscovery period (at once here: /run/netns
    // changed), and the kernel frees the namespace on a work queue.
    let gone = || {
        !Command::new("ip")
            .args(["-n", &d, "link", "show", "dev", &vd])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run ip")
            .success()
    };
    while !gone() {
        assert!(
            deleted.elapsed() < REDISCOVER + Duration::from_secs(3),
            "{vd} still exists {:?} after its peer's namespace was deleted: nsmap pins it",
            deleted.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Lines keep coming, and the ones after the deletion was seen omit c.
    let mut later = Vec::new();
    while later.len() < 4 {
        later.push(next());
    }
    let last = &later[later.len() - 1];
    assert!(!has(last, &c), "deleted namespace still listed: {last}");
    assert!(has(last, &d), "{last}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_namespace_whose_last_process_exits_is_freed_within_the_rediscovery_period() {
    let mut t = Topology::new("top_process");
    let d = t.netns("d");
    let (vp, vd) = (t.name("vp"), t.name("vd"));
    let pid = t.process_netns();
    ip(&[
        "-n", &d, "link", "add", &vd, "type", "veth", "peer", "name", &vp,
    ]);
    ip(&["-n", &d, "link", "set", &vp, "netns", &pid.to_string()]);
    let mut child = nsmap()
        .args(["top", "--json", "--interval", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run nsmap top");
    let stdout = child.stdout.take().expect("stdout");
    let _top = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let first: Value = serde_json::from_str(&lines.next().expect("a line").expect("read"))
        .expect("one JSON object");
    assert!(
        first["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .any(|i| i["ifname"] == vp.as_str()),
        "the process's namespace is not sampled: {first}"
    );
    // No /run/netns event this time: only the periodic rediscovery can
    // notice the namespace is gone and close nsmap's socket in it.
    t.kill(pid);
    let ended = Instant::now();
    while Command::new("ip")
        .args(["-n", &d, "link", "show", "dev", &vd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run ip")
        .success()
    {
        assert!(
            ended.elapsed() < REDISCOVER + Duration::from_secs(3),
            "{vd} still exists {:?} after its peer's last process exited: nsmap pins it",
            ended.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still printing.
    assert!(lines.next().is_some_and(|l| l.is_ok()));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ns_samples_one_namespace_and_an_unknown_one_is_an_error() {
    let mut t = Topology::new("top_select");
    let e = t.netns("e");
    let f = t.netns("f");
    let (ve, vf) = (t.name("ve"), t.name("vf"));
    ip(&[
        "-n", &e, "link", "add", &ve, "type", "veth", "peer", "name", &vf, "netns", &f,
    ]);
    let out = nsmap()
        .args([
            "top",
            "--json",
            "--count",
            "2",
            "--interval",
            "0.2",
            "--ns",
            &e,
        ])
        .output()
        .expect("run nsmap top");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let names: Vec<&str> = line["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .inspect(|i| assert_eq!(i["label"], e.as_str(), "{line}"))
            .filter_map(|i| i["ifname"].as_str())
            .collect();
        assert_eq!(names.len(), 2, "{line}");
        assert!(
            names.contains(&"lo") && names.contains(&ve.as_str()),
            "{line}"
        );
    }
    let missing = t.name("nope");
    let out = nsmap()
        .args(["top", "--json", "--count", "1", "--ns", &missing])
        .output()
        .expect("run nsmap top");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

/// A tmux server of our own (private socket) running one shell; killed
/// on drop, whatever runs in it.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(test: &str) -> Tmux {
        let t = Tmux {
            socket: format!("nsmap-top-{test}-{}", std::process::id()),
        };
        let ok = t
            .tmux(&[
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                "100",
                "-y",
                "24",
                "env PS1='PROMPT$ ' TERM=xterm-256color bash --norc --noprofile",
            ])
            .status
            .success();
        assert!(ok, "tmux new-session");
        t.wait_for("the prompt", |s| s.contains("PROMPT$"));
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success(), "send-keys {keys:?}");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "main"]).stdout)
            .into_owned()
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "timed out waiting for {what}; the screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn the_screen_in_a_real_terminal_sorts_filters_pauses_and_restores_it() {
    let mut t = Topology::new("top_tmux");
    let g = t.netns("g");
    let (vg, vh) = (t.name("vg"), t.name("vh"));
    let h = t.netns("h");
    ip(&[
        "-n", &g, "link", "add", &vg, "type", "veth", "peer", "name", &vh, "netns", &h,
    ]);
    let tmux = Tmux::start("screen");
    tmux.keys(&[
        &format!("{} top --interval 0.3", env!("CARGO_BIN_EXE_nsmap")),
        "Enter",
    ]);
    tmux.wait_for("rates of our namespace", |s| {
        s.contains(" TOP ") && s.contains(&g) && s.contains("(300 ms)")
    });
    tmux.keys(&["s"]);
    tmux.wait_for("the drops sort", |s| {
        s.contains("sort drops") && s.contains("DROPS▼")
    });
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &vh]);
    let screen = tmux.wait_for("the filter", |s| s.contains("1 shown"));
    assert!(
        screen.contains(&h) && !screen.contains(&format!("{g} (")),
        "{screen}"
    );
    tmux.keys(&["Enter", "p"]);
    tmux.wait_for("the pause", |s| s.contains("PAUSED"));
    tmux.keys(&["q"]);
    tmux.wait_for("the prompt again", |s| {
        s.lines().filter(|l| l.contains("PROMPT$")).count() >= 2
    });
    let alternate = tmux.tmux(&["display-message", "-p", "-t", "main", "#{alternate_on}"]);
    assert_eq!(String::from_utf8_lossy(&alternate.stdout).trim(), "0");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn namespaces_coming_and_going_fast_never_break_top() {
    let mut t = Topology::new("top_churn");
    let mut child = nsmap()
        .args(["top", "--json", "--interval", "0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run nsmap top");
    let stdout = child.stdout.take().expect("stdout");
    let mut top = Running(child);
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let v = serde_json::from_str(&line).expect("each line is one JSON object");
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    // Each round: a namespace with a veth pair inside, deleted at once
    // (between a rediscovery and a tick, or during either).
    for round in 0..30 {
        let ns = t.netns(&format!("c{round}"));
        ip(&[
            "-n", &ns, "link", "add", "name", "x0", "type", "veth", "peer", "name", "x1",
        ]);
        if round % 3 == 0 {
            std::thread::sleep(Duration::from_millis(120));
        }
        ip(&["netns", "del", &ns]);
    }
    let prefix = t.prefix.clone();
    // Still printing, and soon none of ours listed.
    let deadline = Instant::now() + REDISCOVER + Duration::from_secs(3);
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("top keeps printing");
        let ours = line["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .any(|i| i["label"].as_str().is_some_and(|l| l.starts_with(&prefix)));
        if !ours {
            break;
        }
        assert!(Instant::now() < deadline, "deleted namespaces still listed");
    }
    assert!(
        top.0.try_wait().expect("wait").is_none(),
        "nsmap top exited"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_samples_counters_are_iproute2s() {
    use nsmap::sys::sample::{Sampler, SamplerOptions};
    let mut t = Topology::new("top_counters");
    let a = t.netns("a");
    let b = t.netns("b");
    let (va, vb) = (t.name("va"), t.name("vb"));
    ip(&[
        "-n", &a, "link", "add", &va, "type", "veth", "peer", "name", &vb, "netns", &b,
    ]);
    ip(&["-n", &a, "addr", "add", "10.232.0.1/24", "dev", &va]);
    ip(&["-n", &b, "addr", "add", "10.232.0.2/24", "dev", &vb]);
    for (ns, dev) in [(&a, &va), (&b, &vb)] {
        // No IPv6 link-local address: no DAD or router solicitation
        // moving the counters between nsmap's reading and ip's.
        ip(&["-n", ns, "link", "set", dev, "addrgenmode", "none"]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    // Traffic both ways and on lo, then quiet: the counters stand still.
    common::exec_in(
        &a,
        &["busybox", "ping", "-c", "3", "-i", "0.1", "10.232.0.2"],
        "",
    );
    common::exec_in(
        &a,
        &["busybox", "ping", "-c", "2", "-i", "0.1", "127.0.0.1"],
        "",
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut sampler = Sampler::new(SamplerOptions {
        rediscover_every: REDISCOVER,
        select: Some(nsmap::select::Selector::parse(std::ffi::OsStr::new(&a))),
    })
    .expect("sampler");
    let tick = sampler.sample();
    let out = Command::new("ip")
        .args(["-n", &a, "-s", "-j", "link", "show"])
        .output()
        .expect("run ip");
    let want: Vec<Value> = serde_json::from_slice(&out.stdout).expect("ip -j parses");
    assert_eq!(tick.sample.readings.len(), want.len());
    for r in &tick.sample.readings {
        let w = want
            .iter()
            .find(|w| w["ifindex"] == r.ifindex)
            .unwrap_or_else(|| panic!("ifindex {} unknown to ip", r.ifindex));
        assert_eq!(w["ifname"], r.ifname.as_str());
        assert_eq!(r.label, a);
        let (rx, tx, s) = (&w["stats64"]["rx"], &w["stats64"]["tx"], &r.stats);
        let pairs = [
            (s.rx_bytes, &rx["bytes"]),
            (s.rx_packets, &rx["packets"]),
            (s.rx_errors, &rx["errors"]),
            (s.rx_dropped, &rx["dropped"]),
            (s.rx_over_errors, &rx["over_errors"]),
            (s.multicast, &rx["multicast"]),
            (s.tx_bytes, &tx["bytes"]),
            (s.tx_packets, &tx["packets"]),
            (s.tx_errors, &tx["errors"]),
            (s.tx_dropped, &tx["dropped"]),
            (s.tx_carrier_errors, &tx["carrier_errors"]),
            (s.collisions, &tx["collisions"]),
        ];
        for (i, (ours, theirs)) in pairs.iter().enumerate() {
            assert_eq!(Some(*ours), theirs.as_u64(), "{} counter {i}", r.ifname);
        }
        assert!(
            s.rx_packets > 0 && s.tx_packets > 0,
            "{}: no traffic",
            r.ifname
        );
    }
}
