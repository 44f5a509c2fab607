//! Root tests with real container tooling: podman containers on podman's
//! default network, and pod-like namespaces wired by the real CNI bridge
//! plugin. nsmap must name each namespace after what lives in it and agree
//! with the kernel (`ip -j -d link`) on every host-side veth.
//!
//! Needs `podman`, `runc`, `containernetworking-plugins` and
//! `busybox-static` (Debian), installed by `.ci/run`. No image registry is
//! reachable, so containers run from a directory rootfs holding a static
//! busybox. Everything made here carries the test's unique prefix and is
//! removed by Drop guards, also when an assertion fails.

mod common;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Topology, inode_of, ip, links_json, nsmap};
use serde_json::{Value, json};

/// `nsmap ARGS --json` (or `snapshot`) parsed.
fn nsmap_json(args: &[&str]) -> Value {
    let out = nsmap()
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run nsmap");
    assert!(
        out.status.success(),
        "nsmap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("nsmap prints JSON")
}

fn nsmap_text(args: &[&str]) -> String {
    let out = nsmap()
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run nsmap");
    assert!(
        out.status.success(),
        "nsmap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn namespace(snapshot: &Value, inode: u64) -> &Value {
    snapshot["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .find(|n| n["inode"] == inode)
        .unwrap_or_else(|| panic!("net:[{inode}] not in the snapshot"))
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `ip -j -d link show IFNAME` inside the network namespace of `pid`.
fn link_in(pid: u32, ifname: &str) -> Value {
    let out = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-n",
            "ip",
            "-j",
            "-d",
            "link",
            "show",
            ifname,
        ])
        .output()
        .expect("run nsenter");
    let text = ok(&out, "nsenter ip link");
    let links: Vec<Value> = serde_json::from_str(&text).expect("ip JSON");
    links.into_iter().next().expect("one link")
}

/// The host's link with this ifindex, per `ip -j -d link`.
fn host_link(ifindex: u64) -> Value {
    links_json(None)
        .into_iter()
        .find(|l| l["ifindex"] == ifindex)
        .unwrap_or_else(|| panic!("no host link with ifindex {ifindex}"))
}

/// A directory rootfs with a static busybox, removed on drop.
struct Rootfs(PathBuf);

impl Rootfs {
    fn new(prefix: &str) -> Rootfs {
        let dir = std::env::temp_dir().join(format!("{prefix}-rootfs"));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["bin", "etc", "proc", "sys", "dev", "tmp", "run"] {
            std::fs::create_dir_all(dir.join(sub)).expect("rootfs dir");
        }
        std::fs::copy("/bin/busybox", dir.join("bin/busybox"))
            .expect("copy /bin/busybox (Debian package busybox-static)");
        for applet in ["sh", "sleep", "nc"] {
            symlink("busybox", dir.join("bin").join(applet)).expect("applet link");
        }
        Rootfs(dir)
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Podman containers of one test, force-removed on drop (which also makes
/// podman tear down the network state it set up for them).
struct Podman {
    names: Vec<String>,
}

impl Podman {
    fn cmd() -> Command {
        let mut c = Command::new("podman");
        c.args(["--runtime", "runc", "--cgroup-manager", "cgroupfs"]);
        c.stdin(Stdio::null());
        c
    }

    /// Removes containers with these names left by a killed earlier run.
    fn new(names: &[String]) -> Podman {
        let guard = Podman {
            names: names.to_vec(),
        };
        guard.remove();
        guard
    }

    fn run(&self, name: &str, rootfs: &Path) -> String {
        self.run_with(name, rootfs, &[], &["busybox", "sleep", "600"])
    }

    fn run_with(&self, name: &str, rootfs: &Path, options: &[&str], command: &[&str]) -> String {
        // nproc: podman raises RLIMIT_NPROC for root by default, which a
        // sandboxed host refuses (runc: "error setting rlimit type 6").
        let out = Podman::cmd()
            .args([
                "run",
                "-d",
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(options)
            .args(["--name", name, "--rootfs"])
            .arg(rootfs)
            .args(command)
            .output()
            .expect("run podman");
        ok(&out, &format!("podman run {name}"))
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        let out = Podman::cmd()
            .args(["inspect", "-f", format, name])
            .output()
            .expect("run podman inspect");
        ok(&out, "podman inspect")
    }

    fn remove(&self) {
        let _ = Podman::cmd()
            .args(["rm", "-f", "-t", "0"])
            .args(&self.names)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.remove();
    }
}

#[test]
#[ignore = "needs root: run as root with --include-ignored"]
fn podman_containers_are_named_on_their_namespaces_peers_and_bridge() {
    let topo = Topology::new("podman_containers_are_named");
    let names = vec![topo.name("web"), topo.name("db")];
    let rootfs = Rootfs::new(&topo.prefix);
    let podman = Podman::new(&names);
    let mut ids = Vec::new();
    for name in &names {
        ids.push(podman.run(name, &rootfs.0));
    }
    let pids: Vec<u32> = names
        .iter()
        .map(|n| podman.inspect(n, "{{.State.Pid}}").parse().expect("pid"))
        .collect();
    let inodes: Vec<u64> = pids
        .iter()
        .map(|p| inode_of(format!("/proc/{p}/ns/net")))
        .collect();

    let snapshot = nsmap_json(&["snapshot"]);
    for ((name, id), (&pid, &inode)) in names.iter().zip(&ids).zip(pids.iter().zip(&inodes)) {
        let ns = namespace(&snapshot, inode);
        assert_eq!(ns["display_name"], name.as_str(), "{ns}");
        let containers = ns["containers"].as_array().expect("containers");
        assert_eq!(containers.len(), 1, "{ns}");
        assert_eq!(containers[0]["runtime"], "podman");
        assert_eq!(containers[0]["id"], id.as_str());
        assert_eq!(containers[0]["name"], name.as_str());
        assert_eq!(containers[0]["pod"], Value::Null);
        // The UTS hostname podman gives a container: its short id.
        assert_eq!(ns["hostname"], &id[..12], "{ns}");
        let process = ns["processes"]
            .as_array()
            .expect("processes")
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("pid {pid} not listed: {ns}"));
        assert_eq!(process["cmdline"], "busybox sleep 600");
        assert_eq!(process["uid"], 0);

        // The container's eth0 and its host-side veth, checked against ip.
        let eth0 = link_in(pid, "eth0");
        let host_veth = host_link(eth0["link_index"].as_u64().expect("link_index"));
        let row = nsmap_json(&["peers", "eth0", "--json"])
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["interface"]["netns"] == inode)
            .cloned()
            .unwrap_or_else(|| panic!("no peers row for {name}"));
        assert_eq!(row["netns_name"], name.as_str());
        assert_eq!(row["peer"]["ifname"], host_veth["ifname"]);
        assert_eq!(row["peer"]["ifindex"], host_veth["ifindex"]);
        assert_eq!(row["peer_master"]["ifname"], host_veth["master"]);
        // And by the container's name instead of an interface name.
        let by_name = nsmap_json(&["peers", name, "--json"]);
        assert_eq!(by_name.as_array().map(Vec::len), Some(1), "{by_name}");
        assert_eq!(by_name[0]["interface"]["ifname"], "eth0");
        assert_eq!(by_name[0]["peer"], row["peer"]);
    }
    let table = nsmap_text(&["peers", "eth0"]);
    for name in &names {
        assert!(table.contains(name.as_str()), "{name} not in:\n{table}");
    }

    // Podman's bridge (podman0 with netavark, cni-podman0 with CNI) has
    // both containers behind it.
    let bridges = nsmap_json(&["bridges", "--json"]);
    let bridge = bridges
        .as_array()
        .expect("bridges")
        .iter()
        .find(|b| {
            let n = &b["bridge"]["ifname"];
            n == "podman0" || n == "cni-podman0"
        })
        .unwrap_or_else(|| panic!("no podman bridge in {bridges}"));
    let behind: Vec<&str> = bridge["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p["peer_netns_name"].as_str())
        .collect();
    for name in &names {
        assert!(
            behind.contains(&name.as_str()),
            "{name} not behind {behind:?}"
        );
    }
    let tree = nsmap_text(&["bridges"]);
    for name in &names {
        assert!(tree.contains(&format!("eth0 @ {name}")), "{tree}");
    }
    let listed = nsmap_text(&["ns"]);
    assert!(
        listed
            .lines()
            .any(|l| l.matches(names[0].as_str()).count() == 2),
        "NETNS and CONTAINERS name {}:\n{listed}",
        names[0]
    );
}

/// Namespaces attached to a bridge by the real CNI bridge plugin, DELeted
/// on drop; also the libcni result cache entries the test writes for them
/// (as containerd or CRI-O would: the plugins write no cache).
struct Cni {
    netconf: String,
    /// (container id, netns path, cache file).
    attached: Vec<(String, String, PathBuf)>,
    data_dir: PathBuf,
    made_results_dir: Vec<PathBuf>,
}

const CNI_PATH: &str = "/usr/lib/cni";
const RESULTS_DIR: &str = "/var/lib/cni/results";

impl Cni {
    fn plugin(&self, command: &str, id: &str, netns: &str) -> Output {
        let mut child = Command::new(format!("{CNI_PATH}/bridge"))
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", id)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", CNI_PATH)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the CNI bridge plugin (containernetworking-plugins)");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(self.netconf.as_bytes()).expect("netconf");
        }
        child.wait_with_output().expect("plugin output")
    }

    /// ADD, then record the result where libcni would.
    fn add(&mut self, id: &str, netns: &str, network: &str, pod: &str) -> Value {
        let out = self.plugin("ADD", id, netns);
        let result: Value = serde_json::from_str(&ok(&out, "CNI ADD")).expect("CNI result");
        for dir in [Path::new("/var/lib/cni"), Path::new(RESULTS_DIR)] {
            if !dir.exists() {
                std::fs::create_dir(dir).expect("create the CNI cache dir");
                self.made_results_dir.push(dir.to_path_buf());
            }
        }
        let cache = Path::new(RESULTS_DIR).join(format!("{network}-{id}-eth0"));
        let entry = json!({
            "kind": "cniCacheV1",
            "containerId": id,
            "config": "",
            "ifName": "eth0",
            "networkName": network,
            "netns": netns,
            "cniArgs": [["K8S_POD_NAMESPACE", "nsmap-test"], ["K8S_POD_NAME", pod]],
            "result": result,
        });
        std::fs::write(&cache, entry.to_string()).expect("write the CNI cache entry");
        self.attached
            .push((id.to_string(), netns.to_string(), cache));
        result
    }
}

impl Drop for Cni {
    fn drop(&mut self) {
        for (id, netns, cache) in std::mem::take(&mut self.attached) {
            let _ = self.plugin("DEL", &id, &netns);
            let _ = std::fs::remove_file(cache);
        }
        for dir in self.made_results_dir.drain(..).rev() {
            let _ = std::fs::remove_dir(dir); // only if empty: others may use it
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

#[test]
#[ignore = "needs root: run as root with --include-ignored"]
fn cni_bridge_plugin_pods_show_their_host_side_veths() {
    let mut topo = Topology::new("cni_bridge_plugin_pods");
    let bridge = topo.name("br");
    topo.host_link(&bridge);
    let network = topo.name("net");
    // A subnet of the test's own, from its prefix; never routed anywhere.
    let third = u8::from_str_radix(&topo.prefix[1..3], 16).expect("hex prefix");
    let data_dir = std::env::temp_dir().join(format!("{}-cni", topo.prefix));
    let _ = std::fs::remove_dir_all(&data_dir);
    let netconf = json!({
        "cniVersion": "1.0.0",
        "name": network,
        "type": "bridge",
        "bridge": bridge,
        "isGateway": true,
        "ipMasq": false,
        "ipam": {
            "type": "host-local",
            "subnet": format!("10.213.{third}.0/24"),
            "dataDir": data_dir.join("ipam"),
        },
    })
    .to_string();
    let pods: Vec<String> = (0..3).map(|i| topo.netns(&format!("p{i}"))).collect();
    let mut cni = Cni {
        netconf,
        attached: Vec::new(),
        data_dir,
        made_results_dir: Vec::new(),
    };
    let mut results = Vec::new();
    for (i, pod) in pods.iter().enumerate() {
        let id = format!("{}{:058x}", topo.prefix.trim_start_matches('n'), i);
        let id = format!("{id:0>64}");
        results.push(cni.add(
            &id,
            &format!("/run/netns/{pod}"),
            &network,
            &format!("{pod}-pod"),
        ));
    }

    let snapshot = nsmap_json(&["snapshot"]);
    let host_links = links_json(None);
    for (pod, result) in pods.iter().zip(&results) {
        let inode = inode_of(format!("/run/netns/{pod}"));
        let ns = namespace(&snapshot, inode);
        // The plugin's own account of the host-side veth…
        let plugin_veth = result["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .find(|i| i["name"] != bridge.as_str() && i["sandbox"].is_null())
            .expect("host veth in the result");
        // …the kernel's (eth0's peer ifindex, found in the host by ip)…
        let eth0 = links_json(Some(pod))
            .into_iter()
            .find(|l| l["ifname"] == "eth0")
            .expect("eth0 in the pod");
        let kernel_veth = host_links
            .iter()
            .find(|l| l["ifindex"] == eth0["link_index"])
            .expect("eth0's peer in the host");
        assert_eq!(kernel_veth["ifname"], plugin_veth["name"]);
        assert_eq!(kernel_veth["master"], bridge.as_str());
        // …and nsmap's.
        let iface = ns["interfaces"]
            .as_array()
            .expect("interfaces")
            .iter()
            .find(|i| i["ifname"] == "eth0")
            .expect("nsmap sees eth0");
        assert_eq!(iface["peer"]["ifname"], kernel_veth["ifname"], "{pod}");
        assert_eq!(iface["peer"]["ifindex"], kernel_veth["ifindex"], "{pod}");
        assert_eq!(
            iface["peer"]["netns"],
            inode_of("/proc/self/ns/net"),
            "{pod}"
        );
        // The libcni cache names the pod and the network.
        let label = format!("nsmap-test/{pod}-pod");
        assert_eq!(ns["display_name"], label.as_str(), "{ns}");
        let attachment = &ns["cni"][0];
        assert_eq!(attachment["network"], network.as_str());
        assert_eq!(attachment["ifname"], "eth0");
        assert_eq!(attachment["addresses"][0], result["ips"][0]["address"]);
        assert_eq!(iface["addresses"][0], result["ips"][0]["address"]);
    }

    let bridges = nsmap_json(&["bridges", &bridge, "--json"]);
    let mut behind: Vec<String> = bridges[0]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p["peer_netns_name"].as_str().map(String::from))
        .collect();
    behind.sort();
    let expected: Vec<String> = pods.iter().map(|p| format!("nsmap-test/{p}-pod")).collect();
    assert_eq!(behind, expected);
    // `peers POD` finds a pod by the name its CNI arguments gave it.
    let rows = nsmap_json(&["peers", &format!("{}-pod", pods[1]), "--json"]);
    assert_eq!(rows[0]["peer_master"]["ifname"], bridge.as_str(), "{rows}");
    drop(cni);
}

#[test]
#[ignore = "needs root: run as root with --include-ignored"]
fn a_published_port_is_a_path_into_the_container() {
    // podman run -p PORT:80: a client namespace wired to the host connects
    // to the host's address at PORT; netavark's DNAT sends it to the
    // container, conntrack brings the answer back. nsmap must follow the
    // same way from the snapshot, and the kernel (a TCP connect) agrees.
    let mut topo = Topology::new("podman_published");
    let rootfs = Rootfs::new(&topo.prefix);
    let name = topo.name("web");
    let podman = Podman::new(std::slice::from_ref(&name));
    let port = 20000 + std::process::id() % 20000;
    podman.run_with(
        &name,
        &rootfs.0,
        &["-p", &format!("{port}:80")],
        &["sh", "-c", "while true; do echo hi | nc -l -p 80; done"],
    );
    let pid: u32 = podman
        .inspect(&name, "{{.State.Pid}}")
        .parse()
        .expect("pid");
    let ctr_addr = podman.inspect(&name, "{{.NetworkSettings.IPAddress}}");
    let ctr_inode = common::inode_of(format!("/proc/{pid}/ns/net"));
    let client = topo.netns("client");
    let h = topo.name("h");
    topo.host_link(&h);
    ip(&[
        "link", "add", &h, "type", "veth", "peer", "name", "eth0", "netns", &client,
    ]);
    ip(&["addr", "add", "10.250.0.1/24", "dev", &h]);
    ip(&["link", "set", &h, "up"]);
    ip(&["-n", &client, "addr", "add", "10.250.0.2/24", "dev", "eth0"]);
    ip(&["-n", &client, "link", "set", "eth0", "up"]);
    ip(&["-n", &client, "link", "set", "lo", "up"]);
    ip(&[
        "-n",
        &client,
        "route",
        "add",
        "default",
        "via",
        "10.250.0.1",
    ]);
    // The kernel: a TCP connect through the forward gets the answer.
    let connect = || {
        Command::new("ip")
            .args(["netns", "exec", &client, "busybox", "nc", "-w", "2"])
            .args(["10.250.0.1", &port.to_string()])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("hi"))
    };
    common::wait_for(connect);
    let out = nsmap()
        .args([
            "path",
            &client,
            "10.250.0.1",
            "--proto",
            "tcp",
            "--dport",
            &port.to_string(),
            "--json",
            "--quiet",
        ])
        .output()
        .expect("run nsmap");
    let json: Value = serde_json::from_slice(&out.stdout).expect("nsmap path --json");
    assert_eq!(json["verdict"], "reachable", "{json}");
    let forward = json["forward"].as_array().expect("forward");
    assert_eq!(
        forward.last().map(|h| h["netns"].clone()),
        Some(Value::from(ctr_inode)),
        "delivered in the container: {json}"
    );
    let nat: Vec<&Value> = forward
        .iter()
        .flat_map(|h| h["nat"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(nat.len(), 1, "{json}");
    assert_eq!(nat[0]["kind"], "dnat", "{json}");
    assert_eq!(nat[0]["to"], format!("{ctr_addr} port 80"), "{json}");
    assert_eq!(json["dst"]["netns"], ctr_inode, "{json}");
    let back: Vec<&Value> = json["return"]
        .as_array()
        .expect("return")
        .iter()
        .flat_map(|h| h["nat"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(back.len(), 1, "{json}");
    assert_eq!(back[0]["kind"], "undo-dnat", "{json}");
    assert_eq!(back[0]["to"], format!("10.250.0.1 port {port}"), "{json}");
}
