//! The command line: clap arguments → a resolved [`Options`] → one run.
//!
//! Raw arguments become `Options` before any work (selectors parsed, colour
//! decided), then [`run`] gets a snapshot (live scan or `--input`) and hands
//! it to one renderer. Errors become exit codes in [`main`] only.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::doctor::{self, Severity};
pub(crate) mod capture;
pub mod top;
mod watch;

use crate::error::Error;
use crate::graph;
use crate::name::{Name, terminal_safe};
use crate::query::{self, Scope};
use crate::render::{self, Style, json};
use crate::resolve::resolve;
use crate::select::Selector;
use crate::snapshot::Snapshot;
use crate::snapshot::l3::Family;
use crate::sys;

/// Exit codes, shown in `--help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (warnings do not change it); `nsmap path`: reachable
  1  nothing matched: unknown interface, bridge or namespace; or
     `nsmap doctor` found a problem at or above --fail-on; or
     `nsmap path`: unreachable
  2  usage error, or an --input file that cannot be read or parsed
  3  the scan failed (no /proc, or nsmap's own namespace cannot be dumped)
  4  `nsmap path`: unknown (the snapshot cannot decide; the reason says why)";

#[derive(Debug, Parser)]
#[command(
    name = "nsmap",
    version,
    about = "Map Linux network namespaces: interfaces, veth peers, bridge ports and lower links, exactly",
    after_help = EXIT_CODES
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<CommandArgs>,

    /// Read a saved snapshot (from `nsmap snapshot`) instead of scanning this host.
    #[arg(long, global = true, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,

    /// When to colour tables (auto: only on a terminal, never with NO_COLOR).
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Do not print warnings on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum CommandArgs {
    // --- tui: begin ---
    /// Explore interactively (the default when run on a terminal): follow
    /// veth wires across namespaces, see what is plugged into each bridge.
    Tui {
        /// Rescan by itself every SECS seconds (e.g. 2 or 0.5); `r` rescans on demand.
        #[arg(long, value_name = "SECS", value_parser = parse_interval)]
        interval: Option<Duration>,
    },
    // --- tui: end ---
    /// List network namespaces: inode, name, processes, interface count.
    Ns,
    /// List interfaces: namespace, kind, state, master, peer, addresses.
    Links {
        /// Only this namespace: a name (ip netns, container, pod), inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
        /// Also read and show each interface's counters and queueing
        /// disciplines (like `ip -s link` and `tc qdisc` in every namespace).
        #[arg(short, long)]
        stats: bool,
    },
    /// Show every interface named IFNAME and the other end of its wire.
    ///
    /// When IFNAME is no interface but a container or pod name, shows that
    /// namespace's interfaces and their peers.
    Peers {
        /// The interface name (e.g. eth0), or a container or pod name.
        ifname: OsString,
        /// Only this namespace: a name (ip netns, container, pod), inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
    },
    /// Show each bridge, its ports, and where each port's wire leads.
    Bridges {
        /// Only the bridge with this name.
        bridge: Option<OsString>,
        /// Only this namespace: a name (ip netns, container, pod), inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
    },
    /// List routes of every namespace, like `ip route show table all` in each.
    Routes {
        /// Only this namespace: a name (ip netns, container, pod), inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
        /// Only this table: main, local, default, a number, or all.
        #[arg(long, value_name = "TABLE", default_value = "all", value_parser = crate::render::routes::parse_table)]
        table: crate::render::routes::TableArg,
        /// Only IPv4 routes.
        #[arg(short = '4', conflicts_with = "ipv6")]
        ipv4: bool,
        /// Only IPv6 routes.
        #[arg(short = '6')]
        ipv6: bool,
    },
    /// Trace a packet from SRC to DST across namespaces, hop by hop: the
    /// route used at each, and exactly where and why it stops.
    ///
    /// Works from the snapshot alone (also with --input on a file from
    /// another machine). Exit 0 reachable, 1 unreachable, 4 unknown.
    Path {
        /// Where it starts: a namespace (name, container, pod, inode, pid:N,
        /// path), IFNAME@SEL to send by that interface, or an address of
        /// exactly one namespace (then it is also the bound source).
        src: OsString,
        /// Where it goes: an IPv4/IPv6 address, or a namespace selector
        /// (then its primary address).
        dst: OsString,
        /// Bind the source address, like `ping -I ADDR` (policy rules can
        /// match a bound source that they do not match otherwise).
        #[arg(long, value_name = "ADDR")]
        from: Option<std::net::IpAddr>,
        /// The protocol of the modelled packet.
        #[arg(long, value_enum, default_value_t = crate::path::Proto::Icmp)]
        proto: crate::path::Proto,
        /// Destination port (tcp, udp).
        #[arg(long, value_name = "PORT")]
        dport: Option<u16>,
        /// With a selector as DST: its IPv4 address.
        #[arg(short = '4', conflicts_with = "ipv6")]
        ipv4: bool,
        /// With a selector as DST: its IPv6 address.
        #[arg(short = '6')]
        ipv6: bool,
    },
    /// Print the whole map as one JSON document (the format in FORMAT.md).
    Snapshot {
        /// Print the unresolved per-namespace scan instead (for fixtures).
        #[arg(long)]
        raw: bool,
        /// One line instead of indented JSON.
        #[arg(long)]
        compact: bool,
    },
    /// Check the wiring: findings most severe first, each with a fix (codes in DOCTOR.md).
    Doctor {
        /// Exit 1 when a finding is at least this severe.
        #[arg(long, value_enum, default_value_t = Severity::Error, value_name = "LEVEL")]
        fail_on: Severity,
        /// Only findings about this namespace: a name, inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
        /// Also watch the counters for SECS seconds and report interfaces
        /// whose drops or errors grow meanwhile (NSM037–NSM040). Live only.
        #[arg(long, value_name = "SECS", value_parser = parse_interval)]
        sample: Option<Duration>,
    },
    /// Draw the map as a graph: Graphviz DOT (pipe into `dot -Tsvg`) or Mermaid.
    Graph {
        /// Output syntax.
        #[arg(long, value_enum, default_value_t = graph::Format::Dot)]
        format: graph::Format,
        /// Only this namespace and its direct neighbours: a name, inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
    },
    /// Capture packets on interfaces of any namespace into one pcapng file
    /// (for Wireshark, tshark, tcpdump), each interface named IFNAME@LABEL.
    Capture(capture::CaptureArgs),
    /// Stream changes as JSON lines: namespaces and interfaces appearing,
    /// vanishing and changing (state, master, peer, addresses).
    Watch {
        /// Rescan at least this often (seconds), to see namespaces that
        /// appear and vanish without a netlink notification.
        #[arg(long, default_value = "2", value_name = "SECS", value_parser = parse_interval)]
        interval: Duration,
        /// First print everything present as added events.
        #[arg(long)]
        initial: bool,
    },
    /// Every interface of every namespace ranked by traffic, live (like
    /// iftop across namespaces, named after their containers and pods).
    ///
    /// On a terminal: a full-screen table (s: sort, /: filter, p: pause,
    /// b: bits, q: quit). Otherwise, or with --json: one JSON object per
    /// sample, per line, one interval after start: {"time", "interval_ms",
    /// "interfaces": [{netns, ifindex, ifname, label, rx_bytes_per_s, …}]}.
    /// Namespaces are rediscovered every 5 s and when /run/netns changes;
    /// between those, a sample asks each namespace for its counters only.
    Top {
        /// Seconds between samples (e.g. 1 or 0.5).
        #[arg(long, default_value = "1", value_name = "SECS", value_parser = parse_interval)]
        interval: Duration,
        /// Stop after N samples.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Only this namespace: a name (ip netns, container, pod), inode, pid:N or path.
        #[arg(long, value_name = "SEL")]
        ns: Option<OsString>,
        /// Rank by received, sent or both bytes, drops or errors.
        #[arg(long, value_enum, default_value_t = crate::rates::SortKey::Total)]
        sort: crate::rates::SortKey,
        /// Show rates in bits per second (the table; JSON is in bytes).
        #[arg(long)]
        bits: bool,
        /// Print each sample's cost on stderr.
        #[arg(long, hide = true)]
        debug_timing: bool,
    },
}

/// Where the snapshot comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Scan this host now.
    Live,
    /// A file written by `nsmap snapshot`.
    File(PathBuf),
}

