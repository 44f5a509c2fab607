//! The kit behind `tests/path.rs`: builds layer-3 topologies in namespaces
//! of one test, asks the kernel for its verdict (`busybox ping`) and its
//! per-hop routing decisions (`ip route get`), runs `nsmap path --json`, and
//! holds nsmap's answer to the contract: the verdict, the code, where the
//! packet dies, the namespaces it crosses, and every routed hop checked
//! against `ip route get` in that hop's namespace.
//!
//! Every namespace is made with the sysctls the scenarios rely on set
//! explicitly: a new namespace inherits the host's IPv4 settings
//! (`ip_forward`, `rp_filter`, …) when `net.core.devconf_inherit_init_net`
//! is 0, so nothing is left to the host. Interfaces made later inherit the
//! namespace's `default` values.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Topology, inode_of, nsmap};

/// The sysctls every test namespace gets before any interface exists
/// (forwarding off, no reverse-path filter, routes over carrier-less links
/// kept, plain ARP, IPv6 without duplicate address detection).
const BASELINE: &[&str] = &[
    "net.ipv4.ip_forward=0",
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.default.rp_filter=0",
    "net.ipv4.conf.all.accept_local=0",
    "net.ipv4.conf.default.accept_local=0",
    "net.ipv4.conf.all.ignore_routes_with_linkdown=0",
    "net.ipv4.conf.default.ignore_routes_with_linkdown=0",
    "net.ipv4.conf.all.arp_ignore=0",
    "net.ipv4.conf.default.arp_ignore=0",
    "net.ipv4.conf.all.arp_filter=0",
    "net.ipv4.conf.default.arp_filter=0",
    "net.ipv4.icmp_echo_ignore_all=0",
    "net.ipv6.conf.all.forwarding=0",
    "net.ipv6.conf.all.disable_ipv6=0",
    "net.ipv6.conf.default.disable_ipv6=0",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
];

/// How long one `nsmap path` may take unless a test says otherwise.
pub const NSMAP_TIMEOUT: Duration = Duration::from_secs(30);

/// A namespace of the test (or, for reading only, the host's).
#[derive(Clone, Debug)]
pub struct Ns {
    /// The ip-netns name; `None` for the host namespace.
    pub name: Option<String>,
    pub inode: u64,
}

impl Ns {
    /// The name nsmap takes as a selector.
    pub fn sel(&self) -> &str {
        self.name
            .as_deref()
            .expect("the host namespace has no selector here")
    }

    fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("host net:[{}]", self.inode))
    }

    fn ip_cmd(&self) -> Command {
        let mut cmd = Command::new("ip");
        if let Some(name) = &self.name {
            cmd.args(["-n", name]);
        }
        cmd
    }

    /// `ip -n NS ARGS`, panicking with stderr on failure.
    pub fn ip(&self, args: &[&str]) {
        let out = self.ip_cmd().args(args).output().expect("run ip");
        assert!(
            out.status.success(),
            "ip -n {} {args:?}: {}",
            self.label(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ip netns exec NS sysctl -qw SETTINGS…` (never in the host).
    pub fn sysctl(&self, settings: &[&str]) {
        let name = self.name.as_deref().expect("never set sysctls in the host");
        let out = Command::new("ip")
            .args(["netns", "exec", name, "sysctl", "-qw"])
            .args(settings)
            .output()
            .expect("run sysctl");
        assert!(
            out.status.success(),
            "sysctl {settings:?} in {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Loads an nftables ruleset in this namespace (`nft -f -`).
    pub fn nft(&self, ruleset: &str) {
        let name = self.name.as_deref().expect("never load rules in the host");
        let mut child = Command::new("ip")
            .args(["netns", "exec", name, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nft");
        child
            .stdin
            .take()
            .expect("nft stdin")
            .write_all(ruleset.as_bytes())
            .expect("write ruleset");
        let out = child.wait_with_output().expect("wait for nft");
        assert!(
            out.status.success(),
            "nft in {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds an address (IPv6 without duplicate address detection).
    pub fn addr(&self, ifname: &str, cidr: &str) {
        if cidr.contains(':') {
            self.ip(&["addr", "add", cidr, "dev", ifname, "nodad"]);
        } else {
            self.ip(&["addr", "add", cidr, "dev", ifname]);
        }
    }

    pub fn up(&self, ifname: &str) {
        self.ip(&["link", "set", ifname, "up"]);
    }

    pub fn down(&self, ifname: &str) {
        self.ip(&["link", "set", ifname, "down"]);
    }

    /// `ip route add ROUTE…` (ip takes the family from the addresses).
    pub fn route(&self, route: &[&str]) {
        let mut args = vec!["route", "add"];
        args.extend_from_slice(route);
        self.ip(&args);
    }

    /// A bridge in this namespace, up.
    pub fn bridge(&self, name: &str) {
        self.ip(&["link", "add", name, "type", "bridge"]);
        self.up(name);
    }

    /// Enslaves `port` to `bridge` and brings it up.
    pub fn enslave(&self, port: &str, bridge: &str) {
        self.ip(&["link", "set", port, "master", bridge]);
        self.up(port);
    }
}

/// The namespaces of one test, with the addresses under one second octet
/// (`10.NET.x.y`, `fd00:NET:…`) so that parallel tests never share an
/// address and nothing can be resolved through another test's namespace.
pub struct Lab {
    pub topo: Topology,
    net: u8,
    namespaces: Vec<Ns>,
}

impl Lab {
    pub fn new(test: &str, net: u8) -> Lab {
        Lab {
            topo: Topology::new(test),
            net,
            namespaces: Vec::new(),
        }
    }

    /// `10.NET.REST`, e.g. `lab.v4("1.2/24")`.
    pub fn v4(&self, rest: &str) -> String {
        format!("10.{}.{rest}", self.net)
    }

    /// `fd00:NET:REST`, e.g. `lab.v6("1::2/64")`.
    pub fn v6(&self, rest: &str) -> String {
        format!("fd00:{}:{rest}", self.net)
    }

    /// A namespace with the baseline sysctls and `lo` up.
    pub fn ns(&mut self, suffix: &str) -> Ns {
        let name = self.topo.netns(suffix);
        let ns = Ns {
            inode: inode_of(format!("/run/netns/{name}")),
            name: Some(name),
        };
        ns.sysctl(BASELINE);
        ns.up("lo");
        self.namespaces.push(ns.clone());
        ns
    }

    /// The host namespace, for reading only (a hop of a host bridge).
    pub fn host(&mut self) -> Ns {
        let ns = Ns {
            name: None,
            inode: inode_of("/proc/self/ns/net"),
        };
        self.namespaces.push(ns.clone());
        ns
    }

    /// a ─ r ─ b: `a` 10.N.1.2/24 and `b` 10.N.2.2/24, each with a
    /// default route via `r` (10.N.1.1 on eth0, 10.N.2.1 on eth1).
    /// Forwarding is left off everywhere; the test turns it on where it
    /// wants it.
    pub fn routed(&mut self) -> (Ns, Ns, Ns) {
        let a = self.ns("a");
        let r = self.ns("r");
        let b = self.ns("b");
        self.wire(
            &a,
            "eth0",
            &self.v4("1.2/24"),
            &r,
            "eth0",
            &self.v4("1.1/24"),
        );
        self.wire(
            &b,
            "eth0",
            &self.v4("2.2/24"),
            &r,
            "eth1",
            &self.v4("2.1/24"),
        );
        a.route(&["default", "via", &self.v4("1.1")]);
        b.route(&["default", "via", &self.v4("2.1")]);
        (a, r, b)
    }

    /// A veth pair `a:a_if` ↔ `b:b_if`, down.
    pub fn veth(&self, a: &Ns, a_if: &str, b: &Ns, b_if: &str) {
        a.ip(&[
            "link",
            "add",
            a_if,
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b.sel(),
        ]);
    }

    /// A veth pair with an address on each end (either may be empty), both
    /// ends up.
    pub fn wire(&self, a: &Ns, a_if: &str, a_addr: &str, b: &Ns, b_if: &str, b_addr: &str) {
        self.veth(a, a_if, b, b_if);
        for (ns, ifname, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
            if !addr.is_empty() {
                ns.addr(ifname, addr);
            }
            ns.up(ifname);
        }
    }

    /// `ns:eth0` with `addr`, wired to a port `port` of `bridge` in `host`.
    pub fn port(&self, host: &Ns, bridge: &str, port: &str, ns: &Ns, addr: &str) {
        self.veth(ns, "eth0", host, port);
        ns.addr("eth0", addr);
        ns.up("eth0");
        host.enslave(port, bridge);
    }

    fn by_inode(&self, inode: u64) -> Option<&Ns> {
        self.namespaces.iter().find(|n| n.inode == inode)
    }

    /// Waits until every namespace of the lab (and the test's own links in
    /// the host) is settled: no tentative address, every up interface with
    /// carrier reported `UP` by link watch (until then its queue drops
    /// packets), every bridge port with carrier forwarding.
    pub fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pending: Vec<String> = self
                .namespaces
                .iter()
                .flat_map(|n| unsettled(n, &self.topo.prefix))
                .collect();
            if pending.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not settled within 5 s: {pending:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The kernel's verdict: one `busybox ping` from the probe's source.
    pub fn ping(&self, p: &Probe) -> bool {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", p.src.sel(), "busybox", "ping"]);
        if p.dst.contains(':') {
            cmd.arg("-6");
        }
        cmd.args(["-c1", "-W1"]);
        if let Some(bind) = p.from.as_deref().or(p.iface.as_deref()) {
            cmd.args(["-I", bind]);
        }
        let out = cmd.arg(&p.dst).output().expect("run busybox ping");
        let ok = out.status.success();
        eprintln!(
            "kernel: ping {} from {}{}: {}{}",
            p.dst,
            p.src.label(),
            p.from
                .as_deref()
                .or(p.iface.as_deref())
                .map(|b| format!(" -I {b}"))
                .unwrap_or_default(),
            if ok { "replied" } else { "failed" },
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(|l| format!(" ({l})"))
                .collect::<String>()
        );
        ok
    }

    /// Runs `nsmap path` for the probe and checks the answer's shape.
    pub fn trace(&self, p: &Probe) -> Trace {
        self.trace_within(p, NSMAP_TIMEOUT)
    }

    /// `trace` with a bound on nsmap's runtime.
    pub fn trace_within(&self, p: &Probe, timeout: Duration) -> Trace {
        let mut cmd = nsmap();
        cmd.args(["path", &p.selector(), &p.dst, "--json"]);
        if let Some(from) = &p.from {
            cmd.args(["--from", from]);
        }
        let (status, stdout, stderr, took) = run_with_timeout(cmd, timeout);
        let exit = status.unwrap_or_else(|| {
            panic!(
                "nsmap path {} {} did not answer within {timeout:?}",
                p.selector(),
                p.dst
            )
        });
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        assert!(
            matches!(exit, 0 | 1 | 4),
            "nsmap path {} {} exited {exit}: {stderr}",
            p.selector(),
            p.dst
        );
        let json: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
            panic!(
                "nsmap path --json printed no JSON ({e}): {}\nstderr: {stderr}",
                String::from_utf8_lossy(&stdout)
            )
        });
        eprintln!("nsmap ({took:?}, exit {exit}): {json}");
        assert_shape(&json);
        Trace { json, exit }
    }

    /// The whole comparison for one probe: the kernel's verdict must be the
    /// scenario's, then nsmap's answer must meet `expect` and every routed
    /// hop must be the kernel's decision. Returns nsmap's JSON.
    pub fn check(&self, p: &Probe, expect: &Expect) -> Value {
        self.check_within(p, expect, NSMAP_TIMEOUT)
    }

    pub fn check_within(&self, p: &Probe, expect: &Expect, timeout: Duration) -> Value {
        let replied = self.ping(p);
        assert_eq!(
            replied,
            expect.ping,
            "kernel side: ping {} from {} {} but the scenario says it {}",
            p.dst,
            p.src.label(),
            if replied { "replied" } else { "failed" },
            if expect.ping { "replies" } else { "fails" }
        );
        let trace = self.trace_within(p, timeout);
        self.assert_expected(p, &trace, expect);
        self.assert_hops_match_kernel(p, &trace);
        trace.json
    }

    /// nsmap's answer against the scenario's expectation.
    pub fn assert_expected(&self, p: &Probe, trace: &Trace, expect: &Expect) {
        let j = &trace.json;
        let ctx = format!("nsmap path {} {}: {j}", p.selector(), p.dst);
        let verdict = j["verdict"].as_str().expect("verdict is a string");
        assert_eq!(verdict, expect.verdict.as_str(), "verdict; {ctx}");
        assert_eq!(trace.exit, expect.verdict.exit_code(), "exit code; {ctx}");
        let code = j["code"].as_str();
        if expect.verdict != Verdict::Reachable {
            let code = code.unwrap_or_else(|| panic!("{verdict} without a code; {ctx}"));
            assert!(
                expect.codes.contains(&code),
                "code {code:?}, expected one of {:?}; {ctx}",
                expect.codes
            );
            assert!(
                j["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{verdict} without a reason; {ctx}"
            );
        }
        assert_eq!(j["proto"], "icmp", "{ctx}");
        assert!(j["dport"].is_null(), "{ctx}");

        // The source and the destination as given.
        assert_eq!(j["src"]["netns"], p.src.inode, "src.netns; {ctx}");
        if let Some(from) = &p.from {
            assert_eq!(j["src"]["address"], from.as_str(), "src.address; {ctx}");
        }
        if let Some(iface) = &p.iface {
            assert_eq!(
                j["src"]["interface"]["ifname"],
                iface.as_str(),
                "src.interface; {ctx}"
            );
            assert_eq!(j["src"]["interface"]["netns"], p.src.inode, "{ctx}");
        }
        assert_eq!(j["dst"]["address"], p.dst.as_str(), "dst.address; {ctx}");

        let forward = hops(j, "forward");
        let back = hops(j, "return");
        assert!(!forward.is_empty(), "no forward hop; {ctx}");
        assert_eq!(
            forward[0]["netns"], p.src.inode,
            "the first hop is the source; {ctx}"
        );
        for list in [forward, back] {
            if list.len() > 1 && list[1]["netns"] != list[0]["netns"] {
                assert_eq!(list[0]["action"], "originate", "the sender's hop; {ctx}");
            }
        }
        for h in forward.iter().chain(back) {
            self.assert_hop_is_ours(h, &ctx);
        }

        let crossed = namespaces(forward);
        if let Some(alternatives) = &expect.forward {
            let ok = alternatives.iter().any(|want| {
                if expect.verdict == Verdict::Unknown {
                    !crossed.is_empty() && want.starts_with(&crossed)
                } else {
                    *want == crossed
                }
            });
            assert!(
                ok,
                "forward crosses {}, expected {}{}; {ctx}",
                self.labels(&crossed),
                alternatives
                    .iter()
                    .map(|w| self.labels(w))
                    .collect::<Vec<_>>()
                    .join(" or "),
                if expect.verdict == Verdict::Unknown {
                    " (or a start of it)"
                } else {
                    ""
                }
            );
        }

        let last = forward.last().expect("non-empty");
        let arrived = last["action"] == "deliver";
        match expect.verdict {
            Verdict::Reachable => {
                assert!(
                    arrived,
                    "reachable, but the forward path ends {last}; {ctx}"
                );
                assert!(
                    !back.is_empty() && back.last().expect("non-empty")["action"] == "deliver",
                    "reachable, but the reply is not delivered; {ctx}"
                );
                assert_eq!(
                    back[0]["netns"], last["netns"],
                    "reply starts at dst; {ctx}"
                );
                assert_eq!(
                    back.last().expect("non-empty")["netns"],
                    p.src.inode,
                    "reply ends at the source; {ctx}"
                );
                assert_eq!(j["dst"]["netns"], last["netns"], "dst.netns; {ctx}");
                if expect.symmetric {
                    let mut there = crossed.clone();
                    there.reverse();
                    assert_eq!(
                        namespaces(back),
                        there,
                        "the reply crosses the same namespaces back; {ctx}"
                    );
                }
                assert!(
                    !forward.iter().chain(back).any(|h| h["action"] == "drop"),
                    "reachable with a drop; {ctx}"
                );
            }
            Verdict::Unreachable => {
                let dropped = if arrived {
                    back.last()
                        .unwrap_or_else(|| panic!("arrived and unreachable, no reply hop; {ctx}"))
                } else {
                    assert!(
                        back.is_empty(),
                        "the forward path never arrived, yet a reply path; {ctx}"
                    );
                    last
                };
                assert_eq!(dropped["action"], "drop", "the last hop drops; {ctx}");
                let at = dropped["netns"].as_u64().unwrap_or(0);
                assert!(
                    expect.drop_in.contains(&at),
                    "dropped in {}, expected {}; {ctx}",
                    self.labels(&[at]),
                    self.labels(&expect.drop_in)
                );
                assert!(
                    !forward[..forward.len() - 1]
                        .iter()
                        .any(|h| h["action"] == "drop"),
                    "only the last hop may drop; {ctx}"
                );
            }
            Verdict::Unknown => {}
        }
    }

    /// Every hop names one of this test's namespaces, and its interfaces
    /// are in that namespace.
    fn assert_hop_is_ours(&self, h: &Value, ctx: &str) {
        let inode = h["netns"]
            .as_u64()
            .unwrap_or_else(|| panic!("a hop without a namespace: {h}; {ctx}"));
        assert!(
            self.by_inode(inode).is_some(),
            "the path crosses net:[{inode}], which this test did not build: {h}; {ctx}"
        );
        for r in [&h["in"], &h["out"]]
            .into_iter()
            .chain(h["via"].as_array().expect("via").iter())
        {
            if !r.is_null() {
                assert_eq!(
                    r["netns"], inode,
                    "hop interface in its namespace: {h}; {ctx}"
                );
            }
        }
        if h["action"] == "bridge" {
            assert!(
                h["route"].is_null(),
                "a bridge hop has no route: {h}; {ctx}"
            );
            assert!(
                !h["via"].as_array().expect("via").is_empty(),
                "a bridge hop names its bridge and ports: {h}; {ctx}"
            );
        }
    }

    /// Each routed hop, forward and back, against `ip route get` in its
    /// namespace: the same route where the kernel routes, the dropping hop
    /// with a matching code where the kernel refuses.
    pub fn assert_hops_match_kernel(&self, p: &Probe, trace: &Trace) {
        let j = &trace.json;
        let code = j["code"].as_str();
        let unreachable = j["verdict"] == "unreachable";
        let dst = j["dst"]["address"].as_str().expect("dst.address");
        let forward = hops(j, "forward");
        let back = hops(j, "return");
        // No source address only when the packet never got one: it dies
        // at its origin (no route, hence no address to pick).
        let src = j["src"]["address"].as_str().or(p.from.as_deref());
        if src.is_none() && j["verdict"] != "unknown" {
            assert!(
                namespaces(forward).len() <= 1 && back.is_empty(),
                "the packet leaves its origin without a source address: {j}"
            );
        }
        let (forward, back) = match src {
            Some(_) => (forward, back),
            None => (&forward[..forward.len().min(1)], &back[..0]),
        };
        let src = src.unwrap_or("");
        let arrived = forward.last().is_some_and(|h| h["action"] == "deliver");
        let bound = p.from.is_some();
        // The addresses as they are at each hop: a translation at
        // prerouting changes the destination before the hop routes, one at
        // postrouting the source after; the reply starts from where the
        // packet arrived, back to the source it arrived with.
        let (mut cur_to, mut cur_from) = (dst.to_string(), src.to_string());
        let address = |v: &Value| {
            let s = v.as_str().expect("a nat address");
            s.split(" port ").next().unwrap_or(s).to_string()
        };
        let translations = |hop: &Value, hook: &str| -> Vec<String> {
            hop["nat"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|n| n["hook"] == hook)
                .map(|n| address(&n["to"]))
                .collect()
        };
        for (list, name) in [(forward, "forward"), (back, "return")] {
            if name == "return" {
                std::mem::swap(&mut cur_to, &mut cur_from);
            }
            for (i, hop) in list.iter().enumerate() {
                if let Some(t) = translations(hop, "prerouting").pop() {
                    cur_to = t;
                }
                let (to, from) = (cur_to.as_str(), cur_from.as_str());
                // A namespace crossed at layer 2 routes nothing (also
                // where it drops: in and out set, no route).
                let layer2 =
                    hop["route"].is_null() && !hop["in"].is_null() && !hop["out"].is_null();
                if hop["action"] == "bridge" || layer2 {
                    continue;
                }
                let dropping = unreachable
                    && i + 1 == list.len()
                    && (name == "return" || !arrived)
                    && hop["action"] == "drop";
                let ctx = format!("{name} hop {i} {hop}; nsmap: {j}");
                // Still in the sender's namespace: the output path (a
                // packet to a local address may show a second hop there).
                let origin = list[..i].iter().all(|h| h["netns"] == hop["netns"]);
                let query = Query {
                    dst: to,
                    // The reply's source is always the address asked for.
                    from: (!origin || name == "return" || bound).then_some(from),
                    iif: (!origin).then(|| {
                        hop["in"]["ifname"].as_str().unwrap_or_else(|| {
                            panic!("a routed hop past the origin without an in interface; {ctx}")
                        })
                    }),
                    oif: if origin && name == "forward" {
                        p.iface.as_deref()
                    } else {
                        None
                    },
                };
                let plain = self.assert_hop_matches_kernel(
                    hop,
                    &query,
                    dropping.then_some(code).flatten(),
                    &ctx,
                );
                if origin
                    && name == "forward"
                    && !bound
                    && let Some(got) = plain
                {
                    assert_eq!(
                        j["src"]["address"], got["prefsrc"],
                        "the source address the kernel picks; {ctx}"
                    );
                }
                if let Some(t) = translations(hop, "postrouting").pop() {
                    cur_from = t;
                }
            }
        }
    }

    fn ns_of(&self, hop: &Value) -> &Ns {
        let inode = hop["netns"].as_u64().expect("hop netns");
        self.by_inode(inode)
            .unwrap_or_else(|| panic!("net:[{inode}] is not one of this test's namespaces"))
    }

    /// `ip -j route get [fibmatch] …` in the hop's namespace.
    fn route_get(&self, hop: &Value, q: &Query, fibmatch: bool) -> Result<Value, Refusal> {
        let ns = self.ns_of(hop);
        let mut cmd = ns.ip_cmd();
        cmd.args(["-j", "route", "get"]);
        if fibmatch {
            cmd.arg("fibmatch");
        }
        cmd.arg(q.dst);
        if let Some(from) = q.from {
            cmd.args(["from", from]);
        }
        if let Some(iif) = q.iif {
            cmd.args(["iif", iif]);
        }
        if let Some(oif) = q.oif {
            cmd.args(["oif", oif]);
        }
        // The mark the packet carried when this hop routed it (set by a
        // firewall rule on the way, as nsmap says).
        if let Some(mark) = hop["mark"].as_u64() {
            cmd.args(["mark", &mark.to_string()]);
        }
        let out = cmd.output().expect("run ip route get");
        let args = format!("{q}{}", if fibmatch { " fibmatch" } else { "" });
        if !out.status.success() {
            let refusal = Refusal::from_stderr(&String::from_utf8_lossy(&out.stderr));
            eprintln!("kernel: [{}] route get {args}: {refusal:?}", ns.label());
            return Err(refusal);
        }
        let v: Value = serde_json::from_slice(&out.stdout).expect("ip route get JSON");
        let route = v[0].clone();
        eprintln!("kernel: [{}] route get {args}: {route}", ns.label());
        Ok(route)
    }

    /// One hop against the kernel (see `assert_hops_match_kernel`).
    /// `dropping` is the answer's code when this hop is the one that drops.
    /// Returns the kernel's route when it routes.
    fn assert_hop_matches_kernel(
        &self,
        hop: &Value,
        q: &Query,
        dropping: Option<&str>,
        ctx: &str,
    ) -> Option<Value> {
        match self.route_get(hop, q, false) {
            Err(refusal) => {
                let code = dropping.unwrap_or_else(|| {
                    panic!("the kernel refuses ({refusal:?}) where nsmap goes on; {ctx}")
                });
                assert!(
                    refusal.codes().contains(&code),
                    "the kernel refuses with {refusal:?}, which is one of {:?}, not {code:?}; {ctx}",
                    refusal.codes()
                );
                None
            }
            Ok(plain) => {
                // link_down is a routing refusal where the down device
                // took the route with it (no route at this hop); with a
                // route, the device that is down is further on the wire.
                // IPv6 forwarding is checked after the route lookup
                // (ip6_forward), so the kernel routes what it then drops.
                let v6_forwarding = dropping == Some("forwarding_disabled") && q.dst.contains(':');
                if let Some(code) = dropping
                    && (code != "link_down" || hop["route"].is_null())
                    && !v6_forwarding
                {
                    assert!(
                        !ROUTING_REFUSALS.contains(&code),
                        "nsmap drops with {code:?} but the kernel routes it: {plain}; {ctx}"
                    );
                }
                let ours = &hop["route"];
                if ours.is_null() {
                    return Some(plain);
                }
                match self.route_get(hop, q, true) {
                    Ok(fib) => assert_route_is(ours, &fib, hop, ctx),
                    Err(refusal) => {
                        // Bound to a device with no route for the
                        // destination, the kernel assumes it is on that
                        // link (ip_route_output_key_hash_rcu,
                        // "routing tables are wrong"): no FIB entry.
                        let oif = q.oif.unwrap_or_else(|| {
                            panic!("route get works but fibmatch refuses ({refusal:?}); {ctx}")
                        });
                        assert_eq!(
                            ours["dev"]["ifname"], oif,
                            "on-link on the bound device; {ctx}"
                        );
                        assert!(ours["gateway"].is_null(), "on-link: no gateway; {ctx}");
                    }
                }
                Some(plain)
            }
        }
    }

    fn labels(&self, inodes: &[u64]) -> String {
        let names: Vec<String> = inodes
            .iter()
            .map(|i| {
                self.by_inode(*i)
                    .map_or_else(|| format!("net:[{i}]"), Ns::label)
            })
            .collect();
        format!("[{}]", names.join(", "))
    }
}

/// Codes whose drop the kernel's `ip route get` must refuse too.
const ROUTING_REFUSALS: &[&str] = &[
    "no_route",
    "blackhole",
    "unreachable_route",
    "prohibit",
    "forwarding_disabled",
    "rp_filter",
    "link_down",
    "no_return_route",
    "martian_source",
];

/// How `ip route get` refused, from iproute2's "RTNETLINK answers: …".
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// ENETUNREACH: no route (also: the device is down, its routes gone).
    NetUnreach,
    /// EHOSTUNREACH: forwarding off on the input device, or an
    /// `unreachable` route.
    HostUnreach,
    /// EINVAL: a `blackhole` route; on this kernel also a failed reverse
    /// path check or a martian source (ip_route_input_rcu returns a drop
    /// reason that inet_rtm_getroute reports as EINVAL).
    Invalid,
    /// EXDEV: a failed reverse-path check (older kernels).
    CrossDevice,
    /// EACCES: a `prohibit` route.
    Prohibit,
    Other(String),
}

impl Refusal {
    fn from_stderr(stderr: &str) -> Refusal {
        if stderr.contains("Network is unreachable") {
            Refusal::NetUnreach
        } else if stderr.contains("No route to host") {
            Refusal::HostUnreach
        } else if stderr.contains("Invalid argument") {
            Refusal::Invalid
        } else if stderr.contains("Invalid cross-device link") {
            Refusal::CrossDevice
        } else if stderr.contains("Permission denied") {
            Refusal::Prohibit
        } else {
            Refusal::Other(stderr.trim().to_string())
        }
    }

    /// The codes a dropping hop may give for this refusal.
    fn codes(&self) -> &'static [&'static str] {
        match self {
            Refusal::NetUnreach => &["no_route", "link_down", "no_return_route"],
            Refusal::HostUnreach => &[
                "forwarding_disabled",
                "unreachable_route",
                "no_return_route",
            ],
            Refusal::Invalid => &[
                "blackhole",
                "rp_filter",
                "martian_source",
                "no_return_route",
            ],
            Refusal::CrossDevice => &["rp_filter"],
            Refusal::Prohibit => &["prohibit", "no_return_route"],
            Refusal::Other(_) => &[],
        }
    }
}

/// The arguments of one `ip route get`.
struct Query<'a> {
    dst: &'a str,
    from: Option<&'a str>,
    iif: Option<&'a str>,
    oif: Option<&'a str>,
}

impl std::fmt::Display for Query<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.dst)?;
        for (word, value) in [("from", self.from), ("iif", self.iif), ("oif", self.oif)] {
            if let Some(value) = value {
                write!(f, " {word} {value}")?;
            }
        }
        Ok(())
    }
}

/// nsmap's route for a hop against the kernel's FIB entry (`fibmatch`).
fn assert_route_is(ours: &Value, fib: &Value, hop: &Value, ctx: &str) {
    let kind = fib["type"].as_str().unwrap_or("unicast");
    assert_eq!(ours["type"], kind, "route type; kernel {fib}; {ctx}");
    let want_dst = cidr(fib["dst"].as_str().expect("fibmatch dst"), ours);
    let our_dst = cidr(ours["dst"].as_str().expect("route dst"), ours);
    assert_eq!(our_dst, want_dst, "route dst; kernel {fib}; {ctx}");
    assert_eq!(
        ours["gateway"].as_str(),
        fib["gateway"].as_str(),
        "route gateway; kernel {fib}; {ctx}"
    );
    assert_eq!(
        ours["dev"]["ifname"].as_str(),
        fib["dev"].as_str(),
        "route dev; kernel {fib}; {ctx}"
    );
    if !ours["dev"].is_null() {
        assert_eq!(
            ours["dev"]["netns"], hop["netns"],
            "route dev's namespace; {ctx}"
        );
    }
    assert_eq!(
        ours["prefsrc"].as_str(),
        fib["prefsrc"].as_str(),
        "route prefsrc; kernel {fib}; {ctx}"
    );
    let table = ours["table"].as_u64().expect("route table");
    let want = match fib["table"].as_str() {
        None => 254,
        Some("main") => 254,
        Some("local") => 255,
        Some("default") => 253,
        Some(n) => n.parse().unwrap_or_else(|_| panic!("table {n:?}")),
    };
    // With no rule but the defaults, IPv4 merges the local table into main
    // (fib_trie's fib_unmerge undoes it): the kernel then names main for a
    // local route that `ip route show table local` lists.
    let merged_local = fib["table"].is_null() && kind == "local" && table == 255;
    assert!(
        table == want || merged_local,
        "route table {table}, kernel {want}; kernel {fib}; {ctx}"
    );
    if let Some(metric) = fib["metric"].as_u64() {
        assert_eq!(
            ours["metric"].as_u64().unwrap_or(0),
            metric,
            "route metric; kernel {fib}; {ctx}"
        );
    }
}

/// A route destination as `addr/len` (`default` and bare hosts spelt out).
fn cidr(dst: &str, route: &Value) -> String {
    let v6 = route["dst"].as_str().is_some_and(|d| d.contains(':'))
        || route["gateway"].as_str().is_some_and(|g| g.contains(':'))
        || route["family"].as_str().is_some_and(|f| f.contains('6'));
    match (dst, v6) {
        ("default", false) => "0.0.0.0/0".into(),
        ("default", true) => "::/0".into(),
        (d, _) if d.contains('/') => d.into(),
        (d, _) if d.contains(':') => format!("{d}/128"),
        (d, _) => format!("{d}/32"),
    }
}

/// What a scenario sends: from a namespace (optionally bound to an address
/// or to one of its interfaces) to an address.
pub struct Probe {
    pub src: Ns,
    pub dst: String,
    pub from: Option<String>,
    pub iface: Option<String>,
}

impl Probe {
    pub fn new(src: &Ns, dst: &str) -> Probe {
        Probe {
            src: src.clone(),
            dst: strip_len(dst),
            from: None,
            iface: None,
        }
    }

    /// `--from ADDR` (`ping -I ADDR`).
    pub fn from(mut self, addr: &str) -> Probe {
        self.from = Some(strip_len(addr));
        self
    }

    /// SRC as `IFNAME@SEL` (`ping -I IFNAME`).
    pub fn via(mut self, ifname: &str) -> Probe {
        self.iface = Some(ifname.to_string());
        self
    }

    fn selector(&self) -> String {
        match &self.iface {
            Some(i) => format!("{i}@{}", self.src.sel()),
            None => self.src.sel().to_string(),
        }
    }
}

/// `10.0.0.1/24` → `10.0.0.1`.
pub fn strip_len(addr: &str) -> String {
    addr.split('/').next().unwrap_or(addr).to_string()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    Reachable,
    Unreachable,
    Unknown,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Reachable => "reachable",
            Verdict::Unreachable => "unreachable",
            Verdict::Unknown => "unknown",
        }
    }

    fn exit_code(self) -> i32 {
        match self {
            Verdict::Reachable => 0,
            Verdict::Unreachable => 1,
            Verdict::Unknown => 4,
        }
    }
}

/// What nsmap must answer for one probe.
pub struct Expect {
    pub verdict: Verdict,
    /// Acceptable codes (unless reachable).
    pub codes: Vec<&'static str>,
    /// Where the packet (or the reply) may die.
    pub drop_in: Vec<u64>,
    /// The namespaces the forward path crosses, in order, consecutive
    /// hops in one namespace counted once; any of these. `None`: checked
    /// by the test itself. For `unknown`, a start of one is enough.
    pub forward: Option<Vec<Vec<u64>>>,
    /// The reply crosses the forward path's namespaces in reverse.
    pub symmetric: bool,
    /// The kernel's verdict the scenario claims.
    pub ping: bool,
}

impl Expect {
    pub fn reachable(path: &[&Ns]) -> Expect {
        Expect {
            verdict: Verdict::Reachable,
            codes: Vec::new(),
            drop_in: Vec::new(),
            forward: Some(vec![inodes(path)]),
            symmetric: true,
            ping: true,
        }
    }

    pub fn unreachable(code: &'static str, at: &Ns, path: &[&Ns]) -> Expect {
        Expect {
            verdict: Verdict::Unreachable,
            codes: vec![code],
            drop_in: vec![at.inode],
            forward: Some(vec![inodes(path)]),
            symmetric: false,
            ping: false,
        }
    }

    /// `unknown` although ping fails (nsmap cannot decide).
    pub fn unknown(code: &'static str, path: &[&Ns]) -> Expect {
        Expect {
            verdict: Verdict::Unknown,
            codes: vec![code],
            drop_in: Vec::new(),
            forward: Some(vec![inodes(path)]),
            symmetric: false,
            ping: false,
        }
    }

    /// Another acceptable forward path.
    pub fn or_forward(mut self, path: &[&Ns]) -> Expect {
        self.forward.get_or_insert_with(Vec::new).push(inodes(path));
        self
    }

    pub fn or_code(mut self, code: &'static str) -> Expect {
        self.codes.push(code);
        self
    }

    pub fn or_drop_in(mut self, at: &Ns) -> Expect {
        self.drop_in.push(at.inode);
        self
    }

    pub fn any_forward(mut self) -> Expect {
        self.forward = None;
        self
    }
}

fn inodes(path: &[&Ns]) -> Vec<u64> {
    path.iter().map(|n| n.inode).collect()
}

/// nsmap's answer and exit status.
pub struct Trace {
    pub json: Value,
    pub exit: i32,
}

/// The hops of `forward` or `return`.
pub fn hops<'a>(j: &'a Value, list: &str) -> &'a [Value] {
    j[list].as_array().map_or(&[], Vec::as_slice)
}

/// The namespaces a list of hops crosses, consecutive repeats once.
pub fn namespaces(hops: &[Value]) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for h in hops {
        let inode = h["netns"].as_u64().unwrap_or(0);
        if out.last() != Some(&inode) {
            out.push(inode);
        }
    }
    out
}

/// What is still settling in one namespace (empty when settled); in the
/// host, only the links of the test (named with its prefix).
fn unsettled(ns: &Ns, prefix: &str) -> Vec<String> {
    let out = ns
        .ip_cmd()
        .args(["-j", "-d", "addr", "show"])
        .output()
        .expect("run ip addr");
    let links: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut pending = Vec::new();
    for l in &links {
        let ifname = l["ifname"].as_str().unwrap_or("?");
        if ns.name.is_none() && !ifname.starts_with(prefix) {
            continue;
        }
        let name = format!("{}:{ifname}", ns.label());
        for a in l["addr_info"].as_array().into_iter().flatten() {
            assert!(a["dadfailed"].is_null(), "{name}: duplicate address {a}");
            // An optimistic address is in use while DAD runs (RFC 4429).
            if a["tentative"] == true && a["optimistic"] != true {
                pending.push(format!("{name} {} tentative", a["local"]));
            }
        }
        let flags: Vec<&str> = l["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !(flags.contains(&"UP") && flags.contains(&"LOWER_UP")) {
            continue;
        }
        if l["link_type"] != "loopback" && l["operstate"] != "UP" {
            pending.push(format!("{name} operstate {}", l["operstate"]));
        }
        let slave = &l["linkinfo"]["info_slave_data"];
        if l["linkinfo"]["info_slave_kind"] == "bridge" && slave["state"] != "forwarding" {
            pending.push(format!("{name} port {}", slave["state"]));
        }
    }
    pending
}

/// Checks the JSON is the contract's shape: every field present, one type.
fn assert_shape(j: &Value) {
    let ctx = format!("nsmap path --json: {j}");
    let obj = j
        .as_object()
        .unwrap_or_else(|| panic!("not an object; {ctx}"));
    for key in [
        "verdict", "code", "reason", "hint", "src", "dst", "proto", "dport", "forward", "return",
    ] {
        assert!(obj.contains_key(key), "missing {key:?}; {ctx}");
    }
    assert!(
        matches!(
            j["verdict"].as_str(),
            Some("reachable" | "unreachable" | "unknown")
        ),
        "verdict; {ctx}"
    );
    for key in ["code", "reason", "hint"] {
        assert!(j[key].is_null() || j[key].is_string(), "{key}; {ctx}");
    }
    if j["verdict"] == "unknown" {
        assert!(
            j["code"].is_string() && j["reason"].is_string(),
            "unknown must carry a code and a reason; {ctx}"
        );
    }
    fields(&j["src"], &["netns", "interface", "address"], &ctx);
    fields(&j["dst"], &["address", "netns", "interface"], &ctx);
    assert!(j["dst"]["address"].is_string(), "dst.address; {ctx}");
    for side in ["src", "dst"] {
        assert!(
            j[side]["netns"].is_null() || j[side]["netns"].is_u64(),
            "{side}.netns; {ctx}"
        );
        assert!(
            j[side]["address"].is_null() || j[side]["address"].is_string(),
            "{side}.address; {ctx}"
        );
        link_ref(&j[side]["interface"], &ctx);
    }
    assert!(
        matches!(j["proto"].as_str(), Some("icmp" | "tcp" | "udp")),
        "proto; {ctx}"
    );
    assert!(j["dport"].is_null() || j["dport"].is_u64(), "dport; {ctx}");
    for list in ["forward", "return"] {
        let hops = j[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} is not a list; {ctx}"));
        for h in hops {
            fields(
                h,
                &[
                    "netns", "label", "in", "out", "route", "action", "via", "notes",
                ],
                &ctx,
            );
            assert!(
                h["netns"].is_null() || h["netns"].is_u64(),
                "hop netns; {ctx}"
            );
            assert!(h["label"].is_string(), "hop label; {ctx}");
            assert!(h["action"].is_string(), "hop action; {ctx}");
            link_ref(&h["in"], &ctx);
            link_ref(&h["out"], &ctx);
            for r in h["via"]
                .as_array()
                .unwrap_or_else(|| panic!("via is not a list; {ctx}"))
            {
                assert!(!r.is_null(), "null in via; {ctx}");
                link_ref(r, &ctx);
            }
            assert!(
                h["notes"]
                    .as_array()
                    .is_some_and(|n| n.iter().all(Value::is_string)),
                "notes; {ctx}"
            );
            let r = &h["route"];
            if r.is_null() {
                continue;
            }
            fields(
                r,
                &[
                    "family", "table", "type", "dst", "gateway", "dev", "prefsrc", "metric",
                    "rule", "nexthops",
                ],
                &ctx,
            );
            assert!(
                r["family"].is_string() && r["type"].is_string() && r["dst"].is_string(),
                "route family/type/dst; {ctx}"
            );
            assert!(r["table"].is_u64(), "route table; {ctx}");
            for key in ["gateway", "prefsrc"] {
                assert!(r[key].is_null() || r[key].is_string(), "route {key}; {ctx}");
            }
            for key in ["metric", "rule"] {
                assert!(r[key].is_null() || r[key].is_u64(), "route {key}; {ctx}");
            }
            link_ref(&r["dev"], &ctx);
            assert!(r["nexthops"].is_array(), "route nexthops; {ctx}");
        }
    }
}

fn fields(v: &Value, keys: &[&str], ctx: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{v} is not an object; {ctx}"));
    for key in keys {
        assert!(obj.contains_key(*key), "{v} lacks {key:?}; {ctx}");
    }
}

/// A `ref` or null.
fn link_ref(v: &Value, ctx: &str) {
    if v.is_null() {
        return;
    }
    fields(v, &["netns", "ifindex", "ifname"], ctx);
    assert!(
        v["netns"].is_null() || v["netns"].is_u64(),
        "ref netns {v}; {ctx}"
    );
    assert!(v["ifindex"].is_u64(), "ref ifindex {v}; {ctx}");
    assert!(
        v["ifname"].is_null() || v["ifname"].is_string(),
        "ref ifname {v}; {ctx}"
    );
}

/// Runs a command with a deadline: (exit code, stdout, stderr, time), the
/// code `None` when it had to be killed.
fn run_with_timeout(
    mut cmd: Command,
    timeout: Duration,
) -> (Option<i32>, Vec<u8>, Vec<u8>, Duration) {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsmap");
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nsmap") {
            break Some(status);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    (status.map(|s| s.code().unwrap_or(-1)), stdout, stderr, took)
}

/// The chain names of the host's nftables ruleset (read only).
pub fn host_chains() -> Vec<String> {
    let out = Command::new("nft")
        .args(["-j", "list", "chains"])
        .output()
        .expect("run nft");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["chain"]["name"].as_str().map(str::to_string))
        .collect()
}
