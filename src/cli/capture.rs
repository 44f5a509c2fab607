//! `nsmap capture`: arguments, then scan → targets → handles → pcapng.
//!
//! The main thread is the writer: capture threads (`sys::capture`) send
//! batches over a bounded channel, so a slow disk or reader shows up as
//! kernel drops, counted, rather than as memory growing. Everything that
//! can refuse (a target, the filter, privilege, the terminal) is checked
//! before the output file is created, so a refused capture writes nothing.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args as ClapArgs;

use super::{Options, Source, parse_interval, resolve_selector};
use crate::capture::pcapng::{self, Counts, Writer};
use crate::capture::{Endpoint, Request, endpoints};
use crate::error::Error;
use crate::name::{Name, terminal_safe};
use crate::sys;
use crate::sys::capture::{PacketMeta, Settings, Sink};

/// Longest time a packet waits in the output buffer of a pipe.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, ClapArgs)]
pub struct CaptureArgs {
    /// IFNAME@SEL (SEL: ip-netns name, container, pod, inode, pid:N, path),
    /// or a namespace selector alone (all its interfaces but lo).
    #[arg(value_name = "TARGET", required_unless_present = "bridge")]
    pub targets: Vec<OsString>,
    /// Write to FILE (`-` for stdout); without it, stdout when it is not a terminal.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Stop after COUNT packets (all interfaces together).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_interval)]
    pub duration: Option<Duration>,
    /// Keep at most BYTES of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(1..=262_144))]
    pub snaplen: u32,
    /// Put the interfaces in promiscuous mode (off by default: capture
    /// changes nothing).
    #[arg(long)]
    pub promisc: bool,
    /// Also capture the other end of every veth target.
    #[arg(long)]
    pub both: bool,
    /// A bridge (NAME or NAME@SEL): the bridge and each of its ports.
    #[arg(long, value_name = "NAME")]
    pub bridge: Vec<OsString>,
    /// pcap-filter expression (`icmp`, `tcp port 80`), after `--`.
    #[arg(last = true, value_name = "FILTER")]
    pub filter: Vec<OsString>,
}

/// The resolved command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub request: Request,
    /// None: stdout.
    pub write: Option<PathBuf>,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub snaplen: u32,
    pub promisc: bool,
    pub filter: Option<String>,
}

impl Capture {
    pub fn from_args(args: CaptureArgs) -> Capture {
        let name = |s: &OsString| Name::from_bytes(s.as_bytes());
        let filter: Vec<String> = args
            .filter
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        Capture {
            request: Request {
                targets: args.targets.iter().map(name).collect(),
                bridges: args.bridge.iter().map(name).collect(),
                both: args.both,
            },
            write: args.write.filter(|p| p.as_os_str() != "-"),
            count: args.count,
            duration: args.duration,
            snaplen: args.snaplen,
            promisc: args.promisc,
            filter: (!filter.is_empty()).then(|| filter.join(" ")),
        }
    }
}

