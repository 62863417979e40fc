//! Grouping rows into windows: by sensor id (and window id), in order of first appearance, with
//! one label per window, events sorted by time and repeated timestamps resolved to the last row.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};

use super::cells::show;
use super::table::Table;
use super::{Event, Row, SensorWindow};
use crate::error::DataError;

/// Separates sensor id and window id in a group key; never part of valid UTF-8, and both ids are
/// checked to be UTF-8 before they get here.
const KEY_SEPARATOR: u8 = 0xFF;

struct Group {
    sensor_id: String,
    window_id: Option<String>,
    /// The label and the line that first set it.
    label: Option<(bool, u64)>,
    events: Vec<Event>,
}

/// Collects rows into windows without allocating a key for rows of the same window as the row
/// before (the common case of a file sorted by sensor).
pub(crate) struct Grouper {
    with_window: bool,
    index: HashMap<Vec<u8>, usize>,
    groups: Vec<Group>,
    key: Vec<u8>,
    last_key: Vec<u8>,
    last: Option<usize>,
}

impl Grouper {
    pub fn new(with_window: bool) -> Self {
        Self {
            with_window,
            index: HashMap::new(),
            groups: Vec::new(),
            key: Vec::new(),
            last_key: Vec::new(),
            last: None,
        }
    }

    /// Add a parsed row. A label that disagrees with an earlier row of the same window is an error
    /// at this row's label cell.
    pub fn push<R: Read>(
        &mut self,
        sensor: &[u8],
        window: Option<&[u8]>,
        row: Row,
        table: &Table<R>,
        label_column: Option<usize>,
    ) -> Result<(), DataError> {
        self.key.clear();
        self.key.extend_from_slice(sensor);
        if let Some(window) = window {
            self.key.push(KEY_SEPARATOR);
            self.key.extend_from_slice(window);
        }
        let at = match self.last {
            Some(at) if self.key == self.last_key => at,
            _ => {
                let at = match self.index.get(self.key.as_slice()) {
                    Some(&at) => at,
                    None => self.insert(sensor, window),
                };
                self.last = Some(at);
                self.last_key.clear();
                self.last_key.extend_from_slice(&self.key);
                at
            }
        };
        let group = &mut self.groups[at];
        if let (Some(label), Some(col)) = (row.label, label_column) {
            match group.label {
                None => group.label = Some((label, row.line)),
                Some((first, first_line)) if first != label => {
                    let mut message = format!(
                        "label {} disagrees with label {} on line {first_line} for sensor `{}`",
                        u8::from(label),
                        u8::from(first),
                        group.sensor_id
                    );
                    if let Some(window_id) = &group.window_id {
                        message.push_str(&format!(" window `{window_id}`"));
                    }
                    message.push_str("; every row of a window must carry the same label");
                    return Err(table.cell_error(row.line, col, message));
                }
                Some(_) => {}
            }
        }
        group.events.push(row.event);
        Ok(())
    }

    fn insert(&mut self, sensor: &[u8], window: Option<&[u8]>) -> usize {
        let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap_or_else(|_| show(bytes));
        let at = self.groups.len();
        self.groups.push(Group {
            sensor_id: text(sensor),
            window_id: if self.with_window {
                window.map(text)
            } else {
                None
            },
            label: None,
            events: Vec::new(),
        });
        self.index.insert(self.key.clone(), at);
        at
    }

    /// The windows in order of first appearance and the number of rows replaced by a later row
    /// with the same timestamp.
    pub fn finish(self) -> (Vec<SensorWindow>, u64) {
        let mut duplicates = 0;
        let windows = self
            .groups
            .into_iter()
            .map(|group| {
                let (events, replaced) = sort_unique(group.events);
                duplicates += replaced;
                SensorWindow {
                    sensor_id: group.sensor_id,
                    window_id: group.window_id,
                    label: group.label.map(|(label, _)| label),
                    events,
                }
            })
            .collect();
        (windows, duplicates)
    }
}

/// Sort by timestamp (stable, so rows keep file order within one timestamp) and keep the last row
/// of each timestamp. Returns the events and how many rows were replaced.
pub(crate) fn sort_unique(events: Vec<Event>) -> (Vec<Event>, u64) {
    sort_unique_by(events, |e| e.timestamp)
}

/// [`sort_unique`] for any row type with a timestamp.
pub(crate) fn sort_unique_by<T>(
    mut rows: Vec<T>,
    time: impl Fn(&T) -> DateTime<Utc>,
) -> (Vec<T>, u64) {
    if !rows.is_sorted_by_key(&time) {
        rows.sort_by_key(&time);
    }
    if rows.windows(2).all(|w| time(&w[0]) != time(&w[1])) {
        return (rows, 0);
    }
    let mut unique: Vec<T> = Vec::with_capacity(rows.len());
    let mut replaced = 0;
    for row in rows {
        match unique.last_mut() {
            Some(last) if time(last) == time(&row) => {
                *last = row;
                replaced += 1;
            }
            _ => unique.push(row),
        }
    }
    (unique, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(secs: i64, value: f32) -> Event {
        Event {
            timestamp: DateTime::<Utc>::from_timestamp(secs, 0).unwrap(),
            features: vec![value],
        }
    }

    #[test]
    fn sort_unique_keeps_the_last_row_of_a_timestamp() {
        let events = vec![
            event(3, 1.0),
            event(1, 2.0),
            event(3, 3.0),
            event(2, 4.0),
            event(1, 5.0),
        ];
        let (events, replaced) = sort_unique(events);
        assert_eq!(replaced, 2);
        assert_eq!(events, vec![event(1, 5.0), event(2, 4.0), event(3, 3.0)]);
    }

    #[test]
    fn sorted_unique_input_is_unchanged() {
        let events = vec![event(1, 1.0), event(2, 2.0)];
        assert_eq!(sort_unique(events.clone()), (events, 0));
    }
}
