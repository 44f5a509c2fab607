//! NSM037–NSM040: counters that grow while `nsmap doctor --sample SECS`
//! watches. A counter's total says little (a drop at boot a week ago is
//! not a problem today), so these run only on rates measured over the
//! sample; without `--sample` the counters are facts in the JSON, not
//! findings.
//!
//! Where a veth's drops come from decides what to say: `veth_xmit` counts
//! a frame it could not hand to the peer (the peer is down, or its
//! backlog is full — `tx_dropped` on the sender); the peer counts what
//! its own stack then refused (`rx_dropped`: a full queue, an XDP drop, a
//! protocol that is off). Both are reported on the veth whose traffic is
//! lost, naming the peer.

use super::{Code, Finding, fix};
use crate::query::self_ref;
use crate::rates::Rate;
use crate::snapshot::{Index, Interface, Namespace};

/// Growth is reported from this many per second and this many in all
/// over the sample: `rx_dropped` also counts frames no protocol takes
/// (LLDP every 30 s from a switch, IPv6 where it is off), and a stray one
/// during a sample is no problem.
const MIN_PER_S: f64 = 1.0;
const MIN_COUNT: f64 = 10.0;

/// Whether `per_s` over the sample `r` is worth a finding.
fn significant(r: &Rate, per_s: f64) -> bool {
    per_s >= MIN_PER_S && per_s * r.seconds >= MIN_COUNT
}

/// Every sampled finding, from the rates measured over the sample.
pub fn growing(index: &Index<'_>, rates: &[Rate]) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in rates.iter().filter(|r| !r.new) {
        let Some(ns) = index.namespace(r.netns) else {
            continue;
        };
        let Some(iface) = ns.interface(r.ifindex) else {
            continue;
        };
        let dropping = significant(r, r.dropped_per_s());
        if iface.kind_is("veth") && dropping {
            out.push(veth_dropping(index, ns, iface, r));
        } else if iface.slave_kind.as_deref() == Some("bridge") && dropping {
            out.push(port_dropping(index, ns, iface, r));
        } else if dropping || significant(r, r.errors_per_s()) {
            out.push(dropping_or_failing(ns, iface, r));
        }
        // A bond's or team's inactive port counts every frame it gets in
        // rx_nohandler (the handler wants exact matches only): normal in
        // active-backup, so not reported there.
        let exact_match_port = matches!(iface.slave_kind.as_deref(), Some("bond" | "team"));
        if !exact_match_port && r.rx_nohandler_per_s.is_some_and(|n| significant(r, n)) {
            out.push(nohandler(ns, iface, r));
        }
    }
    out
}

/// Qdiscs whose drops grew during the sample (a full fq_codel or pfifo,
/// a netem losing packets): on a veth, NSM037 (what the peer should have
/// received is lost before the wire); elsewhere NSM039. Paired like the
/// rates: the same interface (its rate is not `new`) and the same qdisc
/// (kind and handle) at both ends of the sample.
pub fn qdisc_drops(before: &Index<'_>, after: &Index<'_>, rates: &[Rate]) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in rates.iter().filter(|r| !r.new && r.seconds > 0.0) {
        let (Some(ns), Some(old_ns)) = (after.namespace(r.netns), before.namespace(r.netns)) else {
            continue;
        };
        let (Some(iface), Some(old)) = (ns.interface(r.ifindex), old_ns.interface(r.ifindex))
        else {
            continue;
        };
        let qdiscs = iface.qdiscs.as_deref().unwrap_or_default();
        // A classful qdisc's counters include its children's: only the
        // leaves (no other qdisc below them) are judged, or one drop
        // would be told twice.
        let leaves = qdiscs.iter().filter(|q| {
            let major = q.handle.split(':').next().unwrap_or_default();
            !qdiscs
                .iter()
                .any(|c| !std::ptr::eq(c, *q) && c.parent.split(':').next() == Some(major))
        });
        for q in leaves {
            let Some(grew) = super::qdisc::drops_since(old, q) else {
                continue;
            };
            let per_s_value = f64::from(grew) / r.seconds;
            if !significant(r, per_s_value) {
                continue;
            }
            let what = crate::render::qdisc::summary(q);
            let (code, noun) = if iface.kind_is("veth") {
                (Code::VethDropping, "veth ")
            } else {
                (Code::InterfaceDropping, "")
            };
            out.push(Finding::new(
                code,
                Some(ns.inode),
                vec![self_ref(ns, iface)],
                format!(
                    "{noun}{} drops traffic: its qdisc {what} dropped {} packets/s during the sample (a full queue, or the loss it is told to cause)",
                    name(ns, iface),
                    per_s(per_s_value)
                ),
                fix::command_in(ns, "tc").map(|tc| {
                    format!("{tc} -s qdisc show dev {}", fix::quote(&iface.ifname))
                }),
            ));
        }
    }
    out
}

