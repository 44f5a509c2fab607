//! Keys and mouse to [`Action`]s: a pure table, kept next to [`HELP`] (what
//! the `?` overlay lists) so the two are edited together. A unit test
//! checks that every key the help names is bound.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::action::{Action, Mode};

/// The help overlay: sections of (keys, what they do).
pub const HELP: &[(&str, &[(&str, &str)])] = &[
    (
        "Move",
        &[
            ("j k  ↓ ↑", "next / previous row (scrolls text panes)"),
            ("g G  Home End", "first / last row"),
            ("PgDn PgUp  C-d C-u", "page down / up"),
            ("Tab S-Tab  l h  → ←", "next / previous pane"),
            ("click, wheel", "select a row / scroll"),
        ],
    ),
    (
        "Follow the wire",
        &[
            (
                "Enter",
                "go to the other end: the veth peer, else the lower link",
            ),
            (
                "",
                "(on a namespace: into its interfaces; in a list: to that row)",
            ),
            ("Bksp  C-o", "back to where the last jump started"),
            ("M", "go to the master bridge of the interface"),
        ],
    ),
    (
        "Path (where a packet goes, from the snapshot)",
        &[
            (
                "m",
                "mark the namespace (or interface: bound to it) as the source",
            ),
            ("", "(m on the source clears it; on another row moves it)"),
            (
                "p",
                "trace to the selected interface's first global address",
            ),
            ("P  :", "trace to an address you type"),
            ("j k  Enter", "in the path: select a hop / go to it"),
            ("Bksp", "back from a hop to the path"),
            ("Esc", "close the path; again: clear source and highlights"),
        ],
    ),
    (
        "Views",
        &[
            (
                "b",
                "bridges tree: every bridge, its ports, what each is wired to",
            ),
            ("Space", "in the tree: fold / unfold the bridge"),
            (
                "",
                "(in the main view: list / fold the local table's routes)",
            ),
            ("w", "warnings of the scan"),
            ("d", "doctor findings"),
            ("?  F1", "this help"),
        ],
    ),
    (
        "Filter",
        &[
            (
                "/",
                "filter by ifname, namespace, address, MAC, pid, inode, kind",
            ),
            ("Enter  Esc", "while typing: keep / drop the filter"),
            ("n N", "next / previous match"),
        ],
    ),
    (
        "Data",
        &[
            (
                "s S",
                "sort namespaces by name/inode/interfaces/processes/traffic; reverse",
            ),
            ("r  F5", "rescan now (reload the file with --input)"),
            (
                "c C",
                "capture the interface (C: both ends of its wire) to pcapng; c stops",
            ),
        ],
    ),
    (
        "Quit",
        &[
            (
                "Esc",
                "close overlay, leave bridges view, clear filter, else quit",
            ),
            ("q  C-c", "quit"),
        ],
    ),
];

/// Translates any terminal event; None for events nsmap ignores.
pub fn from_event(event: &Event, mode: Mode) -> Option<Action> {
    match event {
        Event::Key(key) => from_key(*key, mode),
        Event::Mouse(mouse) => from_mouse(*mouse),
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

/// The keymap proper.
pub fn from_key(key: KeyEvent, mode: Mode) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Filter => filter_key(key, ctrl),
        Mode::Address => address_key(key, ctrl),
        Mode::Normal | Mode::Overlay => normal_key(key, ctrl, mode),
    }
}

/// Typing a destination: letters are text (IPv6 has `a`-`f` and `:`).
fn address_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    Some(match key.code {
        KeyCode::Esc => Action::AddressCancel,
        KeyCode::Enter => Action::AddressAccept,
        KeyCode::Backspace => Action::AddressBackspace,
        KeyCode::Char(c) if !ctrl => Action::AddressChar(c),
        _ => return None,
    })
}

fn filter_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    Some(match key.code {
        KeyCode::Esc => Action::FilterCancel,
        KeyCode::Enter => Action::FilterAccept,
        KeyCode::Backspace => Action::FilterBackspace,
        KeyCode::Down => Action::Down,
        KeyCode::Up => Action::Up,
        KeyCode::Char(c) if !ctrl => Action::FilterChar(c),
        _ => return None,
    })
}

