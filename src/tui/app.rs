//! The TUI's whole state and its one transition function, [`App::update`].
//!
//! Pure: no terminal, clock or thread in here. Time arrives as
//! [`Action::Tick`], scans as [`Action::Scanned`], and the event loop learns
//! what to do next from the returned [`Effect`]. Selection is held as row
//! cursors into the current model and converted to [`Location`]s (namespace
//! key + ifindex) whenever the rows underneath change: on a refresh, a new
//! filter or sort, or a jump. The transitions live in the child modules,
//! one concern each.

mod navigate;
mod path;
mod refresh;
mod search;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ratatui::layout::Rect;

use super::action::{Action, Effect, Mode};
use super::diff::Changes;
use super::filter::Filter;
use super::finding::{Doctor, Finding};
use super::layout::{self, Areas};
use super::model::{IfPos, Location, Model};
use super::traffic::Traffic;
use super::tree::{self, TreeRow};
use crate::cli::Source;
use crate::snapshot::{Interface, Namespace, Snapshot};

pub use path::{LastTrace, PathMode, Target};

/// How long refreshed rows stay highlighted.
pub const HIGHLIGHT: Duration = Duration::from_secs(3);
/// How long a status message stays.
pub const MESSAGE: Duration = Duration::from_secs(8);
/// Jumps remembered for Back.
const HISTORY: usize = 100;

/// The two full-screen views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Namespaces, interfaces, details.
    Main,
    /// The bridges tree.
    Bridges,
}

/// The panes of the main view, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Namespaces,
    Interfaces,
    Details,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Warnings,
    Doctor,
    /// The last trace of path mode, hop by hop.
    Path,
}

/// What namespaces are sorted by (`s` cycles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Host first, then by label.
    Name,
    Inode,
    Interfaces,
    Processes,
    /// Bytes per second over the last refresh interval, busiest first.
    Traffic,
}

impl SortKey {
    pub fn word(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Inode => "inode",
            SortKey::Interfaces => "interfaces",
            SortKey::Processes => "processes",
            SortKey::Traffic => "traffic",
        }
    }

    fn next(self) -> SortKey {
        match self {
            SortKey::Name => SortKey::Inode,
            SortKey::Inode => SortKey::Interfaces,
            SortKey::Interfaces => SortKey::Processes,
            SortKey::Processes => SortKey::Traffic,
            SortKey::Traffic => SortKey::Name,
        }
    }
}

/// A line for the user, with whether it reports a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    at: Instant,
}

/// Where Back returns to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    screen: Screen,
    focus: Pane,
    location: Option<Location>,
    tree_cursor: usize,
    /// The path overlay's hop when the jump left from it: Back reopens it,
    /// so the hops of a path can be visited one after the other.
    path_hop: Option<usize>,
}

/// The TUI state.
#[derive(Debug)]
pub struct App {
    pub(super) model: Model,
    pub(super) source: Source,
    pub(super) now: Instant,
    pub(super) size: Rect,
    pub(super) screen: Screen,
    pub(super) focus: Pane,
    /// What the details pane describes: the namespace or the interface,
    /// whichever list had focus last.
    pub(super) subject: Pane,
    pub(super) overlay: Option<Overlay>,
    /// Selected row (warnings, findings) or first line (help) of the overlay.
    pub(super) overlay_cursor: usize,
    pub(super) sort: SortKey,
    pub(super) reverse: bool,
    pub(super) filter: Option<Filter>,
    /// The filter line while it is being typed.
    pub(super) typing: Option<String>,
    /// Filter and place before typing began, restored by Esc.
    typing_origin: Option<(Option<Filter>, Option<Location>)>,
    /// Model positions of the namespaces shown, in display order.
    pub(super) ns_rows: Vec<usize>,
    /// Filter matches in display order: namespace, and interface if the
    /// match is an interface.
    pub(super) matches: Vec<(usize, Option<usize>)>,
    pub(super) ns_cursor: usize,
    pub(super) ns_offset: usize,
    pub(super) if_cursor: usize,
    pub(super) if_offset: usize,
    pub(super) details_scroll: usize,
    /// Whether the details pane lists the local table's local and
    /// broadcast routes instead of one line counting them.
    pub(super) show_local: bool,
    /// Path mode: source, destination being typed, last trace.
    pub(super) path: PathMode,
    pub(super) tree: Vec<TreeRow>,
    pub(super) tree_cursor: usize,
    pub(super) tree_offset: usize,
    collapsed: HashSet<(u64, u32)>,
    history: Vec<Place>,
    pub(super) changes: Changes,
    changed_at: Option<Instant>,
    pub(super) message: Option<Message>,
    pub(super) scanning: bool,
    /// The capture under way, as the status line shows it.
    pub(super) capture: Option<String>,
    doctor: Option<Doctor>,
    pub(super) interval: Option<Duration>,
    pub(super) findings: Vec<Finding>,
    /// Rates between refreshes and a minute of them per interface.
    pub(super) traffic: Traffic,
}

