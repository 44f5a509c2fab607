use super::*;
use crate::attribution::Container;
use crate::doctor::testing::*;

/// Host with a bridge br0 (ports vh1, vh2, and a tap), veths into A and
/// B, and a podman container "web" in B.
fn host() -> Snapshot {
    let mut b = named(20, "B", vec![lo(), veth(2, "eth0", (10, 5, "vh2"))]);
    b.containers = vec![Container {
        runtime: "podman".into(),
        id: Name::from("0123456789abcdef"),
        name: Some(Name::from("web")),
        pod: Some(Name::from("shop")),
        ..Container::default()
    }];
    b.pids = vec![77];
    b.id = Some(9);
    snapshot(vec![
        crate::doctor::testing::host(
            10,
            vec![
                lo(),
                bridge(3, "br0"),
                veth(4, "vh1", (30, 2, "eth0")).port_of(10, 3, "br0", "forwarding"),
                veth(5, "vh2", (20, 2, "eth0")).port_of(10, 3, "br0", "forwarding"),
                iface(6, "tap0", Some("tun")).port_of(10, 3, "br0", "forwarding"),
            ],
        ),
        b,
        named(
            30,
            "A",
            vec![
                lo(),
                veth(2, "eth0", (10, 4, "vh1")),
                iface(3, "dummy0", Some("dummy")),
            ],
        ),
    ])
}

fn request(targets: &[&str], bridges: &[&str], both: bool) -> Request {
    Request {
        targets: targets.iter().map(|t| Name::from(*t)).collect(),
        bridges: bridges.iter().map(|t| Name::from(*t)).collect(),
        both,
    }
}

fn names(snapshot: &Snapshot, req: &Request) -> Result<Vec<String>, Error> {
    endpoints(snapshot, req, |s| s).map(|e| e.into_iter().map(|e| e.name).collect())
}

#[test]
fn ifname_at_selector_picks_one_interface() {
    let s = host();
    assert_eq!(
        names(&s, &request(&["eth0@A"], &[], false)).expect("ok"),
        ["eth0@A"]
    );
    let e = endpoints(&s, &request(&["eth0@30"], &[], false), |s| s).expect("ok");
    assert_eq!((e[0].netns, e[0].ifindex, e[0].netns_id), (30, 2, None));
    assert_eq!(e[0].sources, [NsSource::Mount(Name::from("/run/netns/A"))]);
}

#[test]
fn container_name_and_pod_select_and_label() {
    let s = host();
    let e = endpoints(&s, &request(&["eth0@web"], &[], false), |s| s).expect("ok");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].netns_id, Some(9));
    // The label is the container's; the description keeps inode, pod, netns.
    assert_eq!(e[0].name, format!("eth0@{}", s.namespaces[1].label()));
    assert_eq!(
        e[0].description,
        "net:[20], ifindex 2, podman container web pod shop, netns B"
    );
    assert_eq!(
        e[0].sources,
        [
            NsSource::Mount(Name::from("/run/netns/B")),
            NsSource::Pid(77)
        ]
    );
    assert_eq!(
        names(&s, &request(&["shop"], &[], false))
            .expect("ok")
            .len(),
        1
    );
}

#[test]
fn namespace_alone_is_every_interface_but_lo() {
    let s = host();
    assert_eq!(
        names(&s, &request(&["A"], &[], false)).expect("ok"),
        ["eth0@A", "dummy0@A"]
    );
}

#[test]
fn both_adds_each_veth_peer_once() {
    let s = host();
    let e = endpoints(&s, &request(&["eth0@A", "dummy0@A"], &[], true), |s| s).expect("ok");
    let keys: Vec<(u64, u32)> = e.iter().map(|e| (e.netns, e.ifindex)).collect();
    assert_eq!(keys, [(30, 2), (30, 3), (10, 4)]);
    // Asking for both ends explicitly and --both: still each once.
    let e = endpoints(&s, &request(&["eth0@A", "vh1@host"], &[], true), |s| s).expect("ok");
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].sources, [NsSource::Current, NsSource::Pid(1)]);
}

#[test]
fn bridge_is_the_bridge_then_its_ports() {
    let s = host();
    let e = endpoints(&s, &request(&[], &["br0"], false), |s| s).expect("ok");
    let keys: Vec<u32> = e.iter().map(|e| e.ifindex).collect();
    assert_eq!(keys, [3, 4, 5, 6]);
    let e = endpoints(&s, &request(&[], &["br0@10"], true), |s| s).expect("ok");
    // --both: each veth port's far end too, not the tap's.
    let keys: Vec<(u64, u32)> = e.iter().map(|e| (e.netns, e.ifindex)).collect();
    assert_eq!(keys, [(10, 3), (10, 4), (10, 5), (10, 6), (30, 2), (20, 2)]);
}

#[test]
fn unknown_targets_say_what_matched_nothing() {
    let s = host();
    let err = |t: &[&str], b: &[&str]| {
        names(&s, &request(t, b, false))
            .expect_err("an error")
            .to_string()
    };
    assert!(
        err(&["eth9@A"], &[]).contains("'eth9' in namespace 'A'"),
        "{}",
        err(&["eth9@A"], &[])
    );
    assert!(err(&["eth0@nowhere"], &[]).contains("'nowhere'"));
    assert!(err(&["nowhere"], &[]).contains("'nowhere'"));
    assert!(err(&[], &["br9"]).contains("no bridge named 'br9'"));
    assert!(err(&[], &["br0@A"]).contains("no bridge named 'br0' in namespace 'A'"));
    assert!(matches!(
        names(&s, &request(&["eth9@A"], &[], false)),
        Err(Error::NoSuchInterface { .. })
    ));
    // A namespace with nothing but lo has nothing to capture.
    let lonely = snapshot(vec![named(40, "L", vec![lo()])]);
    assert!(matches!(
        names(&lonely, &request(&["L"], &[], false)),
        Err(Error::NoSuchInterface { .. })
    ));
    // lo by name is fine.
    assert_eq!(
        names(&lonely, &request(&["lo@L"], &[], false)).expect("ok"),
        ["lo@L"]
    );
}

#[test]
fn path_selectors_are_resolved_by_the_caller() {
    let s = host();
    let resolved = |sel: Selector| match sel {
        Selector::Path { path, .. } => Selector::Path {
            path,
            inode: Some(20),
        },
        other => other,
    };
    let e = endpoints(
        &s,
        &request(&["eth0@/proc/77/ns/net"], &[], false),
        resolved,
    )
    .expect("ok");
    assert_eq!(e[0].netns, 20);
}

#[test]
fn wire_endpoints_are_the_interface_then_its_peer() {
    let s = host();
    let one = wire_endpoints(&s, 30, 2, false);
    assert_eq!(
        one.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["eth0@A"]
    );
    let both = wire_endpoints(&s, 30, 2, true);
    assert_eq!(
        both.iter()
            .map(|e| (e.netns, e.ifindex))
            .collect::<Vec<_>>(),
        [(30, 2), (10, 4)]
    );
    // Not a veth: nothing to add.
    assert_eq!(wire_endpoints(&s, 30, 3, true).len(), 1);
    assert!(wire_endpoints(&s, 30, 99, true).is_empty());
}
