//! The firewall of one namespace: nftables tables, chains, rules (decoded
//! to register-level expressions) and sets with their elements over
//! NETLINK_NETFILTER, iptables-legacy (x_tables) tables
//! through their getsockopt interface. Called on a thread that has entered
//! the namespace; every socket is made here, so it belongs to that
//! namespace, and is closed before returning (nothing stays pinned).
//!
//! Read-only by construction: only GET messages and GET socket options
//! exist in this module ([`socket`], [`xtables`]); nothing asks for a
//! module the kernel has not loaded ([`modules`]) or for an x_tables table
//! the namespace does not list (asking would create it, [`xtables`]).
//!
//! Cost: most namespaces have no firewall, so the common path is one
//! netlink socket, one send (`[GETGEN, GETTABLE]`) and two recvs, plus two
//! small procfs reads; chains, sets, elements and rules are only dumped
//! when there are tables, and an x_tables socket only made when a names
//! file lists one.
//!
//! One file per object kind: [`generation`], [`table`], [`chain`],
//! [`rule`] and its [`expr`]essions, [`set`] and its elements, [`flowtable`], with
//! [`ruleset`] keeping the dumps consistent and [`attr`] the walking.

pub mod attr;
#[cfg(test)]
mod captures;
#[cfg(test)]
mod captures_rules;
pub mod chain;
pub mod expr;
pub mod flowtable;
pub mod generation;
pub mod modules;
pub mod rule;
pub mod ruleset;
pub mod set;
pub mod socket;
pub mod table;
pub mod xtables;

use nix::errno::Errno;

use crate::raw::l3::RawFirewall;
use crate::sys::netlink::NlError;

/// Reads the firewall of the calling thread's namespace. `buf` is the
/// thread's reusable receive buffer (at least 64 KiB: an nf_tables dump
/// part is at most 32 KiB).
pub fn read(buf: &mut [u8]) -> RawFirewall {
    let mut firewall = RawFirewall::default();
    match nftables(buf) {
        Ok(None) => firewall.nftables = Some(Vec::new()),
        Ok(Some(ruleset)) => {
            if let Some((before, after)) = ruleset.changed {
                firewall.problems.push(format!(
                    "the nftables ruleset kept changing while it was read ({} attempts, the last from generation {} to {}), so its chains, rules and sets may mix two versions; scan again",
                    ruleset::ATTEMPTS,
                    show(before),
                    show(after),
                ));
            }
            firewall.nftables = Some(ruleset.tables);
            firewall.nft_generation = ruleset.generation;
        }
        Err(problem) => firewall.problems.push(problem),
    }
    match xtables::read(buf) {
        Ok(tables) => firewall.iptables_legacy = Some(tables),
        Err(problem) => firewall.problems.push(problem),
    }
    firewall
}

/// The nftables ruleset; Ok(None) when the kernel has no nf_tables (so no
/// tables); Err with the problem text when it could not be read.
fn nftables(buf: &mut [u8]) -> Result<Option<ruleset::Ruleset>, String> {
    match modules::nf_tables_present() {
        Some(true) => {}
        Some(false) => return Ok(None),
        None => {
            return Err("nftables not read: no nf_tables module is loaded and the kernel's modules.builtin is not readable, so asking could load one; make /lib/modules readable to see whether nf_tables is built in".to_string());
        }
    }
    let read = socket::NfSocket::open().and_then(|mut s| ruleset::read(&mut s, buf));
    match read {
        Ok(ruleset) => Ok(Some(ruleset)),
        Err(e) => match errno(&e) {
            // No nfnetlink (socket), no nf_tables subsystem (nfnetlink_rcv_msg).
            Some(Errno::EPROTONOSUPPORT | Errno::EOPNOTSUPP | Errno::ENOENT) => Ok(None),
            Some(Errno::EPERM | Errno::EACCES) => Err(format!(
                "cannot read nftables: {e} (NETLINK_NETFILTER needs CAP_NET_ADMIN in the namespace); run as root"
            )),
            _ => Err(format!("cannot read nftables: {e}")),
        },
    }
}

/// The errno behind a failure, if it has one.
fn errno(e: &NlError) -> Option<Errno> {
    match e {
        NlError::Sys(_, errno) => Some(*errno),
        NlError::Kernel(_, code) => Some(Errno::from_raw(-code)),
        NlError::Timeout | NlError::Malformed(_) => None,
    }
}

fn show(generation: Option<u32>) -> String {
    generation.map_or_else(|| "unknown".to_string(), |g| g.to_string())
}
