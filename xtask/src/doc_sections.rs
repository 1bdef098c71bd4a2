//! The parts of docs/BENCHMARKS.md that separate commands write: each between
//! a begin and an end marker, replaced by its command and kept by the others.

use std::path::Path;

/// A section's markers.
pub(crate) struct Section {
    pub(crate) begin: &'static str,
    pub(crate) end: &'static str,
}

/// Written by `cargo xtask bench-http`.
pub(crate) const HTTP: Section =
    Section { begin: "<!-- http-bench: written by `cargo xtask bench-http` -->", end: "<!-- /http-bench -->" };
/// Written by `cargo xtask bench-filter`.
pub(crate) const FILTER: Section =
    Section { begin: "<!-- filter-bench: written by `cargo xtask bench-filter` -->", end: "<!-- /filter-bench -->" };
/// Written by `cargo xtask bench-storage`.
pub(crate) const STORAGE: Section =
    Section { begin: "<!-- storage-bench: written by `cargo xtask bench-storage` -->", end: "<!-- /storage-bench -->" };
/// Written by `cargo xtask bench-shards`.
pub(crate) const SHARDS: Section =
    Section { begin: "<!-- shards-bench: written by `cargo xtask bench-shards` -->", end: "<!-- /shards-bench -->" };
/// Written by `cargo xtask bench-payload-index`.
pub(crate) const PAYLOAD_INDEX: Section = Section {
    begin: "<!-- payload-index-bench: written by `cargo xtask bench-payload-index` -->",
    end: "<!-- /payload-index-bench -->",
};
/// Written by `cargo xtask bench-hybrid`.
pub(crate) const HYBRID: Section =
    Section { begin: "<!-- hybrid-bench: written by `cargo xtask bench-hybrid` -->", end: "<!-- /hybrid-bench -->" };
/// Written by `cargo xtask bench-disk`.
pub(crate) const DISK: Section =
    Section { begin: "<!-- disk-bench: written by `cargo xtask bench-disk` -->", end: "<!-- /disk-bench -->" };
/// Written by `cargo xtask bench-disk --capped` on minilm-dev.
pub(crate) const CAPPED: Section = Section {
    begin: "<!-- capped-bench: written by `cargo xtask bench-disk --capped` -->",
    end: "<!-- /capped-bench -->",
};
/// Written by `cargo xtask bench-disk --capped` on pydoc-dev (`LHV_DATASET_DIR`).
pub(crate) const CAPPED_PYDOC: Section = Section {
    begin: "<!-- capped-bench-pydoc: written by `LHV_DATASET_DIR=.../pydoc-dev cargo xtask bench-disk --capped` -->",
    end: "<!-- /capped-bench-pydoc -->",
};
/// Every section some command other than `cargo xtask bench` writes.
pub(crate) const KEPT: [Section; 9] =
    [HTTP, FILTER, STORAGE, SHARDS, PAYLOAD_INDEX, HYBRID, DISK, CAPPED, CAPPED_PYDOC];

/// The section a capped run on the dataset named `dataset` writes, if the document keeps one.
pub(crate) fn capped(dataset: &str) -> Option<Section> {
    match dataset {
        "minilm-dev" => Some(CAPPED),
        "pydoc-dev" => Some(CAPPED_PYDOC),
        _ => None,
    }
}

/// `section` of `text`, markers included, if it is there.
pub(crate) fn find<'a>(text: &'a str, section: &Section) -> Option<&'a str> {
    let begin = text.find(section.begin)?;
    let end = text[begin..].find(section.end)? + begin + section.end.len();
    Some(&text[begin..end])
}

/// Replaces `section` of the file at `doc` with `body` (appending it if absent).
pub(crate) fn write(doc: &Path, section: &Section, body: &str) -> Result<(), String> {
    let current = std::fs::read_to_string(doc).unwrap_or_default();
    let fresh = format!("{}\n{}\n{}", section.begin, body.trim_end(), section.end);
    let updated = match find(&current, section) {
        Some(old) => current.replacen(old, &fresh, 1),
        None => format!("{}\n\n{fresh}\n", current.trim_end()),
    };
    std::fs::write(doc, updated).map_err(|e| format!("cannot write {}: {e}", doc.display()))
}
