//! A qdisc as the one line a user acts on — `netem delay 50ms jitter 5ms
//! loss 1%`, `tbf rate 1Mbit burst 32Kb`, `htb (2 classes, 5Mbit…10Mbit)` —
//! in tc's own units (rates in bits with K/M/G, sizes in Kb/Mb), so the
//! text can be compared with `tc qdisc show` and pasted back into tc.
//! Pure and terminal-safe: tables and the TUI print it as it is.

use crate::name::terminal_safe;
use crate::snapshot::Interface;
use crate::snapshot::tc::{Netem, Qdisc};

/// The one-line description of `q`: its kind and the settings that shape
/// traffic.
pub fn summary(q: &Qdisc) -> String {
    let kind = terminal_safe(&q.kind).into_owned();
    let mut out = kind;
    if let Some(n) = &q.netem {
        out.push_str(&netem(n));
    } else if let Some(t) = &q.tbf {
        out.push_str(&format!(" rate {} burst {}", rate(t.rate), size(t.burst)));
        if let Some(peak) = t.peakrate {
            out.push_str(&format!(" peakrate {}", rate(peak)));
        }
    } else if let Some(classes) = &q.classes {
        let rates = classes.iter().map(|c| c.rate);
        let plural = if classes.len() == 1 { "" } else { "es" };
        match (rates.clone().min(), rates.max()) {
            (Some(lo), Some(hi)) if lo == hi => {
                out.push_str(&format!(" ({} class{plural}, {})", classes.len(), rate(lo)))
            }
            (Some(lo), Some(hi)) => out.push_str(&format!(
                " ({} class{plural}, {}…{})",
                classes.len(),
                rate(lo),
                rate(hi)
            )),
            _ => out.push_str(" (0 classes)"),
        }
    } else if let Some(f) = &q.fq_codel
        && f.target_us > 0.0
    {
        out.push_str(&format!(
            " target {} interval {}",
            time(f.target_us),
            time(f.interval_us)
        ));
    }
    out
}

/// The summary of an interface's root qdisc; None when its qdiscs were
/// not read or it has no root qdisc.
pub fn root_summary(i: &Interface) -> Option<String> {
    let root = i.qdiscs.as_ref()?.iter().find(|q| q.parent == "root")?;
    Some(summary(root))
}

fn netem(n: &Netem) -> String {
    let mut out = String::new();
    if n.delay_us > 0.0 {
        out.push_str(&format!(" delay {}", time(n.delay_us)));
        if n.jitter_us > 0.0 {
            out.push_str(&format!(" jitter {}", time(n.jitter_us)));
        }
    }
    if n.loss > 0.0 {
        out.push_str(&format!(" loss {}", percent(n.loss)));
    }
    if let Some(model) = &n.loss_model {
        out.push_str(&format!(" loss {}", terminal_safe(model)));
    }
    for (what, p) in [
        ("duplicate", n.duplicate),
        ("corrupt", n.corrupt),
        ("reorder", n.reorder),
    ] {
        if p > 0.0 {
            out.push_str(&format!(" {what} {}", percent(p)));
        }
    }
    if n.gap > 0 {
        out.push_str(&format!(" gap {}", n.gap));
    }
    if let Some(r) = n.rate {
        out.push_str(&format!(" rate {}", rate(r)));
    }
    out
}

/// A rate in bytes per second as tc prints it (sprint_rate): bits, in
/// the largest of K/M/G/T that keeps it whole below 1000×.
pub fn rate(bytes_per_s: u64) -> String {
    const UNITS: [&str; 5] = ["bit", "Kbit", "Mbit", "Gbit", "Tbit"];
    let mut r = bytes_per_s.saturating_mul(8);
    let mut unit = 0;
    while unit < UNITS.len() - 1 && r >= 1000 && (r.is_multiple_of(1000) || r >= 1_000_000) {
        r /= 1000;
        unit += 1;
    }
    format!("{r}{}", UNITS[unit])
}

/// A size in bytes as tc prints it (sprint_size): Gb, Mb or Kb, rounded,
/// when close to whole, bytes otherwise.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    let (kb, mb, gb) = (1024.0, 1024.0 * 1024.0, 1024.0 * 1024.0 * 1024.0);
    let near = |unit: f64, slack: f64| b >= unit && (unit * (b / unit).round() - b).abs() < slack;
    if near(gb, 1024.0) {
        format!("{}Gb", (b / gb).round())
    } else if near(mb, 1024.0) {
        format!("{}Mb", (b / mb).round())
    } else if near(kb, 16.0) {
        format!("{}Kb", (b / kb).round())
    } else {
        format!("{bytes}b")
    }
}

/// Microseconds as tc prints a time: `1.5s`, `50ms`, `200us`.
pub fn time(us: f64) -> String {
    if us >= 1e6 {
        format!("{}s", trim(us / 1e6))
    } else if us >= 1e3 {
        format!("{}ms", trim(us / 1e3))
    } else {
        format!("{}us", trim(us))
    }
}