/// Runs a capture to its end; Ok carries the exit code.
pub fn run(capture: &Capture, options: &Options) -> anyhow::Result<i32> {
    if options.source != Source::Live {
        return Err(Error::Usage(
            "capture reads packets on this host now; --input (a saved snapshot) has none: drop --input"
                .into(),
        )
        .into());
    }
    if capture.write.is_none() && io::stdout().is_terminal() {
        return Err(Error::Usage(
            "refusing to write binary pcapng to a terminal: give -w FILE, or pipe it (| wireshark -k -i -, | tcpdump -r -)".into(),
        )
        .into());
    }
    if let Some(filter) = &capture.filter {
        check_filter(filter)?;
    }
    let raw = sys::scan(&sys::ScanOptions::default())?;
    let snapshot = crate::resolve::resolve(&raw);
    // Unprivileged, the scan sees no other namespace's interfaces: say
    // why rather than that nothing matched.
    if !snapshot.scan.privileged && !sys::capture::has_capabilities() {
        return Err(
            sys::capture::needs_privilege("this user cannot enter other namespaces").into(),
        );
    }
    let targets = endpoints(&snapshot, &capture.request, |s| resolve_selector(s, true))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second one while stopping exits at once (130: killed by SIGINT).
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let settings = Settings {
        snaplen: capture.snaplen,
        promisc: capture.promisc,
        filter: capture.filter.clone(),
        // A file is read later: let the kernel hand over packets in blocks.
        // A pipe may be a reader watching live: each packet at once.
        immediate: capture.write.is_none(),
        poll_ms: 100,
    };
    let recording = Recording {
        write: capture.write.clone(),
        count: capture.count,
        duration: capture.duration,
        filter: capture.filter.clone(),
    };
    let mut err = io::stderr();
    let quiet = options.quiet;
    let mut warn = |w: &str| {
        if !quiet {
            let _ = writeln!(io::stderr(), "nsmap: warning: {}", terminal_safe(w));
        }
    };
    let progress = Arc::new(AtomicU64::new(0));
    let (summaries, finished) =
        record(&targets, &settings, &recording, &stop, &progress, &mut warn)?;
    for s in &summaries {
        let kernel = match s.counts.kernel {
            Some((received, dropped)) => {
                format!("{received} received by the filter, {dropped} dropped by the kernel")
            }
            None => "kernel counts unavailable".to_string(),
        };
        let _ = writeln!(
            err,
            "nsmap: {}: {} packets written; {kernel}",
            terminal_safe(&s.name),
            s.counts.written
        );
    }
    match finished {
        Ok(()) => Ok(0),
        // The reader went away (`| head`, a closed Wireshark): a normal end.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(anyhow::Error::from(e).context("cannot write the capture")),
    }
}

/// Where a capture goes and when it ends.
#[derive(Debug, Clone)]
pub(crate) struct Recording {
    /// None: stdout (flushed often, and ended when its reader goes).
    pub write: Option<PathBuf>,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub filter: Option<String>,
}

/// One interface's end-of-capture line.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub name: String,
    pub counts: Counts,
}

