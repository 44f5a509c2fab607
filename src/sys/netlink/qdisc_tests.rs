use super::*;
use crate::sys::netlink::link::unhex;

/// RTM_NEWQDISC payload (after the nlmsghdr) from Linux 6.18 for
///   tc qdisc add dev v3 root tbf rate 1mbit burst 32kb latency 400ms
/// after 10 packets (776 bytes) of IPv6 autoconfiguration: tcmsg ifindex
/// 5, handle 8001:, parent root; TCA_KIND "tbf"; TCA_OPTIONS {
/// TCA_TBF_PARMS (rate 125000 B/s, limit 82768, buffer 4096000 ticks) };
/// TCA_STATS2 { BASIC, QUEUE, … }. tc -j -s: rate 125000, burst 32768,
/// lat 400000.
const TBF: &[&str] = &[
    "000000000500000000000180ffffffff0300000008000100746266002c00020028000100000100000000000048e80100",
    "0000000000000000000000005043010000803e000000000005000c0000000000300007001400010008030000000000000a",
    "000000000000001800030000000000000000000000000000000000000000002c00030008030000000000000a0000000000",
    "0000000000000000000000000000000000000000000000000000000000",
];

/// The htb qdisc of `tc qdisc add dev v5 root handle 1: htb default 10`:
/// TCA_HTB_INIT (version 3.17, r2q 10, defcls 0x10), TCA_HTB_DIRECT_QLEN
/// 1000.
const HTB: &[&str] = &[
    "000000000700000000000100ffffffff0300000008000100687462002400020018000200110003000a0000001000000000",
    "0000000000000008000500e803000005000c0000000000300007001400010008030000000000000a000000000000001800",
    "030000000000000000000000000000000000000000002c00030008030000000000000a0000000000000000000000000000",
    "0000000000000000000000000000000000",
];

/// RTM_NEWTCLASS for `tc class add dev v5 parent 1: classid 1:10 htb rate
/// 10mbit ceil 20mbit`: TCA_HTB_PARMS rate 1250000, ceil 2500000, buffer
/// 1250000 ticks, cbuffer 625000, quantum 125000, level 0, prio 0; 776
/// bytes in 10 packets. tc: burst 1600b cburst 1600b.
const HTB_CLASS: &[&str] = &[
    "000000000700000010000100ffffffff00000000080001006874620034000200300001000001000000000000d012130000",
    "01000000000000a0252600204e00001027000048e801000000000000000000480007001400010008030000000000000a00",
    "000000000000180003000000000000000000000000000000000000000000180004000a0000000000000000000000b54a00",
    "005a2500002c00030008030000000000000a00000000000000000000000000000000000000000000000000000000000000",
    "180004000a0000000000000000000000b54a00005a250000",
];

/// A noqueue device's qdisc: handle 0:, parent root, zero counters.
const NOQUEUE: &[&str] = &[
    "000000000100000000000000ffffffff020000000c0001006e6f71756575650005000c0000000000300007001400010000",
    "0000000000000000000000000000001800030000000000000000000000000000000000000000002c000300000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000",
];

fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(u16::try_from(4 + value.len()).expect("small").to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(value);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn tcmsg(ifindex: u32, handle: u32, parent: u32) -> Vec<u8> {
    let mut m = vec![0; 4];
    m.extend(u32s(&[ifindex, handle, parent, 1]));
    m
}

/// What the kernel's netem_dump sends for `netem delay 50ms 5ms 25% loss
/// 1% duplicate 2% corrupt 0.5% reorder 25% rate 1mbit` (this kernel has no
/// netem to record: built to net/sched/sch_netem.c's layout). The qopt's
/// ticks say 40ms/4ms on purpose: LATENCY64/JITTER64 must win.
fn netem_payload() -> Vec<u8> {
    let p = |pct: f64| (pct / 100.0 * f64::from(u32::MAX)).round() as u32;
    let mut opts = u32s(&[625_000, 1000, p(1.0), 0, p(2.0), 62_500]);
    opts.extend(nla(TCA_NETEM_LATENCY64, &50_000_000i64.to_ne_bytes()));
    opts.extend(nla(TCA_NETEM_JITTER64, &5_000_000i64.to_ne_bytes()));
    opts.extend(nla(TCA_NETEM_CORR, &u32s(&[p(25.0), 0, 0])));
    opts.extend(nla(TCA_NETEM_REORDER, &u32s(&[p(25.0), 0])));
    opts.extend(nla(TCA_NETEM_CORRUPT, &u32s(&[p(0.5), 0])));
    opts.extend(nla(TCA_NETEM_RATE, &u32s(&[125_000, 0, 0, 0])));
    let mut m = tcmsg(3, 0x8002_0000, 0xFFFF_FFFF);
    m.extend(nla(TCA_KIND, b"netem\0"));
    m.extend(nla(TCA_OPTIONS, &opts));
    let mut basic = 1500u64.to_ne_bytes().to_vec();
    basic.extend(u32s(&[3, 0]));
    let mut stats = nla(TCA_STATS_BASIC, &basic);
    stats.extend(nla(TCA_STATS_QUEUE, &u32s(&[1, 100, 2, 0, 0])));
    m.extend(nla(TCA_STATS2, &stats));
    m
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn psched_is_read_as_tc_reads_it() {
    let p = Psched::parse("000003e8 00000040 000f4240 3b9aca00\n").expect("parses");
    assert!(close(p.tick_in_usec, 15.625));
    // A nanosecond clock: t2us is a compatibility 1000 that really is us2t.
    let ns = Psched::parse("000003e8 00000040 3b9aca00 3b9aca00").expect("parses");
    assert!(close(ns.tick_in_usec, 1000.0));
    assert_eq!(Psched::parse("000003e8 00000000 000f4240"), None);
    assert_eq!(Psched::parse("zz"), None);
    assert_eq!(Psched::parse(""), None);
}

#[test]
fn tbf_rate_burst_and_latency_as_tc_computes_them() {
    let q = parse_qdisc(&unhex(TBF), Psched::default()).expect("parses");
    assert_eq!(
        (q.ifindex, q.handle, q.parent, q.kind.as_str()),
        (5, 0x8001_0000, 0xFFFF_FFFF, "tbf")
    );
    let tbf = q.tbf.expect("tbf options");
    assert_eq!((tbf.rate, tbf.burst, tbf.limit), (125_000, 32_768, 82_768));
    assert!(close(tbf.lat_us.expect("lat"), 400_000.0));
    assert_eq!(tbf.peakrate, None);
    let stats = q.stats.expect("stats");
    assert_eq!((stats.bytes, stats.packets, stats.drops), (776, 10, 0));
    assert!(q.netem.is_none() && q.htb.is_none());
}

#[test]
fn htb_qdisc_and_class() {
    let q = parse_qdisc(&unhex(HTB), Psched::default()).expect("parses");
    assert_eq!((q.kind.as_str(), q.handle), ("htb", 0x0001_0000));
    let htb = q.htb.expect("htb options");
    assert_eq!(
        (
            htb.r2q,
            htb.default,
            htb.direct_packets_stat,
            htb.direct_qlen
        ),
        (10, 0x10, 0, Some(1000))
    );
    let c = parse_class(&unhex(HTB_CLASS), Psched::default()).expect("parses");
    assert_eq!(
        (c.handle, c.parent, c.kind.as_str()),
        (0x0001_0010, 0xFFFF_FFFF, "htb")
    );
    assert_eq!(
        (c.rate, c.ceil, c.burst, c.cburst),
        (1_250_000, 2_500_000, 1600, 1600)
    );
    assert_eq!((c.prio, c.quantum, c.level), (0, 125_000, 0));
    assert_eq!(c.stats.map(|s| (s.bytes, s.packets)), Some((776, 10)));
}

#[test]
fn noqueue_has_a_kind_and_zero_counters() {
    let q = parse_qdisc(&unhex(NOQUEUE), Psched::default()).expect("parses");
    assert_eq!((q.kind.as_str(), q.handle, q.ifindex), ("noqueue", 0, 1));
    assert_eq!(q.stats, Some(TcStats::default()));
}

#[test]
fn netem_prefers_the_64_bit_times_and_reads_every_impairment() {
    let q = parse_qdisc(&netem_payload(), Psched::default()).expect("parses");
    let n = q.netem.expect("netem options");
    assert!(close(n.delay_us, 50_000.0) && close(n.jitter_us, 5_000.0));
    assert!(close(n.delay_correlation, 25.0));
    assert!((n.loss - 1.0).abs() < 1e-6 && (n.duplicate - 2.0).abs() < 1e-6);
    assert!((n.reorder - 25.0).abs() < 1e-6 && (n.corrupt - 0.5).abs() < 1e-6);
    assert_eq!(
        (n.limit, n.rate, n.gap, n.ecn),
        (1000, Some(125_000), 0, false)
    );
    let s = q.stats.expect("stats");
    assert_eq!(
        (s.bytes, s.packets, s.qlen, s.backlog, s.drops),
        (1500, 3, 1, 100, 2)
    );
}

#[test]
fn netem_without_64_bit_times_converts_ticks() {
    let mut m = tcmsg(3, 0x8002_0000, 0xFFFF_FFFF);
    m.extend(nla(TCA_KIND, b"netem\0"));
    m.extend(nla(TCA_OPTIONS, &u32s(&[781_250, 1000, 0, 0, 0, 0])));
    let n = parse_qdisc(&m, Psched::default())
        .and_then(|q| q.netem)
        .expect("netem options");
    assert!(close(n.delay_us, 50_000.0));
    assert_eq!((n.loss, n.rate), (0.0, None));
}

#[test]
fn fq_codel_options() {
    let mut opts = nla(TCA_FQ_CODEL_TARGET, &u32s(&[4999]));
    opts.extend(nla(TCA_FQ_CODEL_LIMIT, &u32s(&[10240])));
    opts.extend(nla(TCA_FQ_CODEL_INTERVAL, &u32s(&[99999])));
    opts.extend(nla(TCA_FQ_CODEL_ECN, &u32s(&[1])));
    opts.extend(nla(TCA_FQ_CODEL_FLOWS, &u32s(&[1024])));
    opts.extend(nla(TCA_FQ_CODEL_QUANTUM, &u32s(&[1514])));
    let mut m = tcmsg(2, 0, 0xFFFF_FFFF);
    m.extend(nla(TCA_KIND, b"fq_codel\0"));
    m.extend(nla(TCA_OPTIONS, &opts));
    let f = parse_qdisc(&m, Psched::default())
        .and_then(|q| q.fq_codel)
        .expect("fq_codel");
    assert_eq!(
        (f.limit, f.flows, f.quantum, f.ecn),
        (10240, 1024, 1514, true)
    );
    assert!(close(f.target_us, 4999.0) && close(f.interval_us, 99999.0));
}

#[test]
fn truncated_messages_never_panic() {
    for bytes in [
        unhex(TBF),
        unhex(HTB),
        unhex(HTB_CLASS),
        unhex(NOQUEUE),
        netem_payload(),
    ] {
        for cut in 0..bytes.len() {
            let q = parse_qdisc(&bytes[..cut], Psched::default());
            let c = parse_class(&bytes[..cut], Psched::default());
            assert_eq!(q.is_none(), cut < TCMSG_LEN, "cut at {cut}");
            assert_eq!(c.is_none(), cut < TCMSG_LEN, "cut at {cut}");
        }
    }
    // A cut inside TCA_OPTIONS drops the options, never the qdisc.
    let tbf = unhex(TBF);
    let q = parse_qdisc(&tbf[..40], Psched::default()).expect("header");
    assert_eq!((q.kind.as_str(), q.tbf, q.stats), ("tbf", None, None));
}

proptest::proptest! {
    #[test]
    fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = parse_qdisc(&bytes, Psched::default());
        let _ = parse_class(&bytes, Psched::default());
        let mut netem = tcmsg(1, 0, 0);
        netem.extend(nla(TCA_KIND, b"netem\0"));
        netem.extend(nla(TCA_OPTIONS, &bytes));
        let _ = parse_qdisc(&netem, Psched::default());
    }
}
