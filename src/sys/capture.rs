//! Live capture in other namespaces through libpcap.
//!
//! Each interface gets a thread of its own that reopens the namespace the
//! snapshot recorded (checking inode and id, since inodes are reused),
//! `setns`es into it and opens the pcap handle there: a packet socket stays
//! bound to the namespace it was made in, so the handle keeps capturing
//! there whatever happens to the thread afterwards. Filters are compiled
//! by libpcap and attached in the kernel, so unwanted packets are never
//! copied. Each packet goes from libpcap's ring straight to the caller's
//! [`Sink`] on the capture thread (no copy, no channel per packet: at
//! 64 KiB GSO packets, a copy per packet costs more than the capture).

use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};
use pcap::{Capture, Precision};

use crate::capture::{Endpoint, NsSource};
use crate::error::Error;
use crate::sys::nsfs::{NetnsFile, NotNetns, NsPath, ns_id, open_netns};

/// How each handle is opened.
#[derive(Debug, Clone)]
pub struct Settings {
    pub snaplen: u32,
    pub promisc: bool,
    /// pcap-filter text, already joined; None captures everything.
    pub filter: Option<String>,
    /// Deliver each packet as it arrives (a reader watching live) rather
    /// than in the kernel's blocks.
    pub immediate: bool,
    /// How long a quiet handle waits before its thread looks at the stop
    /// flag again.
    pub poll_ms: i32,
}

/// Where packets go: called on the capture threads, concurrently.
pub trait Sink: Send + Sync {
    /// One packet of endpoint `iface`; false once no more are wanted
    /// (the count is reached, the output failed).
    fn packet(&self, iface: usize, meta: PacketMeta, data: &[u8]) -> bool;
}

/// What a capture thread reports when it is done: why, if not because it
/// was told to stop, and the kernel's counts for the handle.
#[derive(Debug)]
pub struct Ended {
    pub iface: usize,
    pub warning: Option<String>,
    pub stats: Option<KernelStats>,
}

/// A packet's timestamp (ns since the epoch), captured and original length.
#[derive(Debug, Clone, Copy)]
pub struct PacketMeta {
    pub ts_ns: u64,
    pub caplen: u32,
    pub len: u32,
}

/// PACKET_STATISTICS as libpcap sums them over the capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub received: u64,
    pub dropped: u64,
}

/// An opened handle, as the file's interface block describes it.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    pub linktype: u32,
    pub snaplen: u32,
}

/// Captures under way: `opened[i]` is `Some` for each endpoint whose handle
/// is capturing, `None` where it could not be opened (`warnings` say why).
pub struct Running {
    pub opened: Vec<Option<Opened>>,
    pub warnings: Vec<String>,
    /// One message per capture thread as it ends.
    pub ended: Receiver<Ended>,
    threads: Vec<JoinHandle<()>>,
    /// By endpoint: the handle's breaker (None where it did not open).
    breakers: Vec<Option<pcap::BreakLoop>>,
    /// By endpoint: set to end that capture alone (its namespace is gone).
    abandoned: Vec<Arc<AtomicBool>>,
    /// Each open thread waits on its own for the sink (so no packet is
    /// taken before the file has every interface block).
    go: Vec<SyncSender<Arc<dyn Sink>>>,
}

impl Running {
    /// Wakes every thread blocked in libpcap so it sees the stop flag: on
    /// a quiet link a handle in the kernel's block mode waits for a first
    /// packet without any timeout (libpcap's poll then waits forever, and
    /// `pcap_breakloop` is what interrupts it).
    pub fn wake(&self) {
        for b in self.breakers.iter().flatten() {
            b.breakloop();
        }
    }

    /// Ends endpoint `iface`'s capture alone: its thread reports that its
    /// namespace is gone, closes the handle (which frees the namespace)
    /// and ends; the others go on.
    pub fn abandon(&self, iface: usize) {
        if let Some(flag) = self.abandoned.get(iface) {
            flag.store(true, Ordering::Relaxed);
        }
        if let Some(Some(b)) = self.breakers.get(iface) {
            b.breakloop();
        }
    }

    /// Starts every open handle delivering packets to `sink`.
    pub fn go(&mut self, sink: &Arc<dyn Sink>) {
        for tx in self.go.drain(..) {
            let _ = tx.send(Arc::clone(sink));
        }
    }

