//! Synthetic tags for filtered-search tests and benches: item `i` carries
//! `"p50"`, `"p10"`, `"p1"`, `"p01"` with probabilities 50 %, 10 %, 1 %, 0.1 %.

/// (tag, share of items that carry it, in thousandths).
pub const SELECTIVITIES: [(&str, u64); 4] = [("p50", 500), ("p10", 100), ("p1", 10), ("p01", 1)];

/// A deterministic, well-mixed number in 0..1000 per item.
fn bucket(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) % 1000
}

/// The tags item `i` carries (each rarer tag's holders are among the commoner ones').
pub fn tags(i: usize) -> Vec<&'static str> {
    SELECTIVITIES.iter().filter(|(_, share)| bucket(i) < *share).map(|(tag, _)| *tag).collect()
}
