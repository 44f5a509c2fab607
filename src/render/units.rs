//! Human units for counters and rates, one definition for every view
//! (`links --stats`, `top`, the TUI), so a number reads the same
//! everywhere: bytes in binary units as `ip -s -h` prints them (KiB,
//! MiB), bit rates in decimal ones as link speeds are quoted (Mbit/s).

/// A byte count: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn bytes(n: u64) -> String {
    scaled(
        n as f64,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"],
    )
}

/// A byte rate: `0 B/s`, `1.5 KiB/s`.
pub fn bytes_per_s(rate: f64) -> String {
    let mut s = scaled(rate, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"]);
    s.push_str("/s");
    s
}

/// A byte rate as bits: `8.0 kbit/s`, `1.2 Gbit/s`.
pub fn bits_per_s(bytes_rate: f64) -> String {
    let mut s = scaled(
        bytes_rate * 8.0,
        1000.0,
        &["bit", "kbit", "Mbit", "Gbit", "Tbit", "Pbit"],
    );
    s.push_str("/s");
    s
}

/// A count (packets, drops): `12`, `1.2k`, `3.4M`.
pub fn count(n: u64) -> String {
    if n < 10_000 {
        return n.to_string();
    }
    scaled(n as f64, 1000.0, &["", "k", "M", "G", "T", "P", "E"]).replace(' ', "")
}

/// A count per second: `0/s`, `12/s`, `1.5k/s`; fractions below 10 keep
/// one decimal so a slow trickle of drops does not read as none.
pub fn count_per_s(rate: f64) -> String {
    let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
    if rate == 0.0 {
        return "0/s".into();
    }
    if rate < 10.0 {
        return format!("{rate:.1}/s");
    }
    if rate < 10_000.0 {
        return format!("{rate:.0}/s");
    }
    let mut s = scaled(rate, 1000.0, &["", "k", "M", "G", "T"]).replace(' ', "");
    s.push_str("/s");
    s
}

/// `value` in the largest unit that keeps it at or above 1; whole numbers
/// in the base unit, one decimal above it. Negative or non-finite values
/// (never a counter, but a rate computed badly) read as 0.
fn scaled(value: f64, step: f64, units: &[&str]) -> String {
    let mut v = if value.is_finite() {
        value.max(0.0)
    } else {
        0.0
    };
    let mut unit = 0;
    while v >= step && unit + 1 < units.len() {
        v /= step;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} {}", units[0])
    } else {
        format!("{v:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
        assert_eq!(bytes_per_s(12.0 * 1024.0 * 1024.0), "12.0 MiB/s");
        assert_eq!(bytes_per_s(-5.0), "0 B/s");
        assert_eq!(bytes_per_s(f64::NAN), "0 B/s");
        assert_eq!(bits_per_s(125_000_000.0), "1.0 Gbit/s");
        assert_eq!(bits_per_s(100.0), "800 bit/s");
        assert_eq!(count(9999), "9999");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count_per_s(0.0), "0/s");
        assert_eq!(count_per_s(0.26), "0.3/s");
        assert_eq!(count_per_s(120.4), "120/s");
        assert_eq!(count_per_s(1_500_000.0), "1.5M/s");
    }
}
