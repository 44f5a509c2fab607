//! Everything that can happen to the TUI, as data: keys and mouse events
//! translated by the keymap, ticks of the clock and finished scans from the
//! event loop. [`super::App::update`] is a pure function of these, which is
//! what makes the UI testable without a terminal, threads or sleeps.

use std::time::Instant;

use crate::snapshot::Snapshot;

/// A state transition request.
#[derive(Clone, Debug)]
pub enum Action {
    /// Selection movement in the focused list (or scroll of a text pane).
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Focus the next / previous pane.
    NextPane,
    PrevPane,
    /// Enter: drill into a namespace, follow a wire, or jump to a tree row.
    Follow,
    /// Jump to the master (bridge/bond) of the selected interface.
    GotoMaster,
    /// Path mode: mark the selected namespace (or interface, then the
    /// source is bound to it) as the source; again on it: clear.
    MarkSource,
    /// Trace from the source to the selected interface's first global
    /// address (or the selected namespace's primary address).
    TraceToSelection,
    /// Destination address editing: start, type, erase, trace, abandon.
    StartAddress,
    AddressChar(char),
    AddressBackspace,
    AddressAccept,
    AddressCancel,
    /// Return to where the last jump started.
    Back,
    /// Switch between the namespaces view and the bridges tree.
    ToggleBridges,
    /// Fold or unfold the bridge under the cursor in the tree; in the main
    /// view, list or fold the local table's routes in the details pane.
    ToggleCollapse,
    /// Cycle the namespace sort key / reverse the sort order.
    CycleSort,
    ReverseSort,
    /// Filter editing: start, type, erase, accept, abandon.
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterAccept,
    FilterCancel,
    /// Next / previous filter match.
    NextMatch,
    PrevMatch,
    /// Ask for a rescan (or a reload of the `--input` file).
    Refresh,
    /// `c` / `C`: capture the selected interface (`both`: and the other
    /// end of its wire) into a file, or stop the capture under way.
    Capture {
        both: bool,
    },
    /// The capture's status-line text (None: none under way).
    CaptureStatus(Option<String>),
    /// The capture ended: where the file is, or what went wrong.
    CaptureEnded(Result<String, String>),
    /// Overlays.
    Help,
    Warnings,
    Doctor,
    /// Esc: close an overlay, leave the bridges view, clear the filter, or quit.
    Escape,
    Quit,
    /// A left click at a screen cell; wheel scrolls at a cell.
    Click {
        column: u16,
        row: u16,
    },
    ScrollUp {
        column: u16,
        row: u16,
    },
    ScrollDown {
        column: u16,
        row: u16,
    },
    /// The terminal's new size.
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock: highlights and messages expire relative to it.
    Tick(Instant),
    /// A background scan began.
    ScanStarted,
    /// A background scan finished (the error is already a message).
    Scanned(Box<Result<Snapshot, String>>, Instant),
}

/// What the event loop must do after an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Start a rescan on the background thread.
    Rescan,
    /// Start capturing this interface (and its peer with `both`).
    Capture {
        netns: u64,
        ifindex: u32,
        both: bool,
    },
    /// Stop the capture under way.
    StopCapture,
    Quit,
}

/// Which keymap applies: keys mean different things while typing a filter
/// or an address, or with an overlay open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
    /// Typing a destination address for the path tracer.
    Address,
    Overlay,
}
