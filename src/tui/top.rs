//! `nsmap top` on a terminal: every interface ranked by traffic, each
//! namespace's totals on a row above its interfaces, live.
//!
//! Shaped like the main TUI: [`TopApp`] holds all state and changes only
//! in [`TopApp::update`], from [`TopAction`]s; [`keymap`] turns key events
//! into actions; [`TopView`] draws an app into any ratatui buffer; only
//! [`event_loop`] touches the terminal, the clock, signals and the
//! sampling thread.

pub mod app;
pub mod event_loop;
pub mod keymap;
pub mod view;

pub use app::{TopAction, TopApp};
pub use event_loop::run;
pub use view::TopView;
