//! Hedged reads: a read that a member has not answered within a short
//! delay is also sent to other holders of its shards, and the first
//! success is taken. A member that is slow (paused, overloaded, failing)
//! then costs a read that delay rather than its whole timeout; reads are
//! side-effect free, so asking twice is harmless.

use std::future::Future;
use std::time::Duration;

use futures::future::{Either, select};

/// How long a read waits for its member before it is hedged: well above a
/// search's time on a healthy member here (a few ms), well below the
/// seconds a paused member holds a call.
pub(super) const HEDGE_AFTER: Duration = Duration::from_millis(100);

/// Runs `primary`; if it has not finished after `after`, also runs the
/// future `hedge` makes (if it makes one) and returns the first success of
/// the two, or, if both fail, the primary's error.
pub(super) async fn hedged<T, E, Primary, Hedge>(
    primary: Primary,
    after: Duration,
    hedge: impl FnOnce() -> Option<Hedge>,
) -> Result<T, E>
where
    Primary: Future<Output = Result<T, E>>,
    Hedge: Future<Output = Result<T, E>>,
{
    let primary = std::pin::pin!(primary);
    let delay = std::pin::pin!(tokio::time::sleep(after));
    let primary = match select(primary, delay).await {
        Either::Left((answer, _)) => return answer,
        Either::Right(((), primary)) => primary,
    };
    let Some(second) = hedge() else { return primary.await };
    let second = std::pin::pin!(second);
    match select(primary, second).await {
        Either::Left((Ok(answer), _)) | Either::Right((Ok(answer), _)) => Ok(answer),
        Either::Left((Err(error), second)) => second.await.map_err(|_| error),
        Either::Right((Err(_), primary)) => primary.await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    async fn answer(after_ms: u64, value: Result<u32, &'static str>) -> Result<u32, &'static str> {
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        value
    }

    const AFTER: Duration = Duration::from_millis(100);

    #[tokio::test(start_paused = true)]
    async fn a_prompt_answer_is_not_hedged() {
        let asked = AtomicBool::new(false);
        let got = hedged(answer(10, Ok(1)), AFTER, || {
            asked.store(true, Ordering::SeqCst);
            Some(answer(0, Ok(2)))
        })
        .await;
        assert_eq!(got, Ok(1));
        assert!(!asked.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_member_is_overtaken_by_the_hedge() {
        let started = tokio::time::Instant::now();
        assert_eq!(hedged(answer(10_000, Ok(1)), AFTER, || Some(answer(5, Ok(2)))).await, Ok(2));
        assert_eq!(started.elapsed(), AFTER + Duration::from_millis(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_hedge_leaves_the_primary() {
        assert_eq!(hedged(answer(500, Ok(1)), AFTER, || Some(answer(5, Err("hedge")))).await, Ok(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_primary_leaves_the_hedge() {
        assert_eq!(hedged(answer(150, Err("primary")), AFTER, || Some(answer(200, Ok(2)))).await, Ok(2));
    }

    #[tokio::test(start_paused = true)]
    async fn both_failing_gives_the_primarys_error() {
        let got = hedged(answer(150, Err("primary")), AFTER, || Some(answer(10, Err("hedge")))).await;
        assert_eq!(got, Err("primary"));
    }

    #[tokio::test(start_paused = true)]
    async fn without_another_holder_the_primary_is_awaited() {
        let none: Option<std::future::Ready<Result<u32, &'static str>>> = None;
        assert_eq!(hedged(answer(1_000, Ok(1)), AFTER, || none).await, Ok(1));
    }
}
