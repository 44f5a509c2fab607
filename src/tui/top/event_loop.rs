//! The only impure part of the top screen: the terminal, signals and the
//! sampling thread. Sampling runs on a thread of its own that owns the
//! [`Sampler`] and sends each [`crate::sys::sample::Tick`] over a channel,
//! so keys stay responsive while a rediscovery runs. The terminal is
//! restored on every way out: return, error, panic (ratatui's hook) and
//! SIGTERM/SIGHUP/SIGINT.

use std::io::{self, IsTerminal};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event;

use super::app::{TopAction, TopApp, TopEffect};
use super::keymap;
use super::view::TopView;
use crate::cli::top::{Schedule, TopOptions};
use crate::error::Error;
use crate::sys::sample::{Sampler, Tick};

/// How often keys, samples and signals are looked at.
const POLL: Duration = Duration::from_millis(100);

/// Runs the top screen until the user quits.
pub fn run(sampler: Sampler, options: &TopOptions) -> anyhow::Result<()> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(Error::NotATerminal.into());
    }
    let stop = crate::tui::event_loop::stop_on_signals()?;
    let ticks = spawn_sampler(sampler, options.interval, options.count)?;
    let mut app = TopApp::new(options.interval, options.sort, options.bits);
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let _restore = Restore;
    let size = terminal.size()?;
    app.update(TopAction::Resize {
        width: size.width,
        height: size.height,
    });
    let mut sampler_gone = false;
    loop {
        terminal.draw(|frame| frame.render_widget(&TopView::new(&app), frame.area()))?;
        let mut ready = event::poll(POLL)?;
        if !io::stdout().is_terminal() {
            return Ok(());
        }
        while ready {
            let ev = event::read()?;
            if let Some(action) = keymap::from_event(&ev, app.typing.is_some())
                && app.update(action) == TopEffect::Quit
            {
                return Ok(());
            }
            ready = event::poll(Duration::ZERO)?;
        }
        loop {
            match ticks.try_recv() {
                Ok(tick) => {
                    app.update(TopAction::Sampled(Box::new(tick)));
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // --count samples taken: done, as the JSON lines are.
                    if options.count.is_some() {
                        return Ok(());
                    }
                    if !sampler_gone {
                        sampler_gone = true;
                        app.update(TopAction::Failed(
                            "the sampling thread stopped; restart nsmap top".into(),
                        ));
                    }
                    break;
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}

/// The sampling thread: a baseline at once, then a sample every interval
/// (on a fixed grid), until the UI drops its end or `count` samples after
/// the baseline are out.
fn spawn_sampler(
    mut sampler: Sampler,
    interval: Duration,
    count: Option<u64>,
) -> io::Result<Receiver<Tick>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("nsmap-top".into())
        .spawn(move || {
            let mut clock = Schedule::new(interval, Instant::now());
            let mut taken = 0u64;
            if tx.send(sampler.sample()).is_err() {
                return;
            }
            while count.is_none_or(|n| taken < n) {
                std::thread::sleep(clock.wait(Instant::now()));
                if tx.send(sampler.sample()).is_err() {
                    return;
                }
                taken += 1;
            }
        })?;
    Ok(rx)
}

/// Puts the terminal back when dropped (ratatui's panic hook covers panics).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
