//! A namespace's layer-3 dumps on its socket, in one fixed order, after
//! its link and address dumps: IPv4 then IPv6 routes (the four netconf
//! questions ride in the first datagram), rules, neighbours, proxy
//! entries, the FDB where there is a bridge or vxlan, nexthop objects
//! where a route names one.
//!
//! Invariants: every request is a plain dump or GET with no attribute the
//! kernel could silently ignore (NETLINK_GET_STRICT_CHK is not set, so a
//! filter attribute it does not take is dropped without an error): the
//! dumps ask for everything and the replies are filtered here. A failed
//! dump leaves its list None and is reported; the others go on.
//!
//! Which dumps take the rtnl mutex on Linux 6.18 (rtnl_msg_handler flags):
//! the per-family route dumps (inet_dump_fib, inet6_dump_fib), the rule
//! dump (fib_nl_dumprule), the neighbour dump (neigh_dump_info) and the
//! netconf GETs do not; an AF_UNSPEC route dump (rtnl_dump_all), the FDB
//! dump (rtnl_fdb_dump) and the nexthop dump (rtm_dump_nexthop) do. Routes
//! are dumped per family: one AF_UNSPEC dump costs a thread less (13 ms
//! against 20 ms for 1,000 namespaces, one socket each), but a whole scan
//! measured the same either way (two workers, 116 ms), and the per-family
//! dumps never hold the mutex every other rtnetlink user of the host
//! waits for.
//!
//! Costs that grow faster than the namespace count (kernel data
//! structures, not nsmap's): the neighbour tables are global, so each
//! namespace's dump walks every namespace's entries (neigh_dump_table
//! skips the others one by one: 11 µs per namespace at 1,000, 24 µs at
//! 2,000, IPv4); a bridge's FDB dump visits the whole table once per port
//! (br_fdb_dump with a filter device).

use super::addr::{AF_INET, AF_INET6};
use super::neigh::{self, AF_BRIDGE, NDMSG_LEN, NTF_PROXY};
use super::netconf::{IFINDEX_ALL, IFINDEX_DEFAULT};
use super::nexthop::{self, NHMSG_LEN};
use super::route::{self, RTMSG_LEN};
use super::rule::{self, FIB_RULE_HDR_LEN};
use super::{
    Answer, Dumped, NlError, Question, RTM_GETNEIGH, RTM_GETNEXTHOP, RTM_GETROUTE, RTM_GETRULE,
    RTM_NEWNEIGH, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE, Request, RtSocket,
};
use crate::raw::RawLink;
use crate::raw::l3::RawL3;

/// What the layer-3 dumps of one namespace returned (its `sysctl` and
/// `firewall` are the caller's to read) and what went wrong.
pub struct L3Dump {
    pub l3: RawL3,
    pub problems: Vec<L3Problem>,
}

