//! NSM035 and NSM036: queueing disciplines that slow an interface down.
//! A netem left behind by a chaos test delays or drops every packet the
//! interface sends; a tbf/htb/netem rate limit that is dropping, or that
//! traffic fills, caps a container whose links all look healthy. Only
//! what the kernel counted or what sampled rates show is reported: a
//! limit nothing has hit yet is a choice, not a problem.

use super::{Code, Finding, describe, fix};
use crate::rates::Rate;
use crate::render::qdisc::{rate as tc_rate, summary};
use crate::snapshot::tc::Qdisc;
use crate::snapshot::{Index, Interface, Namespace, Snapshot};

/// The share of a rate limit from which sampled traffic is reported, in
/// percent.
const SATURATED: f64 = 90.0;

/// NSM035: a netem that delays, drops, duplicates, corrupts, reorders or
/// rate-limits.
pub fn impairment(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ns, iface, q) in qdiscs(snapshot) {
        let Some(n) = &q.netem else { continue };
        let impairs = n.delay_us > 0.0
            || n.jitter_us > 0.0
            || n.loss > 0.0
            || n.loss_model.is_some()
            || n.duplicate > 0.0
            || n.corrupt > 0.0
            || n.reorder > 0.0
            || n.rate.is_some();
        if !impairs {
            continue;
        }
        out.push(Finding::new(
            Code::QdiscImpairment,
            Some(ns.inode),
            vec![super::End { ns, iface }.link_ref()],
            format!(
                "{} on {}: every packet it sends is impaired",
                summary(q),
                describe(ns, iface)
            ),
            delete_hint(ns, iface, q),
        ));
    }
    out
}

/// What NSM036 judges a rate limit on: its lifetime counters alone, or
/// what happened during `doctor --sample` (the snapshot at the start of
/// the sample and the rates measured over it).
pub enum Evidence<'a> {
    Lifetime,
    Sampled {
        before: &'a Index<'a>,
        rates: &'a [Rate],
    },
}

/// The drops `q` gained since `old` (the same interface at the start of
/// the sample) had it: the same qdisc is the one of the same kind, handle
/// and parent. None when it did not drop, or was not there before.
pub(super) fn drops_since(old: &Interface, q: &Qdisc) -> Option<u32> {
    let earlier = old
        .qdiscs
        .iter()
        .flatten()
        .find(|o| o.kind == q.kind && o.handle == q.handle && o.parent == q.parent)?;
    let (now, then) = (q.stats.as_ref()?, earlier.stats.as_ref()?);
    now.drops.checked_sub(then.drops).filter(|&d| d > 0)
}

/// NSM036: a rate limit (tbf, htb, netem's rate) that drops packets, or
/// that traffic fills to 90% or more. On a snapshot alone, drops since it
/// was created (overlimits alone are shaping at work — every packet that
/// waited for tokens — not a problem); with a sample, only what grew
/// during it, and the traffic measured. A netem that also loses or
/// corrupts on purpose has its drops told by NSM035, not blamed on its
/// rate.
pub fn rate_limited(snapshot: &Snapshot, evidence: Evidence<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ns, iface, q) in qdiscs(snapshot) {
        let Some(limit) = limit(q) else { continue };
        let mut reasons = Vec::new();
        let drops_are_its_own = q
            .netem
            .as_ref()
            .is_none_or(|n| n.loss <= 0.0 && n.loss_model.is_none() && n.corrupt <= 0.0);
        let now = q.stats.as_ref();
        match &evidence {
            Evidence::Lifetime => {
                if let Some(s) = now
                    && s.drops > 0
                    && drops_are_its_own
                {
                    reasons.push(format!(
                        "it has dropped {} packets since it was created (and made packets wait {} times)",
                        s.drops, s.overlimits
                    ));
                }
            }
            Evidence::Sampled { before, rates } => {
                let sampled = rates.iter().find(|r| {
                    r.netns == ns.inode && r.ifindex == iface.ifindex && !r.new && r.seconds > 0.0
                });
                let old = before
                    .namespace(ns.inode)
                    .and_then(|b| b.interface(iface.ifindex));
                if let (Some(r), Some(old)) = (sampled, old)
                    && drops_are_its_own
                    && let Some(grew) = drops_since(old, q)
                {
                    reasons.push(format!(
                        "it dropped {grew} packets during the sample ({:.1}/s)",
                        f64::from(grew) / r.seconds
                    ));
                }
                // Egress qdiscs shape what the interface sends.
                if let Some(r) = sampled
                    && q.parent == "root"
                    && limit > 0
                    && r.tx_bytes_per_s * 100.0 >= limit as f64 * SATURATED
                {
                    reasons.push(format!(
                        "it sends {} of its {} ({:.0}%)",
                        tc_rate(r.tx_bytes_per_s as u64),
                        tc_rate(limit),
                        r.tx_bytes_per_s * 100.0 / limit as f64
                    ));
                }
            }
        }
        if reasons.is_empty() {
            continue;
        }
        out.push(Finding::new(
            Code::RateLimitSaturated,
            Some(ns.inode),
            vec![super::End { ns, iface }.link_ref()],
            format!(
                "{} on {} limits its traffic: {}",
                summary(q),
                describe(ns, iface),
                reasons.join("; ")
            ),
            fix::command_in(ns, "tc").map(|tc| {
                format!(
                    "{tc} -s qdisc show dev {} (raise the rate with tc qdisc change, or find the sender)",
                    fix::quote(&iface.ifname)
                )
            }),
        ));
    }
    out
}

