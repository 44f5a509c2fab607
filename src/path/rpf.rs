//! IPv4 source validation on input (net/ipv4/fib_frontend.c
//! `fib_validate_source`, `__fib_validate_source`): what the kernel does
//! with a packet's source address before it delivers or forwards it — and
//! before it answers an ARP request.
//!
//! - rp_filter is max(`all`, device): 0 off, 1 strict, 2 loose.
//! - Off, with no custom rules or local routes: only a source that is one
//!   of the namespace's own addresses is refused (a martian), unless
//!   `accept_local`.
//! - Otherwise the reverse route is looked up (destination = the source,
//!   input device = the packet's output device, or lo for local
//!   delivery): no route fails under strict and loose filtering; a result
//!   that is not unicast is a martian (a local one passes with
//!   `accept_local`); a route through the arrival device passes; a device
//!   without IPv4 addresses passes unless filtering; strict fails any
//!   other route, loose passes it.
//!
//! IPv6 has no rp_filter in the routing code; its callers skip this.

use std::net::IpAddr;

use super::fib::{self, Fib, LOOPBACK_IFINDEX, Opts, Transport};
use super::view::{NsView, iface_addrs};
use crate::snapshot::l3::{Family, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN};

/// The outcome of validating a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Pass,
    /// -EINVAL: a martian source.
    Martian(String),
    /// -EXDEV: reverse-path filtering drops it.
    Rpf(String),
    /// The snapshot does not say enough.
    Unknown(String),
}

/// Whether the namespace's IPv4 rules are the three the kernel starts
/// with; anything else makes the kernel take the full check.
fn default_rules(view: &NsView<'_>) -> bool {
    let rules = view.rules(Family::Inet);
    rules.len() == 3
        && rules
            .iter()
            .zip([
                (0, TABLE_LOCAL),
                (32766, TABLE_MAIN),
                (32767, TABLE_DEFAULT),
            ])
            .all(|(r, (priority, table))| {
                r.rule.priority == priority
                    && r.rule.action == "lookup"
                    && r.rule.table == Some(table)
                    && r.src.is_none()
                    && r.dst.is_none()
                    && r.rule.iif.is_none()
                    && r.rule.oif.is_none()
                    && !r.rule.not
                    && r.rule.fwmark.is_none()
                    && r.rule.fwmask.is_none()
            })
}

/// A local-table route someone added (fib_has_custom_local_routes).
fn custom_local_routes(view: &NsView<'_>) -> bool {
    view.table(Family::Inet, TABLE_LOCAL)
        .is_some_and(|routes| routes.iter().any(|r| r.route.protocol != "kernel"))
}

/// `fib_validate_source(src, dst, oif, dev)`: `oif` is the device the
/// packet will leave by (None for local delivery), `dev` the one it came in
/// by.
pub fn validate(
    view: &NsView<'_>,
    src: IpAddr,
    dst: IpAddr,
    oif: Option<u32>,
    dev: u32,
    transport: Transport,
) -> Check {
    if Family::of(src) != Family::Inet {
        return Check::Pass;
    }
    let label = view.label();
    let dev_name = view
        .iface(dev)
        .map_or_else(|| format!("if{dev}"), |i| i.ifname.as_str().to_string());
    let Some(rpf) = view.rp_filter(dev) else {
        return Check::Unknown(format!(
            "nsmap does not know rp_filter for {dev_name} in {label}"
        ));
    };
    // accept_local decides only for a source that is the namespace's own
    // (or routed as local): `all` is not read everywhere (see the scan).
    let accept_local = || view.accept_local(dev);
    let full = || {
        full_check(
            view,
            src,
            dst,
            oif,
            dev,
            rpf,
            &accept_local,
            &label,
            &dev_name,
            transport,
        )
    };
    if rpf == 0 {
        let quick = if view.owners(src).is_empty() {
            Check::Pass
        } else {
            match accept_local() {
                Some(true) => Check::Pass,
                Some(false) => Check::Martian(format!("{src} is one of {label}'s own addresses")),
                None => Check::Unknown(format!(
                    "{src} is one of {label}'s own addresses: whether it is taken depends on accept_local, which the snapshot does not have"
                )),
            }
        };
        if !default_rules(view) || custom_local_routes(view) {
            return full();
        }
        // The kernel takes the full check also when the packet leaves by
        // the device it came in by and send_redirects is on (the default),
        // and when rules were changed and changed back (they still count
        // as custom). Where the two checks agree, either is the answer.
        let deep = full();
        let same = std::mem::discriminant(&deep) == std::mem::discriminant(&quick);
        return if same || matches!(deep, Check::Unknown(_)) {
            quick
        } else if oif == Some(dev) {
            deep
        } else {
            Check::Unknown(format!(
                "whether {label} takes {src} as a martian depends on whether its rules were ever changed"
            ))
        };
    }
    full()
}

