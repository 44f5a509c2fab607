//! RTM_NEWQDISC / RTM_NEWTCLASS payloads → [`RawQdisc`] / [`RawTcClass`]
//! (pkt_sched.h, gen_stats.h numbers), and a namespace's qdisc dump on
//! the socket the scan already holds.
//!
//! Walked by hand like [`super::link`]: unknown attributes are skipped, a
//! malformed option block leaves that kind's options null (the qdisc's
//! kind, handle and counters still count), a cut-short header drops the
//! message — never a panic. Conversions follow tc (tc_core.c): a tick is
//! `1 / tick_in_usec` µs, read from /proc/net/psched; a bucket of `ticks`
//! at `rate` holds `rate × ticks / tick_in_usec / 10⁶` bytes.
//!
//! The dumps carry no attribute: without TCA_DUMP_INVISIBLE the kernel
//! skips the qdiscs tc does not show either (htb's default leaves), so the
//! list is what `tc qdisc show` lists. Classes are dumped per device (the
//! ifindex is tcmsg's, a header field every kernel filters on), and only
//! for devices with an htb qdisc.

use super::l3::L3Problem;
use super::link::{attrs, read_u32, trim_nul};
use super::{NlError, Request, RtSocket};
use crate::raw::tc::{RawQdisc, RawTcClass};
use crate::snapshot::tc::{FqCodel, Htb, Netem, Tbf, TcStats};

const RTM_NEWQDISC: u16 = 36;
const RTM_GETQDISC: u16 = 38;
const RTM_NEWTCLASS: u16 = 40;
const RTM_GETTCLASS: u16 = 42;

/// `struct tcmsg`: family, pad ×3, ifindex, handle, parent, info.
pub const TCMSG_LEN: usize = 20;

const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_STATS2: u16 = 7;

const TCA_STATS_BASIC: u16 = 1;
const TCA_STATS_QUEUE: u16 = 3;
/// Packets, when they no longer fit the u32 of TCA_STATS_BASIC.
const TCA_STATS_PKT64: u16 = 8;

const TCA_NETEM_CORR: u16 = 1;
const TCA_NETEM_REORDER: u16 = 3;
const TCA_NETEM_CORRUPT: u16 = 4;
const TCA_NETEM_LOSS: u16 = 5;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_ECN: u16 = 7;
const TCA_NETEM_RATE64: u16 = 8;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const NETEM_LOSS_GI: u16 = 1;
const NETEM_LOSS_GE: u16 = 2;
/// `struct tc_netem_qopt`: latency, limit, loss, gap, duplicate, jitter.
const NETEM_QOPT_LEN: usize = 24;

const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_PRATE64: u16 = 5;
/// `struct tc_tbf_qopt`: rate and peakrate (tc_ratespec, 12 bytes each),
/// limit, buffer, mtu.
const TBF_QOPT_LEN: usize = 36;

const TCA_HTB_PARMS: u16 = 1;
const TCA_HTB_INIT: u16 = 2;
const TCA_HTB_DIRECT_QLEN: u16 = 5;
const TCA_HTB_RATE64: u16 = 6;
const TCA_HTB_CEIL64: u16 = 7;
/// `struct tc_htb_opt`: rate, ceil (tc_ratespec), buffer, cbuffer,
/// quantum, level, prio.
const HTB_OPT_LEN: usize = 44;
/// `struct tc_htb_glob`: version, rate2quantum, defcls, debug,
/// direct_pkts.
const HTB_GLOB_LEN: usize = 20;

const TCA_FQ_CODEL_TARGET: u16 = 1;
const TCA_FQ_CODEL_LIMIT: u16 = 2;
const TCA_FQ_CODEL_INTERVAL: u16 = 3;
const TCA_FQ_CODEL_ECN: u16 = 4;
const TCA_FQ_CODEL_FLOWS: u16 = 5;
const TCA_FQ_CODEL_QUANTUM: u16 = 6;

/// The kernel's packet-scheduler clock, as /proc/net/psched states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Psched {
    /// Ticks per microsecond (tc's `tick_in_usec`).
    pub tick_in_usec: f64,
}

