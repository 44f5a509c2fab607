//! Path mode: mark a source (`m`), pick a destination (`p` on an
//! interface, `P`/`:` to type an address), and the trace of
//! [`crate::path::trace`] opens in the path overlay, from where Enter jumps
//! to a hop and Back returns to the overlay.
//!
//! The source is held as a [`Location`] (namespace key + ifindex), like the
//! selection, so it survives rescans; the last trace is recomputed on every
//! new snapshot ([`App::retrace`]), which is what keeps its highlights in
//! the namespaces pane true. Tracing is pure and runs here, on the UI
//! thread: it visits only the namespaces the packet crosses.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{App, Overlay, Pane, Screen};
use crate::path::{self, Action as HopAction, Hop, Proto, Query, Trace};
use crate::snapshot::Interface;
use crate::tui::model::Location;
use crate::tui::view::text;

/// Everything path mode remembers.
#[derive(Debug, Default)]
pub struct PathMode {
    /// The marked source: a namespace, and an interface when bound to one.
    pub(in crate::tui) source: Option<Location>,
    /// The destination address while it is typed.
    pub(in crate::tui) typing: Option<String>,
    /// Why the typed text was refused; cleared by the next edit.
    pub(in crate::tui) typing_error: Option<String>,
    /// The last trace: what the path overlay shows and the namespaces pane
    /// highlights.
    pub(in crate::tui) last: Option<LastTrace>,
}

/// Where a trace aims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub addr: IpAddr,
    /// The interface (or namespace) the address was taken from, so a rescan
    /// aims at its address then, if it changed.
    pub picked: Option<Location>,
    /// How the address was chosen, for the user (terminal-safe).
    pub how: String,
}

/// A trace and what the views need of it.
#[derive(Clone, Debug)]
pub struct LastTrace {
    pub target: Target,
    pub trace: Trace,
    /// The source as text (`eth0@web` or `web`), terminal-safe.
    pub from: String,
    /// Namespaces (inode) the packet crosses, with the most telling thing
    /// that happens there (drop, then unknown, then deliver, then passing).
    pub on_path: HashMap<u64, HopAction>,
}

impl LastTrace {
    /// Forward hops, then return hops: the rows the overlay selects.
    pub fn hops(&self) -> impl Iterator<Item = &Hop> {
        self.trace.forward.iter().chain(&self.trace.back)
    }

    pub fn hop_count(&self) -> usize {
        self.trace.forward.len() + self.trace.back.len()
    }
}

/// How much a hop's action tells about its namespace's part in the path.
fn weight(action: HopAction) -> u8 {
    match action {
        HopAction::Drop => 4,
        HopAction::Unknown => 3,
        HopAction::Deliver => 2,
        HopAction::Originate | HopAction::Forward | HopAction::Bridge => 1,
    }
}

fn on_path(trace: &Trace) -> HashMap<u64, HopAction> {
    let mut map: HashMap<u64, HopAction> = HashMap::new();
    for hop in trace.forward.iter().chain(&trace.back) {
        let Some(inode) = hop.netns else { continue };
        let e = map.entry(inode).or_insert(hop.action);
        if weight(hop.action) > weight(*e) {
            *e = hop.action;
        }
    }
    map
}

/// An interface's first global address, as `p` aims at it: global scope,
/// usable (not tentative), not IPv6 link-local.
fn first_global(iface: &Interface) -> Option<IpAddr> {
    path::view::iface_addrs(iface)
        .into_iter()
        .find(|a| {
            a.scope == "global" && path::view::usable(a) && !path::net::is_ipv6_link_local(a.local)
        })
        .map(|a| a.local)
}

impl App {
    pub fn path_source(&self) -> Option<Location> {
        self.path.source
    }

    pub fn last_trace(&self) -> Option<&LastTrace> {
        self.path.last.as_ref()
    }

    /// The marked source as the status line names it.
    pub fn path_source_text(&self) -> Option<String> {
        self.describe_location(self.path.source?)
    }

    /// The destination being typed, and why the last Enter refused it.
    pub fn address_typing(&self) -> Option<(&str, Option<&str>)> {
        let text = self.path.typing.as_deref()?;
        Some((text, self.path.typing_error.as_deref()))
    }

    /// The marked source's namespace inode in the current model.
    pub(in crate::tui) fn path_source_inode(&self) -> Option<u64> {
        let (n, _) = self.model.locate(self.path.source?)?;
        Some(self.model.ns(n)?.inode)
    }