#[allow(clippy::too_many_arguments)]
fn full_check(
    view: &NsView<'_>,
    src: IpAddr,
    dst: IpAddr,
    oif: Option<u32>,
    dev: u32,
    rpf: i32,
    accept_local: &dyn Fn() -> Option<bool>,
    label: &str,
    dev_name: &str,
    transport: Transport,
) -> Check {
    // The reverse lookup carries the packet's protocol and its ports
    // swapped where a rule needs them (__fib_validate_source after
    // fib4_rules_early_flow_dissect; without such a rule none looks).
    let mut flow = fib::input_flow(
        Family::Inet,
        src,
        dst,
        oif.unwrap_or(LOOPBACK_IFINDEX),
        transport.proto,
        transport.dport,
        transport.sport,
    );
    flow.src = Some(dst);
    let last_resort = |why: String| {
        if rpf != 0 {
            Check::Rpf(why)
        } else {
            Check::Pass
        }
    };
    let m = match fib::lookup(view, &flow, Opts::default()) {
        Err(e) => return Check::Unknown(e),
        Ok(Fib::NoRoute | Fib::Reject { .. }) => {
            return last_resort(format!("{label} has no route back to {src}"));
        }
        Ok(Fib::Route(m)) => m,
    };
    let kind = m.route.kind.as_str();
    if kind != "unicast" {
        let accepted = kind == "local"
            && match accept_local() {
                Some(v) => v,
                None => {
                    return Check::Unknown(format!(
                        "{label} routes {src} as local: whether it is taken depends on accept_local, which the snapshot does not have"
                    ));
                }
            };
        if !accepted {
            return Check::Martian(format!(
                "{label} routes {src} as {kind}: the source is a martian"
            ));
        }
    }
    let uses_dev = if m.route.nexthops.is_empty() {
        m.route.dev.as_ref().is_some_and(|d| d.ifindex == dev)
    } else {
        m.route
            .nexthops
            .iter()
            .any(|p| p.dev.as_ref().is_some_and(|d| d.ifindex == dev))
    };
    let lo = view.loopback().is_some_and(|l| l.ifindex == dev);
    if uses_dev || (kind == "local" && lo) {
        return Check::Pass;
    }
    let has_ipv4 = view
        .iface(dev)
        .is_some_and(|i| iface_addrs(i).iter().any(|a| a.family == Family::Inet));
    if !has_ipv4 {
        return last_resort(format!("{dev_name} has no IPv4 address"));
    }
    if rpf == 1 {
        let out = m
            .route
            .dev
            .as_ref()
            .and_then(|d| d.ifname.as_ref())
            .map_or_else(|| "another device".to_string(), |n| n.as_str().to_string());
        return Check::Rpf(format!(
            "strict rp_filter on {dev_name} in {label}: the route back to {src} leaves by {out}, not by {dev_name}"
        ));
    }
    Check::Pass
}