/// Opens every target, writes the file until `stop` (set here too by the
/// count, the deadline or a closed reader), and returns each interface's
/// counts with how the output ended. `progress` counts packets written as
/// they are; `warn` hears interfaces that could not be opened or ended.
/// The output is created only once the handles are open, so a refused
/// capture writes nothing.
pub(crate) fn record(
    targets: &[Endpoint],
    settings: &Settings,
    rec: &Recording,
    stop: &Arc<AtomicBool>,
    progress: &Arc<AtomicU64>,
    warn: &mut dyn FnMut(&str),
) -> anyhow::Result<(Vec<Summary>, io::Result<()>)> {
    let running = sys::capture::start(targets, settings, stop)?;
    for w in &running.warnings {
        warn(w);
    }
    // Interfaces in the file: the ones that opened, numbered in order.
    let mut slot = vec![None; targets.len()];
    let mut blocks = Vec::new();
    let mut in_file: Vec<&Endpoint> = Vec::new();
    for (i, (endpoint, opened)) in targets.iter().zip(&running.opened).enumerate() {
        if let Some(o) = opened {
            slot[i] = u32::try_from(blocks.len()).ok();
            blocks.push(pcapng::Interface {
                name: endpoint.name.clone(),
                description: endpoint.description.clone(),
                linktype: o.linktype,
                snaplen: o.snaplen,
                filter: rec.filter.clone(),
            });
            in_file.push(endpoint);
        }
    }
    let out: Box<dyn Write + Send> = match &rec.write {
        Some(path) => Box::new(File::create(path).map_err(|e| {
            stop.store(true, Ordering::Relaxed);
            running.wake();
            Error::Usage(format!("cannot create {}: {e}", path.display()))
        })?),
        None => Box::new(PipeOut {
            stop: Arc::clone(stop),
            can_block: !nix::sys::stat::fstat(io::stdout().as_fd())
                .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG),
        }),
    };
    let out = io::BufWriter::with_capacity(1 << 18, out);
    let started = now_ns();
    let writer = Writer::new(out, &blocks, started)
        .and_then(|mut w| w.flush().map(|()| w))
        .map_err(|e| {
            stop.store(true, Ordering::Relaxed);
            running.wake();
            e.0
        })?;
    let file = Arc::new(FileSink {
        count: rec.count,
        progress: Arc::clone(progress),
        state: Mutex::new(SinkState {
            writer: Some(writer),
            slot,
            counts: vec![Counts::default(); blocks.len()],
            written: 0,
            broken: None,
        }),
    });
    let sink: Arc<dyn Sink> = file.clone();
    let mut running = running;
    running.go(&sink);
    let deadline = rec.duration.map(|d| Instant::now() + d);
    let mut open_threads = in_file.len();
    let mut last_flush = Instant::now();
    let mut last_check = Instant::now();
    // Endpoints still capturing, to be checked for a deleted namespace.
    let mut watched: Vec<usize> = (0..targets.len())
        .filter(|&i| running.opened[i].is_some())
        .collect();
    let mut woken = false;
    while open_threads > 0 {
        // A deleted namespace lives on while this capture holds it: let go
        // of it once nothing else reaches it (checked once a second).
        if last_check.elapsed() >= NAMESPACE_CHECK {
            last_check = Instant::now();
            watched.retain(|&i| {
                let alive = sys::capture::reachable(&targets[i]);
                if !alive {
                    running.abandon(i);
                }
                alive
            });
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop.store(true, Ordering::Relaxed);
        }
        // Stopped by the count, the deadline, a signal or the reader.
        if !woken && stop.load(Ordering::Relaxed) {
            running.wake();
            woken = true;
        }
        let ended = match running.ended.recv_timeout(Duration::from_millis(50)) {
            Ok(ended) => ended,
            Err(RecvTimeoutError::Timeout) => {
                if rec.write.is_none() && reader_gone() {
                    file.fail(io::ErrorKind::BrokenPipe.into());
                    stop.store(true, Ordering::Relaxed);
                }
                // A pipe may be a reader watching live; a file is flushed
                // as its buffer fills (and at the end), like tcpdump -w.
                if rec.write.is_none() && last_flush.elapsed() >= FLUSH_EVERY {
                    if !file.flush() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    last_flush = Instant::now();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        open_threads -= 1;
        watched.retain(|&i| i != ended.iface);
        let mut state = file.lock();
        let Some(Some(id)) = state.slot.get(ended.iface).copied() else {
            continue;
        };
        if let Some(c) = state.counts.get_mut(id as usize) {
            c.kernel = ended.stats.map(|s| (s.received, s.dropped));
        }
        drop(state);
        if let Some(w) = ended.warning {
            let name = in_file.get(id as usize).map_or("?", |e| e.name.as_str());
            warn(&format!("{name}: {w}"));
        }
    }
    running.join();
    let mut state = file.lock();
    let counts = std::mem::take(&mut state.counts);
    let finished = match (state.broken.take(), state.writer.take()) {
        (Some(e), _) => Err(e),
        (None, Some(writer)) => writer.finish(&counts, now_ns()).map(drop).map_err(|e| e.0),
        (None, None) => Ok(()),
    };
    drop(state);
    let summaries = in_file
        .iter()
        .zip(counts)
        .map(|(e, counts)| Summary {
            name: e.name.clone(),
            counts,
        })
        .collect();
    Ok((summaries, finished))
}

type Output = io::BufWriter<Box<dyn Write + Send>>;

/// The file, shared by the capture threads: each writes its packets
/// straight from libpcap's ring under this lock (uncontended with one
/// interface; held for one packet's write with several).
struct FileSink {
    count: Option<u64>,
    progress: Arc<AtomicU64>,
    state: Mutex<SinkState>,
}

struct SinkState {
    writer: Option<Writer<Output>>,
    /// Endpoint index → interface block number (None: not opened).
    slot: Vec<Option<u32>>,
    counts: Vec<Counts>,
    written: u64,
    /// The first write error; nothing is written after it.
    broken: Option<io::Error>,
}

impl FileSink {
    fn lock(&self) -> std::sync::MutexGuard<'_, SinkState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fail(&self, e: io::Error) {
        self.lock().broken.get_or_insert(e);
    }

    /// Flushes what is buffered; false when the output failed.
    fn flush(&self) -> bool {
        let mut state = self.lock();
        if state.broken.is_some() {
            return false;
        }
        let Some(writer) = state.writer.as_mut() else {
            return false;
        };
        match writer.flush() {
            Ok(()) => true,
            Err(e) => {
                state.broken = Some(e.0);
                false
            }
        }
    }
}

impl Sink for FileSink {
    fn packet(&self, iface: usize, meta: PacketMeta, data: &[u8]) -> bool {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.broken.is_some() || self.count.is_some_and(|c| state.written >= c) {
            return false;
        }
        let (Some(Some(id)), Some(writer)) =
            (state.slot.get(iface).copied(), state.writer.as_mut())
        else {
            return false;
        };
        if let Err(e) = writer.packet(id, meta.ts_ns, meta.len, data) {
            state.broken = Some(e.0);
            return false;
        }
        state.written += 1;
        self.progress.store(state.written, Ordering::Relaxed);
        if let Some(c) = state.counts.get_mut(id as usize) {
            c.written += 1;
        }
        self.count.is_none_or(|c| state.written < c)
    }
}

/// Compiles the filter once for Ethernet before anything is opened, so a
/// typo is reported (with libpcap's message) without root and before any
/// scan. Each handle compiles it again for its own link type.
fn check_filter(filter: &str) -> Result<(), Error> {
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET)
        .map_err(|e| Error::Capture(format!("libpcap: {e}")))?;
    dead.compile(filter, true).map(drop).map_err(|e| {
        let message = match e {
            pcap::Error::PcapError(m) => m,
            other => other.to_string(),
        };
        Error::Usage(format!("the filter '{filter}' does not compile: {message}"))
    })
}