/// What to do, resolved from [`Args`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ns,
    Links {
        ns: Option<Selector>,
        stats: bool,
    },
    Peers {
        ifname: Name,
        ns: Option<Selector>,
    },
    Bridges {
        bridge: Option<Name>,
        ns: Option<Selector>,
    },
    Routes {
        ns: Option<Selector>,
        filter: crate::render::routes::Filter,
    },
    Path {
        src: Name,
        dst: Name,
        from: Option<std::net::IpAddr>,
        proto: crate::path::Proto,
        dport: Option<u16>,
        family: Option<Family>,
    },
    Snapshot {
        raw: bool,
        compact: bool,
    },
    Doctor {
        fail_on: Severity,
        ns: Option<Selector>,
        sample: Option<Duration>,
    },
    Graph {
        format: graph::Format,
        ns: Option<Selector>,
    },
    Watch {
        /// Longest time between two rescans.
        interval: Duration,
        initial: bool,
    },
    Top(top::TopOptions),
    /// `nsmap capture`: live only, run by `cli/capture.rs`.
    Capture(capture::Capture),
    /// The interactive view; rescans every `interval` when set.
    Tui {
        interval: Option<Duration>,
    },
}

/// The resolved configuration of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Live scan or a saved file.
    pub source: Source,
    /// Colour or not.
    pub style: Style,
    /// JSON instead of human output.
    pub json: bool,
    /// Suppress warnings on stderr.
    pub quiet: bool,
    pub command: Command,
}

