//! The command line: what to do (serve, or a subcommand), and the settings
//! to do it with ([`Settings`], shared by every command).

use crate::config::Settings;

/// The command line: what to do, and the settings to do it with.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "vectord", version, about = "vectord: a vector-search service")]
pub struct Cli {
    /// Without a subcommand, vectord serves.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The settings (for serving, and for `import`/`export` the same file and environment).
    #[command(flatten)]
    pub settings: Settings,
}

/// What vectord does besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Reads vectors from an fvecs, npy or JSON-lines file into an index.
    Import(crate::transfer::ImportArgs),
    /// Writes an index's items to a JSON-lines or fvecs file.
    Export(crate::transfer::ExportArgs),
}