impl Default for Psched {
    /// What every kernel since 2.6.31 states (PSCHED_SHIFT 6: 64 ns per
    /// tick): used when /proc/net/psched cannot be read.
    fn default() -> Self {
        Psched {
            tick_in_usec: 15.625,
        }
    }
}

impl Psched {
    /// Reads /proc/net/psched once (the scan does, before its workers).
    pub fn read() -> Psched {
        std::fs::read_to_string("/proc/net/psched")
            .ok()
            .and_then(|t| Psched::parse(&t))
            .unwrap_or_default()
    }

    /// tc_core_init: "t2us us2t clock_res hz" in hex; a clock_res of 10⁹
    /// means the t2us field is a compatibility 1000 that really is us2t.
    pub fn parse(text: &str) -> Option<Psched> {
        let mut fields = text
            .split_whitespace()
            .map(|f| u32::from_str_radix(f, 16).ok());
        let (mut t2us, us2t, clock_res) = (fields.next()??, fields.next()??, fields.next()??);
        if us2t == 0 {
            return None;
        }
        if clock_res == 1_000_000_000 {
            t2us = us2t;
        }
        let clock_factor = f64::from(clock_res) / 1e6;
        let tick_in_usec = f64::from(t2us) / f64::from(us2t) * clock_factor;
        // A zero field (a broken kernel) would turn every time infinite:
        // the caller's fixed default is better.
        (tick_in_usec.is_finite() && tick_in_usec > 0.0).then_some(Psched { tick_in_usec })
    }

    /// tc_core_tick2time: whole microseconds (tc returns a `long`, so
    /// what it prints — tbf's `lat`, a burst — is computed on the
    /// truncated value; matching it takes the same truncation).
    fn ticks_to_us(self, ticks: u32) -> f64 {
        (f64::from(ticks) / self.tick_in_usec).trunc()
    }

    /// tc_calc_xmitsize: bytes a bucket of `ticks` holds at `rate` B/s.
    fn xmitsize(self, rate: u64, ticks: u32) -> u64 {
        // As tc: a double, truncated.
        ((rate as f64) * self.ticks_to_us(ticks) / 1e6) as u64
    }
}

/// What [`RtSocket::dump_qdiscs`] read: the list (None when the qdisc
/// dump failed) and what went wrong.
pub struct QdiscDump {
    pub qdiscs: Option<Vec<RawQdisc>>,
    pub problems: Vec<L3Problem>,
}

impl RtSocket {
    /// Every qdisc of the namespace, and the classes of each htb.
    pub fn dump_qdiscs(&mut self, buf: &mut [u8], psched: Psched) -> QdiscDump {
        let mut problems = Vec::new();
        let request = Request {
            what: "RTM_GETQDISC",
            kind: RTM_GETQDISC,
            payload: vec![0; TCMSG_LEN],
            reply: RTM_NEWQDISC,
        };
        let mut qdiscs = match self.dump(
            &request,
            buf,
            |p| parse_qdisc(p, psched),
            Vec::new(),
            &mut Vec::new(),
        ) {
            Ok(done) => {
                if !done.complete {
                    problems.push(L3Problem::Interrupted("qdiscs"));
                }
                done.items
            }
            Err(e) => {
                problems.push(L3Problem::Failed("qdiscs", e));
                return QdiscDump {
                    qdiscs: None,
                    problems,
                };
            }
        };
        let mut devices: Vec<u32> = qdiscs
            .iter()
            .filter(|q| q.kind == "htb")
            .map(|q| q.ifindex)
            .collect();
        devices.sort_unstable();
        devices.dedup();
        for ifindex in devices {
            match self.dump_classes(buf, ifindex, psched) {
                Ok(classes) => {
                    for q in qdiscs
                        .iter_mut()
                        .filter(|q| q.kind == "htb" && q.ifindex == ifindex)
                    {
                        q.classes = Some(
                            classes
                                .iter()
                                .filter(|c| c.handle >> 16 == q.handle >> 16)
                                .cloned()
                                .collect(),
                        );
                    }
                }
                Err(e) => problems.push(L3Problem::Failed("htb classes", e)),
            }
        }
        QdiscDump {
            qdiscs: Some(qdiscs),
            problems,
        }
    }