    /// `eth0@web`, or `web` for a namespace, terminal-safe; None when gone.
    fn describe_location(&self, loc: Location) -> Option<String> {
        let (n, iface) = self.model.locate(loc)?;
        match (loc.ifindex, iface) {
            (None, _) => Some(self.model.label(n).to_string()),
            (Some(_), Some(i)) => {
                let name = self.model.ns(n)?.interfaces.get(i)?.ifname.as_str();
                Some(format!("{}@{}", text::safe(name), self.model.label(n)))
            }
            (Some(_), None) => None,
        }
    }

    /// What `m` and `p` act on: the interface when the interfaces list
    /// had focus last (what the details pane describes), else the namespace.
    fn subject_location(&self) -> Option<Location> {
        let n = self.selected_ns()?;
        let iface = match self.subject {
            Pane::Interfaces => self.selected_if().map(|p| p.iface),
            Pane::Namespaces | Pane::Details => None,
        };
        self.model.location(n, iface)
    }

    /// `m`.
    pub(super) fn mark_source(&mut self) {
        let Some(loc) = self.subject_location() else {
            self.complain("no namespace selected to mark as the source".to_string());
            return;
        };
        if self.path.source == Some(loc) {
            self.clear_path();
            self.say("path source cleared".to_string());
            return;
        }
        let what = self.describe_location(loc).unwrap_or_default();
        let moved = self.path.source.is_some();
        self.path.source = Some(loc);
        // A new source asks a new question: the old answer's highlights go.
        self.path.last = None;
        self.say(format!(
            "path source {}{what}: now p on an interface (its first global address) or P to type an address · m here clears",
            if moved { "moved to " } else { "" }
        ));
    }

    /// Esc in path mode, or `m` on the source: back to no path at all.
    pub(super) fn clear_path(&mut self) {
        self.path = PathMode::default();
        if self.overlay == Some(Overlay::Path) {
            self.overlay = None;
        }
    }

    /// Whether path mode holds anything Esc should clear.
    pub(super) fn path_active(&self) -> bool {
        self.path.source.is_some() || self.path.last.is_some()
    }

    /// `p`: trace to the selection's address.
    pub(super) fn trace_to_selection(&mut self) {
        if self.path.source.is_none() {
            self.complain("mark a source first: m on a namespace or an interface".to_string());
            return;
        }
        let Some(loc) = self.subject_location() else {
            self.complain("no destination selected".to_string());
            return;
        };
        let what = self.describe_location(loc).unwrap_or_default();
        match self.address_of(loc) {
            Some(addr) => {
                let how = match loc.ifindex {
                    Some(_) => format!("{what}'s first global address"),
                    None => format!("{what}'s primary address"),
                };
                self.run_trace(Target {
                    addr,
                    picked: Some(loc),
                    how,
                });
            }
            None => self.complain(format!(
                "{what} has no global address to aim at: press P to type one"
            )),
        }
    }

    /// The address `p` aims at: an interface's first global address, or a
    /// namespace's primary one (IPv4 first), as `nsmap path` picks it.
    fn address_of(&self, loc: Location) -> Option<IpAddr> {
        let (n, iface) = self.model.locate(loc)?;
        let ns = self.model.ns(n)?;
        match loc.ifindex {
            Some(_) => first_global(ns.interfaces.get(iface?)?),
            None => {
                let snap = &self.model.snapshot;
                path::primary_address(snap, ns.inode, Some(crate::snapshot::l3::Family::Inet))
                    .or_else(|| path::primary_address(snap, ns.inode, None))
                    .map(|(addr, _)| addr)
            }
        }
    }

    /// `P` / `:`.
    pub(super) fn start_address(&mut self) {
        if self.path.source.is_none() {
            self.complain("mark a source first: m on a namespace or an interface".to_string());
            return;
        }
        self.path.typing = Some(String::new());
        self.path.typing_error = None;
    }

    pub(super) fn edit_address(&mut self, edit: impl FnOnce(&mut String)) {
        if let Some(text) = self.path.typing.as_mut() {
            edit(text);
            self.path.typing_error = None;
        }
    }

    pub(super) fn cancel_address(&mut self) {
        self.path.typing = None;
        self.path.typing_error = None;
    }

    /// Enter on the address line: a bad address keeps the line open and
    /// says why, so it can be corrected rather than retyped.
    pub(super) fn accept_address(&mut self) {
        let Some(text) = self.path.typing.clone() else {
            return;
        };
        let trimmed = text.trim();
        // `10.0.0.2/24` as copied from an address list aims at 10.0.0.2.
        let bare = trimmed.split_once('/').map_or(trimmed, |(a, _)| a);
        match bare.parse::<IpAddr>() {
            Ok(addr) => {
                self.cancel_address();
                self.run_trace(Target {
                    addr,
                    picked: None,
                    how: "typed".to_string(),
                });
            }
            Err(_) if trimmed.is_empty() => {
                self.path.typing_error = Some("type an IPv4 or IPv6 address".to_string());
            }
            Err(_) => {
                self.path.typing_error =
                    Some(format!("{} is not an IP address", text::safe(trimmed)));
            }
        }
    }

