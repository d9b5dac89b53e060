//! Which cell of a sweep a run or a summary row belongs to: one type, with
//! its columns in `runs.csv` and `summary.csv`.

use serde::de::MapAccess;
use serde::ser::SerializeStruct;

use super::spec::{Job, SweepSpec};

/// A cell's identity: the swept option with the index and canonical text of
/// its value, and a grid's second option with its own (empty in a 1-D
/// sweep).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub param: String,
    pub value_index: usize,
    pub value: String,
    pub param2: String,
    pub value2_index: Option<usize>,
    pub value2: String,
}

/// The cell's columns, in the order both files have them.
pub const CELL_COLUMNS: [&str; 6] = [
    "param",
    "value_index",
    "value",
    "param2",
    "value2_index",
    "value2",
];

impl Cell {
    /// The cell that `job` of `spec` runs in.
    pub fn of(spec: &SweepSpec, job: &Job) -> Cell {
        Cell {
            param: spec.param.clone(),
            value_index: job.value_index,
            value: job.value.clone(),
            param2: spec
                .second
                .as_ref()
                .map_or(String::new(), |a| a.param.clone()),
            value2_index: job.value2_index,
            value2: job.value2.clone(),
        }
    }

    /// Writes the cell's columns into a row being serialised.
    pub(super) fn serialize_into<S: SerializeStruct>(&self, row: &mut S) -> Result<(), S::Error> {
        row.serialize_field(CELL_COLUMNS[0], &self.param)?;
        row.serialize_field(CELL_COLUMNS[1], &self.value_index)?;
        row.serialize_field(CELL_COLUMNS[2], &self.value)?;
        row.serialize_field(CELL_COLUMNS[3], &self.param2)?;
        row.serialize_field(CELL_COLUMNS[4], &self.value2_index)?;
        row.serialize_field(CELL_COLUMNS[5], &self.value2)
    }

    /// Reads the value of column `key` from a row being deserialised, when
    /// it is one of the cell's; false for any other column, whose value is
    /// left for the caller.
    pub(super) fn read_column<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        row: &mut A,
    ) -> Result<bool, A::Error> {
        match key {
            "param" => self.param = row.next_value()?,
            "value_index" => self.value_index = row.next_value()?,
            "value" => self.value = row.next_value()?,
            "param2" => self.param2 = row.next_value()?,
            "value2_index" => self.value2_index = row.next_value()?,
            "value2" => self.value2 = row.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// `param=value`, and `, param2=value2` in a grid, for messages.
impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.param, self.value)?;
        if self.value2_index.is_some() {
            write!(f, ", {}={}", self.param2, self.value2)?;
        }
        Ok(())
    }
}
