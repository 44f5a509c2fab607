//! Root test of the flowtable reader: a flowtable added with `nft` in a
//! test namespace (on a veth pair made there), read the way the scanner
//! reads it (`nsmap::sys::netfilter::read` on a thread inside the
//! namespace) and compared with `nft -j list flowtables`: name, table,
//! hook, priority, devices, handle. Reading changes nothing (same `nft
//! list ruleset`, same generation).
//!
//! A kernel built without CONFIG_NF_FLOW_TABLE refuses every flowtable
//! (ENOENT: no flowtable type for the family); there the test still
//! checks that the dump runs and that nsmap and `nft` both see none.
//!
//! Run as root: `cargo test -- --include-ignored`.

mod common;

use std::process::Command;

use common::{Topology, ip};
use nsmap::raw::l3::RawFirewall;
use serde_json::Value;

/// `nft ARGS` in the namespace: (success, stdout, stderr).
fn nft(netns: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "nft"])
        .args(args)
        .output()
        .expect("run nft");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn nft_ok(netns: &str, args: &[&str]) -> String {
    let (ok, out, err) = nft(netns, args);
    assert!(ok, "nft {args:?} failed: {err}");
    out
}

/// (table, name, hook, priority, devices, handle) of one flowtable.
type Seen = (
    String,
    String,
    Option<String>,
    Option<i64>,
    Vec<String>,
    u64,
);

/// `nft -j list flowtables`; `dev` is a string for one device.
fn nft_flowtables(netns: &str) -> Vec<Seen> {
    let json: Value =
        serde_json::from_str(&nft_ok(netns, &["-j", "list", "flowtables"])).expect("nft -j output");
    let mut seen: Vec<Seen> = json["nftables"]
        .as_array()
        .expect("nftables array")
        .iter()
        .filter_map(|o| o.get("flowtable"))
        .map(|f| {
            let devices = match &f["dev"] {
                Value::String(d) => vec![d.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|d| d.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            };
            (
                f["table"].as_str().expect("table").to_string(),
                f["name"].as_str().expect("name").to_string(),
                f["hook"].as_str().map(String::from),
                f["prio"].as_i64(),
                devices,
                f["handle"].as_u64().expect("handle"),
            )
        })
        .collect();
    seen.sort();
    seen
}

fn nsmap_flowtables(fw: &RawFirewall) -> Vec<Seen> {
    let mut seen: Vec<Seen> = fw
        .nftables
        .as_ref()
        .expect("nftables read")
        .iter()
        .flat_map(|t| {
            let fts = t.flowtables.as_ref().expect("flowtables read");
            fts.iter().map(move |f| {
                let mut devices: Vec<String> = f.devices.iter().map(|d| d.to_string()).collect();
                devices.sort();
                (
                    t.name.to_string(),
                    f.name.to_string(),
                    // NF_NETDEV_INGRESS is the one flowtable hook.
                    f.hook.map(|h| {
                        if h == 0 {
                            "ingress".into()
                        } else {
                            h.to_string()
                        }
                    }),
                    f.priority.map(i64::from),
                    devices,
                    f.handle,
                )
            })
        })
        .collect();
    seen.sort();
    seen
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn flowtables_match_nft() {
    let mut topo = Topology::new("nft_flowtables");
    let ns = topo.netns("ft");
    ip(&[
        "-n", &ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
    ]);
    ip(&["-n", &ns, "link", "set", "v0", "up"]);
    ip(&["-n", &ns, "link", "set", "v1", "up"]);
    nft_ok(&ns, &["add", "table", "inet", "t"]);
    let spec = "{ hook ingress priority 0; devices = { v0, v1 }; }";
    let (added, _, err) = nft(&ns, &["add", "flowtable", "inet", "t", "ft", spec]);
    let supported = added || !err.contains("No such file or directory");
    assert!(added || !supported, "nft add flowtable failed: {err}");
    if added {
        let spec = "{ hook ingress priority -10; devices = { v0 }; counter; }";
        nft_ok(&ns, &["add", "flowtable", "inet", "t", "ft2", spec]);
    } else {
        eprintln!("kernel without flowtable support: checking the empty dump only");
    }

    let before = nft_ok(&ns, &["list", "ruleset"]);
    let fw = common::firewall_in(&ns, || ());
    assert!(fw.problems.is_empty(), "{:?}", fw.problems);
    let theirs = nft_flowtables(&ns);
    let ours = nsmap_flowtables(&fw);
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), if added { 2 } else { 0 });
    if added {
        let t = &fw.nftables.as_ref().expect("read")[0];
        let flags: Vec<u32> = t.flowtables.iter().flatten().map(|f| f.flags).collect();
        assert!(flags.contains(&2), "ft2's counter flag: {flags:?}");
    }

    let again = common::firewall_in(&ns, || ());
    assert_eq!(nft_ok(&ns, &["list", "ruleset"]), before);
    assert_eq!(again.nft_generation, fw.nft_generation);
    assert_eq!(again.nftables, fw.nftables);
}