    /// Traces from the marked source to `target` and opens the overlay.
    fn run_trace(&mut self, target: Target) {
        match self.compute_trace(target) {
            Ok(last) => {
                let t = &last.trace;
                let verdict = match t.code {
                    Some(code) => format!("{} ({})", t.verdict.as_str(), code.as_str()),
                    None => t.verdict.as_str().to_string(),
                };
                self.say(format!(
                    "{} → {} ({}): {verdict}",
                    last.from, last.target.addr, last.target.how
                ));
                self.path.last = Some(last);
                self.overlay = Some(Overlay::Path);
                self.overlay_cursor = 0;
            }
            Err(why) => {
                self.clear_path();
                self.complain(why);
            }
        }
    }

    /// The trace from the marked source, on the current snapshot; Err when
    /// the source is no longer on the map.
    fn compute_trace(&self, target: Target) -> Result<LastTrace, String> {
        let Some(source) = self.path.source else {
            return Err("no path source is marked".to_string());
        };
        let gone = || "the path source is gone from the map: mark a new one with m".to_string();
        let from = self.describe_location(source).ok_or_else(gone)?;
        let (n, iface) = self.model.locate(source).ok_or_else(gone)?;
        let ns = self.model.ns(n).ok_or_else(gone)?;
        let oif = match source.ifindex {
            Some(_) => Some(
                ns.interfaces
                    .get(iface.ok_or_else(gone)?)
                    .ok_or_else(gone)?
                    .ifindex,
            ),
            None => None,
        };
        let query = Query {
            netns: ns.inode,
            oif,
            from: None,
            dst: target.addr,
            proto: Proto::Icmp,
            dport: None,
        };
        let trace = path::trace(&self.model.snapshot, &query);
        Ok(LastTrace {
            on_path: on_path(&trace),
            target,
            trace,
            from,
        })
    }

    /// After a rescan: the source found again by namespace key, the last
    /// trace run again on the new snapshot (aimed at the picked interface's
    /// address now, when it has one). Returns what to add to the rescan
    /// message: Ok when the path was kept, Err when it was lost.
    pub(super) fn retrace(&mut self) -> Option<Result<String, String>> {
        let source = self.path.source?;
        if self.describe_location(source).is_none() {
            self.clear_path();
            return Some(Err(
                " (the path source is gone: mark a new one with m)".to_string()
            ));
        }
        let last = self.path.last.take()?;
        let mut target = last.target;
        if let Some(addr) = target.picked.and_then(|loc| self.address_of(loc)) {
            target.addr = addr;
        }
        match self.compute_trace(target) {
            Ok(new) => {
                let verdict = new.trace.verdict.as_str();
                self.path.last = Some(new);
                self.overlay_cursor = self.overlay_cursor.min(self.path_hops().saturating_sub(1));
                Some(Ok(format!("; path retraced: {verdict}")))
            }
            Err(why) => {
                self.clear_path();
                Some(Err(format!(" ({why})")))
            }
        }
    }

    /// Rows of the path overlay's hop list.
    pub(super) fn path_hops(&self) -> usize {
        self.path.last.as_ref().map_or(0, LastTrace::hop_count)
    }

    /// Enter on a hop: to its namespace and, where it has one, the
    /// interface it came in by (else the one it leaves by).
    pub(super) fn goto_hop(&mut self, k: usize) {
        let Some(last) = &self.path.last else { return };
        let count = last.hop_count();
        let Some(hop) = last.hops().nth(k) else {
            return;
        };
        let label = text::safe(&hop.label);
        let Some(n) = hop
            .netns
            .and_then(|inode| self.model.position_of_inode(inode))
        else {
            self.complain(format!(
                "hop {} ({label}) is in a namespace that is not on the map",
                k + 1
            ));
            return;
        };
        let iface = hop
            .in_
            .as_ref()
            .or(hop.out.as_ref())
            .and_then(|r| self.model.resolve(r))
            .filter(|p| p.ns == n);
        self.remember();
        self.overlay = None;
        self.screen = Screen::Main;
        self.reveal(n);
        match iface {
            Some(p) => {
                self.select(n, Some(p.iface));
                self.focus = Pane::Interfaces;
            }
            None => {
                self.select(n, None);
                self.focus = Pane::Namespaces;
            }
        }
        self.say(format!(
            "hop {} of {count}: {label}   (Backspace: back to the path)",
            k + 1
        ));
    }
}
