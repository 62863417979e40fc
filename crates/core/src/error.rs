//! Errors for bad input data, always pointing at file, line and column.

use std::fmt;

/// Where in an input file a problem was found. `line` is 1-based and counts the header as line 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u64,
    /// 1-based column index, when the problem belongs to one field.
    pub column: Option<usize>,
    /// Header name of that column, when known.
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(col) = self.column {
            write!(f, ":{col}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

/// A problem reading events or a long series. Display gives one line: `file:line:column (field
/// `name`): what is wrong`.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{0}: cannot read file: {1}")]
    Io(String, #[source] std::io::Error),
    /// A bad value, row or label at one place in the file.
    #[error("{location}: {message}")]
    Bad { location: Location, message: String },
    /// A problem with the file as a whole: empty, missing columns, nothing usable.
    #[error("{file}: {message}")]
    File { file: String, message: String },
}
