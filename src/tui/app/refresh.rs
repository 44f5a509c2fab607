//! New data: asking for a rescan, taking in its result (keeping the
//! selection and the path source by namespace key + ifindex, tracing the
//! last path again, marking what changed), and the clock that makes
//! highlights and messages expire.

use std::time::Instant;

use super::{App, MESSAGE};
use crate::snapshot::Snapshot;
use crate::tui::action::Effect;
use crate::tui::diff::diff;
use crate::tui::model::{IfPos, Model};
use crate::tui::tree::{self, TreeRow};

impl App {
    /// `r`: one rescan at a time; the event loop runs it off the UI thread.
    pub(super) fn refresh(&mut self) -> Effect {
        if self.scanning {
            self.say("a scan is already running".to_string());
            return Effect::None;
        }
        self.scanning = true;
        Effect::Rescan
    }

    pub(super) fn scanned(&mut self, result: Result<Snapshot, String>, at: Instant) {
        self.scanning = false;
        self.now = self.now.max(at);
        match result {
            Ok(snapshot) => self.replace(snapshot, at),
            Err(e) => self.complain(format!("rescan failed, showing the previous map: {e}")),
        }
    }

    /// Swaps in a new snapshot; selection, tree row and history survive by
    /// key, changed rows are highlighted from `at`.
    fn replace(&mut self, snapshot: Snapshot, at: Instant) {
        let keep = self.location();
        let keep_row = self.ns_cursor;
        let tree_key = self
            .tree
            .get(self.tree_cursor)
            .and_then(TreeRow::anchor)
            .and_then(|p| self.model.location(p.ns, Some(p.iface)));
        self.traffic.update(&snapshot);
        let model = Model::new(snapshot);
        self.changes = diff(&self.model, &model);
        self.changed_at = Some(at);
        self.model = model;
        self.run_doctor();
        self.tree = tree::build(&self.model, &self.collapsed);
        // Position-based state of the old model is void from here on.
        self.ns_rows.clear();
        self.recompute_rows();
        let kept = keep.is_some_and(|loc| self.restore(loc));
        if !kept {
            // The selected namespace vanished: stay on the same row.
            self.ns_cursor = keep_row.min(self.ns_rows.len().saturating_sub(1));
            self.if_cursor = 0;
            self.details_scroll = 0;
        }
        if let Some(loc) = tree_key
            && let Some((n, Some(i))) = self.model.locate(loc)
            && let Some(row) = self
                .tree
                .iter()
                .position(|r| r.anchor() == Some(IfPos { ns: n, iface: i }))
        {
            self.tree_cursor = row;
        }
        let took = self
            .model
            .snapshot
            .scan
            .duration_ms
            .map_or_else(String::new, |ms| format!(" in {ms:.0} ms"));
        let gone = if kept || keep.is_none() {
            ""
        } else {
            " (the selected namespace is gone)"
        };
        let summary = format!("rescanned{took}: {}{gone}", self.changes.summary());
        match self.retrace() {
            None => self.say(summary),
            Some(Ok(kept)) => self.say(format!("{summary}{kept}")),
            Some(Err(lost)) => self.complain(format!("{summary}{lost}")),
        }
        self.keep_visible();
    }

    pub(super) fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self
            .message
            .as_ref()
            .is_some_and(|m| self.now.saturating_duration_since(m.at) >= MESSAGE)
        {
            self.message = None;
        }
    }
}