fn percent(p: f64) -> String {
    format!("{}%", trim(p))
}

/// At most two decimals, trailing zeros dropped: `1`, `0.5`, `33.33`.
fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tc::{FqCodel, Tbf, TcClass};

    fn qdisc(kind: &str) -> Qdisc {
        Qdisc {
            kind: kind.into(),
            handle: "8001:".into(),
            parent: "root".into(),
            ..Qdisc::default()
        }
    }

    #[test]
    fn netem_says_what_it_does_to_packets() {
        let mut q = qdisc("netem");
        q.netem = Some(Netem {
            delay_us: 50_000.0,
            jitter_us: 5_000.0,
            loss: 1.0,
            duplicate: 0.5,
            ..Netem::default()
        });
        assert_eq!(
            summary(&q),
            "netem delay 50ms jitter 5ms loss 1% duplicate 0.5%"
        );
        q.netem = Some(Netem {
            rate: Some(125_000),
            reorder: 25.0,
            gap: 5,
            ..Netem::default()
        });
        assert_eq!(summary(&q), "netem reorder 25% gap 5 rate 1Mbit");
        q.netem = Some(Netem::default());
        assert_eq!(summary(&q), "netem");
    }

    #[test]
    fn tbf_and_htb_in_tc_units() {
        let mut q = qdisc("tbf");
        q.tbf = Some(Tbf {
            rate: 125_000,
            burst: 32_768,
            ..Tbf::default()
        });
        assert_eq!(summary(&q), "tbf rate 1Mbit burst 32Kb");
        let mut h = qdisc("htb");
        let class = |rate| TcClass {
            rate,
            ..TcClass::default()
        };
        h.classes = Some(vec![class(1_250_000), class(625_000)]);
        assert_eq!(summary(&h), "htb (2 classes, 5Mbit…10Mbit)");
        h.classes = Some(vec![class(1_250_000)]);
        assert_eq!(summary(&h), "htb (1 class, 10Mbit)");
        h.classes = Some(vec![]);
        assert_eq!(summary(&h), "htb (0 classes)");
        h.classes = None;
        assert_eq!(summary(&h), "htb");
    }

    #[test]
    fn other_kinds_are_their_kind_made_terminal_safe() {
        assert_eq!(summary(&qdisc("noqueue")), "noqueue");
        let mut f = qdisc("fq_codel");
        f.fq_codel = Some(FqCodel {
            target_us: 5000.0,
            interval_us: 100_000.0,
            ..FqCodel::default()
        });
        assert_eq!(summary(&f), "fq_codel target 5ms interval 100ms");
        assert_eq!(summary(&qdisc("x\x1b[2J")), "x\\x1b[2J");
    }

    #[test]
    fn the_stats_table_shows_the_root_qdisc() {
        use crate::render::Style;
        use crate::render::links::{LinkRow, write_stats_table};
        let mut shaped = Interface {
            ifname: crate::name::Name::from_bytes(b"eth0"),
            operstate: "UP".into(),
            ..Interface::default()
        };
        let mut ingress = qdisc("ingress");
        ingress.parent = "ffff:fff1".into();
        let mut tbf = qdisc("tbf");
        tbf.tbf = Some(Tbf {
            rate: 125_000,
            burst: 32_768,
            ..Tbf::default()
        });
        shaped.qdiscs = Some(vec![ingress, tbf]);
        let unread = Interface {
            ifname: crate::name::Name::from_bytes(b"eth1"),
            ..Interface::default()
        };
        let rows: Vec<LinkRow<'_>> = [&shaped, &unread]
            .into_iter()
            .map(|interface| LinkRow {
                netns: 1,
                netns_name: "web".into(),
                interface,
            })
            .collect();
        let mut out = Vec::new();
        write_stats_table(&rows, &Style::default(), &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("QDISC"), "{text}");
        assert!(lines[1].ends_with(" tbf rate 1Mbit burst 32Kb"), "{text}");
        assert!(lines[2].ends_with(" -"), "{text}");
    }

    #[test]
    fn units_match_tc() {
        assert_eq!(rate(125_000), "1Mbit");
        assert_eq!(rate(1_250_000), "10Mbit");
        assert_eq!(rate(1_500), "12Kbit");
        assert_eq!(rate(100), "800bit");
        assert_eq!(rate(125_000_000_000), "1Tbit");
        assert_eq!(rate(u64::MAX), "18446744Tbit");
        assert_eq!(size(32_768), "32Kb");
        assert_eq!(size(1600), "1600b");
        assert_eq!(size(32_760), "32Kb");
        assert_eq!(size(2 * 1024 * 1024), "2Mb");
        assert_eq!(time(400_000.0), "400ms");
        assert_eq!(time(1_500_000.0), "1.5s");
        assert_eq!(time(250.0), "250us");
    }
}
