//! Writing rows in the seed's format without going through `format!` for every field: millions of
//! rows are written per run, so timestamps and fixed-point numbers are formatted by hand into a
//! byte buffer.

use chrono::DateTime;

/// Decimals written for every feature value.
pub const DECIMALS: u32 = 5;
const SCALE: f64 = 100_000.0; // 10^DECIMALS
const MS_PER_DAY: i64 = 86_400_000;

/// Appends `value` with [`DECIMALS`] decimals (`-1.50000`, `0.00012`). `value` must be finite;
/// negative values that round to zero are written without a sign.
pub fn push_fixed(buf: &mut Vec<u8>, value: f64) {
    debug_assert!(value.is_finite());
    let scaled = (value * SCALE).round() as i64;
    if scaled < 0 {
        buf.push(b'-');
    }
    let magnitude = scaled.unsigned_abs();
    let divisor = 10_u64.pow(DECIMALS);
    push_u64(buf, magnitude / divisor);
    buf.push(b'.');
    let mut fraction = magnitude % divisor;
    let mut digits = [b'0'; DECIMALS as usize];
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    buf.extend_from_slice(&digits);
}

/// Appends an unsigned integer in decimal.
pub fn push_u64(buf: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0_u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn push_two(buf: &mut Vec<u8>, value: i64) {
    buf.push(b'0' + (value / 10) as u8);
    buf.push(b'0' + (value % 10) as u8);
}

/// Formats Unix-millisecond timestamps as `YYYY-MM-DD HH:MM:SS.mmm` (UTC), remembering the date
/// part of the last day seen so only the time of day is formatted per row.
#[derive(Debug, Default)]
pub struct TimestampWriter {
    day: Option<i64>,
    date: Vec<u8>,
}

impl TimestampWriter {
    /// Appends the timestamp `unix_ms`, which must be within chrono's range.
    pub fn push(&mut self, buf: &mut Vec<u8>, unix_ms: i64) {
        let day = unix_ms.div_euclid(MS_PER_DAY);
        if self.day != Some(day) {
            let midnight = DateTime::from_timestamp_millis(day * MS_PER_DAY)
                .expect("timestamps are validated to lie in chrono's range");
            self.date = midnight.format("%Y-%m-%d ").to_string().into_bytes();
            self.day = Some(day);
        }
        buf.extend_from_slice(&self.date);
        let ms = unix_ms.rem_euclid(MS_PER_DAY);
        push_two(buf, ms / 3_600_000);
        buf.push(b':');
        push_two(buf, ms / 60_000 % 60);
        buf.push(b':');
        push_two(buf, ms / 1000 % 60);
        buf.push(b'.');
        let millis = ms % 1000;
        buf.push(b'0' + (millis / 100) as u8);
        push_two(buf, millis % 100);
    }
}

/// One timestamp as a `String`, in the same format (for the truth file and messages).
pub fn timestamp_string(unix_ms: i64) -> String {
    let mut buf = Vec::with_capacity(24);
    TimestampWriter::default().push(&mut buf, unix_ms);
    String::from_utf8(buf).expect("timestamps are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(value: f64) -> String {
        let mut buf = Vec::new();
        push_fixed(&mut buf, value);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn fixed_point_matches_std_formatting() {
        for value in [
            0.0,
            1.0,
            -1.0,
            0.23,
            -0.000004,
            123.456789,
            -98765.432101,
            1e-5,
            0.5,
        ] {
            let expected = format!("{value:.5}");
            let expected = if expected == "-0.00000" {
                "0.00000".to_string()
            } else {
                expected
            };
            assert_eq!(fixed(value), expected, "value {value}");
        }
    }

    #[test]
    fn integers_are_plain_decimal() {
        for value in [0_u64, 7, 10, 1000, u64::MAX] {
            let mut buf = Vec::new();
            push_u64(&mut buf, value);
            assert_eq!(String::from_utf8(buf).unwrap(), value.to_string());
        }
    }

    #[test]
    fn timestamps_match_chrono_and_the_seed() {
        let seed = DateTime::parse_from_rfc3339("2020-12-20T01:00:34.565Z").unwrap();
        assert_eq!(
            timestamp_string(seed.timestamp_millis()),
            "2020-12-20 01:00:34.565"
        );
        let mut writer = TimestampWriter::default();
        let mut buf = Vec::new();
        // Across a day (and year) boundary, and before 1970.
        for ms in [
            1_609_459_199_999_i64,
            1_609_459_200_000,
            -1,
            951_782_400_007,
        ] {
            buf.clear();
            writer.push(&mut buf, ms);
            let expected = DateTime::from_timestamp_millis(ms).unwrap();
            let expected = expected.format("%Y-%m-%d %H:%M:%S%.3f").to_string();
            assert_eq!(String::from_utf8(buf.clone()).unwrap(), expected);
        }
    }
}
