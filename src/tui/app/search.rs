//! Which namespaces are shown and in what order (sort + `/` filter), the
//! filter's matches, and n/N between them. While a filter is typed, the
//! selection jumps to its first match (as in vim's incremental search);
//! Esc puts back the filter and selection from before.

use super::{App, Pane, Screen, SortKey};
use crate::tui::action::Effect;
use crate::tui::filter::Filter;
use crate::tui::tree::TreeRow;

impl App {
    pub(super) fn start_filter(&mut self) {
        self.typing_origin = Some((self.filter.clone(), self.location()));
        let text = self
            .filter
            .as_ref()
            .map_or_else(String::new, |f| f.query().to_string());
        self.typing = Some(text);
    }

    pub(super) fn edit_filter(&mut self, edit: impl FnOnce(&mut String)) -> Effect {
        let Some(text) = self.typing.as_mut() else {
            return Effect::None;
        };
        edit(text);
        let filter = Filter::new(text);
        self.set_filter(filter.clone());
        if self.screen == Screen::Bridges {
            if let Some(f) = &filter
                && let Some(row) = self.tree.iter().position(|r| self.tree_row_matches(r, f))
            {
                self.tree_cursor = row;
            }
            return Effect::None;
        }
        if let Some(&(n, iface)) = self.matches.first() {
            self.select(n, iface);
            self.focus = if iface.is_some() {
                Pane::Interfaces
            } else {
                Pane::Namespaces
            };
        }
        Effect::None
    }

    pub(super) fn accept_filter(&mut self) {
        self.typing = None;
        self.typing_origin = None;
        if let Some(f) = &self.filter {
            let text = match self.matches.len() {
                0 => format!("no match for /{}", f.query()),
                1 => "1 match".to_string(),
                n => format!("{n} matches: n / N to step through them"),
            };
            self.say(text);
        }
    }

    pub(super) fn cancel_filter(&mut self) {
        self.typing = None;
        if let Some((filter, location)) = self.typing_origin.take() {
            self.set_filter(filter);
            if let Some(loc) = location {
                self.restore(loc);
            }
        }
    }

    /// Replaces the filter, keeping the selection when it is still shown.
    pub(super) fn set_filter(&mut self, filter: Option<Filter>) {
        self.filter = filter;
        self.recompute_rows();
    }

    /// Rebuilds the namespace rows and the match list, keeping the
    /// selected namespace and interface when they are still shown.
    pub(super) fn recompute_rows(&mut self) {
        let keep = self.location();
        let model = &self.model;
        let mut rows: Vec<usize> = (0..model.namespaces().len()).collect();
        rows.sort_by_cached_key(|&n| {
            let ns = &model.namespaces()[n];
            let count = |c: usize| u64::try_from(c).unwrap_or(u64::MAX);
            let (first, second): (u64, String) = match self.sort {
                SortKey::Name => (u64::from(!ns.host), model.label(n).to_ascii_lowercase()),
                SortKey::Inode => (ns.inode, String::new()),
                // Largest first: the busy namespaces are the interesting ones.
                SortKey::Interfaces => (u64::MAX - count(ns.interfaces.len()), String::new()),
                SortKey::Processes => (u64::MAX - count(ns.pids.len()), String::new()),
                // Busiest first; whole bytes/s are fine-grained enough.
                SortKey::Traffic => {
                    let total = self.traffic.total(ns.inode).unwrap_or(0.0);
                    (u64::MAX - total.max(0.0) as u64, String::new())
                }
            };
            (first, second, ns.inode)
        });
        if self.reverse {
            rows.reverse();
        }
        self.matches.clear();
        if let Some(f) = &self.filter {
            rows.retain(|&n| {
                let ns = &model.namespaces()[n];
                let own = f.namespace_matches(ns, model.label(n));
                let before = self.matches.len();
                if own {
                    self.matches.push((n, None));
                }
                for (i, iface) in ns.interfaces.iter().enumerate() {
                    if f.interface_matches(iface) {
                        self.matches.push((n, Some(i)));
                    }
                }
                self.matches.len() > before
            });
        }
        self.ns_rows = rows;
        if let Some(loc) = keep {
            self.restore(loc);
        }
        self.keep_visible();
    }

    /// n / N.
    pub(super) fn step_match(&mut self, forward: bool) {
        let Some(filter) = self.filter.clone() else {
            self.say("no filter: press / to search".to_string());
            return;
        };
        if self.screen == Screen::Bridges {
            self.step_tree_match(&filter, forward);
            return;
        }
        if self.matches.is_empty() {
            self.complain(format!("no match for /{}", filter.query()));
            return;
        }
        // Matches are in display order, keyed by (row, interface or none).
        let row_of = |n: usize| self.ns_rows.iter().position(|&r| r == n);
        let here = (
            self.ns_cursor,
            match self.focus {
                Pane::Namespaces => None,
                Pane::Interfaces | Pane::Details => Some(self.if_cursor),
            },
        );
        let keyed: Vec<_> = self
            .matches
            .iter()
            .filter_map(|&(n, i)| Some(((row_of(n)?, i), (n, i))))
            .collect();
        let pick = if forward {
            keyed
                .iter()
                .find(|(k, _)| *k > here)
                .or_else(|| keyed.first())
        } else {
            keyed
                .iter()
                .rev()
                .find(|(k, _)| *k < here)
                .or_else(|| keyed.last())
        };
        let Some(&(key, (n, iface))) = pick else {
            return;
        };
        self.select(n, iface);
        self.focus = if iface.is_some() {
            Pane::Interfaces
        } else {
            Pane::Namespaces
        };
        let index = keyed.iter().position(|(k, _)| *k == key).unwrap_or(0);
        self.say(format!(
            "match {} of {} for /{}",
            index + 1,
            keyed.len(),
            filter.query()
        ));
    }

    fn step_tree_match(&mut self, filter: &Filter, forward: bool) {
        let hits: Vec<usize> = self
            .tree
            .iter()
            .enumerate()
            .filter(|(_, row)| self.tree_row_matches(row, filter))
            .map(|(i, _)| i)
            .collect();
        let pick = if forward {
            hits.iter()
                .find(|&&i| i > self.tree_cursor)
                .or(hits.first())
        } else {
            hits.iter()
                .rev()
                .find(|&&i| i < self.tree_cursor)
                .or(hits.last())
        };
        match pick {
            Some(&i) => self.tree_cursor = i,
            None => self.complain(format!("no bridge row matches /{}", filter.query())),
        }
    }

    pub(super) fn tree_row_matches(&self, row: &TreeRow, filter: &Filter) -> bool {
        row.target().is_some_and(|p| {
            self.model
                .iface(p)
                .is_some_and(|i| filter.interface_matches(i))
                || self
                    .model
                    .ns(p.ns)
                    .is_some_and(|ns| filter.namespace_matches(ns, self.model.label(p.ns)))
        })
    }
}
