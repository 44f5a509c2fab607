//! The only impure part of the TUI: the terminal, the clock, signals and
//! the scan thread. It reads events, asks the keymap what they mean, feeds
//! the app and draws it; nothing here decides anything.
//!
//! Scans run on one background thread that owns the data source: the UI
//! sends it a request (`r`) or it wakes by itself (`--interval`: on a live
//! host when the kernel reports a change, at the latest every interval),
//! and it
//! answers with whole snapshots over a channel, so the UI never waits for a
//! scan and never shares mutable state with it. The terminal is restored by
//! a guard on every way out: return, error, panic (ratatui's hook, extended
//! here to mouse mode and the cursor) and SIGTERM/SIGHUP/SIGINT.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use ratatui::DefaultTerminal;

use super::action::{Action, Effect};
use super::{App, Options, View, keymap};
use crate::cli::Source;
use crate::error::Error;
use crate::resolve::resolve;
use crate::snapshot::Snapshot;
use crate::sys::ScanOptions;
use crate::sys::watch::Watcher;

/// Poll period while something on screen is timed (highlights, messages).
const TICK_BUSY: Duration = Duration::from_millis(100);
/// Poll period otherwise; bounds how late a signal is noticed.
const TICK_IDLE: Duration = Duration::from_millis(250);
/// How long the scan thread waits for a change before checking for an `r`.
const WATCH_POLL: Duration = Duration::from_millis(200);

/// Runs the TUI until the user quits.
pub fn run(options: &Options) -> anyhow::Result<()> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(Error::NotATerminal.into());
    }
    // Scan before taking over the screen, so a fatal error prints normally.
    // The details pane shows routes and the path mode traces: layer 3.
    let first = crate::cli::load(&options.source, &scan_options())?;
    let stop = stop_on_signals()?;
    let (requests, reports) = spawn_scanner(options.source.clone(), options.interval)?;
    let mut app = App::new(first, options.source.clone(), Instant::now())
        .with_interval(options.interval)
        .with_doctor(super::finding::from_doctor);
    let (mut terminal, _session) = Session::start()?;
    let size = terminal.size()?;
    app.update(Action::Resize {
        width: size.width,
        height: size.height,
    });
    let mut scanner_gone = false;
    let mut capture: Option<super::capture::Capture> = None;
    loop {
        terminal.draw(|frame| frame.render_widget(&View::new(&app), frame.area()))?;
        let timeout = if app.animating() {
            TICK_BUSY
        } else {
            TICK_IDLE
        };
        let mut ready = event::poll(timeout)?;
        // The terminal went away (its window closed, tmux killed) without a
        // SIGHUP reaching us: quit instead of polling a dead tty forever.
        if !io::stdout().is_terminal() {
            return Ok(());
        }
        // Drain everything pending before drawing again: held keys stay snappy.
        while ready {
            let ev = event::read()?;
            if let Some(action) = keymap::from_event(&ev, app.mode()) {
                match app.update(action) {
                    Effect::Quit => {
                        finish_capture(capture.take());
                        return Ok(());
                    }
                    Effect::Rescan => {
                        if requests.send(()).is_err() {
                            app.update(scanned(Err("the scan thread stopped".into())));
                        }
                    }
                    Effect::Capture {
                        netns,
                        ifindex,
                        both,
                    } => match super::capture::Capture::start(app.snapshot(), netns, ifindex, both)
                    {
                        Ok(c) => capture = Some(c),
                        Err(e) => {
                            app.update(Action::CaptureEnded(Err(e)));
                        }
                    },
                    Effect::StopCapture => {
                        if let Some(c) = capture.take() {
                            app.update(Action::CaptureEnded(c.stop()));
                        }
                    }
                    Effect::None => {}
                }
            }
            ready = event::poll(Duration::ZERO)?;
        }
        loop {
            match reports.try_recv() {
                Ok(report) => app.update(match report {
                    Report::Started => Action::ScanStarted,
                    Report::Done(result) => scanned(*result),
                }),
                Err(TryRecvError::Empty) => break,
                // The scan thread died (it should not): say so once, and
                // do not leave the UI waiting for a scan that never ends.
                Err(TryRecvError::Disconnected) => {
                    if !scanner_gone {
                        scanner_gone = true;
                        app.update(scanned(Err(
                            "the scan thread stopped; restart nsmap to rescan".into(),
                        )));
                    }
                    break;
                }
            };
        }
        // The capture's live count, or its end when it failed by itself.
        if capture.as_ref().is_some_and(super::capture::Capture::ended)
            && let Some(c) = capture.take()
        {
            app.update(Action::CaptureEnded(c.stop()));
        }
        app.update(Action::CaptureStatus(
            capture.as_ref().map(super::capture::Capture::status),
        ));
        app.update(Action::Tick(Instant::now()));
        if stop.load(Ordering::Relaxed) {
            finish_capture(capture.take());
            return Ok(());
        }
    }
}

