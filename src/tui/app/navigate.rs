//! Moving around: cursors, panes, scrolling, mouse, and the jumps (follow
//! the wire, go to master, back) with their history.

use super::{App, HISTORY, Overlay, Pane, Place, Screen};
use crate::tui::action::Effect;
use crate::tui::layout::{self, contains};
use crate::tui::model::{IfPos, Location};
use crate::tui::tree::TreeRow;
use crate::tui::view;

impl App {
    /// Rows a page holds in the focused list.
    pub(super) fn page(&self) -> isize {
        let a = self.areas();
        let rows = if self.overlay.is_some() {
            layout::text_rows(layout::overlay(self.size))
        } else if self.screen == Screen::Bridges {
            layout::text_rows(a.main)
        } else {
            match self.focus {
                Pane::Namespaces => layout::table_rows(a.namespaces),
                Pane::Interfaces => layout::table_rows(a.interfaces),
                Pane::Details => layout::text_rows(a.details),
            }
        };
        isize::try_from(rows.max(1)).unwrap_or(1)
    }

    /// Moves the cursor of whatever has focus by `delta` rows, clamped.
    pub(super) fn move_by(&mut self, delta: isize) -> Effect {
        if let Some(overlay) = self.overlay {
            let len = view::overlay::line_count(self, overlay);
            let len = match overlay {
                // Help scrolls: its cursor is the first line shown.
                Overlay::Help => {
                    len.saturating_sub(layout::text_rows(layout::overlay(self.size))) + 1
                }
                Overlay::Warnings | Overlay::Doctor => len,
                Overlay::Path => self.path_hops(),
            };
            self.overlay_cursor = step(self.overlay_cursor, delta, len);
            return Effect::None;
        }
        match (self.screen, self.focus) {
            (Screen::Bridges, _) => {
                self.tree_cursor = step(self.tree_cursor, delta, self.tree.len());
            }
            (Screen::Main, Pane::Namespaces) => {
                let to = step(self.ns_cursor, delta, self.ns_rows.len());
                if to != self.ns_cursor {
                    self.ns_cursor = to;
                    self.if_cursor = 0;
                    self.details_scroll = 0;
                }
            }
            (Screen::Main, Pane::Interfaces) => {
                let len = self
                    .selected_ns()
                    .and_then(|n| self.model.ns(n))
                    .map_or(0, |ns| ns.interfaces.len());
                let to = step(self.if_cursor, delta, len);
                if to != self.if_cursor {
                    self.if_cursor = to;
                    self.details_scroll = 0;
                }
            }
            (Screen::Main, Pane::Details) => {
                let len = view::details::lines(self).len();
                let max = len.saturating_sub(layout::text_rows(self.areas().details)) + 1;
                self.details_scroll = step(self.details_scroll, delta, max);
            }
        }
        Effect::None
    }

    pub(super) fn cycle_focus(&mut self, forward: bool) {
        if self.screen != Screen::Main {
            return;
        }
        self.focus = match (self.focus, forward) {
            (Pane::Namespaces, true) | (Pane::Details, false) => Pane::Interfaces,
            (Pane::Interfaces, true) | (Pane::Namespaces, false) => Pane::Details,
            (Pane::Details, true) | (Pane::Interfaces, false) => Pane::Namespaces,
        };
    }

    /// Selects a namespace (model position) and optionally an interface;
    /// does nothing when the namespace is not shown (see [`App::reveal`]).
    pub(super) fn select(&mut self, n: usize, iface: Option<usize>) {
        let Some(row) = self.ns_rows.iter().position(|&r| r == n) else {
            return;
        };
        if row != self.ns_cursor || iface.is_some() {
            self.details_scroll = 0;
        }
        if row != self.ns_cursor {
            self.if_cursor = 0;
        }
        self.ns_cursor = row;
        if let Some(i) = iface {
            self.if_cursor = i;
        }
    }

    /// Clears a filter that hides namespace `n`: a jump must land on a row.
    pub(super) fn reveal(&mut self, n: usize) {
        if !self.ns_rows.contains(&n) && self.filter.is_some() {
            self.set_filter(None);
            self.say("filter cleared to show where the jump leads".to_string());
        }
    }

    /// Goes to an interface in the main view, remembering where we were.
    pub(super) fn jump(&mut self, to: IfPos) {
        self.remember();
        self.screen = Screen::Main;
        self.overlay = None;
        self.reveal(to.ns);
        self.select(to.ns, Some(to.iface));
        self.focus = Pane::Interfaces;
    }

    pub(super) fn remember(&mut self) {
        let place = self.place();
        if self.history.last() != Some(&place) {
            self.history.push(place);
        }
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
    }