/// "12.0 drops/s (rx 0, tx 12)" — the words every finding here uses;
/// when only receive drops grew, what they may be.
fn drops(r: &Rate) -> String {
    let only_rx = if r.tx_dropped_per_s == 0.0 && r.rx_dropped_per_s > 0.0 {
        " — rx_dropped also counts frames for protocols nothing here takes"
    } else {
        ""
    };
    format!(
        "{} drops/s (rx {}, tx {}{only_rx})",
        per_s(r.dropped_per_s()),
        per_s(r.rx_dropped_per_s),
        per_s(r.tx_dropped_per_s)
    )
}

fn per_s(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn name(ns: &Namespace, iface: &Interface) -> String {
    format!("{}@{}", iface.ifname.as_str(), ns.label())
}

/// NSM037: a veth losing traffic, with the reason its peer gives.
fn veth_dropping(index: &Index<'_>, ns: &Namespace, iface: &Interface, r: &Rate) -> Finding {
    let peer = iface.peer.as_ref().and_then(|p| index.resolve(p));
    let mut interfaces = vec![self_ref(ns, iface)];
    let (why, hint) = match peer {
        Some((pns, p)) => {
            interfaces.push(self_ref(pns, p));
            let peer_name = name(pns, p);
            if !p.is_up() {
                (
                    format!("its peer {peer_name} is down, so every frame sent to it is lost"),
                    fix::ip(pns, &format!("link set dev {} up", fix::quote(&p.ifname))),
                )
            } else if r.tx_dropped_per_s > 0.0 {
                (
                    format!(
                        "{peer_name} is up, so its receive queue is full (netdev_max_backlog) or an XDP program on it drops"
                    ),
                    None,
                )
            } else {
                (
                    "it refuses what arrives: a full queue, an XDP or tc program, or a protocol that is off".to_string(),
                    None,
                )
            }
        }
        None => ("its peer could not be looked up".to_string(), None),
    };
    Finding::new(
        Code::VethDropping,
        Some(ns.inode),
        interfaces,
        format!(
            "veth {} drops traffic: {} during the sample; {why}",
            name(ns, iface),
            drops(r)
        ),
        hint,
    )
}

/// NSM038: a bridge port losing traffic.
fn port_dropping(index: &Index<'_>, ns: &Namespace, iface: &Interface, r: &Rate) -> Finding {
    let mut interfaces = vec![self_ref(ns, iface)];
    let bridge = iface.master.as_ref().and_then(|m| index.resolve(m));
    if let Some((bns, b)) = bridge {
        interfaces.push(self_ref(bns, b));
    }
    let bridge = bridge.map_or_else(|| "its bridge".to_string(), |(bns, b)| name(bns, b));
    Finding::new(
        Code::BridgePortDropping,
        Some(ns.inode),
        interfaces,
        format!(
            "bridge port {} of {bridge} drops traffic: {} during the sample",
            name(ns, iface),
            drops(r)
        ),
        fix::ip(
            ns,
            &format!("-s -s link show dev {}", fix::quote(&iface.ifname)),
        ),
    )
}

/// NSM039: any other interface dropping or failing.
fn dropping_or_failing(ns: &Namespace, iface: &Interface, r: &Rate) -> Finding {
    Finding::new(
        Code::InterfaceDropping,
        Some(ns.inode),
        vec![self_ref(ns, iface)],
        format!(
            "{} drops or fails traffic: {} and {} errors/s (rx {}, tx {}) during the sample",
            name(ns, iface),
            drops(r),
            per_s(r.errors_per_s()),
            per_s(r.rx_errors_per_s),
            per_s(r.tx_errors_per_s)
        ),
        fix::ip(
            ns,
            &format!("-s -s link show dev {}", fix::quote(&iface.ifname)),
        ),
    )
}

/// NSM040: frames arriving that no protocol takes.
fn nohandler(ns: &Namespace, iface: &Interface, r: &Rate) -> Finding {
    Finding::new(
        Code::RxNohandler,
        Some(ns.inode),
        vec![self_ref(ns, iface)],
        format!(
            "{} receives frames its receive handler refuses: {} rx_nohandler/s during the sample (a handler that takes exact matches only, as a failover standby's, saw frames for nobody)",
            name(ns, iface),
            per_s(r.rx_nohandler_per_s.unwrap_or(0.0))
        ),
        None,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doctor::testing::{at, codes, host, named, snapshot, veth};
    use crate::snapshot::Snapshot;

    /// Drop rates on the first veth, bridge port and other interface of
    /// `s`, and rx_nohandler on that last one: each sampled check fires.
    pub(crate) fn dropping_everywhere(s: &Snapshot) -> Vec<Rate> {
        let mut out = Vec::new();
        let mut found = [false; 3];
        for ns in &s.namespaces {
            for i in &ns.interfaces {
                let slot = if i.kind_is("veth") {
                    0
                } else if i.slave_kind.as_deref() == Some("bridge") {
                    1
                } else {
                    2
                };
                if found[slot] {
                    continue;
                }
                found[slot] = true;
                out.push(Rate {
                    netns: ns.inode,
                    ifindex: i.ifindex,
                    ifname: i.ifname.clone(),
                    tx_dropped_per_s: 3.0,
                    rx_errors_per_s: 1.0,
                    rx_nohandler_per_s: (slot == 2).then_some(2.0),
                    seconds: 10.0,
                    ..Rate::default()
                });
            }
        }
        out
    }

    fn rate(netns: u64, ifindex: u32, tx_dropped: f64) -> Rate {
        Rate {
            netns,
            ifindex,
            tx_dropped_per_s: tx_dropped,
            seconds: 1.0,
            ..Rate::default()
        }
    }

    #[test]
    fn veth_drops_name_the_peer_and_why() {
        let mut down = veth(2, "eth0", (1, 5, "veth1"));
        down.flags.clear();
        down.operstate = "DOWN".into();
        let s = snapshot(vec![
            host(1, vec![veth(5, "veth1", (2, 2, "eth0"))]),
            named(2, "web", vec![down]),
        ]);
        let index = s.index();
        let found = growing(&index, &[rate(1, 5, 12.0)]);
        assert_eq!(codes(&found), ["NSM037"]);
        let f = &found[0];
        assert!(
            f.message.contains("its peer eth0@web is down"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("12 drops/s (rx 0.0, tx 12)"),
            "{}",
            f.message
        );
        assert_eq!(f.interfaces, [at(1, 5, "veth1"), at(2, 2, "eth0")]);
        assert_eq!(f.hint.as_deref(), Some("ip -n web link set dev eth0 up"));
    }

    #[test]
    fn qdisc_drops_growing_on_a_veth() {
        use crate::snapshot::tc::{Qdisc, TcStats};
        let with_drops = |drops: u32| {
            let mut v = veth(5, "veth1", (2, 2, "eth0"));
            v.qdiscs = Some(vec![Qdisc {
                kind: "pfifo".into(),
                handle: "8001:".into(),
                parent: "root".into(),
                stats: Some(TcStats {
                    drops,
                    ..TcStats::default()
                }),
                ..Qdisc::default()
            }]);
            snapshot(vec![host(1, vec![v])])
        };
        let (before, after) = (with_drops(10), with_drops(40));
        let mut r = rate(1, 5, 0.0);
        r.seconds = 2.0;
        let found = qdisc_drops(&before.index(), &after.index(), std::slice::from_ref(&r));
        assert_eq!(codes(&found), ["NSM037"]);
        assert!(
            found[0].message.contains("dropped 15 packets/s"),
            "{}",
            found[0].message
        );
        // No growth, or an interface first seen: nothing.
        assert!(qdisc_drops(&after.index(), &after.index(), &[r.clone()]).is_empty());
        // A child's drops are its parent's too: told once, by the leaf.
        let tree = |drops: u32| {
            let mut s = with_drops(drops);
            let v = &mut s.namespaces[0].interfaces[0];
            let mut parent = v.qdiscs.as_ref().expect("qdiscs")[0].clone();
            parent.kind = "htb".into();
            parent.handle = "1:".into();
            let leaf = v.qdiscs.as_mut().expect("qdiscs");
            leaf[0].parent = "1:10".into();
            leaf.insert(0, parent);
            s
        };
        let found = qdisc_drops(
            &tree(10).index(),
            &tree(40).index(),
            std::slice::from_ref(&r),
        );
        assert_eq!(codes(&found), ["NSM037"]);
        assert!(
            found[0].message.contains("its qdisc pfifo"),
            "{}",
            found[0].message
        );
        r.new = true;
        assert!(qdisc_drops(&before.index(), &after.index(), &[r]).is_empty());
    }

    #[test]
    fn quiet_new_and_unknown_interfaces_are_not_judged() {
        let s = snapshot(vec![host(1, vec![veth(5, "veth1", (2, 2, "eth0"))])]);
        let index = s.index();
        // A stray LLDP frame or two during the sample: no finding.
        let mut stray = rate(1, 5, 0.0);
        stray.rx_dropped_per_s = 0.5;
        stray.seconds = 4.0;
        assert!(growing(&index, &[stray.clone()]).is_empty());
        // Steady receive drops are, with what they may be.
        stray.rx_dropped_per_s = 5.0;
        let found = growing(&index, &[stray]);
        assert!(
            found[0].message.contains("protocols nothing here takes"),
            "{}",
            found[0].message
        );
        // No growth; growth on a reading with no baseline; a vanished one.
        let mut new = rate(1, 5, 50.0);
        new.new = true;
        assert!(
            growing(
                &index,
                &[rate(1, 5, 0.0), new, rate(1, 9, 5.0), rate(7, 5, 5.0)]
            )
            .is_empty()
        );
    }
}