/// Quitting ends a capture with a complete file.
fn finish_capture(capture: Option<super::capture::Capture>) {
    if let Some(c) = capture {
        let _ = c.stop();
    }
}

fn scanned(result: Result<Snapshot, String>) -> Action {
    Action::Scanned(Box::new(result), Instant::now())
}

enum Report {
    Started,
    Done(Box<Result<Snapshot, String>>),
}

/// The scan thread: scans on request, and with `interval` on a live host
/// also when the kernel reports a change (the same per-namespace rtnetlink
/// subscriptions as `nsmap watch`) or at the latest every `interval`; until
/// the UI drops its end of the request channel.
fn spawn_scanner(
    source: Source,
    interval: Option<Duration>,
) -> io::Result<(Sender<()>, Receiver<Report>)> {
    let (request_tx, request_rx) = mpsc::channel::<()>();
    let (report_tx, report_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("nsmap-scan".into())
        .spawn(move || {
            let mut watcher = match (&source, interval) {
                (Source::Live, Some(_)) => Some(Watcher::new(scan_options())),
                _ => None,
            };
            let mut last = Instant::now();
            loop {
                let woken = match (&mut watcher, interval) {
                    (Some(watcher), Some(every)) => loop {
                        match request_rx.try_recv() {
                            Ok(()) => break true,
                            Err(TryRecvError::Disconnected) => break false,
                            Err(TryRecvError::Empty) => {}
                        }
                        if watcher.wait(WATCH_POLL) || last.elapsed() >= every {
                            break true;
                        }
                    },
                    (None, Some(every)) => match request_rx.recv_timeout(every) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => true,
                        Err(RecvTimeoutError::Disconnected) => false,
                    },
                    (_, None) => request_rx.recv().is_ok(),
                };
                if !woken {
                    return;
                }
                // Requests that piled up during a scan want one scan, not many.
                while request_rx.try_recv().is_ok() {}
                if report_tx.send(Report::Started).is_err() {
                    return;
                }
                let result = match &mut watcher {
                    Some(watcher) => watcher
                        .scan()
                        .map(|raw| resolve(&raw))
                        .map_err(|e| format!("{e:#}")),
                    None => {
                        crate::cli::load(&source, &scan_options()).map_err(|e| format!("{e:#}"))
                    }
                };
                last = Instant::now();
                if report_tx.send(Report::Done(Box::new(result))).is_err() {
                    return;
                }
            }
        })?;
    Ok((request_tx, report_rx))
}

/// The terminal in TUI mode (raw, alternate screen, mouse reporting) for
/// as long as this lives.
struct Session;

impl Session {
    fn start() -> anyhow::Result<(DefaultTerminal, Session)> {
        let terminal = match ratatui::try_init() {
            Ok(t) => t,
            Err(e) => {
                ratatui::restore();
                return Err(e).context("cannot set up the terminal");
            }
        };
        // ratatui's panic hook leaves raw mode and the alternate screen;
        // mouse reporting and the cursor are ours to put back.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            leave_extras();
            hook(info);
        }));
        let session = Session;
        execute!(io::stdout(), EnableMouseCapture).context("cannot enable the mouse")?;
        Ok((terminal, session))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        leave_extras();
        ratatui::restore();
    }
}

fn leave_extras() {
    let _ = execute!(io::stdout(), DisableMouseCapture, crossterm::cursor::Show);
}

/// A flag SIGTERM, SIGHUP and SIGINT raise, so a full-screen view ends
/// through its own loop and restores the terminal (the TUI's and top's).
pub(crate) fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    Ok(stop)
}

/// What the TUI shows: everything, counters and qdiscs included.
fn scan_options() -> ScanOptions {
    crate::cli::Command::Tui { interval: None }.scan_options()
}
