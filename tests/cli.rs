//! The binary on recorded snapshots (`--input`): tables, JSON, exit codes
//! and stderr. No root needed; these pin what users and scripts see.

use std::io::Read;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/demo-l2.json");
const HOSTILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/raw/hostile.json"
);
/// A pod, a podman container and a hostile Docker container behind `cni0`.
const CONTAINERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/raw/containers.json"
);

fn nsmap(input: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .arg("--input")
        .arg(input)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run nsmap")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).expect("valid JSON")
}

#[test]
fn demo_tables() {
    insta::assert_snapshot!("ns", stdout(&nsmap(DEMO, &["ns"])));
    insta::assert_snapshot!("links", stdout(&nsmap(DEMO, &["links"])));
    insta::assert_snapshot!("peers_eth0", stdout(&nsmap(DEMO, &["peers", "eth0"])));
    insta::assert_snapshot!("bridges", stdout(&nsmap(DEMO, &["bridges"])));
}

#[test]
fn namespace_selectors() {
    let web = stdout(&nsmap(DEMO, &["links", "--ns", "web"]));
    assert!(web.lines().skip(1).all(|l| l.starts_with("web ")), "{web}");
    assert_eq!(web.lines().count(), 4);
    let snapshot = json(&nsmap(DEMO, &["snapshot"]));
    let web_inode = snapshot["namespaces"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["names"][0] == "web"))
        .map(|n| n["inode"].to_string())
        .expect("web in demo");
    assert_eq!(stdout(&nsmap(DEMO, &["links", "--ns", &web_inode])), web);
    assert_eq!(
        stdout(&nsmap(
            DEMO,
            &["links", "--ns", &format!("net:[{web_inode}]")]
        )),
        web
    );
    assert_eq!(
        stdout(&nsmap(DEMO, &["links", "--ns", "/run/netns/web"])),
        web
    );
    let process_ns = snapshot["namespaces"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|n| {
                n["names"].as_array().is_some_and(|x| x.is_empty())
                    && n["pids"].as_array().is_some_and(|p| p.len() == 1)
            })
        })
        .expect("process-held namespace in demo");
    let pid = process_ns["pids"][0].to_string();
    let by_pid = stdout(&nsmap(DEMO, &["links", "--ns", &format!("pid:{pid}")]));
    assert!(
        by_pid.contains("eth0") && by_pid.lines().count() == 3,
        "{by_pid}"
    );
    assert_eq!(
        stdout(&nsmap(
            DEMO,
            &["links", "--ns", &format!("/proc/{pid}/ns/net")]
        )),
        by_pid
    );
}

