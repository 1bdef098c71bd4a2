//! One behaviour for every backend: the same checks against memory, a local
//! directory, a real S3 server and a real WebDAV server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use lhv_store::{Error, Store};

async fn conformance(store: &dyn Store) {
    let key = "a/b/one";
    assert_eq!(store.get(key).await.unwrap(), None, "missing key");
    assert_eq!(store.list("a").await.unwrap(), Vec::<String>::new(), "empty prefix");

    store.put(key, Bytes::from_static(b"first")).await.unwrap();
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"first"[..]));
    store.put(key, Bytes::from_static(b"second, longer")).await.unwrap();
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"second, longer"[..]), "overwrite");

    assert!(matches!(store.put_new(key, Bytes::from_static(b"x")).await, Err(Error::AlreadyExists { .. })));
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"second, longer"[..]), "failed put_new changed it");
    store.put_new("a/b/two", Bytes::from_static(b"")).await.unwrap();
    assert_eq!(store.get("a/b/two").await.unwrap().as_deref(), Some(&b""[..]), "empty object");

    store.put("a/c/three", Bytes::from(vec![7u8; 100_000])).await.unwrap();
    store.put("ab/not-under-a", Bytes::from_static(b"z")).await.unwrap();
    assert_eq!(store.list("a").await.unwrap(), ["a/b/one", "a/b/two", "a/c/three"]);
    assert_eq!(store.list("a/b").await.unwrap(), ["a/b/one", "a/b/two"]);
    assert_eq!(store.get("a/c/three").await.unwrap().unwrap().len(), 100_000);

    store.delete(key).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), None, "deleted");
    store.delete(key).await.unwrap();
    store.delete("never/was").await.unwrap();
    assert_eq!(store.list("a/b").await.unwrap(), ["a/b/two"]);
    for key in ["a/b/two", "a/c/three", "ab/not-under-a"] {
        store.delete(key).await.unwrap();
    }
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new(), "everything deleted");
}

/// Conditional updates: where the backend has them, a write at a stale
/// version changes nothing; elsewhere they are refused, never faked.
async fn conditional_updates(store: &dyn Store, supported: bool) {
    let key = "cond/lease";
    if !supported {
        store.put(key, Bytes::from_static(b"v0")).await.unwrap();
        let (_, version) = store.get_versioned(key).await.unwrap().unwrap();
        let refused = store.put_if_version(key, Bytes::from_static(b"v1"), &version).await;
        assert!(matches!(refused, Err(Error::Unsupported { .. })), "{refused:?}");
        assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"v0"[..]));
        store.delete(key).await.unwrap();
        return;
    }
    let first = store.put_new_versioned(key, Bytes::from_static(b"v1")).await.unwrap();
    assert!(matches!(store.put_new_versioned(key, Bytes::from_static(b"x")).await, Err(Error::AlreadyExists { .. })));
    let (bytes, read) = store.get_versioned(key).await.unwrap().unwrap();
    assert_eq!((&bytes[..], &read), (&b"v1"[..], &first));
    let second = store.put_if_version(key, Bytes::from_static(b"v2"), &first).await.unwrap();
    assert_ne!(second, first);
    // A writer still holding the first version loses, and changes nothing.
    let stale = store.put_if_version(key, Bytes::from_static(b"stale"), &first).await;
    assert!(matches!(stale, Err(Error::VersionChanged { .. })), "{stale:?}");
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"v2"[..]));
    store.put_if_version(key, Bytes::from_static(b"v3"), &second).await.unwrap();
    store.delete(key).await.unwrap();
    let gone = store.put_if_version(key, Bytes::from_static(b"v4"), &second).await;
    assert!(matches!(gone, Err(Error::VersionChanged { .. })), "{gone:?}");
    assert_eq!(store.get(key).await.unwrap(), None);
}