/// Whether stdout is a pipe whose reader has gone: on a quiet link no
/// write would tell (a pipe's write end polls POLLERR once the read end is
/// closed), and the capture would run on for nobody.
fn reader_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdout = io::stdout();
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(&stdout),
        PollFlags::empty(),
    )];
    poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| {
        n > 0
            && fds[0]
                .revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP))
    })
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// How often a capture checks that its namespaces still exist.
const NAMESPACE_CHECK: Duration = Duration::from_secs(1);

/// Standard output for a capture into a pipe, written so that a stop
/// (Ctrl-C, SIGTERM, the count) is noticed even when the reader has
/// stopped reading: a plain blocking write into a full pipe would hold
/// the capture (and the signal handlers use SA_RESTART, so the write is
/// not interrupted) until the reader reads again. It waits for room in
/// 50 ms steps and gives up once stopped with the pipe still full; with a
/// reader that keeps reading, everything — the statistics at the end
/// included — is written.
struct PipeOut {
    stop: Arc<AtomicBool>,
    /// A pipe or socket (could block); false for a file stdout was
    /// redirected to, which takes every write whole.
    can_block: bool,
}

/// Bytes a pipe with room (POLLOUT: a free buffer page) takes without
/// blocking.
const PIPE_CHUNK: usize = 4096;

impl Write for PipeOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let stdout = io::stdout();
        let fd = std::os::fd::AsFd::as_fd(&stdout);
        if !self.can_block {
            return nix::unistd::write(fd, buf).map_err(io::Error::from);
        }
        loop {
            let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
            match poll(&mut fds, PollTimeout::from(50u16)) {
                Ok(n) if n > 0 => break,
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            if self.stop.load(Ordering::Relaxed) {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "stopped while the reader was not reading",
                ));
            }
        }
        let n = buf.len().min(PIPE_CHUNK);
        nix::unistd::write(fd, &buf[..n]).map_err(io::Error::from)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
