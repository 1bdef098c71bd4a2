//! Leases with conditional writes, on memory and on a real S3 server: of
//! racing processes exactly one gets the lease, a takeover happens only
//! after expiry and raises the epoch, and a holder that paused past its
//! expiry can no longer renew or release what another process now holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use futures::future::join_all;
use lhv_store::{Attempt, Error, Lease, LeaseRecord, Store};

const TTL: u64 = 1_000;

async fn acquire(store: &dyn Store, key: &str, holder: &str, now: u64) -> Attempt {
    Lease::acquire(store, key, holder, now, TTL).await.unwrap()
}

fn held(attempt: Attempt) -> Lease {
    match attempt {
        Attempt::Acquired(lease) => lease,
        Attempt::HeldBy(other) => panic!("held by {other:?}"),
    }
}

fn holder_of(attempt: &Attempt) -> LeaseRecord {
    match attempt {
        Attempt::HeldBy(record) => record.clone(),
        Attempt::Acquired(lease) => panic!("acquired by {}", lease.holder()),
    }
}

/// Every racer's attempt: all at once, or (`racing` false) one after another.
async fn race(store: &dyn Store, key: &str, racers: &[String], now: u64, racing: bool) -> Vec<Attempt> {
    if racing {
        return join_all(racers.iter().map(|p| acquire(store, key, p, now))).await;
    }
    let mut out = Vec::new();
    for racer in racers {
        out.push(acquire(store, key, racer, now).await);
    }
    out
}

async fn leases(store: &dyn Store, racing: bool) {
    let key = "_vectors/docs@0.lease";
    // Eight processes race for a free lease: exactly one wins, at epoch 1.
    let racers: Vec<String> = (0..8).map(|p| format!("p{p}")).collect();
    let attempts = race(store, key, &racers, 0, racing).await;
    let winners: Vec<&Attempt> = attempts.iter().filter(|a| matches!(a, Attempt::Acquired(_))).collect();
    assert_eq!(winners.len(), 1);
    let Attempt::Acquired(first) = winners[0] else { unreachable!() };
    assert_eq!(first.epoch(), 1);
    let owner = first.holder().to_owned();
    for attempt in attempts.iter().filter(|a| matches!(a, Attempt::HeldBy(_))) {
        assert_eq!(holder_of(attempt).holder, owner);
    }

    // The holder renews; before expiry nobody else gets it.
    let mut a = held(acquire(store, key, &owner, 500).await);
    assert_eq!((a.epoch(), a.expires_at_ms()), (1, 500 + TTL));
    a.renew(store, 900, TTL).await.unwrap();
    assert_eq!(holder_of(&acquire(store, key, "b", 1_800).await).holder, owner);

    // `a` pauses past its expiry; eight others race to take over: one does, at epoch 2.
    let others: Vec<String> = (0..8).map(|p| format!("b{p}")).collect();
    let attempts = race(store, key, &others, 1_900, racing).await;
    let takers: Vec<Lease> = attempts
        .into_iter()
        .filter_map(|attempt| match attempt {
            Attempt::Acquired(lease) => Some(lease),
            Attempt::HeldBy(_) => None,
        })
        .collect();
    assert_eq!(takers.len(), 1);
    let b = takers.into_iter().next().unwrap();
    assert_eq!(b.epoch(), 2);

    // The paused holder wakes: it can neither renew nor release, and does not get it back.
    assert!(matches!(a.renew(store, 2_000, TTL).await, Err(Error::LeaseLost { .. })));
    assert!(matches!(a.clone().release(store, 2_000).await, Err(Error::LeaseLost { .. })));
    assert_eq!(holder_of(&acquire(store, key, &owner, 2_000).await).holder, b.holder());

    // A release lets the next process in at once, one epoch up.
    b.release(store, 2_100).await.unwrap();
    let c = held(acquire(store, key, "c", 2_100).await);
    assert_eq!(c.epoch(), 3);

    // A damaged lease is reported and left as it is.
    let damaged = "_vectors/damaged.lease";
    store.put(damaged, Bytes::from_static(b"{\"holder\": 7}")).await.unwrap();
    assert!(matches!(Lease::acquire(store, damaged, "d", 0, TTL).await, Err(Error::DamagedLease { .. })));
    assert_eq!(store.get(damaged).await.unwrap().as_deref(), Some(&b"{\"holder\": 7}"[..]));
    store.delete(damaged).await.unwrap();
    store.delete(key).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_on_memory() {
    leases(crate::support::backend("memory").store.as_ref(), true).await;
}

/// Racing for real: the test server (SeaweedFS) makes `If-None-Match` and
/// `If-Match` atomic, as Amazon S3 does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_on_s3() {
    leases(crate::support::backend("s3").store.as_ref(), true).await;
}

#[tokio::test]
async fn leases_are_refused_where_writes_cannot_be_conditional() {
    let backend = crate::support::backend("file");
    let refused = Lease::acquire(backend.store.as_ref(), "x.lease", "p", 0, TTL).await;
    // A local directory can create conditionally, but never replace conditionally.
    let mut lease = held(refused.unwrap());
    assert!(matches!(lease.renew(backend.store.as_ref(), 1, TTL).await, Err(Error::Unsupported { .. })));
}