/// Conditional writes racing for real (every racer's request in flight at
/// once, not taking turns): exactly one `put_new` of a key and one
/// `put_if_version` on a version succeed, the others are refused, and the
/// object holds the winner's bytes. This is the storage-side fence of a
/// cluster's commits, so it is checked on every backend that offers it.
///
/// `racers` requests at once, `rounds` times. SeaweedFS holds some racing
/// requests back for a second or two (measured: 32 racers, 1 round in 3
/// took 1-4 s, every racer waiting), so S3 runs fewer rounds.
async fn conditional_writes_race(store: &dyn Store, replaces: bool, racers: usize, rounds: usize) {
    for round in 0..rounds {
        let key = format!("race/{round}");
        let created =
            futures::future::join_all((0..racers).map(|r| store.put_new(&key, Bytes::from(format!("create {r}")))))
                .await;
        let winners: Vec<usize> = (0..racers).filter(|&r| created[r].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: put_new winners {winners:?} ({created:?})");
        for (r, outcome) in created.iter().enumerate() {
            assert!(outcome.is_ok() || matches!(outcome, Err(Error::AlreadyExists { .. })), "racer {r}: {outcome:?}");
        }
        let stored = store.get(&key).await.unwrap().unwrap();
        assert_eq!(stored, Bytes::from(format!("create {}", winners[0])), "round {round}: not the winner's bytes");
        if !replaces {
            continue;
        }
        let (_, version) = store.get_versioned(&key).await.unwrap().unwrap();
        let replaced = futures::future::join_all(
            (0..racers).map(|r| store.put_if_version(&key, Bytes::from(format!("replace {r}")), &version)),
        )
        .await;
        let winners: Vec<usize> = (0..racers).filter(|&r| replaced[r].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: put_if_version winners {winners:?} ({replaced:?})");
        for (r, outcome) in replaced.iter().enumerate() {
            assert!(outcome.is_ok() || matches!(outcome, Err(Error::VersionChanged { .. })), "racer {r}: {outcome:?}");
        }
        let stored = store.get(&key).await.unwrap().unwrap();
        assert_eq!(stored, Bytes::from(format!("replace {}", winners[0])), "round {round}: not the winner's bytes");
    }
}

#[tokio::test]
async fn memory_conforms() {
    conformance(crate::support::backend("memory").store.as_ref()).await;
    conditional_updates(crate::support::backend("memory").store.as_ref(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_writes_race_on_memory() {
    conditional_writes_race(crate::support::backend("memory").store.as_ref(), true, 32, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_creates_race_on_a_local_directory() {
    conditional_writes_race(crate::support::backend("file").store.as_ref(), false, 32, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_writes_race_on_s3() {
    conditional_writes_race(crate::support::backend("s3").store.as_ref(), true, 32, 3).await;
}

#[tokio::test]
async fn local_directory_conforms() {
    conformance(crate::support::backend("file").store.as_ref()).await;
    conditional_updates(crate::support::backend("file").store.as_ref(), false).await;
}

#[tokio::test]
async fn s3_conforms() {
    conformance(crate::support::backend("s3").store.as_ref()).await;
    conditional_updates(crate::support::backend("s3").store.as_ref(), true).await;
}

#[tokio::test]
async fn http_conforms() {
    conformance(crate::support::backend("http").store.as_ref()).await;
    conditional_updates(crate::support::backend("http").store.as_ref(), false).await;
}

#[tokio::test]
async fn a_second_process_cannot_open_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let first = lhv_store::open_url(&url, &[]).unwrap();
    assert!(matches!(lhv_store::open_url(&url, &[]), Err(Error::Locked { .. })));
    drop(first);
    lhv_store::open_url(&url, &[]).unwrap();
}

#[tokio::test]
async fn bad_urls_are_named() {
    for url in ["nope", "ftp://x/y", "file://relative"] {
        assert!(matches!(lhv_store::open_url(url, &[]), Err(Error::InvalidUrl { .. })), "{url}");
    }
}