/// The rate a qdisc holds traffic to, in bytes per second: tbf's rate,
/// netem's rate, or for htb the sum of its top classes' ceilings (what
/// all of them may send together).
fn limit(q: &Qdisc) -> Option<u64> {
    if let Some(t) = &q.tbf {
        return Some(t.rate);
    }
    if let Some(r) = q.netem.as_ref().and_then(|n| n.rate) {
        return Some(r);
    }
    if q.kind == "htb" {
        let classes = q.classes.as_ref()?;
        let top = classes.iter().filter(|c| c.parent == "root");
        return Some(top.map(|c| c.ceil).fold(0, u64::saturating_add));
    }
    None
}

/// Every qdisc of every interface nsmap read qdiscs for.
fn qdiscs(snapshot: &Snapshot) -> impl Iterator<Item = (&Namespace, &Interface, &Qdisc)> {
    snapshot.namespaces.iter().flat_map(|ns| {
        ns.interfaces
            .iter()
            .flat_map(move |iface| iface.qdiscs.iter().flatten().map(move |q| (ns, iface, q)))
    })
}

/// `tc qdisc del dev X root`, or by parent and handle for a qdisc below
/// the root.
fn delete_hint(ns: &Namespace, iface: &Interface, q: &Qdisc) -> Option<String> {
    let tc = fix::command_in(ns, "tc")?;
    let dev = fix::quote(&iface.ifname);
    if q.parent == "root" {
        Some(format!("{tc} qdisc del dev {dev} root"))
    } else {
        // Quoted: a recorded snapshot can hold anything in these.
        Some(format!(
            "{tc} qdisc del dev {dev} parent {} handle {}",
            fix::quote_bytes(q.parent.as_bytes()),
            fix::quote_bytes(q.handle.as_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::name::Name;
    use crate::snapshot::tc::{Netem, Tbf, TcClass, TcStats};

    fn root(kind: &str) -> Qdisc {
        Qdisc {
            kind: kind.into(),
            handle: "8001:".into(),
            parent: "root".into(),
            stats: Some(TcStats::default()),
            ..Qdisc::default()
        }
    }

    fn with(qdiscs: Vec<Qdisc>) -> Snapshot {
        let mut eth0 = iface(2, "eth0", Some("veth"));
        eth0.qdiscs = Some(qdiscs);
        snapshot(vec![named(10, "web", vec![lo(), eth0])])
    }

    fn rate(tx: f64) -> Rate {
        Rate {
            netns: 10,
            ifindex: 2,
            ifname: Name::from("eth0"),
            label: "web".into(),
            rx_bytes_per_s: 0.0,
            tx_bytes_per_s: tx,
            rx_packets_per_s: 0.0,
            tx_packets_per_s: 0.0,
            rx_dropped_per_s: 0.0,
            tx_dropped_per_s: 0.0,
            rx_errors_per_s: 0.0,
            tx_errors_per_s: 0.0,
            new: false,
            seconds: 1.0,
            rx_nohandler_per_s: None,
        }
    }

    #[test]
    fn netem_that_impairs_is_reported_with_its_delete_command() {
        let mut q = root("netem");
        q.netem = Some(Netem {
            delay_us: 50_000.0,
            loss: 1.0,
            limit: 1000,
            ..Netem::default()
        });
        let found = impairment(&with(vec![q]));
        assert_eq!(codes(&found), ["NSM035"]);
        assert_eq!(refs(&found[0]), ["eth0@10"]);
        assert!(
            found[0]
                .message
                .starts_with("netem delay 50ms loss 1% on eth0@"),
            "{}",
            found[0].message
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("tc -n web qdisc del dev eth0 root")
        );
        // A netem that does nothing (limit only) and other kinds are quiet.
        let mut idle = root("netem");
        idle.netem = Some(Netem {
            limit: 1000,
            ..Netem::default()
        });
        assert!(impairment(&with(vec![idle, root("noqueue")])).is_empty());
        // Unread qdiscs: nothing to say.
        assert!(impairment(&snapshot(vec![named(10, "web", vec![lo()])])).is_empty());
    }

    /// NSM036 on `s` with the sample's start `before` and `rates`.
    fn sampled(s: &Snapshot, before: &Snapshot, rates: &[Rate]) -> Vec<Finding> {
        let before = before.index();
        rate_limited(
            s,
            Evidence::Sampled {
                before: &before,
                rates,
            },
        )
    }

    #[test]
    fn a_limit_that_drops_or_fills_is_reported() {
        let mut tbf = root("tbf");
        tbf.tbf = Some(Tbf {
            rate: 125_000,
            burst: 32_768,
            ..Tbf::default()
        });
        let idle = with(vec![tbf.clone()]);
        // Never hit, no rates: quiet.
        assert!(rate_limited(&idle, Evidence::Lifetime).is_empty());
        // Traffic at 80% of the rate: quiet; at 95%: reported.
        assert!(sampled(&idle, &idle, &[rate(100_000.0)]).is_empty());
        let found = sampled(&idle, &idle, &[rate(118_750.0)]);
        assert_eq!(codes(&found), ["NSM036"]);
        assert!(found[0].message.contains("(95%)"), "{}", found[0].message);
        // A rate taken over no interval says nothing.
        let mut fresh = rate(500_000.0);
        fresh.new = true;
        assert!(sampled(&idle, &idle, &[fresh]).is_empty());
        // Waits alone (overlimits) are shaping at work: quiet.
        tbf.stats = Some(TcStats {
            overlimits: 577,
            ..TcStats::default()
        });
        let waited = with(vec![tbf.clone()]);
        assert!(rate_limited(&waited, Evidence::Lifetime).is_empty());
        // Dropping, from its counters alone.
        tbf.stats = Some(TcStats {
            drops: 12,
            overlimits: 340,
            ..TcStats::default()
        });
        let dropped = with(vec![tbf.clone()]);
        let found = rate_limited(&dropped, Evidence::Lifetime);
        assert_eq!(codes(&found), ["NSM036"]);
        assert!(
            found[0].message.contains(
                "dropped 12 packets since it was created (and made packets wait 340 times)"
            ),
            "{}",
            found[0].message
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some(
                "tc -n web -s qdisc show dev eth0 (raise the rate with tc qdisc change, or find the sender)"
            )
        );
        // Sampled: old drops are history; new ones are reported.
        assert!(sampled(&dropped, &dropped, &[rate(1000.0)]).is_empty());
        let found = sampled(&dropped, &idle, &[rate(1000.0)]);
        assert_eq!(codes(&found), ["NSM036"]);
        assert!(
            found[0]
                .message
                .contains("dropped 12 packets during the sample (12.0/s)")
        );
    }

    #[test]
    fn netem_losing_on_purpose_is_not_a_rate_limit_dropping() {
        let mut q = root("netem");
        q.netem = Some(Netem {
            loss: 1.0,
            rate: Some(125_000),
            ..Netem::default()
        });
        q.stats = Some(TcStats {
            drops: 40,
            ..TcStats::default()
        });
        assert!(rate_limited(&with(vec![q]), Evidence::Lifetime).is_empty());
    }

    #[test]
    fn htb_is_limited_by_its_top_classes_ceilings() {
        let class = |parent: &str, ceil| TcClass {
            parent: parent.into(),
            ceil,
            ..TcClass::default()
        };
        let mut htb = root("htb");
        htb.classes = Some(vec![
            class("root", 1_000_000),
            class("root", 250_000),
            class("1:1", 5_000_000),
        ]);
        let h = with(vec![htb]);
        assert!(sampled(&h, &h, &[rate(1_000_000.0)]).is_empty());
        let found = sampled(&h, &h, &[rate(1_200_000.0)]);
        assert_eq!(codes(&found), ["NSM036"]);
        // Counters of a qdisc that limits nothing are no limit.
        let mut fifo = root("pfifo");
        fifo.stats = Some(TcStats {
            drops: 5,
            ..TcStats::default()
        });
        assert!(rate_limited(&with(vec![fifo]), Evidence::Lifetime).is_empty());
    }
}
