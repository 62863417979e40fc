//! CSV plumbing shared by events files and long series: delimiter detection, header lookup, cell
//! parsing with messages that say what was expected, and the bookkeeping of dropped rows.

use std::io::{BufRead, BufReader, Chain, Cursor, Read};

use csv::ByteRecord;

use crate::error::{DataError, Location};

/// How many drop reasons a report keeps for the user.
const MAX_DROP_EXAMPLES: usize = 5;

type Source<R> = Chain<Cursor<Vec<u8>>, BufReader<R>>;

/// An open CSV file whose header has been read.
pub(crate) struct Table<R: Read> {
    pub source: String,
    /// Header names, trimmed, in file order.
    pub headers: Vec<String>,
    reader: csv::Reader<Source<R>>,
}

impl<R: Read> Table<R> {
    /// Read the header, choosing the delimiter (`,`, `;` or tab) that occurs most in it.
    pub fn open(reader: R, source: &str) -> Result<Self, DataError> {
        let mut buffered = BufReader::with_capacity(1 << 16, reader);
        let mut head = Vec::new();
        let mut header_start = None;
        loop {
            let start = head.len();
            let read = buffered
                .read_until(b'\n', &mut head)
                .map_err(|e| DataError::Io(source.to_string(), e))?;
            if read == 0 {
                break;
            }
            if head[start..].iter().any(|b| !b.is_ascii_whitespace()) {
                header_start = Some(start);
                break;
            }
        }
        let Some(header_start) = header_start else {
            return Err(file_error(
                source,
                "the file is empty; expected a header line such as `sensor_id,timestamp,feature_1`",
            ));
        };
        let delimiter = detect_delimiter(&head[header_start..]);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(Cursor::new(head).chain(buffered));
        let raw = reader
            .byte_headers()
            .map_err(|e| csv_error(source, e))?
            .clone();
        let mut headers = Vec::with_capacity(raw.len());
        for (i, name) in raw.iter().enumerate() {
            let name = std::str::from_utf8(name).map_err(|_| {
                file_error(
                    source,
                    &format!("header column {} is not valid UTF-8", i + 1),
                )
            })?;
            headers.push(name.trim_start_matches('\u{feff}').trim().to_string());
        }
        for (i, name) in headers.iter().enumerate() {
            if name.is_empty() {
                return Err(file_error(
                    source,
                    &format!("header column {} has no name", i + 1),
                ));
            }
            if let Some(j) = headers[..i]
                .iter()
                .position(|other| other.eq_ignore_ascii_case(name))
            {
                return Err(file_error(
                    source,
                    &format!("columns {} and {} are both named `{name}`", j + 1, i + 1),
                ));
            }
        }
        Ok(Self {
            source: source.to_string(),
            headers,
            reader,
        })
    }

    /// Read the next data row into `record`; `false` at the end of the file.
    pub fn next(&mut self, record: &mut ByteRecord) -> Result<bool, DataError> {
        self.reader
            .read_byte_record(record)
            .map_err(|e| csv_error(&self.source, e))
    }

    /// Index of the first column whose name equals one of `names` (ASCII case-insensitive).
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|name| {
            self.headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        })
    }

    /// The header names as `a`, `b`, … for messages.
    pub fn listed_headers(&self) -> String {
        self.headers
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An error about the whole file.
    pub fn file_error(&self, message: &str) -> DataError {
        file_error(&self.source, message)
    }

    /// An error about the cell in 0-based column `col` of the row at `line`.
    pub fn cell_error(&self, line: u64, col: usize, message: String) -> DataError {
        let location = Location {
            file: self.source.clone(),
            line,
            column: Some(col + 1),
            field: self.headers.get(col).cloned(),
        };
        DataError::Bad { location, message }
    }

    /// Line of `record` (the header is line 1) and a check that it has one field per column.
    pub fn check_row(&self, record: &ByteRecord) -> Result<u64, DataError> {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != self.headers.len() {
            let location = Location {
                file: self.source.clone(),
                line,
                column: None,
                field: None,
            };
            let message = format!(
                "expected {} fields as in the header, found {}",
                self.headers.len(),
                record.len()
            );
            return Err(DataError::Bad { location, message });
        }
        Ok(line)
    }
}

fn file_error(source: &str, message: &str) -> DataError {
    DataError::File {
        file: source.to_string(),
        message: message.to_string(),
    }
}

fn csv_error(source: &str, error: csv::Error) -> DataError {
    let line = error.position().map(|p| p.line());
    let message = format!("malformed CSV: {error}");
    match (error.into_kind(), line) {
        (csv::ErrorKind::Io(e), _) => DataError::Io(source.to_string(), e),
        (_, Some(line)) => DataError::Bad {
            location: Location {
                file: source.to_string(),
                line,
                column: None,
                field: None,
            },
            message,
        },
        (_, None) => file_error(source, &message),
    }
}

/// The delimiter among `,` `;` and tab that occurs most often outside quotes (comma on a tie).
pub(crate) fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    delimiters[best]
}

/// Rows with bad values: fail on the first, or drop and count them.
#[derive(Debug, Default)]
pub(crate) struct BadRows {
    drop: bool,
    pub dropped: u64,
    pub examples: Vec<String>,
}

impl BadRows {
    pub fn new(drop: bool) -> Self {
        Self {
            drop,
            ..Self::default()
        }
    }

    /// `Err(error)` unless bad rows are dropped, in which case the row is counted.
    pub fn handle(&mut self, error: DataError) -> Result<(), DataError> {
        if !self.drop {
            return Err(error);
        }
        self.dropped += 1;
        if self.examples.len() < MAX_DROP_EXAMPLES {
            self.examples.push(error.to_string());
        }
        Ok(())
    }

    /// The error for a file where every data row was dropped.
    pub fn all_dropped(&self, source: &str) -> DataError {
        let first = self.examples.first().map(String::as_str).unwrap_or("");
        file_error(
            source,
            &format!(
                "all {} data rows were dropped as bad; the first: {first}",
                self.dropped
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_the_most_frequent_one_outside_quotes() {
        assert_eq!(detect_delimiter(b"a,b,c\n"), b',');
        assert_eq!(detect_delimiter(b"datetime;x;y;z\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a,b\";c;d\n"), b';');
        assert_eq!(detect_delimiter(b"single\n"), b',');
    }
}
