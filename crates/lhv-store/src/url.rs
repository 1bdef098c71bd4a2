//! Choosing and configuring a backend from a URL.

use std::sync::Arc;

use object_store::ClientOptions;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};
use crate::lock::DirLock;
use crate::store::{ObjectStoreBackend, Store};

/// A backend opened from a URL, with the directory lock of a local one.
#[derive(Debug)]
pub struct OpenedStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Held for `file://` stores: one process per data directory.
    pub(crate) lock: Option<DirLock>,
}

/// Opens the store a URL names:
///
/// - `memory://`: in this process only, gone when it exits;
/// - `file:///path/to/dir`: a local directory (created if missing, locked
///   against a second process; writes are fsynced, files and directories);
/// - `s3://bucket/prefix`: S3 or any S3-compatible service; endpoint, region
///   and credentials come from the usual `AWS_*` environment variables
///   (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
///   `AWS_ALLOW_HTTP`, ...) and from `s3_options` (keys as in
///   `object_store`'s `AmazonS3ConfigKey`, e.g. `endpoint`, `region`), which win;
/// - `http://host/prefix` or `https://...`: a WebDAV server.
pub fn open_url(url: &str, s3_options: &[(String, String)]) -> Result<OpenedStore> {
    let invalid = |reason: String| Error::InvalidUrl { url: url.to_owned(), reason };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    let backend = |inner: Arc<dyn object_store::ObjectStore>, root: &str, conditional| -> Result<Arc<dyn Store>> {
        let root = Path::parse(root.trim_matches('/')).map_err(|e| invalid(e.to_string()))?;
        Ok(Arc::new(ObjectStoreBackend::new(inner, root, conditional)))
    };
    match parsed.scheme() {
        "memory" => Ok(OpenedStore { store: backend(Arc::new(InMemory::new()), "", true)?, lock: None }),
        "file" => {
            let dir = parsed.to_file_path().map_err(|()| invalid("not an absolute local path".into()))?;
            std::fs::create_dir_all(&dir).map_err(|e| invalid(format!("cannot create {}: {e}", dir.display())))?;
            let lock = DirLock::acquire(&dir)?;
            let local = LocalFileSystem::new_with_prefix(&dir)
                .map_err(|e| invalid(e.to_string()))?
                .with_fsync(true)
                .with_automatic_cleanup(true);
            Ok(OpenedStore { store: backend(Arc::new(local), "", true)?, lock: Some(lock) })
        }
        "s3" => {
            crate::install_crypto_provider();
            let bucket = parsed.host_str().ok_or_else(|| invalid("no bucket".into()))?;
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in s3_options {
                let key: AmazonS3ConfigKey = key.parse().map_err(|e| invalid(format!("S3 option {key}: {e}")))?;
                builder = builder.with_config(key, value);
            }
            let s3 = builder.build().map_err(|e| invalid(e.to_string()))?;
            Ok(OpenedStore { store: backend(Arc::new(s3), parsed.path(), true)?, lock: None })
        }
        "http" | "https" => {
            crate::install_crypto_provider();
            // The server root is the store; the URL's path is a prefix inside it,
            // so that its collections are created like any other.
            let origin = parsed.origin().ascii_serialization();
            let http = HttpBuilder::new()
                .with_url(origin)
                .with_client_options(ClientOptions::new().with_allow_http(true))
                .build()
                .map_err(|e| invalid(e.to_string()))?;
            Ok(OpenedStore { store: backend(Arc::new(http), parsed.path(), false)?, lock: None })
        }
        other => Err(invalid(format!("unknown scheme {other:?}: use memory, file, s3, http or https"))),
    }
}