    fn place(&self) -> Place {
        let location = self.selected_ns().and_then(|n| {
            let iface = self.selected_if().map(|p| p.iface);
            self.model.location(n, iface)
        });
        Place {
            screen: self.screen,
            focus: self.focus,
            location,
            tree_cursor: self.tree_cursor,
            path_hop: (self.overlay == Some(Overlay::Path)).then_some(self.overlay_cursor),
        }
    }

    /// The current selection as a location that survives a new model.
    pub(super) fn location(&self) -> Option<Location> {
        self.place().location
    }

    /// Puts the selection back on `loc` in the current model. False when
    /// its namespace is gone; a vanished interface keeps the cursor row.
    pub(super) fn restore(&mut self, loc: Location) -> bool {
        let Some((n, iface)) = self.model.locate(loc) else {
            return false;
        };
        let keep = self.if_cursor;
        self.select(n, iface);
        if iface.is_none() {
            let len = self.model.ns(n).map_or(0, |ns| ns.interfaces.len());
            self.if_cursor = keep.min(len.saturating_sub(1));
        }
        true
    }

    /// Enter.
    pub(super) fn follow(&mut self) {
        if let Some(overlay) = self.overlay {
            self.follow_overlay(overlay);
            return;
        }
        if self.screen == Screen::Bridges {
            let Some(row) = self.tree.get(self.tree_cursor) else {
                return;
            };
            match row.target() {
                Some(to) => self.jump(to),
                None => self.complain(match row {
                    TreeRow::End { port, .. } => self.unseen_end(*port),
                    _ => "nothing to go to on this row".to_string(),
                }),
            }
            return;
        }
        if self.focus == Pane::Namespaces {
            let has = self.selected_if().is_some();
            if has {
                self.focus = Pane::Interfaces;
            } else {
                self.complain(self.empty_namespace_reason());
            }
            return;
        }
        let Some(from) = self.selected_if() else {
            return;
        };
        let what = self.model.describe_pos(from);
        match self.model.wire(from) {
            None => self.complain(format!(
                "{what} has no other end: only veth pairs and linked devices (macvlan, vxlan, vlan, …) have one"
            )),
            Some(r) => match self.model.resolve(r) {
                Some(to) => {
                    self.jump(to);
                    let there = self.model.describe_pos(to);
                    self.say(format!("{what} → {there}   (Backspace: back)"));
                }
                None => self.complain(self.unseen_end(from)),
            },
        }
    }

    /// Why the other end of `port` cannot be shown.
    fn unseen_end(&self, port: IfPos) -> String {
        let Some(r) = self.model.wire(port) else {
            return "no other end".to_string();
        };
        let end = self.model.describe(r);
        let why = if self.model.snapshot.scan.privileged {
            "it is in a namespace nsmap could not open"
        } else {
            "it is in a namespace only root can open"
        };
        format!("the other end, {end}, is not on the map: {why}")
    }

    fn empty_namespace_reason(&self) -> String {
        match self.selected_namespace() {
            Some(ns) if !ns.scanned => {
                "nsmap could not list this namespace's interfaces (run as root)".to_string()
            }
            Some(_) => "this namespace has no interfaces".to_string(),
            None => "no namespace selected".to_string(),
        }
    }

    fn follow_overlay(&mut self, overlay: Overlay) {
        match overlay {
            Overlay::Help => self.overlay = None,
            Overlay::Path => self.goto_hop(self.overlay_cursor),
            Overlay::Doctor => {
                let target = self
                    .findings
                    .get(self.overlay_cursor)
                    .and_then(|f| f.link.as_ref())
                    .and_then(|r| self.model.resolve(r));
                if let Some(to) = target {
                    self.jump(to);
                }
            }
            Overlay::Warnings => {
                let target = self
                    .model
                    .snapshot
                    .warnings
                    .get(self.overlay_cursor)
                    .and_then(|w| w.netns)
                    .and_then(|inode| self.model.position_of_inode(inode));
                if let Some(n) = target {
                    self.remember();
                    self.overlay = None;
                    self.screen = Screen::Main;
                    self.reveal(n);
                    self.select(n, None);
                    self.focus = Pane::Namespaces;
                }
            }
        }
    }

    /// `m`: to the bridge (or bond) the selected interface is a port of.
    pub(super) fn goto_master(&mut self) {
        let Some(from) = self.selected_if() else {
            return;
        };
        let master = self.model.iface(from).and_then(|i| i.master.as_ref());
        match master.and_then(|m| self.model.resolve(m)) {
            Some(to) => self.jump(to),
            None => {
                let what = self.model.describe_pos(from);
                self.complain(format!("{what} is not a port of a bridge or bond"));
            }
        }
    }

