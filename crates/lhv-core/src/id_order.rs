//! The order of ids: Qdrant's order of point ids, extended to any string.
//!
//! Ids that are canonical unsigned 64-bit integers (`"0"`, `"42"`, no sign,
//! no leading zero) come first, in numeric order; every other id follows, in
//! byte order. A UUID in its lowercase hyphenated form (how the Qdrant routes
//! keep them) sorts by byte exactly as by its 128-bit value, so point ids of
//! both kinds are in Qdrant's order: integers ascending, then UUIDs.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::sync::Arc;

use ref_cast::RefCast;

/// The digits of `u64::MAX`: the largest canonical integer id.
const MAX_U64: &str = "18446744073709551615";

/// Compares two ids in the order scrolls and listings use.
///
/// ```
/// use std::cmp::Ordering;
/// assert_eq!(lhv_core::compare_ids("9", "10"), Ordering::Less);
/// assert_eq!(lhv_core::compare_ids("10", "010"), Ordering::Less); // "010" is not canonical
/// assert_eq!(lhv_core::compare_ids("99", "550e8400-e29b-41d4-a716-446655440000"), Ordering::Less);
/// ```
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    match (is_integer(a), is_integer(b)) {
        // Canonical integers: the longer is the larger; of equal length, byte order is numeric order.
        (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// Whether `id` is the canonical decimal form of a `u64`.
fn is_integer(id: &str) -> bool {
    let digits = id.as_bytes();
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits.len() == 1 || digits[0] != b'0')
        && (digits.len() < MAX_U64.len() || (digits.len() == MAX_U64.len() && id <= MAX_U64))
}

/// An id as a key of ordered maps, in [`compare_ids`] order.
#[derive(Debug, Clone)]
pub(crate) struct IdKey(pub Arc<str>);

/// A borrowed id in [`compare_ids`] order: what maps keyed by [`IdKey`] are searched with.
#[derive(Debug, RefCast, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct IdStr(str);

impl IdStr {
    pub(crate) fn new(id: &str) -> &IdStr {
        IdStr::ref_cast(id)
    }
}

impl PartialOrd for IdStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdStr {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_ids(&self.0, &other.0)
    }
}

impl Borrow<IdStr> for IdKey {
    fn borrow(&self) -> &IdStr {
        IdStr::new(&self.0)
    }
}

impl PartialEq for IdKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for IdKey {}

impl PartialOrd for IdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_ids(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_first_in_numeric_order_then_bytes() {
        let mut ids = vec![
            "b",
            "10",
            "2",
            "010",
            "18446744073709551615",
            "18446744073709551616",
            "0",
            "550e8400-e29b-41d4-a716-446655440000",
            "-1",
            "1a",
            "",
        ];
        ids.sort_by(|a, b| compare_ids(a, b));
        let want = [
            "0",
            "2",
            "10",
            "18446744073709551615",
            "",
            "-1",
            "010",
            "18446744073709551616",
            "1a",
            "550e8400-e29b-41d4-a716-446655440000",
            "b",
        ];
        assert_eq!(ids, want);
    }

    #[test]
    fn uuid_strings_sort_as_their_values() {
        let low = "0fffffff-ffff-ffff-ffff-ffffffffffff";
        let high = "a0000000-0000-0000-0000-000000000000";
        assert_eq!(compare_ids(low, high), Ordering::Less);
    }
}
