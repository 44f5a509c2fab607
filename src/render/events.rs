//! `nsmap watch` output: one JSON object per line, each event with the
//! UTC time it was seen.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::json::write_compact;
use crate::diff::Event;

#[derive(Serialize)]
struct Line<'a> {
    time: &'a str,
    #[serde(flatten)]
    event: &'a Event,
}

pub fn write_events(events: &[Event], at: SystemTime, out: &mut impl Write) -> io::Result<()> {
    let time = rfc3339(at);
    for event in events {
        write_compact(&Line { time: &time, event }, out)?;
    }
    Ok(())
}

/// `2026-11-29T12:03:04.567Z` (UTC, milliseconds), without a date crate.
pub fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_040_184_567);
        assert_eq!(rfc3339(t), "2026-11-30T12:03:04.567Z"); // date -u -d @1796040184
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn one_line_per_event_with_its_time() {
        let events = vec![Event::NamespaceAdded {
            netns: 7,
            id: Some(3),
            name: "blue".into(),
        }];
        let mut out = Vec::new();
        write_events(&events, UNIX_EPOCH, &mut out).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"event\":\"namespace_added\",\"netns\":7,\"id\":3,\"name\":\"blue\"}\n"
        );
    }
}