fn normal_key(key: KeyEvent, ctrl: bool, mode: Mode) -> Option<Action> {
    use KeyCode::{BackTab, Backspace, Char, Down, End, Enter, Esc, Home, Left, Right, Tab, Up};
    if ctrl {
        return match key.code {
            Char('d') | Char('f') => Some(Action::PageDown),
            Char('u') | Char('b') => Some(Action::PageUp),
            Char('o') => Some(Action::Back),
            Char('n') => Some(Action::Down),
            Char('p') => Some(Action::Up),
            _ => None,
        };
    }
    let action = match key.code {
        Char('q') => Action::Quit,
        Esc => Action::Escape,
        Char('j') | Down => Action::Down,
        Char('k') | Up => Action::Up,
        Char('g') | Home => Action::Top,
        Char('G') | End => Action::Bottom,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        Enter => Action::Follow,
        Char('?') | KeyCode::F(1) => Action::Help,
        Char('w') => Action::Warnings,
        Char('d') => Action::Doctor,
        _ if mode == Mode::Overlay => return None,
        Tab | Char('l') | Right => Action::NextPane,
        BackTab | Char('h') | Left => Action::PrevPane,
        Backspace => Action::Back,
        Char('M') => Action::GotoMaster,
        Char('m') => Action::MarkSource,
        Char('p') => Action::TraceToSelection,
        Char('P') | Char(':') => Action::StartAddress,
        Char('b') => Action::ToggleBridges,
        Char(' ') => Action::ToggleCollapse,
        Char('/') => Action::StartFilter,
        Char('n') => Action::NextMatch,
        Char('N') => Action::PrevMatch,
        Char('s') => Action::CycleSort,
        Char('S') => Action::ReverseSort,
        Char('r') | KeyCode::F(5) => Action::Refresh,
        Char('c') => Action::Capture { both: false },
        Char('C') => Action::Capture { both: true },
        _ => return None,
    };
    Some(action)
}

fn from_mouse(mouse: MouseEvent) -> Option<Action> {
    let (column, row) = (mouse.column, mouse.row);
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click { column, row }),
        MouseEventKind::ScrollUp => Some(Action::ScrollUp { column, row }),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown { column, row }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn normal(code: KeyCode) -> Option<Action> {
        from_key(key(code), Mode::Normal)
    }

    #[test]
    fn every_single_character_key_in_the_help_is_bound() {
        for (_, keys) in HELP {
            for (names, _) in *keys {
                for name in names.split_whitespace() {
                    let mut chars = name.chars();
                    if let (Some(c), None) = (chars.next(), chars.next())
                        && c.is_ascii_graphic()
                    {
                        assert!(
                            normal(KeyCode::Char(c)).is_some(),
                            "help lists {c:?} but it is not bound"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn ctrl_c_quits_in_every_mode() {
        for mode in [Mode::Normal, Mode::Filter, Mode::Address, Mode::Overlay] {
            let k = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
            assert!(matches!(from_key(k, mode), Some(Action::Quit)));
        }
    }

    #[test]
    fn typing_a_filter_takes_letters_literally() {
        let a = from_key(key(KeyCode::Char('q')), Mode::Filter);
        assert!(matches!(a, Some(Action::FilterChar('q'))));
        let a = from_key(key(KeyCode::Esc), Mode::Filter);
        assert!(matches!(a, Some(Action::FilterCancel)));
    }

    #[test]
    fn overlays_keep_scrolling_keys_but_not_view_keys() {
        assert!(matches!(
            from_key(key(KeyCode::Char('j')), Mode::Overlay),
            Some(Action::Down)
        ));
        assert!(from_key(key(KeyCode::Char('b')), Mode::Overlay).is_none());
        assert!(matches!(
            normal(KeyCode::Char('b')),
            Some(Action::ToggleBridges)
        ));
    }

    #[test]
    fn typing_an_address_takes_letters_literally() {
        let a = from_key(key(KeyCode::Char('m')), Mode::Address);
        assert!(matches!(a, Some(Action::AddressChar('m'))));
        let a = from_key(key(KeyCode::Char(':')), Mode::Address);
        assert!(matches!(a, Some(Action::AddressChar(':'))));
        let a = from_key(key(KeyCode::Esc), Mode::Address);
        assert!(matches!(a, Some(Action::AddressCancel)));
    }

    #[test]
    fn path_keys_and_the_master_key() {
        assert!(matches!(
            normal(KeyCode::Char('m')),
            Some(Action::MarkSource)
        ));
        assert!(matches!(
            normal(KeyCode::Char('M')),
            Some(Action::GotoMaster)
        ));
        assert!(matches!(
            normal(KeyCode::Char(':')),
            Some(Action::StartAddress)
        ));
        assert!(
            from_key(key(KeyCode::Char('m')), Mode::Overlay).is_none(),
            "an overlay does not mark what it hides"
        );
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut k = key(KeyCode::Char('q'));
        k.kind = KeyEventKind::Release;
        assert!(from_key(k, Mode::Normal).is_none());
    }
}
