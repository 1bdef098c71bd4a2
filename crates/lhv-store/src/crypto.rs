//! The process's TLS crypto provider.
//!
//! HTTPS clients (the S3 and WebDAV stores, through reqwest) need a rustls
//! crypto provider. The workspace builds rustls with *ring* rather than its
//! default, aws-lc-rs, whose C library takes minutes to compile; reqwest
//! only picks a provider of its own for aws-lc-rs, so ours is installed as
//! the process default before any client is built.

/// Makes *ring* the process's default rustls crypto provider, unless one is
/// installed already (then that one serves). Idempotent and cheap: call it
/// before building any HTTPS client.
pub fn install_crypto_provider() {
    // An error only says another provider is already the default.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
