//! The top screen's state and its one way to change: [`TopApp::update`].
//! Pure: samples arrive as actions, so tests feed hand-built ones.

use std::time::Duration;

use crate::name::terminal_safe;
use crate::rates::{self, NamespaceTotal, Rate, SortKey};
use crate::sys::sample::Tick;
use crate::tui::filter::Filter;

/// Everything that changes the screen.
#[derive(Debug, Clone)]
pub enum TopAction {
    Quit,
    /// `s`: the next sort key.
    CycleSort,
    /// `p`: freeze the numbers (sampling goes on underneath).
    TogglePause,
    /// `b`: bits or bytes per second.
    ToggleBits,
    /// `/`: start typing a filter.
    FilterStart,
    FilterChar(char),
    FilterBackspace,
    /// Enter while typing: keep the filter.
    FilterAccept,
    /// Esc while typing: drop it.
    FilterCancel,
    /// Esc otherwise: clear the filter, or quit when there is none.
    Escape,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Resize {
        width: u16,
        height: u16,
    },
    /// A sample from the sampling thread.
    Sampled(Box<Tick>),
    /// The sampling thread stopped or failed.
    Failed(String),
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopEffect {
    None,
    Quit,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub enum TopRow {
    /// A namespace's totals, above its interfaces; `interfaces` counts
    /// all of them, shown or filtered out.
    Namespace {
        total: NamespaceTotal,
        interfaces: usize,
    },
    /// An index into [`TopApp::rates`].
    Interface(usize),
}

/// The top screen.
#[derive(Debug, Clone)]
pub struct TopApp {
    pub interval: Duration,
    pub sort: SortKey,
    pub bits: bool,
    pub paused: bool,
    /// Samples taken (the baseline included).
    pub samples: u64,
    /// The measured time the shown rates are over (ms).
    pub measured_ms: Option<u64>,
    /// The last sample, the baseline of the next rates.
    last: Option<Tick>,
    /// The rates shown, sorted by `sort` (frozen while paused).
    rates: Vec<Rate>,
    rows: Vec<TopRow>,
    filter: Option<Filter>,
    /// The filter being typed.
    pub typing: Option<String>,
    scroll: usize,
    pub width: u16,
    pub height: u16,
    /// The sampling thread's last failure.
    pub problem: Option<String>,
}

/// Lines that are not data rows: the header, the column titles, the hints.
const CHROME_ROWS: usize = 3;

impl TopApp {
    pub fn new(interval: Duration, sort: SortKey, bits: bool) -> TopApp {
        TopApp {
            interval,
            sort,
            bits,
            paused: false,
            samples: 0,
            measured_ms: None,
            last: None,
            rates: Vec::new(),
            rows: Vec::new(),
            filter: None,
            typing: None,
            scroll: 0,
            width: 80,
            height: 24,
            problem: None,
        }
    }

    pub fn rates(&self) -> &[Rate] {
        &self.rates
    }

    pub fn rows(&self) -> &[TopRow] {
        &self.rows
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// The first row drawn.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// Namespaces and interfaces in the shown rates (before the filter),
    /// or in the baseline while there are no rates yet.
    pub fn counts(&self) -> (usize, usize) {
        let mut ns: Vec<u64> = match (&self.last, self.rates.is_empty()) {
            (Some(last), true) => last.sample.readings.iter().map(|r| r.netns).collect(),
            _ => self.rates.iter().map(|r| r.netns).collect(),
        };
        let interfaces = ns.len();
        ns.sort_unstable();
        ns.dedup();
        (ns.len(), interfaces)
    }

    /// Data rows that fit on the screen.
    pub fn visible_rows(&self) -> usize {
        usize::from(self.height).saturating_sub(CHROME_ROWS).max(1)
    }

    pub fn update(&mut self, action: TopAction) -> TopEffect {
        match action {
            TopAction::Quit => return TopEffect::Quit,
            TopAction::Escape => {
                if self.filter.is_none() {
                    return TopEffect::Quit;
                }
                self.filter = None;
                self.regroup();
            }
            TopAction::CycleSort => {
                self.sort = self.sort.next();
                rates::sort(&mut self.rates, self.sort);
                self.regroup();
            }
            TopAction::TogglePause => self.paused = !self.paused,
            TopAction::ToggleBits => self.bits = !self.bits,
            TopAction::FilterStart => {
                self.typing = Some(
                    self.filter
                        .as_ref()
                        .map_or_else(String::new, |f| f.query().to_string()),
                )
            }
            TopAction::FilterChar(c) => {
                if let Some(q) = &mut self.typing {
                    q.push(c);
                    self.filter = Filter::new(q);
                    self.regroup();
                }
            }
            TopAction::FilterBackspace => {
                if let Some(q) = &mut self.typing {
                    q.pop();
                    self.filter = Filter::new(q);
                    self.regroup();
                }
            }
            TopAction::FilterAccept => self.typing = None,
            TopAction::FilterCancel => {
                self.typing = None;
                self.filter = None;
                self.regroup();
            }
            TopAction::Up => self.scroll_by(-1),
            TopAction::Down => self.scroll_by(1),
            TopAction::PageUp => self.scroll_by(-(self.visible_rows() as i64)),
            TopAction::PageDown => self.scroll_by(self.visible_rows() as i64),
            TopAction::Home => self.scroll = 0,
            TopAction::End => self.scroll = self.max_scroll(),
            TopAction::Resize { width, height } => {
                self.width = width;
                self.height = height;
                self.scroll = self.scroll.min(self.max_scroll());
            }
            TopAction::Sampled(tick) => self.sampled(*tick),
            TopAction::Failed(why) => self.problem = Some(why),
        }
        TopEffect::None
    }

    /// A new sample: rates against the last one, unless paused (then only
    /// the baseline moves, so unpausing shows one interval, not the pause).
    fn sampled(&mut self, tick: Tick) {
        self.samples += 1;
        self.problem = tick.problem.clone();
        if let Some(last) = &self.last
            && !self.paused
        {
            let mut r = rates::rates(&last.sample, &tick.sample);
            rates::sort(&mut r, self.sort);
            self.rates = r;
            self.measured_ms =
                Some((tick.at_ns.saturating_sub(last.at_ns) as f64 / 1e6).round() as u64);
            self.regroup();
        }
        self.last = Some(tick);
    }

    fn regroup(&mut self) {
        self.rows = group(&self.rates, self.filter.as_ref());
        self.scroll = self.scroll.min(self.max_scroll());
    }

    fn max_scroll(&self) -> usize {
        self.rows.len().saturating_sub(self.visible_rows())
    }

    fn scroll_by(&mut self, by: i64) {
        let to = (self.scroll as i64 + by).clamp(0, self.max_scroll() as i64);
        self.scroll = to as usize;
    }
}

/// The table's rows: namespaces in order of their busiest interface (the
/// first one in `rates`, sorted), each with its totals over all its
/// interfaces, then those of its interfaces the filter keeps, busiest
/// first. A filter matching the label keeps all of a namespace's
/// interfaces; one matching an interface name keeps that interface.
pub fn group(rates: &[Rate], filter: Option<&Filter>) -> Vec<TopRow> {
    let mut by_ns: std::collections::HashMap<u64, Vec<usize>> = std::collections::HashMap::new();
    for (i, r) in rates.iter().enumerate() {
        by_ns.entry(r.netns).or_default().push(i);
    }
    let mut rows = Vec::new();
    for total in rates::totals(rates) {
        let members = by_ns.remove(&total.netns).unwrap_or_default();
        let label_matches = filter.is_none_or(|f| f.matches(&terminal_safe(&total.label)));
        let shown: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| {
                label_matches
                    || filter.is_some_and(|f| f.matches(&terminal_safe(rates[i].ifname.as_str())))
            })
            .collect();
        if shown.is_empty() {
            continue;
        }
        rows.push(TopRow::Namespace {
            total,
            interfaces: members.len(),
        });
        rows.extend(shown.into_iter().map(TopRow::Interface));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::rates::{Reading, Sample};
    use crate::snapshot::LinkStats;

    fn reading(netns: u64, ifindex: u32, name: &str, label: &str, at_s: u64, rx: u64) -> Reading {
        Reading {
            netns,
            netns_id: Some(netns),
            ifindex,
            ifname: Name::from(name),
            label: label.into(),
            at_ns: at_s * 1_000_000_000,
            stats: LinkStats {
                rx_bytes: rx,
                tx_bytes: rx / 2,
                ..LinkStats::default()
            },
        }
    }

    fn tick(at_s: u64, rx: [u64; 3]) -> Box<Tick> {
        Box::new(Tick {
            sample: Sample {
                readings: vec![
                    reading(1, 1, "lo", "host", at_s, rx[0]),
                    reading(1, 2, "eth0", "host", at_s, rx[1]),
                    reading(2, 2, "eth0", "web", at_s, rx[2]),
                ],
            },
            at_ns: at_s * 1_000_000_000,
            ..Tick::default()
        })
    }

    fn running() -> TopApp {
        let mut app = TopApp::new(Duration::from_secs(1), SortKey::Rx, false);
        app.update(TopAction::Resize {
            width: 80,
            height: 6,
        });
        app.update(TopAction::Sampled(tick(10, [0, 0, 0])));
        app.update(TopAction::Sampled(tick(12, [100, 200, 10_000])));
        app
    }

    #[test]
    fn namespaces_come_in_order_of_their_busiest_interface() {
        let app = running();
        assert_eq!(app.samples, 2);
        assert_eq!(app.measured_ms, Some(2000));
        let labels: Vec<String> = app
            .rows()
            .iter()
            .map(|r| match r {
                TopRow::Namespace { total, .. } => total.label.clone(),
                TopRow::Interface(i) => app.rates()[*i].ifname.to_string(),
            })
            .collect();
        assert_eq!(labels, ["web", "eth0", "host", "eth0", "lo"]);
        match &app.rows()[2] {
            TopRow::Namespace { total, interfaces } => {
                assert_eq!(*interfaces, 2);
                assert_eq!(total.rx_bytes_per_s, 150.0);
            }
            other => panic!("not a namespace row: {other:?}"),
        }
    }

    #[test]
    fn filter_keeps_matching_labels_or_names_and_escape_clears_it() {
        let mut app = running();
        app.update(TopAction::FilterStart);
        for c in "lo".chars() {
            app.update(TopAction::FilterChar(c));
        }
        // "lo" is an interface of host only.
        assert_eq!(app.rows().len(), 2);
        app.update(TopAction::FilterAccept);
        assert!(app.typing.is_none());
        assert_eq!(app.update(TopAction::Escape), TopEffect::None);
        assert_eq!(app.rows().len(), 5);
        assert_eq!(app.update(TopAction::Escape), TopEffect::Quit);
        // A label keeps all of its namespace's interfaces.
        app.update(TopAction::FilterStart);
        for c in "HOS".chars() {
            app.update(TopAction::FilterChar(c));
        }
        assert_eq!(app.rows().len(), 3);
        app.update(TopAction::FilterCancel);
        assert!(app.filter().is_none());
    }

    #[test]
    fn sort_cycles_and_pause_freezes_the_numbers() {
        let mut app = running();
        app.update(TopAction::CycleSort);
        assert_eq!(app.sort, SortKey::Tx);
        app.update(TopAction::TogglePause);
        app.update(TopAction::Sampled(tick(14, [100, 200, 90_000])));
        assert_eq!(app.rates()[0].rx_bytes_per_s, 5000.0);
        assert_eq!(app.samples, 3);
        // Unpaused: the next rates are over one interval, not the pause.
        app.update(TopAction::TogglePause);
        app.update(TopAction::Sampled(tick(15, [100, 200, 91_000])));
        assert_eq!(app.rates()[0].rx_bytes_per_s, 1000.0);
        assert_eq!(app.measured_ms, Some(1000));
    }

    #[test]
    fn scrolling_stays_within_the_rows() {
        let mut app = running();
        // 6 lines: 3 data rows of 5.
        assert_eq!(app.visible_rows(), 3);
        app.update(TopAction::End);
        assert_eq!(app.scroll(), 2);
        app.update(TopAction::Down);
        assert_eq!(app.scroll(), 2);
        app.update(TopAction::PageUp);
        assert_eq!(app.scroll(), 0);
        app.update(TopAction::Up);
        assert_eq!(app.scroll(), 0);
        app.update(TopAction::PageDown);
        assert_eq!(app.scroll(), 2);
        app.update(TopAction::Home);
        assert_eq!(app.scroll(), 0);
    }
}