impl Options {
    pub fn from_args(args: Args) -> Options {
        let color = match args.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let source = args.input.map_or(Source::Live, Source::File);
        let live = source == Source::Live;
        let selector = |s: Option<OsString>| s.map(|s| resolve_selector(Selector::parse(&s), live));
        let name =
            |s: &OsString| Name::from_bytes(std::os::unix::ffi::OsStrExt::as_bytes(s.as_os_str()));
        // No subcommand: the TUI on a terminal, the namespace table when
        // piped (so scripts that ran a bare `nsmap` keep working).
        let interactive = !args.json && io::stdin().is_terminal() && io::stdout().is_terminal();
        let command = match args.command {
            None if interactive => Command::Tui { interval: None },
            Some(CommandArgs::Tui { interval }) => Command::Tui { interval },
            None | Some(CommandArgs::Ns) => Command::Ns,
            Some(CommandArgs::Links { ns, stats }) => Command::Links {
                ns: selector(ns),
                stats,
            },
            Some(CommandArgs::Peers { ifname, ns }) => Command::Peers {
                ifname: name(&ifname),
                ns: selector(ns),
            },
            Some(CommandArgs::Bridges { bridge, ns }) => Command::Bridges {
                bridge: bridge.as_ref().map(name),
                ns: selector(ns),
            },
            Some(CommandArgs::Routes {
                ns,
                table,
                ipv4,
                ipv6,
            }) => Command::Routes {
                ns: selector(ns),
                filter: crate::render::routes::Filter {
                    table: table.0,
                    family: family(ipv4, ipv6),
                },
            },
            Some(CommandArgs::Path {
                src,
                dst,
                from,
                proto,
                dport,
                ipv4,
                ipv6,
            }) => Command::Path {
                src: name(&src),
                dst: name(&dst),
                from,
                proto,
                dport,
                family: family(ipv4, ipv6),
            },
            Some(CommandArgs::Snapshot { raw, compact }) => Command::Snapshot { raw, compact },
            Some(CommandArgs::Doctor {
                fail_on,
                ns,
                sample,
            }) => Command::Doctor {
                fail_on,
                ns: selector(ns),
                sample,
            },
            Some(CommandArgs::Watch { interval, initial }) => Command::Watch { interval, initial },
            Some(CommandArgs::Capture(args)) => Command::Capture(capture::Capture::from_args(args)),
            Some(CommandArgs::Graph { format, ns }) => Command::Graph {
                format,
                ns: selector(ns),
            },
            Some(CommandArgs::Top {
                interval,
                count,
                ns,
                sort,
                bits,
                debug_timing,
            }) => Command::Top(top::TopOptions {
                interval,
                count,
                ns: selector(ns),
                sort,
                bits,
                debug_timing,
            }),
        };
        Options {
            source,
            style: Style { color },
            json: args.json,
            quiet: args.quiet,
            command,
        }
    }
}