    fn dump_classes(
        &mut self,
        buf: &mut [u8],
        ifindex: u32,
        psched: Psched,
    ) -> Result<Vec<RawTcClass>, NlError> {
        let mut payload = vec![0; TCMSG_LEN];
        payload[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        let request = Request {
            what: "RTM_GETTCLASS",
            kind: RTM_GETTCLASS,
            payload,
            reply: RTM_NEWTCLASS,
        };
        let done = self.dump(
            &request,
            buf,
            |p| parse_class(p, psched),
            Vec::new(),
            &mut Vec::new(),
        )?;
        // A kernel that ignored the ifindex would send every device's.
        Ok(done
            .items
            .into_iter()
            .filter(|c| c.ifindex == ifindex)
            .collect())
    }
}

/// The tcmsg fields and the kind, options and counters of a qdisc or
/// class message.
struct Common<'a> {
    ifindex: u32,
    handle: u32,
    parent: u32,
    kind: String,
    options: Option<&'a [u8]>,
    stats: Option<TcStats>,
}

fn common(payload: &[u8]) -> Option<Common<'_>> {
    let header = payload.get(..TCMSG_LEN)?;
    let mut c = Common {
        ifindex: read_u32(&header[4..8])?,
        handle: read_u32(&header[8..12])?,
        parent: read_u32(&header[12..16])?,
        kind: String::new(),
        options: None,
        stats: None,
    };
    for (kind, value) in attrs(&payload[TCMSG_LEN..]) {
        match kind {
            TCA_KIND => c.kind = String::from_utf8_lossy(trim_nul(value)).into_owned(),
            TCA_OPTIONS => c.options = Some(value),
            TCA_STATS2 => c.stats = stats2(value),
            _ => {}
        }
    }
    Some(c)
}

/// Parses one RTM_NEWQDISC payload; None when the tcmsg is cut short.
pub fn parse_qdisc(payload: &[u8], psched: Psched) -> Option<RawQdisc> {
    let c = common(payload)?;
    let mut q = RawQdisc {
        ifindex: c.ifindex,
        handle: c.handle,
        parent: c.parent,
        stats: c.stats,
        ..RawQdisc::default()
    };
    if let Some(opts) = c.options {
        match c.kind.as_str() {
            "netem" => q.netem = netem(opts, psched),
            "tbf" => q.tbf = tbf(opts, psched),
            "htb" => q.htb = htb(opts),
            "fq_codel" => q.fq_codel = fq_codel(opts),
            _ => {}
        }
    }
    q.kind = c.kind;
    Some(q)
}

/// Parses one RTM_NEWTCLASS payload; None when the tcmsg is cut short.
/// Only htb's parameters are decoded.
pub fn parse_class(payload: &[u8], psched: Psched) -> Option<RawTcClass> {
    let c = common(payload)?;
    let mut class = RawTcClass {
        ifindex: c.ifindex,
        handle: c.handle,
        parent: c.parent,
        stats: c.stats,
        ..RawTcClass::default()
    };
    if c.kind == "htb"
        && let Some(opts) = c.options
    {
        let mut rate64 = None;
        let mut ceil64 = None;
        let mut parms = None;
        for (kind, v) in attrs(opts) {
            match kind {
                TCA_HTB_PARMS => parms = v.get(..HTB_OPT_LEN),
                TCA_HTB_RATE64 => rate64 = read_u64(v),
                TCA_HTB_CEIL64 => ceil64 = read_u64(v),
                _ => {}
            }
        }
        if let Some(p) = parms {
            let u = |at: usize| read_u32(&p[at..]).unwrap_or(0);
            class.rate = rate64.unwrap_or(u64::from(u(8)));
            class.ceil = ceil64.unwrap_or(u64::from(u(20)));
            class.burst = psched.xmitsize(class.rate, u(24));
            class.cburst = psched.xmitsize(class.ceil, u(28));
            class.quantum = u(32);
            class.level = u(36);
            class.prio = u(40);
        }
    }
    class.kind = c.kind;
    Some(class)
}