/// One layer-3 list that could not be read whole.
#[derive(Debug)]
pub enum L3Problem {
    /// The dump (or question) failed: its list is None.
    Failed(&'static str, NlError),
    /// The kernel flagged every attempt interrupted: the list may be
    /// incomplete.
    Interrupted(&'static str),
}

impl RtSocket {
    /// Every layer-3 dump of the namespace, given its links (from the link
    /// dump this socket just made, with their devconf arrays).
    pub fn dump_l3(&mut self, buf: &mut [u8], links: &[RawLink]) -> L3Dump {
        let mut problems = Vec::new();
        let mut l3 = RawL3::default();

        // Routes, with the namespace-wide netconf questions in the first
        // datagram: a GET answers within a dump's recvs, no send of its own.
        let questions = [AF_INET, AF_INET6]
            .into_iter()
            .flat_map(|f| {
                [
                    Question::Netconf(f, IFINDEX_ALL),
                    Question::Netconf(f, IFINDEX_DEFAULT),
                ]
            })
            .collect();
        let mut answers = Vec::new();
        let mut routes = self.dump(
            &Request::header(
                "RTM_GETROUTE",
                RTM_GETROUTE,
                RTM_NEWROUTE,
                RTMSG_LEN,
                AF_INET,
            ),
            buf,
            route::parse,
            questions,
            &mut answers,
        );
        if let Ok(v4) = &mut routes {
            match self.dump(
                &Request::header(
                    "RTM_GETROUTE",
                    RTM_GETROUTE,
                    RTM_NEWROUTE,
                    RTMSG_LEN,
                    AF_INET6,
                ),
                buf,
                route::parse,
                Vec::new(),
                &mut Vec::new(),
            ) {
                Ok(v6) => {
                    v4.items.extend(v6.items);
                    v4.complete &= v6.complete;
                }
                Err(e) => routes = Err(e),
            }
        }
        l3.routes = take("routes", routes, &mut problems);
        for answer in answers {
            match answer {
                Answer::Netconf(conf) => l3.netconf.push(conf),
                // A kernel without IPv6 has no AF_INET6 netconf to give.
                Answer::Failed(_, code)
                    if code == -libc::EAFNOSUPPORT || code == -libc::EOPNOTSUPP => {}
                Answer::Failed(what, code) => {
                    problems.push(L3Problem::Failed("netconf", NlError::Kernel(what, code)));
                }
                Answer::Nsid(_) => {}
            }
        }

        // Rules: one AF_UNSPEC dump walks every family's rules
        // (fib_nl_dumprule); rule::parse keeps IPv4 and IPv6.
        let rules = self.dump(
            &Request::header("RTM_GETRULE", RTM_GETRULE, RTM_NEWRULE, FIB_RULE_HDR_LEN, 0),
            buf,
            rule::parse,
            Vec::new(),
            &mut Vec::new(),
        );
        l3.rules = take("rules", rules, &mut problems);

        // Neighbours: AF_UNSPEC walks the ARP and NDP tables.
        let mut neighbours = self.dump(
            &Request::header("RTM_GETNEIGH", RTM_GETNEIGH, RTM_NEWNEIGH, NDMSG_LEN, 0),
            buf,
            neigh::parse,
            Vec::new(),
            &mut Vec::new(),
        );
        // Proxy entries, asked everywhere: they can answer only where a
        // device forwards (arp_process, ndisc_recv_ns), but a new
        // namespace inherits IPv4 forwarding from the initial one
        // (devconf_inherit_init_net 0), so on a host with ip_forward=1
        // that is every namespace — and the dump is cheap (pneigh_dump_table
        // walks 16 buckets: ~2 µs per namespace on Linux 6.18).
        if let Ok(normal) = &mut neighbours {
            let mut request =
                Request::header("RTM_GETNEIGH", RTM_GETNEIGH, RTM_NEWNEIGH, NDMSG_LEN, 0);
            request.payload[10] = NTF_PROXY; // ndm_flags
            match self.dump(&request, buf, neigh::parse, Vec::new(), &mut Vec::new()) {
                Ok(proxy) => {
                    normal.items.extend(proxy.items);
                    normal.complete &= proxy.complete;
                }
                Err(e) => neighbours = Err(e),
            }
        }
        l3.neighbours = take("neighbours", neighbours, &mut problems);

        // The FDB: without a bridge or a vxlan, every entry would be a
        // device's own address list, which is dropped anyway.
        let vxlan: Vec<u32> = links
            .iter()
            .filter(|l| l.kind.as_deref() == Some("vxlan"))
            .map(|l| l.ifindex)
            .collect();
        let bridged = links.iter().any(|l| l.kind.as_deref() == Some("bridge"));
        l3.fdb = if bridged || !vxlan.is_empty() {
            // A bare ndmsg: rtnl_fdb_dump's legacy parse takes no filter
            // from a message of exactly that size.
            let fdb = self.dump(
                &Request::header(
                    "RTM_GETNEIGH",
                    RTM_GETNEIGH,
                    RTM_NEWNEIGH,
                    NDMSG_LEN,
                    AF_BRIDGE,
                ),
                buf,
                |p| neigh::parse_fdb(p).filter(|f| neigh::is_forwarding_entry(f, &vxlan)),
                Vec::new(),
                &mut Vec::new(),
            );
            take("bridge fdb", fdb, &mut problems)
        } else {
            Some(Vec::new())
        };

        // Nexthop objects, only when a route names one.
        if l3.routes.iter().flatten().any(|r| r.nhid.is_some()) {
            let nexthops = self.dump(
                &Request::header(
                    "RTM_GETNEXTHOP",
                    RTM_GETNEXTHOP,
                    RTM_NEWNEXTHOP,
                    NHMSG_LEN,
                    0,
                ),
                buf,
                nexthop::parse,
                Vec::new(),
                &mut Vec::new(),
            );
            l3.nexthops = take("nexthops", nexthops, &mut problems);
        }
        L3Dump { l3, problems }
    }
}

/// A dump's list, its problem recorded.
fn take<T>(
    what: &'static str,
    dumped: Result<Dumped<T>, NlError>,
    problems: &mut Vec<L3Problem>,
) -> Option<Vec<T>> {
    match dumped {
        Ok(d) => {
            if !d.complete {
                problems.push(L3Problem::Interrupted(what));
            }
            Some(d.items)
        }
        Err(e) => {
            problems.push(L3Problem::Failed(what, e));
            None
        }
    }
}