/// `-4` / `-6`.
fn family(ipv4: bool, ipv6: bool) -> Option<Family> {
    match (ipv4, ipv6) {
        (true, _) => Some(Family::Inet),
        (_, true) => Some(Family::Inet6),
        _ => None,
    }
}

impl Command {
    /// Whether the command reads layer 3 (routes, rules, neighbours,
    /// netconf, firewall): the wiring-only listings never pay for it.
    pub fn needs_layer3(&self) -> bool {
        matches!(
            self,
            Command::Routes { .. }
                | Command::Path { .. }
                | Command::Snapshot { .. }
                | Command::Doctor { .. }
                | Command::Tui { .. }
        )
    }

    /// What a live scan for the command dumps: layer 3 where it needs it;
    /// counters and qdiscs where it shows them (never for the wiring-only
    /// listings, which then cost what they did before counters existed).
    pub fn scan_options(&self) -> sys::ScanOptions {
        let counters = matches!(
            self,
            Command::Snapshot { .. }
                | Command::Doctor { .. }
                | Command::Tui { .. }
                | Command::Links { stats: true, .. }
        );
        sys::ScanOptions {
            layer3: self.needs_layer3(),
            stats: counters,
            qdiscs: counters,
            ..sys::ScanOptions::default()
        }
    }
}

/// `--interval SECS`: a positive number of seconds, at least 0.1.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(0.1..=86_400.0).contains(&secs) {
        return Err(format!("{s} is out of range: use 0.1 to 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A path selector names a namespace file on this host: stat it (live only).
fn resolve_selector(selector: Selector, live: bool) -> Selector {
    match selector {
        Selector::Path { path, inode: None } if live => {
            let inode = sys::nsfs::path_inode(&path.to_bytes());
            Selector::Path { path, inode }
        }
        other => other,
    }
}

/// Parses arguments, runs, and returns the process exit code.
pub fn main() -> i32 {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(&Options::from_args(args)) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return 0;
            }
            let _ = writeln!(io::stderr(), "nsmap: {}", terminal_safe(&format!("{e:#}")));
            exit_code(&e)
        }
    }
}