/// TCA_STATS2's basic and queue counters; None without the basic ones.
fn stats2(nest: &[u8]) -> Option<TcStats> {
    let mut stats = None::<TcStats>;
    let mut queue = None;
    let mut pkt64 = None;
    for (kind, v) in attrs(nest) {
        match kind {
            // struct gnet_stats_basic: u64 bytes, u32 packets (padded).
            TCA_STATS_BASIC => {
                stats = Some(TcStats {
                    bytes: read_u64(v)?,
                    packets: u64::from(read_u32(v.get(8..)?)?),
                    ..TcStats::default()
                })
            }
            TCA_STATS_PKT64 => pkt64 = read_u64(v),
            // struct gnet_stats_queue: qlen, backlog, drops, requeues,
            // overlimits.
            TCA_STATS_QUEUE => queue = v.get(..20),
            _ => {}
        }
    }
    let mut stats = stats?;
    if let Some(p) = pkt64 {
        stats.packets = p;
    }
    if let Some(q) = queue {
        let u = |at: usize| read_u32(&q[at..]).unwrap_or(0);
        stats.qlen = u(0);
        stats.backlog = u(4);
        stats.drops = u(8);
        stats.requeues = u(12);
        stats.overlimits = u(16);
    }
    Some(stats)
}

/// A u32 probability (0..=u32::MAX) in percent, as tc prints it.
fn percent(p: u32) -> f64 {
    100.0 * f64::from(p) / f64::from(u32::MAX)
}

/// netem's options: `struct tc_netem_qopt`, then attributes (not nested:
/// they follow the struct inside TCA_OPTIONS).
fn netem(opts: &[u8], psched: Psched) -> Option<Netem> {
    let qopt = opts.get(..NETEM_QOPT_LEN)?;
    let u = |at: usize| read_u32(&qopt[at..]).unwrap_or(0);
    let mut n = Netem {
        delay_us: psched.ticks_to_us(u(0)),
        limit: u(4),
        loss: percent(u(8)),
        gap: u(12),
        duplicate: percent(u(16)),
        jitter_us: psched.ticks_to_us(u(20)),
        ..Netem::default()
    };
    let mut rate = None;
    let mut rate64 = None;
    for (kind, v) in attrs(&opts[NETEM_QOPT_LEN..]) {
        let pair = || Some((read_u32(v)?, read_u32(v.get(4..)?)?));
        match kind {
            // Nanoseconds; the qopt's ticks are capped at u32::MAX.
            TCA_NETEM_LATENCY64 => {
                if let Some(ns) = read_i64(v) {
                    n.delay_us = ns as f64 / 1000.0;
                }
            }
            TCA_NETEM_JITTER64 => {
                if let Some(ns) = read_i64(v) {
                    n.jitter_us = ns as f64 / 1000.0;
                }
            }
            // struct tc_netem_corr: delay, loss, duplicate correlations.
            TCA_NETEM_CORR => {
                if let Some(c) = v.get(..12) {
                    let c = |at: usize| percent(read_u32(&c[at..]).unwrap_or(0));
                    (n.delay_correlation, n.loss_correlation) = (c(0), c(4));
                    n.duplicate_correlation = c(8);
                }
            }
            TCA_NETEM_REORDER => {
                if let Some((p, c)) = pair() {
                    (n.reorder, n.reorder_correlation) = (percent(p), percent(c));
                }
            }
            TCA_NETEM_CORRUPT => {
                if let Some((p, c)) = pair() {
                    (n.corrupt, n.corrupt_correlation) = (percent(p), percent(c));
                }
            }
            TCA_NETEM_LOSS => {
                for (model, _) in attrs(v) {
                    match model {
                        NETEM_LOSS_GI => n.loss_model = Some("gi".to_string()),
                        NETEM_LOSS_GE => n.loss_model = Some("ge".to_string()),
                        _ => {}
                    }
                }
            }
            // struct tc_netem_rate: rate (u32), overheads, cell size.
            TCA_NETEM_RATE => rate = read_u32(v),
            TCA_NETEM_RATE64 => rate64 = read_u64(v),
            TCA_NETEM_ECN => n.ecn = read_u32(v).is_some_and(|e| e != 0),
            _ => {}
        }
    }
    // As tc: a rate of 0 is no rate; RATE64 holds what the u32 cannot.
    n.rate = rate
        .filter(|&r| r != 0)
        .map(|r| rate64.unwrap_or(u64::from(r)));
    Some(n)
}

