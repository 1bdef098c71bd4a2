//! The MiniLM dataset of `shared/data/minilm-dev` and exact answers computed
//! without the library.

use std::path::PathBuf;

#[path = "fvecs.rs"]
mod fvecs;

/// The dataset directory: `$LHV_DATASET_DIR`, else `shared/data/minilm-dev` beside the checkout.
pub fn dataset_dir() -> PathBuf {
    let dir = std::env::var_os("LHV_DATASET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/minilm-dev"));
    assert!(
        dir.join("base.fvecs").is_file(),
        "the recall tests need the minilm-dev dataset at {} (set LHV_DATASET_DIR to its directory)",
        dir.display()
    );
    dir
}

/// At most `limit` vectors of one of the dataset's fvecs files.
pub fn read_fvecs(name: &str, limit: usize) -> Vec<Vec<f32>> {
    fvecs::read_fvecs(&dataset_dir().join(name), limit).unwrap()
}

/// Exact top-`k` positions among `live` by cosine distance, in f64.
pub fn ground_truth(base: &[Vec<f32>], live: &[usize], query: &[f32], k: usize) -> Vec<usize> {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let qn = norm(query);
    let mut scored: Vec<(f64, usize)> = live
        .iter()
        .map(|&i| {
            let dot: f64 = base[i].iter().zip(query).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            (1.0 - dot / (norm(&base[i]) * qn), i)
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}