fn exit_code(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<Error>() {
        Some(
            Error::NoSuchInterface { .. } | Error::NoSuchBridge { .. } | Error::NoSuchNamespace(_),
        ) => 1,
        Some(
            Error::ReadInput { .. }
            | Error::ParseInput { .. }
            | Error::SchemaVersion { .. }
            | Error::Usage(_)
            | Error::NotATerminal,
        ) => 2,
        Some(Error::Proc { .. } | Error::OwnNamespace(_) | Error::Capture(_)) | None => 3,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs one command; Ok carries the exit code.
pub fn run(options: &Options) -> anyhow::Result<i32> {
    if let Command::Tui { interval } = options.command {
        let tui = crate::tui::Options {
            source: options.source.clone(),
            interval,
        };
        crate::tui::run(&tui)?;
        return Ok(0);
    }
    if let Command::Capture(capture) = &options.command {
        return capture::run(capture, options);
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if let Command::Watch { interval, initial } = options.command {
        if options.source != Source::Live {
            return Err(Error::Usage("watch needs a live host; drop --input".into()).into());
        }
        return watch::run(interval, initial, options, &mut out);
    }
    if let Command::Top(top) = &options.command {
        return top::run(top, options, &mut out);
    }
    if let (Source::File(_), Command::Snapshot { raw: true, .. }) =
        (&options.source, &options.command)
    {
        return Err(Error::Usage(
            "--raw prints a live scan, not a file; drop --raw or --input".into(),
        )
        .into());
    }
    if let (
        Source::Live,
        Command::Snapshot {
            raw: true, compact, ..
        },
    ) = (&options.source, &options.command)
    {
        let raw = sys::scan(&options.command.scan_options())?;
        report(&resolve(&raw), options);
        write_json(&raw, *compact, &mut out)?;
        out.flush()?;
        return Ok(0);
    }
    let sample = match options.command {
        Command::Doctor { sample, .. } => sample,
        _ => None,
    };
    if sample.is_some() && options.source != Source::Live {
        return Err(Error::Usage(
            "--sample watches a live host's counters; drop --input (or --sample)".into(),
        )
        .into());
    }
    let mut before = None;
    let snapshot = match &options.source {
        Source::Live => {
            let scan = sys::ScanOptions {
                close_later: true,
                ..options.command.scan_options()
            };
            if let Some(secs) = sample {
                before = Some(resolve(&sys::scan(&scan)?));
                std::thread::sleep(secs);
                let raw = sys::scan(&scan)?;
                let after = resolve(&raw);
                free_at_exit(raw);
                after
            } else {
                let raw = sys::scan(&scan)?;
                let snapshot = resolve(&raw);
                free_at_exit(raw);
                snapshot
            }
        }
        Source::File(_) => load(&options.source, &sys::ScanOptions::default())?,
    };
    report(&snapshot, options);
    let code = render_sampled(&snapshot, before.as_ref(), options, &mut out)?;
    out.flush().context("cannot write to stdout")?;
    free_at_exit(snapshot);
    Ok(code)
}

/// Leaves a value the process is about to exit with to the exit itself:
/// freeing the tree of a 1,000-namespace scan one allocation at a time
/// costs milliseconds that the kernel spends in microseconds.
fn free_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// The snapshot a run works on: a live scan (dumping what `scan` asks),
/// or a file from `--input`.
pub fn load(source: &Source, scan: &sys::ScanOptions) -> anyhow::Result<Snapshot> {
    match source {
        Source::Live => Ok(resolve(&sys::scan(scan)?)),
        Source::File(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::ReadInput {
                path: path.clone(),
                source,
            })?;
            Ok(crate::input::load(path, &bytes)?)
        }
    }
}

/// Renders `options.command` from a snapshot: the part of a run that is
/// pure, so tests drive it into a buffer. Ok carries the exit code (not 0
/// only for `doctor`).
pub fn render_command(
    snapshot: &Snapshot,
    options: &Options,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    render_sampled(snapshot, None, options, out)
}

/// [`render_command`], with the snapshot `doctor --sample` took at the
/// start of its sample (`snapshot` is the one at its end).
pub fn render_sampled(
    snapshot: &Snapshot,
    before: Option<&Snapshot>,
    options: &Options,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    let style = &options.style;
    match &options.command {
        // Drawn on a terminal by `run`; into a writer it is the overview table.
        Command::Ns | Command::Tui { .. } => {
            if options.json {
                json::write(&snapshot.namespaces, out)?;
            } else {
                render::ns::write_table(&snapshot.namespaces, style, out)?;
            }
        }
        Command::Links { ns, stats } => {
            let scope = scope(snapshot, ns.as_ref())?;
            let rows = render::links::rows(snapshot, &scope);
            if options.json {
                json::write(&rows, out)?;
            } else if *stats {
                render::links::write_stats_table(&rows, style, out)?;
            } else {
                render::links::write_table(snapshot, &rows, style, out)?;
            }
        }
        Command::Peers { ifname, ns } => {
            let scope = scope(snapshot, ns.as_ref())?;
            let mut rows = query::peers(snapshot, ifname, &scope);
            if rows.is_empty() {
                // Not an interface: maybe a container or pod name.
                rows = query::namespace_peers(snapshot, ifname, &scope);
            }
            if rows.is_empty() {
                return Err(Error::NoSuchInterface {
                    name: ifname.as_str().to_string(),
                    scope: scope.describe().to_string(),
                }
                .into());
            }
            if options.json {
                json::write(&rows, out)?;
            } else {
                render::peers::write_table(&rows, style, out)?;
            }
        }
        Command::Bridges { bridge, ns } => {
            let scope = scope(snapshot, ns.as_ref())?;
            let rows = query::bridges(snapshot, bridge.as_ref(), &scope);
            if let Some(name) = bridge
                && rows.is_empty()
            {
                return Err(Error::NoSuchBridge {
                    name: name.as_str().to_string(),
                    scope: scope.describe().to_string(),
                }
                .into());
            }
            if options.json {
                json::write(&rows, out)?;
            } else {
                render::bridges::write_tree(&rows, style, out)?;
            }
        }
        Command::Routes { ns, filter } => {
            let scope = scope(snapshot, ns.as_ref())?;
            let (rows, missing) = render::routes::rows(snapshot, &scope, *filter);
            if !missing.is_empty() && !options.quiet {
                let _ = writeln!(
                    io::stderr(),
                    "nsmap: {} namespace(s) have no routes in this snapshot (recorded without layer 3?): {}",
                    missing.len(),
                    terminal_safe(&missing.join(", "))
                );
            }
            if options.json {
                json::write(&rows, out)?;
            } else {
                render::routes::write_table(&rows, style, out)?;
            }
        }
        Command::Path {
            src,
            dst,
            from,
            proto,
            dport,
            family,
        } => {
            let query = path_query(snapshot, src, dst, *from, *proto, *dport, *family, options)?;
            let trace = crate::path::trace(snapshot, &query);
            if options.json {
                json::write(&trace, out)?;
            } else {
                render::path::write(&trace, style, out)?;
            }
            return Ok(trace.exit_code());
        }
        Command::Snapshot { compact, .. } => json::write_snapshot(snapshot, !*compact, out)?,
        // Handled in `run`: they need the live host, not a snapshot.
        Command::Watch { .. } | Command::Top(_) | Command::Capture(_) => {}
        Command::Doctor { fail_on, ns, .. } => {
            let scope = scope(snapshot, ns.as_ref())?;
            let all = match before {
                Some(before) => doctor::findings_sampled(before, snapshot),
                None => doctor::findings(snapshot),
            };
            let findings: Vec<doctor::Finding> =
                all.into_iter().filter(|f| f.in_scope(&scope)).collect();
            if options.json {
                json::write(&findings, out)?;
            } else {
                doctor::report::write(&findings, style, out)?;
            }
            return Ok(i32::from(doctor::failing(&findings, *fail_on) > 0));
        }
        Command::Graph { format, ns } => {
            let scope = scope(snapshot, ns.as_ref())?;
            graph::write(snapshot, &scope, *format, out)?;
        }
    }
    Ok(0)
}

/// `nsmap path`'s SRC and DST resolved on the snapshot.
#[allow(clippy::too_many_arguments)]
fn path_query(
    snapshot: &Snapshot,
    src: &Name,
    dst: &Name,
    from: Option<std::net::IpAddr>,
    proto: crate::path::Proto,
    dport: Option<u16>,
    family: Option<Family>,
    options: &Options,
) -> Result<crate::path::Query, Error> {
    let live = options.source == Source::Live;
    let one_namespace = |text: &Name| -> Result<Option<u64>, Error> {
        let selector = resolve_selector(Selector::parse(std::ffi::OsStr::new(text.as_str())), live);
        let picked = selector.select(snapshot);
        match picked.len() {
            0 => Ok(None),
            1 => Ok(picked.first().copied()),
            _ => Err(Error::Usage(format!(
                "'{}' names {} namespaces ({}); pick one by inode",
                text.as_str(),
                picked.len(),
                picked
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    };
    // SRC: an address, a namespace, or IFNAME@SEL.
    let mut bound = from;
    let (netns, oif) = if let Ok(addr) = src.as_str().parse::<std::net::IpAddr>() {
        let owners = crate::path::owners_of(snapshot, addr);
        match owners.as_slice() {
            [one] => {
                bound = bound.or(Some(addr));
                (*one, None)
            }
            [] => {
                return Err(Error::NoSuchNamespace(format!(
                    "{addr} (no namespace has this address)"
                )));
            }
            many => {
                return Err(Error::Usage(format!(
                    "{addr} is an address of {} namespaces ({}); name the namespace and add --from {addr}",
                    many.len(),
                    many.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    } else if let Some(inode) = one_namespace(src)? {
        (inode, None)
    } else if let Some((ifname, sel)) = src.as_str().split_once('@') {
        let Some(inode) = one_namespace(&Name::from_escaped(sel))? else {
            return Err(Error::NoSuchNamespace(sel.to_string()));
        };
        let ifname = Name::from_escaped(ifname);
        let iface = snapshot
            .namespaces
            .iter()
            .find(|n| n.inode == inode)
            .and_then(|n| n.interfaces.iter().find(|i| i.ifname == ifname));
        let Some(iface) = iface else {
            return Err(Error::NoSuchInterface {
                name: ifname.as_str().to_string(),
                scope: format!("in {sel}"),
            });
        };
        (inode, Some(iface.ifindex))
    } else {
        return Err(Error::NoSuchNamespace(src.as_str().to_string()));
    };
    // DST: an address, or a namespace's primary address.
    let dst_addr = if let Ok(addr) = dst.as_str().parse::<std::net::IpAddr>() {
        addr
    } else {
        let Some(inode) = one_namespace(dst)? else {
            return Err(Error::NoSuchNamespace(dst.as_str().to_string()));
        };
        let want = family.or_else(|| bound.map(Family::of));
        let found = crate::path::primary_address(snapshot, inode, want.or(Some(Family::Inet)))
            .or_else(|| {
                want.is_none()
                    .then(|| crate::path::primary_address(snapshot, inode, None))
                    .flatten()
            });
        let Some((addr, iface)) = found else {
            return Err(Error::Usage(format!(
                "{} has no {}address to aim at; give DST as an address",
                dst.as_str(),
                match want {
                    Some(Family::Inet) => "IPv4 ",
                    Some(Family::Inet6) => "IPv6 ",
                    None => "",
                }
            )));
        };
        if !options.quiet && !options.json {
            let _ = writeln!(
                io::stderr(),
                "nsmap: {} is {}'s address on {}",
                addr,
                terminal_safe(dst.as_str()),
                terminal_safe(&iface.name_or_index())
            );
        }
        addr
    };
    if let Some(b) = bound
        && b.is_ipv4() != dst_addr.is_ipv4()
    {
        return Err(Error::Usage(format!(
            "the source {b} and the destination {dst_addr} are of different families"
        )));
    }
    if dport.is_some() && proto == crate::path::Proto::Icmp {
        return Err(Error::Usage("--dport needs --proto tcp or udp".into()));
    }
    Ok(crate::path::Query {
        netns,
        oif,
        from: bound,
        dst: dst_addr,
        proto,
        dport,
    })
}

fn write_json(
    value: &impl serde::Serialize,
    compact: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    if compact {
        json::write_compact(value, out)
    } else {
        json::write(value, out)
    }
}

fn scope(snapshot: &Snapshot, selector: Option<&Selector>) -> Result<Scope, Error> {
    let Some(selector) = selector else {
        return Ok(Scope(None));
    };
    let picked = selector.select(snapshot);
    if picked.is_empty() {
        return Err(Error::NoSuchNamespace(selector_text(selector)));
    }
    Ok(Scope(Some(picked)))
}

fn selector_text(selector: &Selector) -> String {
    match selector {
        Selector::Name(n) => n.as_str().to_string(),
        Selector::Inode(i) => i.to_string(),
        Selector::Pid(p) => format!("pid:{p}"),
        Selector::Path { path, .. } => path.as_str().to_string(),
    }
}

/// Tells the user, on stderr, what the map may be missing. Unprivileged:
/// exactly one notice saying what was hidden and how to see it.
pub(crate) fn report(snapshot: &Snapshot, options: &Options) {
    if options.quiet {
        return;
    }
    let mut err = io::stderr().lock();
    if options.source == Source::Live && !snapshot.scan.privileged {
        let unscanned = snapshot.namespaces.iter().filter(|n| !n.scanned).count();
        let _ = writeln!(
            err,
            "nsmap: not running as root: showing the {} namespaces this user can see ({} of them without interfaces); other users' processes and namespaces are hidden; run as root (sudo nsmap …) for the full map",
            snapshot.namespaces.len(),
            unscanned
        );
        return;
    }
    for w in &snapshot.warnings {
        let _ = writeln!(err, "nsmap: warning: {}", terminal_safe(&w.message));
    }
}
