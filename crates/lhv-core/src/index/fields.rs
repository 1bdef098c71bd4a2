//! Field indexes added to and dropped from a live index.

use super::Index;
use crate::error::{Error, Result};
use crate::filter::field_index::FieldIndexes;
use crate::filter::{FieldIndexInfo, IndexedField};
use crate::params::MAX_INDEXED_FIELDS;

impl Index {
    /// Builds a field index of `field` over every live item, replacing any
    /// index of the same key, and keeps it up to date from then on.
    ///
    /// Searches go on while it is built; writes wait, so that none is missed,
    /// and each sees the index either complete or not at all. Fails if the
    /// key is malformed or the index would hold more than
    /// [`MAX_INDEXED_FIELDS`] field indexes.
    pub fn create_field_index(&self, field: IndexedField) -> Result<()> {
        field.validate()?;
        let _writer = self.writer.lock();
        let built = {
            let state = self.state.read();
            let fields = state.fields.fields();
            if fields.len() >= MAX_INDEXED_FIELDS && !fields.iter().any(|f| f.key == field.key) {
                return Err(Error::InvalidParameter {
                    name: "indexed_fields",
                    value: format!("{} keys and {:?}", fields.len(), field.key),
                    allowed: "at most 32 keys",
                });
            }
            let live = state.metadata.iter().enumerate().filter(|(slot, _)| state.ids[*slot].is_some());
            FieldIndexes::build(field, live.filter_map(|(slot, value)| Some((slot as u32, value.as_deref()?))))
        };
        self.state.write().fields.put(built);
        Ok(())
    }

    /// Drops the field index of `key`; whether there was one.
    pub fn drop_field_index(&self, key: &str) -> bool {
        let _writer = self.writer.lock();
        self.state.write().fields.drop_key(key)
    }

    /// The field indexes held, in the order they were added, with the number
    /// of live items each holds a value of.
    pub fn field_indexes(&self) -> Vec<FieldIndexInfo> {
        self.state.read().fields.describe()
    }
}