impl App {
    /// A new app on `snapshot`, selecting nsmap's own namespace.
    pub fn new(snapshot: Snapshot, source: Source, now: Instant) -> App {
        let model = Model::new(snapshot);
        let mut app = App {
            tree: tree::build(&model, &HashSet::new()),
            model,
            source,
            now,
            size: Rect::new(0, 0, 80, 24),
            screen: Screen::Main,
            focus: Pane::Namespaces,
            subject: Pane::Namespaces,
            overlay: None,
            overlay_cursor: 0,
            sort: SortKey::Name,
            reverse: false,
            filter: None,
            typing: None,
            typing_origin: None,
            ns_rows: Vec::new(),
            matches: Vec::new(),
            ns_cursor: 0,
            ns_offset: 0,
            if_cursor: 0,
            if_offset: 0,
            details_scroll: 0,
            show_local: false,
            path: PathMode::default(),
            tree_cursor: 0,
            tree_offset: 0,
            collapsed: HashSet::new(),
            history: Vec::new(),
            changes: Changes::default(),
            changed_at: None,
            message: None,
            scanning: false,
            capture: None,
            doctor: None,
            interval: None,
            findings: Vec::new(),
            traffic: Traffic::default(),
        };
        app.traffic.update(&app.model.snapshot);
        app.recompute_rows();
        let own = app
            .model
            .namespaces()
            .iter()
            .position(|ns| ns.current)
            .or_else(|| app.model.namespaces().iter().position(|ns| ns.host));
        if let Some(n) = own {
            app.select(n, None);
        }
        app
    }

    /// Plugs in the doctor whose findings the `d` overlay lists.
    pub fn with_doctor(mut self, doctor: Doctor) -> App {
        self.doctor = Some(doctor);
        self.run_doctor();
        self
    }

    /// Findings for the current snapshot, worst first.
    pub(super) fn run_doctor(&mut self) {
        if let Some(doctor) = self.doctor {
            self.findings = doctor(&self.model.snapshot);
            self.findings.sort_by_key(|f| f.severity);
        }
    }

    pub fn has_doctor(&self) -> bool {
        self.doctor.is_some()
    }

    /// Shown in the status line: how often the map refreshes by itself.
    pub fn with_interval(mut self, interval: Option<Duration>) -> App {
        self.interval = interval;
        self
    }

    /// Which keymap applies now.
    pub fn mode(&self) -> Mode {
        if self.typing.is_some() {
            Mode::Filter
        } else if self.path.typing.is_some() {
            Mode::Address
        } else if self.overlay.is_some() {
            Mode::Overlay
        } else {
            Mode::Normal
        }
    }

