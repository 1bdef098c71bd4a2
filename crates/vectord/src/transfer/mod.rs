//! `vectord import` and `vectord export`: vectors from files into an index
//! (of a running server, or of a storage URL directly), and an index back out.

pub mod files;
pub mod target;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use lhv_core::{IndexParams, Metric};

use self::files::{Format, ItemReader};
use self::target::Target;
use crate::config::Config;

/// `vectord import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The index to fill; created if it does not exist.
    #[arg(long)]
    pub index: String,
    /// Dimension of a new index [default: that of the file's first vector].
    #[arg(long)]
    pub dim: Option<usize>,
    /// Distance of a new index.
    #[arg(long, default_value = "cosine")]
    pub distance: String,
    /// Metadata keys to index in a new index (repeatable).
    #[arg(long = "indexed-field")]
    pub indexed_fields: Vec<String>,
    /// Keep a new index's exact vectors on disk, in its snapshot file, and only
    /// the 8-bit codes its graph walk reads in memory (`on_disk`).
    #[arg(long)]
    pub on_disk: bool,
    /// File format [default: from the extension: .fvecs, .npy, .jsonl].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Id of row `n` of fvecs and npy files: `<prefix><n>`.
    #[arg(long, default_value = "")]
    pub id_prefix: String,
    /// Items per durable batch.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Where the index is.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The file to read.
    pub file: PathBuf,
}

/// Where `import` and `export` find the index.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// A running server (`http://host:port`, called with the `api_key` setting); without it, the
    /// `storage_url` setting is opened directly (the server must be stopped).
    #[arg(long)]
    pub server: Option<String>,
}

impl TargetArgs {
    async fn connect(&self, config: &Config) -> Result<Target, String> {
        let api_key = config.api_key.as_deref().map(str::to_owned);
        Target::connect(self.server.as_deref(), &config.storage_url, api_key).await
    }
}

/// `vectord export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// The index to write out.
    #[arg(long)]
    pub index: String,
    /// `jsonl` (id, vector, metadata per line) or `fvecs` (vectors only, in slot order).
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Where the index is.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The file to write (`-` for standard output).
    pub file: PathBuf,
}

/// Reads `args.file` into the index in durable batches, with a progress bar
/// on a terminal; returns the summary line.
pub async fn import(args: ImportArgs, config: &Config) -> Result<String, String> {
    let format = match args.format.or_else(|| Format::of_path(&args.file)) {
        Some(format) => format,
        None => return Err(format!("cannot tell the format of {}: pass --format", args.file.display())),
    };
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    let metric: Metric = serde_json::from_value(serde_json::Value::String(args.distance.clone()))
        .map_err(|_| format!("--distance {}: use cosine, l2 or dot", args.distance))?;
    let mut reader = ItemReader::open(&args.file, format, &args.id_prefix)?;
    let total_bytes = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let target = args.target.connect(config).await?;

    let progress = ProgressBar::new(total_bytes);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut imported = 0usize;
    let mut existing = target.describe(&args.index).await?;
    let result = loop {
        let mut batch = Vec::with_capacity(args.batch);
        while batch.len() < args.batch {
            match reader.next_item() {
                Ok(Some(item)) => batch.push(item),
                Ok(None) => break,
                Err(error) => return Err(format!("{}: {error}", args.file.display())),
            }
        }
        let Some(first) = batch.first() else { break Ok(()) };
        if existing.is_none() {
            let dim = args.dim.unwrap_or(first.vector.len());
            let params = IndexParams::new(dim, metric)
                .with_indexed_fields(args.indexed_fields.clone())
                .with_on_disk(args.on_disk);
            target.create(&args.index, params).await?;
            existing = target.describe(&args.index).await?;
        }
        let size = batch.len();
        if let Err(error) = target.add(&args.index, batch).await {
            break Err(format!("after {imported} items: {error}"));
        }
        imported += size;
        progress.set_position(reader.bytes_read());
        progress.set_message(format!("{imported} items"));
    };
    progress.finish_and_clear();
    let count = target.describe(&args.index).await.ok().flatten().map_or(0, |index| index.count);
    target.close().await?;
    result?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(format!(
        "imported {imported} items into {} in {seconds:.1} s ({:.0} items/s); it now holds {count}",
        args.index,
        imported as f64 / seconds.max(1e-9)
    ))
}

/// Writes the index's live items to `args.file`; returns the summary line.
pub async fn export(args: ExportArgs, config: &Config) -> Result<String, String> {
    let target = args.target.connect(config).await?;
    let frame = target.export_frame(&args.index).await;
    target.close().await?;
    let index = lhv_format::decode_snapshot(&frame?).map_err(|e| format!("the snapshot is invalid: {e}"))?.index;
    let dim = index.params().dim;
    let mut out: Box<dyn Write> = if args.file.as_os_str() == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        let file =
            std::fs::File::create(&args.file).map_err(|e| format!("cannot create {}: {e}", args.file.display()))?;
        Box::new(std::io::BufWriter::new(file))
    };
    let mut written = 0usize;
    let mut after: Option<String> = None;
    loop {
        let page = index.scroll(after.as_deref(), lhv_core::MAX_SCROLL_LIMIT).map_err(|e| e.to_string())?;
        for id in &page.ids {
            let record = index.get(id).ok_or_else(|| format!("item {id} vanished during the export"))?;
            files::write_item(&mut out, args.format, id, &record)?;
            written += 1;
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.flush().map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
    Ok(format!("exported {written} items of {} (dim {dim}) to {}", args.index, args.file.display()))
}
