//! The data of `cargo xtask bench-disk --capped`: real MiniLM embeddings
//! grown to any size by noisy copies, with an exact ground truth.
//!
//! Copy 0 of each base vector is the vector itself; copy `c > 0` is the
//! vector plus Gaussian noise of norm about [`NOISE_NORM`], normalised (a
//! cosine of about 0.9 with its original, 0.8 between two copies), so the
//! neighbourhoods are those of the real text embeddings, only denser. The
//! ground truth is computed while the rows are written (cosine of normalised
//! rows is their dot product), and both are kept in `target/bench/disk/` for
//! later runs.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::vector_files::read_dataset_rows;

/// The norm of the noise added to a copy.
const NOISE_NORM: f32 = 0.5;
/// Neighbours kept per query in the ground truth.
pub(crate) const TOP: usize = 10;

/// What a run searches with.
pub(crate) struct Data {
    /// The dataset's directory name (`minilm-dev`, `pydoc-dev`).
    pub(crate) dataset: String,
    /// How many real vectors the rows are grown from.
    pub(crate) base_rows: usize,
    /// `<dataset>-<rows>-<seed>`: names the files made from this data.
    pub(crate) stem: String,
    /// The vectors, as fvecs (row `n` imported with id `n`).
    pub(crate) file: PathBuf,
    /// The dimension of every row.
    pub(crate) dim: usize,
    /// Real queries whose exact top [`TOP`] is known.
    pub(crate) recall_queries: Vec<Vec<f32>>,
    /// The exact top [`TOP`] row numbers of each recall query, nearest first.
    pub(crate) ground_truth: Vec<Vec<u32>>,
    /// Noisy variants of every real query, for throughput runs: more distinct
    /// queries than a run asks, so no run finds its rows cached by an earlier one.
    pub(crate) load_queries: Vec<Vec<f32>>,
}

/// Writes (once) `vectors` rows grown from the dataset's base vectors, with
/// the ground truth of the first `recall` of its queries.
pub(crate) fn prepare(dir: &Path, dataset: &Path, vectors: usize, recall: usize, seed: u64) -> Result<Data, String> {
    let base = read_dataset_rows(dataset, "base")?;
    let queries = read_dataset_rows(dataset, "query")?;
    let dim = base.first().map_or(0, Vec::len);
    if dim == 0 || queries.len() < recall {
        return Err(format!("{}: needs base vectors and at least {recall} queries", dataset.display()));
    }
    let recall_queries: Vec<Vec<f32>> = queries[..recall].iter().map(|q| normalized(q.clone())).collect();
    let mut noise = Noise::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    let load_queries = (0..10).flat_map(|_| queries.iter()).map(|q| noise.copy_of(q)).collect::<Vec<_>>();
    let name = dataset.file_name().map_or_else(|| "data".to_owned(), |n| n.to_string_lossy().into_owned());
    let stem = format!("{name}-{vectors}-{seed}");
    let file = dir.join(format!("grown-{stem}.fvecs"));
    let truth = dir.join(format!("grown-{stem}-r{recall}.truth"));
    let ground_truth = match read_truth(&truth) {
        Some(found) if found.len() == recall && file.exists() => found,
        _ => {
            let found = write_copies(&file, &base, vectors, seed, &recall_queries)?;
            let text: String =
                found.iter().map(|row| row.iter().map(u32::to_string).collect::<Vec<_>>().join(" ") + "\n").collect();
            std::fs::write(&truth, text).map_err(|e| format!("{}: {e}", truth.display()))?;
            found
        }
    };
    Ok(Data { dataset: name, base_rows: base.len(), stem, file, dim, recall_queries, ground_truth, load_queries })
}

/// Writes the rows and returns the exact top [`TOP`] of each query.
fn write_copies(
    path: &Path,
    base: &[Vec<f32>],
    vectors: usize,
    seed: u64,
    queries: &[Vec<f32>],
) -> Result<Vec<Vec<u32>>, String> {
    eprintln!("xtask: writing {vectors} rows grown from {} base vectors to {}", base.len(), path.display());
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut noise = Noise::new(seed);
    let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(TOP + 1); queries.len()];
    let chunk = 16_384;
    let mut row_number = 0usize;
    while row_number < vectors {
        let rows: Vec<Vec<f32>> = (row_number..vectors.min(row_number + chunk))
            .map(|n| {
                let original = &base[n % base.len()];
                if n < base.len() { normalized(original.clone()) } else { noise.copy_of(original) }
            })
            .collect();
        crate::vector_files::append_fvecs(&mut out, &rows, path)?;
        score_chunk(queries, &rows, row_number as u32, &mut best);
        row_number += rows.len();
    }
    out.flush().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(best.into_iter().map(|top| top.into_iter().map(|(_, n)| n).collect()).collect())
}

/// Folds `rows` (numbered from `first`) into each query's top list, the
/// queries split over the cores.
fn score_chunk(queries: &[Vec<f32>], rows: &[Vec<f32>], first: u32, best: &mut [Vec<(f32, u32)>]) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = queries.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (queries, best) in queries.chunks(per_thread).zip(best.chunks_mut(per_thread)) {
            scope.spawn(move || {
                for (query, top) in queries.iter().zip(best.iter_mut()) {
                    for (offset, row) in rows.iter().enumerate() {
                        let similarity = dot(query, row);
                        if top.len() == TOP && top[TOP - 1].0 >= similarity {
                            continue;
                        }
                        let at = top.partition_point(|&(s, _)| s >= similarity);
                        top.insert(at, (similarity, first + offset as u32));
                        top.truncate(TOP);
                    }
                }
            });
        }
    });
}

/// Eight independent sums, so the compiler can keep them in vector registers.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

fn normalized(mut row: Vec<f32>) -> Vec<f32> {
    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        row.iter_mut().for_each(|x| *x /= norm);
    }
    row
}

/// Gaussian noise from a xorshift generator (Box–Muller): the same rows for the same seed.
struct Noise {
    state: u64,
}

impl Noise {
    fn new(seed: u64) -> Self {
        Self { state: seed | 1 }
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        ((self.state >> 40) as f32 + 1.0) / (1u64 << 24) as f32
    }

    /// `row` plus noise of norm about [`NOISE_NORM`], normalised.
    fn copy_of(&mut self, row: &[f32]) -> Vec<f32> {
        let sigma = NOISE_NORM / (row.len() as f32).sqrt();
        let copy = row
            .iter()
            .map(|x| {
                let (u, v) = (self.uniform(), self.uniform());
                x + sigma * (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
            })
            .collect();
        normalized(copy)
    }
}

fn read_truth(path: &Path) -> Option<Vec<Vec<u32>>> {
    let file = std::fs::File::open(path).ok()?;
    std::io::BufReader::new(file)
        .lines()
        .map(|line| line.ok()?.split_whitespace().map(|n| n.parse().ok()).collect())
        .collect()
}