fn tbf(opts: &[u8], psched: Psched) -> Option<Tbf> {
    let mut parms = None;
    let mut rate64 = None;
    let mut prate64 = None;
    for (kind, v) in attrs(opts) {
        match kind {
            TCA_TBF_PARMS => parms = v.get(..TBF_QOPT_LEN),
            TCA_TBF_RATE64 => rate64 = read_u64(v),
            TCA_TBF_PRATE64 => prate64 = read_u64(v),
            _ => {}
        }
    }
    let p = parms?;
    let u = |at: usize| read_u32(&p[at..]).unwrap_or(0);
    let rate = rate64.unwrap_or(u64::from(u(8)));
    let peakrate = prate64.unwrap_or(u64::from(u(20)));
    let (limit, buffer, mtu) = (u(24), u(28), u(32));
    // tbf_print_opt's latency: the limit drained at the rate, less the
    // bucket; with a peak rate, the larger of the two.
    let lat =
        |rate: u64, ticks: u32| 1e6 * (f64::from(limit) / rate as f64) - psched.ticks_to_us(ticks);
    let mut latency = lat(rate, buffer);
    if peakrate != 0 {
        latency = latency.max(lat(peakrate, mtu));
    }
    Some(Tbf {
        rate,
        burst: psched.xmitsize(rate, buffer),
        limit,
        // No latency to speak of without a rate (tc prints none either).
        lat_us: (rate != 0 && latency.is_finite() && latency >= 0.0).then_some(latency),
        peakrate: (peakrate != 0).then_some(peakrate),
    })
}

fn htb(opts: &[u8]) -> Option<Htb> {
    let mut out = None;
    let mut direct_qlen = None;
    for (kind, v) in attrs(opts) {
        match kind {
            TCA_HTB_INIT => {
                if let Some(g) = v.get(..HTB_GLOB_LEN) {
                    let u = |at: usize| read_u32(&g[at..]).unwrap_or(0);
                    out = Some(Htb {
                        r2q: u(4),
                        default: u(8),
                        direct_packets_stat: u(16),
                        direct_qlen: None,
                    });
                }
            }
            TCA_HTB_DIRECT_QLEN => direct_qlen = read_u32(v),
            _ => {}
        }
    }
    let mut out = out?;
    out.direct_qlen = direct_qlen;
    Some(out)
}

fn fq_codel(opts: &[u8]) -> Option<FqCodel> {
    let mut f = FqCodel::default();
    for (kind, v) in attrs(opts) {
        let Some(n) = read_u32(v) else { continue };
        match kind {
            // codel_time_to_us: already microseconds.
            TCA_FQ_CODEL_TARGET => f.target_us = f64::from(n),
            TCA_FQ_CODEL_INTERVAL => f.interval_us = f64::from(n),
            TCA_FQ_CODEL_LIMIT => f.limit = n,
            TCA_FQ_CODEL_FLOWS => f.flows = n,
            TCA_FQ_CODEL_QUANTUM => f.quantum = n,
            TCA_FQ_CODEL_ECN => f.ecn = n != 0,
            _ => {}
        }
    }
    Some(f)
}

fn read_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?))
}

fn read_i64(v: &[u8]) -> Option<i64> {
    Some(i64::from_ne_bytes(v.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
#[path = "qdisc_tests.rs"]
mod tests;