#[test]
fn peers_json_contract() {
    let rows = json(&nsmap(DEMO, &["peers", "eth0", "--json"]));
    let rows = rows.as_array().expect("array");
    assert!(rows.len() >= 5);
    for row in rows {
        for key in [
            "interface",
            "peer",
            "peer_master",
            "netns_name",
            "kind",
            "operstate",
            "link",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
        for r in [&row["interface"], &row["peer"]] {
            if !r.is_null() {
                assert!(r["netns"].is_u64() || r["netns"].is_null());
                assert!(r["ifindex"].is_u64());
                assert!(r["ifname"].is_string() || r["ifname"].is_null());
            }
        }
    }
    let web = rows
        .iter()
        .find(|r| r["netns_name"] == "web")
        .expect("web's eth0");
    assert_eq!(web["peer_master"]["ifname"], "cni0");
}

#[test]
fn snapshot_json_contract_every_key_one_type() {
    let s = json(&nsmap(DEMO, &["snapshot"]));
    assert_eq!(s["schema_version"], 1);
    let kinds = |v: &Value, keys: &[(&str, &str)]| {
        for (key, kind) in keys {
            let field = v
                .get(*key)
                .unwrap_or_else(|| panic!("{key} missing in {v}"));
            let ok = kind.split('|').any(|k| match k {
                "u64" => field.is_u64(),
                "bool" => field.is_boolean(),
                "string" => field.is_string(),
                "array" => field.is_array(),
                "object" => field.is_object(),
                "null" => field.is_null(),
                _ => false,
            });
            assert!(ok, "{key} = {field} is not {kind}");
        }
    };
    for ns in s["namespaces"].as_array().expect("namespaces") {
        kinds(
            ns,
            &[
                ("inode", "u64"),
                ("id", "u64|null"),
                ("current", "bool"),
                ("host", "bool"),
                ("names", "array"),
                ("mounts", "array"),
                ("pids", "array"),
                ("threads", "array"),
                ("holders", "array"),
                ("process", "object|null"),
                ("scanned", "bool"),
                ("interfaces", "array"),
                ("processes", "array"),
                ("containers", "array"),
                ("hostname", "string|null"),
                ("cni", "array"),
                ("display_name", "string"),
            ],
        );
        for i in ns["interfaces"].as_array().expect("interfaces") {
            kinds(
                i,
                &[
                    ("ifindex", "u64"),
                    ("ifname", "string"),
                    ("kind", "string|null"),
                    ("slave_kind", "string|null"),
                    ("operstate", "string"),
                    ("flags", "array"),
                    ("mtu", "u64"),
                    ("address", "string|null"),
                    ("addresses", "array"),
                    ("master", "object|null"),
                    ("peer", "object|null"),
                    ("link", "object|null"),
                    ("port_state", "string|null"),
                ],
            );
            for r in [&i["master"], &i["peer"], &i["link"]] {
                if r.is_object() {
                    kinds(
                        r,
                        &[
                            ("netns", "u64|null"),
                            ("ifindex", "u64"),
                            ("ifname", "string|null"),
                        ],
                    );
                }
            }
        }
    }
    for w in s["warnings"].as_array().expect("warnings") {
        kinds(
            w,
            &[
                ("netns", "u64|null"),
                ("code", "string"),
                ("message", "string"),
            ],
        );
    }
    // Sorted, so diffs of two snapshots are stable.
    let inodes: Vec<u64> = s["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter_map(|n| n["inode"].as_u64())
        .collect();
    assert!(inodes.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn unknown_names_fail_with_a_message_and_no_output() {
    for (args, needle) in [
        (
            &["peers", "nope0"][..],
            "no interface, container or pod named 'nope0' in any namespace",
        ),
        (&["bridges", "nobr"], "no bridge named 'nobr'"),
        (&["links", "--ns", "nons"], "no namespace matches 'nons'"),
        (
            &["peers", "eth0", "--ns", "pid:999999"],
            "no namespace matches 'pid:999999'",
        ),
    ] {
        let out = nsmap(DEMO, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn bad_input_files_exit_2_with_a_position() {
    let dir = std::env::temp_dir().join(format!("nsmap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1,\n \"namespaces\": [}\n").expect("write");
    let out = nsmap(bad.to_str().expect("utf8"), &["ns"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:2:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = nsmap(dir.join("missing.json").to_str().expect("utf8"), &["ns"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn raw_snapshots_are_only_for_live_scans() {
    let out = nsmap(DEMO, &["snapshot", "--raw"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--raw prints a live scan"));
}

#[test]
fn usage_errors_exit_2_and_help_lists_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .arg("--bogus")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .arg("--help")
        .output()
        .expect("run");
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes:"));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let plain = stdout(&nsmap(DEMO, &["links"]));
    assert!(!plain.contains('\x1b'), "not a terminal: no colour");
    let coloured = stdout(&nsmap(DEMO, &["links", "--color=always"]));
    assert!(coloured.contains("\x1b[32mUP\x1b[0m"));
}

#[test]
fn hostile_names_never_reach_the_terminal_raw() {
    for args in [
        &["ns"][..],
        &["links"],
        &["bridges"],
        &["snapshot"],
        &["links", "--json"],
        &["ns", "--color=always"],
    ] {
        let out = nsmap(HOSTILE, args);
        let text = stdout(&out);
        let raw_controls: Vec<char> = text
            .chars()
            .filter(|c| nsmap::name::needs_terminal_escape(*c) && *c != '\n')
            .filter(|c| !(args.contains(&"--color=always") && *c == '\x1b'))
            .collect();
        assert!(raw_controls.is_empty(), "{args:?} printed {raw_controls:?}");
    }
    insta::assert_snapshot!("hostile_links", stdout(&nsmap(HOSTILE, &["links"])));
    insta::assert_snapshot!("hostile_ns", stdout(&nsmap(HOSTILE, &["ns"])));
    // The printed form finds the interface again.
    let out = stdout(&nsmap(HOSTILE, &["peers", "bad\\xff"]));
    assert!(out.contains("\\x1b[2Jx\\x07"), "{out}");
    // JSON keeps the exact name: decoding gives the kernel's bytes back.
    let s = json(&nsmap(HOSTILE, &["snapshot"]));
    let names: Vec<&str> = s["namespaces"][0]["interfaces"]
        .as_array()
        .expect("ifaces")
        .iter()
        .filter_map(|i| i["ifname"].as_str())
        .collect();
    assert!(names.contains(&"\x1b[2Jx\x07"), "{names:?}");
    assert!(
        names.contains(&"bad\\xff") && names.contains(&"back\\\\slash"),
        "{names:?}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .args(["--input", DEMO, "snapshot"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 16];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("read");
    // stdout is dropped (closed) here; the rest of the write fails with EPIPE.
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[test]
fn namespaces_are_named_after_their_pods_and_containers() {
    insta::assert_snapshot!("containers_ns", stdout(&nsmap(CONTAINERS, &["ns"])));
    insta::assert_snapshot!(
        "containers_bridges",
        stdout(&nsmap(CONTAINERS, &["bridges"]))
    );
    let peers = stdout(&nsmap(CONTAINERS, &["peers", "eth0"]));
    assert!(peers.contains("shop/web-7d9f8c6b5-x2x4q  eth0"), "{peers}");
    assert!(peers.contains("nsmap-web"), "{peers}");
}

#[test]
fn peers_and_ns_accept_container_and_pod_names() {
    // A container name, a pod name, namespace/pod and an id prefix all
    // find the pod's eth0 and its host-side veth.
    for name in [
        "nginx",
        "web-7d9f8c6b5-x2x4q",
        "shop/web-7d9f8c6b5-x2x4q",
        "6c1b4a3f2e5d",
    ] {
        let rows = json(&nsmap(CONTAINERS, &["peers", name, "--json"]));
        let rows = rows.as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(rows[0]["interface"]["ifname"], "eth0", "{name}");
        assert_eq!(rows[0]["peer"]["ifname"], "veth8d3b2a1c", "{name}");
        assert_eq!(rows[0]["netns_name"], "shop/web-7d9f8c6b5-x2x4q", "{name}");
    }
    // An interface name wins over a container of the same name.
    let rows = json(&nsmap(CONTAINERS, &["peers", "cni0", "--json"]));
    assert_eq!(rows[0]["interface"]["ifname"], "cni0");
    let links = stdout(&nsmap(CONTAINERS, &["links", "--ns", "nsmap-web"]));
    assert!(links.contains("veth0@host"), "{links}");
    assert_eq!(links.lines().count(), 3, "{links}");
    let out = nsmap(CONTAINERS, &["peers", "no-such-ctr"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn container_json_contract() {
    let s = json(&nsmap(CONTAINERS, &["snapshot"]));
    let pod = s["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .find(|n| n["display_name"] == "shop/web-7d9f8c6b5-x2x4q")
        .expect("the pod");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&pod["containers"][0]),
        [
            "compose_project",
            "compose_service",
            "id",
            "name",
            "pod",
            "pod_namespace",
            "runtime"
        ]
    );
    assert_eq!(
        pod["containers"][0]["name"],
        Value::Null,
        "a sandbox has no name"
    );
    assert_eq!(pod["containers"][1]["name"], "nginx");
    assert_eq!(
        keys(&pod["processes"][0]),
        ["cmdline", "comm", "pid", "uid"]
    );
    assert_eq!(pod["processes"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        keys(&pod["cni"][0]),
        [
            "addresses",
            "container_id",
            "ifname",
            "network",
            "pod",
            "pod_namespace"
        ]
    );
    assert_eq!(pod["hostname"], "web-7d9f8c6b5-x2x4q");
}

#[test]
fn hostile_container_names_never_reach_the_terminal_raw() {
    for args in [&["ns"][..], &["peers", "eth0"], &["bridges"]] {
        let out = stdout(&nsmap(CONTAINERS, args));
        assert!(
            !out.contains('\x1b') && !out.contains('\u{202e}'),
            "{args:?}: {out}"
        );
        assert!(out.contains("\\x1b[31mevil\\u{202e}"), "{args:?}: {out}");
    }
}

/// The bundled demo: a sandboxed container host recorded with layer 3.
const DEMO_L3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.json");

fn exit_of(out: &Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn path_on_the_demo_says_where_and_why_with_its_exit_code() {
    // (args, exit, code) — each what the kernel did on the recorded host.
    let cases: &[(&[&str], i32, Option<&str>)] = &[
        (&["path", "web", "db"], 0, None),
        (&["path", "web", "10.88.0.3"], 0, None),
        (
            &["path", "web", "192.168.100.2"],
            1,
            Some("forwarding_disabled"),
        ),
        (&["path", "db", "192.168.100.2"], 1, Some("no_carrier")),
        (&["path", "web", "10.88.0.4"], 1, Some("link_down")),
        (&["path", "web", "192.0.2.1"], 1, Some("no_route")),
        (&["path", "web", "10.88.0.1"], 4, Some("firewall_rules")),
        (&["path", "10.88.0.2", "10.88.0.3"], 0, None),
    ];
    for (args, exit, code) in cases {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let out = nsmap(DEMO_L3, &with_json);
        assert_eq!(
            exit_of(&out),
            Some(*exit),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(j["code"].as_str(), *code, "{args:?}: {j}");
        // Every namespace crossed is a hop, the bridge-only host included.
        if args[2] == "db" {
            let labels: Vec<&str> = j["forward"]
                .as_array()
                .expect("hops")
                .iter()
                .filter_map(|h| h["label"].as_str())
                .collect();
            assert_eq!(labels, ["web", "host", "db"], "{j}");
        }
    }
    insta::assert_snapshot!(
        "path_web_db",
        stdout(&nsmap(DEMO_L3, &["path", "web", "db"]))
    );
    let out = nsmap(DEMO_L3, &["path", "web", "192.168.100.2"]);
    insta::assert_snapshot!(
        "path_web_backend",
        String::from_utf8(out.stdout).expect("UTF-8")
    );
}

#[test]
fn path_refuses_what_it_cannot_resolve() {
    let out = nsmap(DEMO_L3, &["path", "nowhere", "10.88.0.3"]);
    assert_eq!(exit_of(&out), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no namespace matches 'nowhere'"));
    assert!(out.stdout.is_empty());
    let out = nsmap(DEMO_L3, &["path", "web", "db", "--dport", "80"]);
    assert_eq!(exit_of(&out), Some(2), "--dport without tcp/udp");
    let out = nsmap(DEMO_L3, &["path", "web", "fd00::1", "--from", "10.88.0.2"]);
    assert_eq!(exit_of(&out), Some(2), "families differ");
    // A path on a file without layer 3: unknown, and it says why.
    let out = nsmap(DEMO, &["path", "web", "db", "--json"]);
    assert_eq!(exit_of(&out), Some(4));
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(j["code"], "not_scanned", "{j}");
}

#[test]
fn routes_on_the_demo() {
    insta::assert_snapshot!(
        "routes_web",
        stdout(&nsmap(DEMO_L3, &["routes", "--ns", "web", "-4"]))
    );
    let rows = json(&nsmap(DEMO_L3, &["routes", "--json", "--table", "main"]));
    let rows = rows.as_array().expect("array");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["table"] == 254 && r["netns"].is_u64() && r["netns_name"].is_string())
    );
    // Without layer 3 the listing is empty and says why on stderr.
    let out = nsmap(DEMO, &["routes"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no routes in this snapshot"));
}

/// The demo with counters: interface n of namespace m has m·n·1000 bytes
/// each way; web's eth0 has drops.
fn demo_with_counters() -> String {
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(DEMO).expect("demo")).expect("demo parses");
    for (m, ns) in doc["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .iter_mut()
        .enumerate()
    {
        ns["stats_at_ns"] = Value::from(1_800_000_000_000_000_000u64);
        for (n, i) in ns["interfaces"]
            .as_array_mut()
            .expect("interfaces")
            .iter_mut()
            .enumerate()
        {
            let k = ((m + 1) * (n + 1)) as u64;
            let dropped = if i["ifname"] == "eth0" && m == 2 {
                12
            } else {
                0
            };
            i["stats"] = serde_json::json!({
                "rx_bytes": k * 1000, "tx_bytes": k * 1_000_000, "rx_packets": k * 10,
                "tx_packets": k * 10_000, "rx_errors": 0, "tx_errors": 0,
                "rx_dropped": dropped, "tx_dropped": 0, "multicast": 0, "collisions": 0,
                "rx_length_errors": 0, "rx_over_errors": 0, "rx_crc_errors": 0,
                "rx_frame_errors": 0, "rx_fifo_errors": 0, "rx_missed_errors": 0,
                "tx_aborted_errors": 0, "tx_carrier_errors": 0, "tx_fifo_errors": 0,
                "tx_heartbeat_errors": 0, "tx_window_errors": 0, "rx_compressed": 0,
                "tx_compressed": 0, "rx_nohandler": 0, "rx_otherhost_dropped": null,
                "carrier_changes": 2
            });
        }
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-counters.json");
    std::fs::write(&path, doc.to_string()).expect("write fixture");
    path.to_string_lossy().into_owned()
}

#[test]
fn links_stats_table_and_json() {
    let file = demo_with_counters();
    insta::assert_snapshot!("links_stats", stdout(&nsmap(&file, &["links", "--stats"])));
    // JSON carries them whole; a file without counters says null, and the
    // table shows `-` (names still escaped).
    let rows = json(&nsmap(
        &file,
        &["links", "--stats", "--json", "--ns", "web"],
    ));
    assert_eq!(rows[1]["stats"]["rx_dropped"], 12);
    assert_eq!(rows[1]["stats"]["rx_otherhost_dropped"], Value::Null);
    let rows = json(&nsmap(DEMO, &["links", "--json"]));
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["stats"].is_null())
    );
    insta::assert_snapshot!(
        "hostile_links_stats",
        stdout(&nsmap(HOSTILE, &["links", "-s"]))
    );
}