    /// Waits for every capture thread (after `stop` was set and `wake`).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Why a handle could not be opened.
enum OpenError {
    /// That interface alone: the others go on.
    Skip(String),
    /// The whole capture cannot work (no privilege, a bad filter).
    Fatal(Error),
}

/// Opens a handle for every endpoint, each on its own thread, and returns
/// once all are capturing or have failed. A fatal failure (no privilege,
/// a filter that does not compile) stops the others and is returned.
pub fn start(
    endpoints: &[Endpoint],
    settings: &Settings,
    stop: &Arc<AtomicBool>,
) -> Result<Running, Error> {
    let (ended_tx, ended) = sync_channel::<Ended>(endpoints.len());
    let mut threads = Vec::new();
    let mut ready = Vec::new();
    let mut go = Vec::new();
    let mut abandoned = Vec::new();
    for (iface, endpoint) in endpoints.iter().enumerate() {
        let gone = Arc::new(AtomicBool::new(false));
        abandoned.push(Arc::clone(&gone));
        let (ready_tx, ready_rx) = sync_channel::<Result<(Opened, pcap::BreakLoop), OpenError>>(1);
        let endpoint = endpoint.clone();
        let settings = settings.clone();
        let flag = Arc::clone(stop);
        let ended_tx = ended_tx.clone();
        let (go_tx, go_rx) = sync_channel::<Arc<dyn Sink>>(1);
        let spawned = std::thread::Builder::new()
            .name(format!("capture-{iface}"))
            .spawn(move || {
                run(
                    iface,
                    &endpoint,
                    &settings,
                    (&flag, &gone),
                    &ready_tx,
                    &go_rx,
                    &ended_tx,
                );
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Err(Error::Capture(format!(
                    "cannot start a capture thread: {e}"
                )));
            }
        }
        ready.push(ready_rx);
        go.push(go_tx);
    }
    drop(ended_tx);
    let mut opened = Vec::new();
    let mut warnings = Vec::new();
    let mut breakers = Vec::new();
    let mut fatal = None;
    for (rx, endpoint) in ready.iter().zip(endpoints) {
        match rx.recv() {
            Ok(Ok((o, breaker))) => {
                opened.push(Some(o));
                breakers.push(Some(breaker));
            }
            Ok(Err(OpenError::Skip(why))) => {
                warnings.push(format!("{}: not captured: {why}", endpoint.name));
                opened.push(None);
                breakers.push(None);
            }
            Ok(Err(OpenError::Fatal(e))) => {
                fatal.get_or_insert(e);
                opened.push(None);
                breakers.push(None);
            }
            Err(_) => {
                warnings.push(format!("{}: the capture thread ended early", endpoint.name));
                opened.push(None);
                breakers.push(None);
            }
        }
    }
    let running = Running {
        opened,
        warnings,
        ended,
        threads,
        breakers,
        abandoned,
        go,
    };
    if let Some(e) = fatal {
        stop.store(true, Ordering::Relaxed);
        drain_and_join(running);
        return Err(e);
    }
    if running.opened.iter().all(Option::is_none) {
        stop.store(true, Ordering::Relaxed);
        let why = running.warnings.join("; ");
        drain_and_join(running);
        return Err(Error::Capture(format!(
            "no interface could be opened: {why}"
        )));
    }
    Ok(running)
}

/// Ends every thread (dropping the sink senders ends those still
/// waiting for one) and joins them.
fn drain_and_join(mut running: Running) {
    running.wake();
    running.go.clear();
    running.join();
}

/// One capture thread: open, report, wait for the sink, then capture
/// until told to stop.
fn run(
    iface: usize,
    endpoint: &Endpoint,
    settings: &Settings,
    // The capture's stop, and this endpoint's own (`Running::abandon`).
    (stop, gone): (&AtomicBool, &AtomicBool),
    ready: &SyncSender<Result<(Opened, pcap::BreakLoop), OpenError>>,
    go: &Receiver<Arc<dyn Sink>>,
    ended: &SyncSender<Ended>,
) {
    let mut cap = match open(endpoint, settings) {
        Ok((mut cap, opened)) => {
            if ready.send(Ok((opened, cap.breakloop_handle()))).is_err() {
                return;
            }
            cap
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let Ok(sink) = go.recv() else {
        return;
    };
    let mut warning = None;
    while !stop.load(Ordering::Relaxed) && !gone.load(Ordering::Relaxed) {
        let got = cap.dispatch(None, |p| {
            let h = p.header;
            // With nanosecond precision libpcap puts nanoseconds in tv_usec.
            let ts_ns = u64::try_from(h.ts.tv_sec).unwrap_or(0) * 1_000_000_000
                + u64::try_from(h.ts.tv_usec).unwrap_or(0);
            let meta = PacketMeta {
                ts_ns,
                caplen: u32::try_from(p.data.len()).unwrap_or(u32::MAX),
                len: h.len,
            };
            if !sink.packet(iface, meta, p.data) {
                stop.store(true, Ordering::Relaxed);
            }
        });
        if let Err(e) = got {
            // Woken by `Running::wake` or `abandon` (libpcap reports the
            // break as an error): not a failure.
            if !stop.load(Ordering::Relaxed) && !gone.load(Ordering::Relaxed) {
                warning = Some(vanished(&e));
            }
            break;
        }
    }
    if gone.load(Ordering::Relaxed) {
        warning = Some(
            "capture ended: its namespace was deleted (nothing but this capture still held it)"
                .to_string(),
        );
    }
    let stats = cap.stats().ok().map(|s| KernelStats {
        received: u64::from(s.received),
        dropped: u64::from(s.dropped),
    });
    let _ = ended.send(Ended {
        iface,
        warning,
        stats,
    });
}

/// What a read error most likely means for the user.
fn vanished(e: &pcap::Error) -> String {
    format!("capture ended ({e}): the interface or its namespace went away or down")
}

/// Enters the endpoint's namespace (on this thread only) and opens the
/// handle there.
fn open(
    endpoint: &Endpoint,
    settings: &Settings,
) -> Result<(Capture<pcap::Active>, Opened), OpenError> {
    enter(endpoint)?;
    let device = String::from_utf8(endpoint.ifname.to_bytes()).map_err(|_| {
        OpenError::Skip("libpcap cannot open an interface whose name is not UTF-8".into())
    })?;
    let snaplen = i32::try_from(settings.snaplen).unwrap_or(i32::MAX);
    let inactive = Capture::from_device(device.as_str())
        .map_err(|e| OpenError::Skip(e.to_string()))?
        .promisc(settings.promisc)
        .snaplen(snaplen)
        .immediate_mode(settings.immediate)
        .timeout(settings.poll_ms)
        .buffer_size(4 << 20)
        .precision(Precision::Nano);
    let mut cap = inactive.open().map_err(|e| open_error(&e))?;
    if let Some(filter) = &settings.filter {
        cap.filter(filter, true).map_err(|e| {
            OpenError::Fatal(Error::Usage(format!(
                "the filter '{filter}' does not compile: {}",
                pcap_message(&e)
            )))
        })?;
    }
    let opened = Opened {
        linktype: linktype(cap.get_datalink().0),
        snaplen: settings.snaplen,
    };
    Ok((cap, opened))
}

fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Failing to activate: no privilege stops everything, anything else (the
/// interface is gone, down in a way libpcap refuses) only this interface.
fn open_error(e: &pcap::Error) -> OpenError {
    let text = pcap_message(e);
    if text.contains("Operation not permitted") || text.contains("ermission denied") {
        return OpenError::Fatal(needs_privilege(&text));
    }
    OpenError::Skip(text)
}

/// libpcap's DLT number → the LINKTYPE number pcapng's interface block
/// wants. They differ for a few values whose DLT meaning varies by
/// platform (libpcap's own file writer maps them the same way): DLT_RAW
/// (12, or 14 on some BSDs) is LINKTYPE_RAW 101, DLT_ATM_RFC1483 (11) is
/// 100; the rest are equal.
fn linktype(dlt: i32) -> u32 {
    match dlt {
        12 | 14 => 101,
        11 => 100,
        other => u32::try_from(other).unwrap_or(1),
    }
}

/// Whether this process may capture in other namespaces without being
/// root: CAP_NET_RAW (packet sockets) and CAP_SYS_ADMIN (setns) in its
/// effective set (`CapEff` of /proc/self/status).
pub(crate) fn has_capabilities() -> bool {
    const CAP_NET_RAW: u32 = 13;
    const CAP_SYS_ADMIN: u32 = 21;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|eff| eff >> CAP_NET_RAW & 1 == 1 && eff >> CAP_SYS_ADMIN & 1 == 1)
}

pub(crate) fn needs_privilege(detail: &str) -> Error {
    Error::Capture(format!(
        "capturing needs root (or CAP_NET_RAW and CAP_SYS_ADMIN): {detail}; run as root (sudo nsmap capture …)"
    ))
}

/// Opens the namespace file a recorded way leads to.
fn open_source(source: &NsSource) -> Result<NetnsFile, NotNetns> {
    match source {
        NsSource::Current => open_netns(NsPath::ProcLink(Path::new("/proc/thread-self/ns/net"))),
        NsSource::Mount(path) => {
            let bytes = path.to_bytes();
            open_netns(NsPath::Untrusted {
                path: Path::new(std::ffi::OsStr::from_bytes(&bytes)),
                follow: false,
            })
        }
        NsSource::Pid(pid) => {
            open_netns(NsPath::ProcLink(Path::new(&format!("/proc/{pid}/ns/net"))))
        }
        NsSource::Thread { pid, tid } => open_netns(NsPath::ProcLink(Path::new(&format!(
            "/proc/{pid}/task/{tid}/ns/net"
        )))),
        NsSource::Holder { pid, fd } => open_netns(NsPath::Untrusted {
            path: Path::new(&format!("/proc/{pid}/fd/{fd}")),
            follow: true,
        }),
    }
}

/// Why an opened namespace file is not the endpoint's namespace (None
/// when it is: same inode, and same id where the snapshot had one).
fn other_namespace(endpoint: &Endpoint, file: &NetnsFile) -> Option<&'static str> {
    if file.inode != endpoint.netns {
        return Some("now another namespace");
    }
    match (endpoint.netns_id, ns_id(file.file.as_fd())) {
        (Some(want), Some(id)) if id != want => Some("a new namespace with a reused inode"),
        _ => None,
    }
}

/// Whether anything but nsmap's own capture still reaches the endpoint's
/// namespace by one of the ways it was found (its ip-netns name or mount,
/// a process or thread in it, a holder's fd): the packet socket keeps a
/// deleted namespace alive, and with it its interfaces, so a capture must
/// notice the deletion itself and let go. A way nsmap may not look at
/// counts as reaching it (never end a capture on a guess).
pub fn reachable(endpoint: &Endpoint) -> bool {
    endpoint.sources.iter().any(|source| {
        if matches!(source, NsSource::Current) {
            return true;
        }
        match open_source(source) {
            Ok(file) => other_namespace(endpoint, &file).is_none(),
            Err(NotNetns::Io(Errno::EACCES | Errno::EPERM)) => true,
            Err(_) => false,
        }
    })
}

/// `setns` into the endpoint's namespace, by the first recorded way that
/// still leads to it (same inode, same id where the snapshot had one).
fn enter(endpoint: &Endpoint) -> Result<(), OpenError> {
    let mut tried = Vec::new();
    for source in &endpoint.sources {
        let file = match open_source(source) {
            Ok(f) => f,
            Err(NotNetns::Io(Errno::EACCES | Errno::EPERM)) => {
                return Err(OpenError::Fatal(needs_privilege(
                    "cannot open the namespace's file",
                )));
            }
            Err(e) => {
                tried.push(format!("{source:?}: {e:?}"));
                continue;
            }
        };
        if let Some(why) = other_namespace(endpoint, &file) {
            tried.push(format!("{source:?}: {why}"));
            continue;
        }
        if matches!(source, NsSource::Current) {
            return Ok(());
        }
        return match setns(file.file.as_fd(), CloneFlags::CLONE_NEWNET) {
            Ok(()) => Ok(()),
            Err(Errno::EPERM) => Err(OpenError::Fatal(needs_privilege(
                "setns into the namespace was refused",
            ))),
            Err(e) => Err(OpenError::Skip(format!("setns failed: {e}"))),
        };
    }
    Err(OpenError::Skip(format!(
        "its namespace net:[{}] is gone (tried {})",
        endpoint.netns,
        if tried.is_empty() {
            "nothing: no process, mount or holder recorded".to_string()
        } else {
            tried.join(", ")
        }
    )))
}
