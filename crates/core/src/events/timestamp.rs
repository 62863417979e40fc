//! Timestamp parsing: RFC 3339 and `YYYY-MM-DD HH:MM:SS[.fff]` (UTC unless an offset is given).
//!
//! Hand-written rather than built on chrono's format strings: it accepts every spelling the data
//! contract allows in one pass without allocating, which matters for files of millions of rows.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// Years outside this range are taken as a data error (a unit mix-up, a corrupted field).
pub const YEAR_RANGE: std::ops::RangeInclusive<i32> = 1970..=2200;

/// Parse an ISO-8601 / RFC 3339 timestamp or `YYYY-MM-DD HH:MM:SS[.fff]` (UTC unless an offset is
/// given). The error says what was expected.
///
/// Accepted: a date `YYYY-MM-DD`, a separator `T`, `t` or a space, a time `HH:MM:SS`, an optional
/// fraction `.f…` (1 or more digits, nanosecond precision), and an optional zone `Z`, `+HH:MM`,
/// `+HHMM` or `+HH` (optionally after one space). Without a zone the time is UTC.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    parse(trimmed.as_bytes()).map_err(|why| {
        format!(
            "{why}: expected a timestamp like `2020-12-20 01:00:34.565` or \
             `2020-12-20T01:00:34.565Z` (UTC unless an offset is given), found `{}`",
            super::cells::show(trimmed.as_bytes())
        )
    })
}

fn parse(b: &[u8]) -> Result<DateTime<Utc>, String> {
    if b.len() < 19 {
        return Err(if b.is_empty() {
            "empty value".into()
        } else {
            "too short".into()
        });
    }
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err("expected `T` or a space between date and time".into());
    }
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;

    let mut i = 19;
    let mut nanos = 0u32;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err("expected digits after the decimal point".into());
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset_secs = zone(&b[i..])?;

    let year = i32::try_from(year).map_err(|_| "year out of range".to_string())?;
    if !YEAR_RANGE.contains(&year) {
        return Err(format!(
            "year {year} is outside the supported range {}..={}",
            YEAR_RANGE.start(),
            YEAR_RANGE.end()
        ));
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| format!("there is no date {year:04}-{month:02}-{day:02}"))?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| format!("there is no time {hour:02}:{minute:02}:{second:02}"))?;
    let local = date.and_time(time).and_utc();
    Ok(local - Duration::seconds(i64::from(offset_secs)))
}

/// The zone suffix in seconds east of UTC; empty means UTC.
fn zone(rest: &[u8]) -> Result<i32, String> {
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    match rest {
        [] | [b'Z' | b'z'] => Ok(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (hours, minutes) = match tail.len() {
                2 => (digits(tail, 0, 2)?, 0),
                4 => (digits(tail, 0, 2)?, digits(tail, 2, 2)?),
                5 if tail[2] == b':' => (digits(tail, 0, 2)?, digits(tail, 3, 2)?),
                _ => return Err("expected an offset like `+02:00`".into()),
            };
            if hours > 23 || minutes > 59 {
                return Err("offset out of range".into());
            }
            let secs = (hours * 3600 + minutes * 60) as i32;
            Ok(if *sign == b'-' { -secs } else { secs })
        }
        _ => Err(format!(
            "unexpected `{}` after the time",
            String::from_utf8_lossy(rest)
        )),
    }
}

fn digits(b: &[u8], at: usize, count: usize) -> Result<u32, String> {
    let mut value = 0u32;
    for &c in &b[at..at + count] {
        if !c.is_ascii_digit() {
            return Err(format!("expected a digit at position {}", at + 1));
        }
        value = value * 10 + u32::from(c - b'0');
    }
    Ok(value)
}

fn expect(b: &[u8], at: usize, c: u8) -> Result<(), String> {
    if b[at] == c {
        Ok(())
    } else {
        Err(format!("expected `{}` at position {}", c as char, at + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + Duration::milliseconds(i64::from(ms))
    }

    #[test]
    fn the_seed_format_is_utc() {
        let t = parse_timestamp("2020-12-20 01:00:34.565").unwrap();
        assert_eq!(t, utc(2020, 12, 20, 1, 0, 34, 565));
        assert_eq!(
            parse_timestamp("2020-12-20T01:00:34").unwrap(),
            utc(2020, 12, 20, 1, 0, 34, 0)
        );
        assert_eq!(
            parse_timestamp(" 2020-03-09 10:14:33 ").unwrap(),
            utc(2020, 3, 9, 10, 14, 33, 0)
        );
    }

    #[test]
    fn rfc3339_with_zones_agrees_with_chrono() {
        for text in [
            "2020-12-20T01:00:34.565Z",
            "2020-12-20T01:00:34.565+02:00",
            "2020-12-20T01:00:34-05:30",
            "2020-12-20T01:00:34.123456789Z",
            "2020-12-20T01:00:34.1z",
        ] {
            let ours = parse_timestamp(text).unwrap();
            let theirs = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(ours, theirs, "{text}");
        }
        assert_eq!(
            parse_timestamp("2020-12-20 03:00:00 +0200").unwrap(),
            utc(2020, 12, 20, 1, 0, 0, 0)
        );
        assert_eq!(
            parse_timestamp("2020-12-20 03:00:00+02").unwrap(),
            utc(2020, 12, 20, 1, 0, 0, 0)
        );
    }

    #[test]
    fn digits_beyond_nanoseconds_are_truncated() {
        let t = parse_timestamp("2020-01-01T00:00:00.1234567899Z").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_789);
    }

    #[test]
    fn bad_timestamps_say_what_is_wrong_and_what_was_expected() {
        let cases = [
            ("", "empty value"),
            ("yesterday", "too short"),
            ("2020/12/20 01:00:34", "expected `-`"),
            ("2020-13-01 00:00:00", "no date 2020-13-01"),
            ("2021-02-29 00:00:00", "no date"),
            ("2020-01-01 24:00:00", "no time"),
            ("2020-01-01 00:00:00.", "digits after the decimal point"),
            ("2020-01-01 00:00:00 CET", "unexpected `CET`"),
            ("2020-01-01T00:00:00+2:00", "offset"),
            ("3020-01-01 00:00:00", "year 3020 is outside"),
            ("1900-01-01 00:00:00", "year 1900 is outside"),
        ];
        for (text, why) in cases {
            let err = parse_timestamp(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
            assert!(err.contains("expected a timestamp like"), "{text}: {err}");
        }
    }
}
