//! docs/openapi.json is the document the code generates. After changing the
//! API, regenerate it with `LHV_BLESS=1 cargo test -p vectord --test api openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[test]
fn the_checked_in_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = vectord::openapi_json();
    if std::env::var_os("LHV_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json is stale: run `LHV_BLESS=1 cargo test -p vectord --test api openapi` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/vectors/index",
        "/v1/vectors/index/{name}",
        "/v1/vectors/index/{name}/add",
        "/v1/vectors/index/{name}/search",
        "/v1/vectors/index/{name}/search/batch",
        "/v1/vectors/index/{name}/items",
        "/v1/vectors/index/{name}/items/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
}
