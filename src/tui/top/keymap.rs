//! Keys to [`TopAction`]s: a pure table, with the same keys as the main
//! TUI where they mean the same thing, and [`HINTS`] (the hint line) next
//! to it so the two are edited together.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::TopAction;

/// The hint line: (keys, what they do).
pub const HINTS: &[(&str, &str)] = &[
    ("s", "sort"),
    ("/", "filter"),
    ("p", "pause"),
    ("b", "bits/bytes"),
    ("↑↓ PgUp PgDn", "scroll"),
    ("q", "quit"),
];

/// Translates a terminal event; `typing` while a filter is being typed.
pub fn from_event(event: &Event, typing: bool) -> Option<TopAction> {
    match event {
        Event::Key(key) => from_key(*key, typing),
        Event::Resize(width, height) => Some(TopAction::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

pub fn from_key(key: KeyEvent, typing: bool) -> Option<TopAction> {
    use KeyCode::{Backspace, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Up};
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl {
        return match key.code {
            Char('c') => Some(TopAction::Quit),
            Char('d') | Char('f') => Some(TopAction::PageDown),
            Char('u') | Char('b') => Some(TopAction::PageUp),
            _ => None,
        };
    }
    if typing {
        return Some(match key.code {
            Esc => TopAction::FilterCancel,
            Enter => TopAction::FilterAccept,
            Backspace => TopAction::FilterBackspace,
            Down => TopAction::Down,
            Up => TopAction::Up,
            Char(c) => TopAction::FilterChar(c),
            _ => return None,
        });
    }
    Some(match key.code {
        Char('q') => TopAction::Quit,
        Esc => TopAction::Escape,
        Char('s') => TopAction::CycleSort,
        Char('p') | Char(' ') => TopAction::TogglePause,
        Char('b') => TopAction::ToggleBits,
        Char('/') => TopAction::FilterStart,
        Char('j') | Down => TopAction::Down,
        Char('k') | Up => TopAction::Up,
        Char('g') | Home => TopAction::Home,
        Char('G') | End => TopAction::End,
        PageDown => TopAction::PageDown,
        PageUp => TopAction::PageUp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_hinted_key_is_bound() {
        for (keys, _) in HINTS {
            for k in keys.split(' ') {
                let code = match k {
                    "↑↓" => KeyCode::Up,
                    "PgUp" => KeyCode::PageUp,
                    "PgDn" => KeyCode::PageDown,
                    one => KeyCode::Char(one.chars().next().expect("a key")),
                };
                assert!(from_key(key(code), false).is_some(), "{k} is not bound");
            }
        }
    }

    #[test]
    fn letters_are_text_while_typing() {
        assert!(matches!(
            from_key(key(KeyCode::Char('q')), true),
            Some(TopAction::FilterChar('q'))
        ));
        assert!(matches!(
            from_key(key(KeyCode::Char('q')), false),
            Some(TopAction::Quit)
        ));
        assert!(matches!(
            from_key(key(KeyCode::Esc), true),
            Some(TopAction::FilterCancel)
        ));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(matches!(from_key(ctrl_c, true), Some(TopAction::Quit)));
    }
}
