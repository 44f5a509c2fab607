//! Where each pane sits for a terminal size: one pure function shared by the
//! views (to draw) and by [`super::App`] (to map mouse clicks to rows and to
//! know how many rows a page holds), so the two can never disagree.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this width the three panes are stacked instead of side by side.
const WIDE: u16 = 110;

/// Screen regions of the main and bridges views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// The "not root" banner, when shown.
    pub banner: Option<Rect>,
    /// Everything between banner and status lines (the bridges view).
    pub main: Rect,
    pub namespaces: Rect,
    pub interfaces: Rect,
    pub details: Rect,
    /// Counts, scan time, warnings, source.
    pub status: Rect,
    /// Messages, the filter being typed, or key hints.
    pub hints: Rect,
}

/// `interfaces` is how many rows the interfaces pane would like: it gets
/// those (at least a few, at most half) and the details pane the rest.
pub fn areas(size: Rect, banner: bool, interfaces: usize) -> Areas {
    let [top, main, status, hints] = Layout::vertical([
        Constraint::Length(u16::from(banner)),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(size);
    let (namespaces, interfaces, details) = if size.width >= WIDE {
        let left = u16::try_from(u32::from(size.width) * 3 / 10)
            .unwrap_or(u16::MAX)
            .clamp(30, 48);
        let [ns, right] =
            Layout::horizontal([Constraint::Length(left), Constraint::Fill(1)]).areas(main);
        let want = u16::try_from(interfaces.saturating_add(3)).unwrap_or(u16::MAX);
        let height = want.clamp(8, (right.height / 2).max(8));
        let [ifs, det] =
            Layout::vertical([Constraint::Length(height), Constraint::Fill(1)]).areas(right);
        (ns, ifs, det)
    } else {
        let [ns, ifs, det] = Layout::vertical([
            Constraint::Percentage(30),
            Constraint::Percentage(35),
            Constraint::Fill(1),
        ])
        .areas(main);
        (ns, ifs, det)
    };
    Areas {
        banner: banner.then_some(top),
        main,
        namespaces,
        interfaces,
        details,
        status,
        hints,
    }
}

/// Rows of a bordered table with one header line.
pub fn table_rows(pane: Rect) -> usize {
    usize::from(pane.height.saturating_sub(3))
}

/// Rows of a bordered text pane or tree.
pub fn text_rows(pane: Rect) -> usize {
    usize::from(pane.height.saturating_sub(2))
}

/// The first data row of a bordered table (border + header).
pub fn table_top(pane: Rect) -> u16 {
    pane.y + 2
}

/// The box of an overlay: most of the screen, centred.
pub fn overlay(size: Rect) -> Rect {
    let width = (size.width.saturating_sub(4)).min(100);
    let height = size.height.saturating_sub(4);
    Rect {
        x: size.x + (size.width - width) / 2,
        y: size.y + (size.height - height) / 2,
        width,
        height,
    }
}

/// Whether a screen cell lies in `r`.
pub fn contains(r: Rect, column: u16, row: u16) -> bool {
    column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_tile_the_screen_without_overlap() {
        for (w, h) in [(160, 48), (80, 24), (20, 6)] {
            let a = areas(Rect::new(0, 0, w, h), true, 3);
            let cells = |r: Rect| u32::from(r.width) * u32::from(r.height);
            let total = cells(a.namespaces)
                + cells(a.interfaces)
                + cells(a.details)
                + cells(a.status)
                + cells(a.hints)
                + a.banner.map_or(0, cells);
            assert_eq!(total, u32::from(w) * u32::from(h), "{w}x{h}");
            assert!(!a.namespaces.intersects(a.interfaces));
            assert!(!a.interfaces.intersects(a.details));
        }
    }

    #[test]
    fn overlay_fits_tiny_screens() {
        let o = overlay(Rect::new(0, 0, 3, 2));
        assert!(o.width <= 3 && o.height <= 2);
    }
}