    /// The one transition function.
    pub fn update(&mut self, action: Action) -> Effect {
        let effect = match action {
            Action::Quit => Effect::Quit,
            Action::Escape => return self.escape(),
            Action::Refresh => self.refresh(),
            Action::Capture { both } => self.capture(both),
            Action::CaptureStatus(text) => {
                self.capture = text;
                Effect::None
            }
            Action::CaptureEnded(result) => {
                self.capture = None;
                match result {
                    Ok(text) => self.say(text),
                    Err(text) => self.complain(text),
                }
                Effect::None
            }
            Action::Tick(now) => {
                self.tick(now);
                Effect::None
            }
            Action::ScanStarted => {
                self.scanning = true;
                Effect::None
            }
            Action::Scanned(result, at) => {
                self.scanned(*result, at);
                Effect::None
            }
            Action::Resize { width, height } => {
                self.size = Rect::new(0, 0, width, height);
                Effect::None
            }
            Action::Help => self.toggle_overlay(Overlay::Help),
            Action::Warnings => self.toggle_overlay(Overlay::Warnings),
            Action::Doctor => self.toggle_overlay(Overlay::Doctor),
            Action::StartFilter => {
                self.start_filter();
                Effect::None
            }
            Action::FilterChar(c) => self.edit_filter(|q| q.push(c)),
            Action::FilterBackspace => self.edit_filter(|q| {
                q.pop();
            }),
            Action::FilterAccept => {
                self.accept_filter();
                Effect::None
            }
            Action::FilterCancel => {
                self.cancel_filter();
                Effect::None
            }
            Action::NextMatch => {
                self.step_match(true);
                Effect::None
            }
            Action::PrevMatch => {
                self.step_match(false);
                Effect::None
            }
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.recompute_rows();
                self.say(format!("sorted by {}", self.sort.word()));
                Effect::None
            }
            Action::ReverseSort => {
                self.reverse = !self.reverse;
                self.recompute_rows();
                Effect::None
            }
            Action::ToggleBridges => {
                self.screen = match self.screen {
                    Screen::Main => Screen::Bridges,
                    Screen::Bridges => Screen::Main,
                };
                Effect::None
            }
            Action::ToggleCollapse => {
                self.toggle_collapse();
                Effect::None
            }
            Action::Follow => {
                self.follow();
                Effect::None
            }
            Action::GotoMaster => {
                self.goto_master();
                Effect::None
            }
            Action::MarkSource => {
                self.mark_source();
                Effect::None
            }
            Action::TraceToSelection => {
                self.trace_to_selection();
                Effect::None
            }
            Action::StartAddress => {
                self.start_address();
                Effect::None
            }
            Action::AddressChar(c) => {
                self.edit_address(|t| t.push(c));
                Effect::None
            }
            Action::AddressBackspace => {
                self.edit_address(|t| {
                    t.pop();
                });
                Effect::None
            }
            Action::AddressAccept => {
                self.accept_address();
                Effect::None
            }
            Action::AddressCancel => {
                self.cancel_address();
                Effect::None
            }
            Action::Back => {
                self.back();
                Effect::None
            }
            Action::NextPane => {
                self.cycle_focus(true);
                Effect::None
            }
            Action::PrevPane => {
                self.cycle_focus(false);
                Effect::None
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-self.page()),
            Action::PageDown => self.move_by(self.page()),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::Click { column, row } => {
                self.click(column, row);
                Effect::None
            }
            Action::ScrollUp { column, row } => self.wheel(column, row, -3),
            Action::ScrollDown { column, row } => self.wheel(column, row, 3),
        };
        if self.focus != Pane::Details && self.subject != self.focus {
            self.subject = self.focus;
            self.details_scroll = 0;
        }
        self.keep_visible();
        effect
    }

    fn escape(&mut self) -> Effect {
        if self.overlay.is_some() {
            self.overlay = None;
        } else if self.typing.is_some() {
            self.cancel_filter();
        } else if self.path.typing.is_some() {
            self.cancel_address();
        } else if self.screen == Screen::Bridges {
            self.screen = Screen::Main;
        } else if self.path_active() {
            self.clear_path();
            self.say("path cleared".to_string());
        } else if self.filter.is_some() {
            self.set_filter(None);
            self.say("filter cleared".to_string());
        } else {
            return Effect::Quit;
        }
        self.keep_visible();
        Effect::None
    }

    fn toggle_overlay(&mut self, which: Overlay) -> Effect {
        if self.overlay == Some(which) {
            self.overlay = None;
        } else {
            self.overlay = Some(which);
            self.overlay_cursor = 0;
        }
        Effect::None
    }

    fn toggle_collapse(&mut self) {
        if self.screen == Screen::Main && self.overlay.is_none() {
            self.show_local = !self.show_local;
            self.say(
                if self.show_local {
                    "details list the local table's routes (Space folds them)"
                } else {
                    "details count the local table's routes (Space lists them)"
                }
                .to_string(),
            );
            return;
        }
        if self.screen != Screen::Bridges || self.tree.is_empty() {
            return;
        }
        // The master a row belongs to is the nearest master row at or above it.
        let Some(master) = self.tree[..=self.tree_cursor.min(self.tree.len().saturating_sub(1))]
            .iter()
            .rposition(TreeRow::is_master)
        else {
            return;
        };
        let Some(TreeRow::Master { pos, .. }) = self.tree.get(master) else {
            return;
        };
        let Some(key) = self.iface_key(*pos) else {
            return;
        };
        if !self.collapsed.remove(&key) {
            self.collapsed.insert(key);
        }
        self.tree = tree::build(&self.model, &self.collapsed);
        self.tree_cursor = master;
    }

    /// (inode, ifindex) of an interface of the current model.
    fn iface_key(&self, pos: IfPos) -> Option<(u64, u32)> {
        Some((self.model.ns(pos.ns)?.inode, self.model.iface(pos)?.ifindex))
    }

    /// `c` / `C`: stop the capture under way, or start one on the selected
    /// interface (live only: a file has no packets).
    fn capture(&mut self, both: bool) -> Effect {
        if self.capture.is_some() {
            return Effect::StopCapture;
        }
        if self.source != Source::Live {
            self.complain("capture needs a live host, not a file".into());
            return Effect::None;
        }
        let key = self
            .selected_namespace()
            .map(|ns| ns.inode)
            .zip(self.selected_interface().map(|i| i.ifindex));
        match key {
            Some((netns, ifindex)) => Effect::Capture {
                netns,
                ifindex,
                both,
            },
            None => {
                self.complain("select an interface to capture on".into());
                Effect::None
            }
        }
    }

    pub(super) fn say(&mut self, text: String) {
        self.message = Some(Message {
            text,
            error: false,
            at: self.now,
        });
    }

    pub(super) fn complain(&mut self, text: String) {
        self.message = Some(Message {
            text,
            error: true,
            at: self.now,
        });
    }

    /// The pane regions for the current size.
    pub fn areas(&self) -> Areas {
        self.areas_in(self.size)
    }

    /// The pane regions for a screen of `size` (what the view draws into).
    pub fn areas_in(&self, size: Rect) -> Areas {
        let interfaces = self.selected_namespace().map_or(0, |n| n.interfaces.len());
        layout::areas(size, self.banner().is_some(), interfaces)
    }

    /// The "not root" banner text, when the data is an unprivileged view.
    pub fn banner(&self) -> Option<String> {
        let scan = &self.model.snapshot.scan;
        if scan.privileged {
            return None;
        }
        let unscanned = self
            .model
            .namespaces()
            .iter()
            .filter(|n| !n.scanned)
            .count();
        let who = match self.source {
            Source::Live => "not running as root",
            Source::File(_) => "recorded without root",
        };
        let blind = match unscanned {
            0 => String::new(),
            1 => ", 1 is shown without its interfaces".to_string(),
            n => format!(", {n} are shown without their interfaces"),
        };
        Some(format!(
            "{who}: other users' namespaces are hidden{blind}; run as root (sudo nsmap) for the full map"
        ))
    }

    // Read access for views and tests.

    pub fn snapshot(&self) -> &Snapshot {
        &self.model.snapshot
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    pub fn overlay(&self) -> Option<Overlay> {
        self.overlay
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Namespaces shown, in display order.
    pub fn shown_namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.ns_rows.iter().filter_map(|&n| self.model.ns(n))
    }

    pub fn selected_namespace(&self) -> Option<&Namespace> {
        self.model.ns(self.selected_ns()?)
    }

    pub fn selected_interface(&self) -> Option<&Interface> {
        self.model.iface(self.selected_if()?)
    }

    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    pub(super) fn selected_ns(&self) -> Option<usize> {
        self.ns_rows.get(self.ns_cursor).copied()
    }

    pub(super) fn selected_if(&self) -> Option<IfPos> {
        let ns = self.selected_ns()?;
        let count = self.model.ns(ns)?.interfaces.len();
        (self.if_cursor < count).then_some(IfPos {
            ns,
            iface: self.if_cursor,
        })
    }

    /// Whether a refresh changed this namespace row a moment ago.
    pub(super) fn ns_changed(&self, inode: u64) -> bool {
        self.highlighting() && self.changes.namespaces.contains(&inode)
    }

    pub(super) fn if_changed(&self, inode: u64, ifindex: u32) -> bool {
        self.highlighting() && self.changes.interfaces.contains(&(inode, ifindex))
    }

    fn highlighting(&self) -> bool {
        self.changed_at
            .is_some_and(|at| self.now.saturating_duration_since(at) < HIGHLIGHT)
    }

    /// Whether something on screen will change with time alone (the event
    /// loop then ticks faster).
    pub fn animating(&self) -> bool {
        self.highlighting() || self.message.is_some() || self.scanning
    }
}
