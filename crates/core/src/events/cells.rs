//! Parsing one CSV cell, with a message that says what was expected and what was found.

/// A cell's text for a message: lossy UTF-8, shortened when long.
pub(crate) fn show(cell: &[u8]) -> String {
    let text = String::from_utf8_lossy(cell);
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text.into_owned()
    }
}

/// A cell as text (non-empty, valid UTF-8).
pub(crate) fn parse_text<'a>(cell: &'a [u8], what: &str) -> Result<&'a str, String> {
    if cell.is_empty() {
        return Err(format!("empty value; expected {what}"));
    }
    std::str::from_utf8(cell)
        .map_err(|_| format!("expected {what} as UTF-8 text, found invalid bytes"))
}

/// A finite 32-bit number.
pub(crate) fn parse_number(cell: &[u8]) -> Result<f32, String> {
    if cell.is_empty() {
        return Err("empty value; expected a number".into());
    }
    let parsed = std::str::from_utf8(cell)
        .ok()
        .and_then(|text| text.parse::<f32>().ok());
    match parsed {
        Some(value) if value.is_finite() => Ok(value),
        Some(_) => {
            let too_large = std::str::from_utf8(cell)
                .ok()
                .and_then(|text| text.parse::<f64>().ok())
                .is_some_and(f64::is_finite);
            let why = if too_large {
                ", which is too large for a 32-bit float"
            } else {
                ""
            };
            Err(format!(
                "expected a finite number, found `{}`{why}",
                show(cell)
            ))
        }
        None => Err(format!("expected a number, found `{}`", show(cell))),
    }
}

/// A label: `0`/`1`, `true`/`false` (any case) or a number equal to 0 or 1 (`0.0`, `1.0`).
pub(crate) fn parse_label(cell: &[u8]) -> Result<bool, String> {
    let expected = "expected a label 0/1 or true/false";
    if cell.is_empty() {
        return Err(format!("empty value; {expected}"));
    }
    match cell {
        b"1" => return Ok(true),
        b"0" => return Ok(false),
        _ => {}
    }
    if cell.eq_ignore_ascii_case(b"true") {
        return Ok(true);
    }
    if cell.eq_ignore_ascii_case(b"false") {
        return Ok(false);
    }
    let number = std::str::from_utf8(cell)
        .ok()
        .and_then(|t| t.parse::<f64>().ok());
    match number {
        Some(1.0) => Ok(true),
        Some(0.0) => Ok(false),
        _ => Err(format!("{expected}, found `{}`", show(cell))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_finite_and_say_what_was_found() {
        assert_eq!(parse_number(b"0.25"), Ok(0.25));
        assert_eq!(parse_number(b"-1e3"), Ok(-1000.0));
        assert!(
            parse_number(b"abc")
                .unwrap_err()
                .contains("expected a number, found `abc`")
        );
        assert!(parse_number(b"").unwrap_err().contains("empty value"));
        for bad in [&b"NaN"[..], b"inf", b"-inf", b"1e40"] {
            assert!(
                parse_number(bad).unwrap_err().contains("finite"),
                "{}",
                show(bad)
            );
        }
        assert!(
            parse_number(b"1e40")
                .unwrap_err()
                .contains("too large for a 32-bit float")
        );
    }

    #[test]
    fn labels_accept_the_usual_spellings() {
        for yes in [&b"1"[..], b"true", b"TRUE", b"True", b"1.0"] {
            assert_eq!(parse_label(yes), Ok(true));
        }
        for no in [&b"0"[..], b"false", b"False", b"0.0", b"-0"] {
            assert_eq!(parse_label(no), Ok(false));
        }
        assert!(parse_label(b"2").unwrap_err().contains("found `2`"));
        assert!(parse_label(b"yes").is_err());
        assert!(parse_label(b"").is_err());
    }

    #[test]
    fn long_cells_are_shortened_in_messages() {
        let long = vec![b'x'; 100];
        assert_eq!(show(&long).chars().count(), 41);
    }
}