    /// Backspace: undo the last jump.
    pub(super) fn back(&mut self) {
        let Some(place) = self.history.pop() else {
            self.say("nothing to go back to".to_string());
            return;
        };
        self.overlay = None;
        self.screen = place.screen;
        self.focus = place.focus;
        self.tree_cursor = place.tree_cursor.min(self.tree.len().saturating_sub(1));
        if let Some(hop) = place.path_hop
            && self.path_hops() > 0
        {
            self.overlay = Some(Overlay::Path);
            self.overlay_cursor = hop.min(self.path_hops() - 1);
        }
        let Some(loc) = place.location else { return };
        match self.model.locate(loc) {
            Some((n, _)) => {
                self.reveal(n);
                self.restore(loc);
            }
            None => self.complain("that namespace is gone".to_string()),
        }
    }

    pub(super) fn click(&mut self, column: u16, row: u16) {
        if self.overlay.is_some() {
            let o = layout::overlay(self.size);
            if !contains(o, column, row) {
                self.overlay = None;
            } else if self.overlay == Some(Overlay::Path) {
                if let Some(hop) = view::path::hop_at(self, o, row) {
                    self.overlay_cursor = hop;
                }
            } else if row > o.y {
                self.overlay_cursor = usize::from(row - o.y - 1);
            }
            return;
        }
        let a = self.areas();
        if self.screen == Screen::Bridges {
            if contains(a.main, column, row) && row > a.main.y {
                let at = self.tree_offset + usize::from(row - a.main.y - 1);
                if at < self.tree.len() {
                    self.tree_cursor = at;
                }
            }
            return;
        }
        let table_row = |pane, offset: usize| {
            (row >= layout::table_top(pane))
                .then(|| offset + usize::from(row - layout::table_top(pane)))
        };
        if contains(a.namespaces, column, row) {
            self.focus = Pane::Namespaces;
            if let Some(r) = table_row(a.namespaces, self.ns_offset)
                && let Some(&n) = self.ns_rows.get(r)
            {
                self.select(n, None);
            }
        } else if contains(a.interfaces, column, row) {
            self.focus = Pane::Interfaces;
            let len = self
                .selected_namespace()
                .map_or(0, |ns| ns.interfaces.len());
            if let Some(r) = table_row(a.interfaces, self.if_offset)
                && r < len
            {
                self.if_cursor = r;
                self.details_scroll = 0;
            }
        } else if contains(a.details, column, row) {
            self.focus = Pane::Details;
        }
    }

    /// Mouse wheel: scroll the pane under the pointer.
    pub(super) fn wheel(&mut self, column: u16, row: u16, delta: isize) -> Effect {
        if self.overlay.is_none() && self.screen == Screen::Main {
            let a = self.areas();
            for (pane, area) in [
                (Pane::Namespaces, a.namespaces),
                (Pane::Interfaces, a.interfaces),
                (Pane::Details, a.details),
            ] {
                if contains(area, column, row) {
                    self.focus = pane;
                }
            }
        }
        self.move_by(delta)
    }

    /// Scroll offsets follow the cursors; run after every update.
    pub(super) fn keep_visible(&mut self) {
        self.ns_cursor = self.ns_cursor.min(self.ns_rows.len().saturating_sub(1));
        let a = self.areas();
        let ifs = self.selected_namespace().map_or(0, |n| n.interfaces.len());
        self.if_cursor = self.if_cursor.min(ifs.saturating_sub(1));
        self.tree_cursor = self.tree_cursor.min(self.tree.len().saturating_sub(1));
        self.ns_offset = visible(
            self.ns_offset,
            self.ns_cursor,
            layout::table_rows(a.namespaces),
            self.ns_rows.len(),
        );
        self.if_offset = visible(
            self.if_offset,
            self.if_cursor,
            layout::table_rows(a.interfaces),
            ifs,
        );
        self.tree_offset = visible(
            self.tree_offset,
            self.tree_cursor,
            layout::text_rows(a.main),
            self.tree.len(),
        );
    }
}

/// `cursor + delta`, clamped to `0..len`.
fn step(cursor: usize, delta: isize, len: usize) -> usize {
    let max = len.saturating_sub(1);
    cursor.saturating_add_signed(delta).min(max)
}

/// The scroll offset that shows `cursor` with the least movement, and
/// leaves no blank rows at the end when the list shrank.
fn visible(offset: usize, cursor: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return cursor;
    }
    let offset = offset.min(len.saturating_sub(height));
    if cursor < offset {
        cursor
    } else if cursor >= offset + height {
        cursor + 1 - height
    } else {
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_moves_only_when_the_cursor_leaves_the_window() {
        assert_eq!(visible(0, 5, 10, 100), 0);
        assert_eq!(visible(0, 10, 10, 100), 1);
        assert_eq!(visible(20, 15, 10, 100), 15);
        assert_eq!(visible(90, 15, 10, 20), 10, "the list shrank");
    }

    #[test]
    fn steps_clamp_at_both_ends() {
        assert_eq!(step(0, -1, 5), 0);
        assert_eq!(step(3, 10, 5), 4);
        assert_eq!(step(0, isize::MAX / 2, 0), 0);
    }
}
