//! Freeing what a new head replaces, off the node's lock: the state before
//! a block shares all but the paths the block changed with the state after
//! it, and freeing those paths (thousands of tree nodes per block, cold in
//! cache on a seed-scale state) cost a block's producer more than writing
//! it. A background thread drops them; the queue is short, so a producer
//! that outruns it drops the next one itself.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;

type Garbage = Box<dyn Send>;

/// How many replaced heads may wait to be freed.
const QUEUE: usize = 4;

fn queue() -> Option<&'static SyncSender<Garbage>> {
    static QUEUE_TX: OnceLock<Option<SyncSender<Garbage>>> = OnceLock::new();
    QUEUE_TX
        .get_or_init(|| {
            let (tx, rx) = sync_channel::<Garbage>(QUEUE);
            std::thread::Builder::new()
                .name("govchain-reclaim".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Drops `value` on the background thread, or here if its queue is full
/// (or the thread could not be started).
pub(super) fn reclaim<T: Send + 'static>(value: T) {
    let Some(tx) = queue() else {
        return drop(value);
    };
    if let Err(TrySendError::Full(v) | TrySendError::Disconnected(v)) = tx.try_send(Box::new(value))
    {
        drop(v);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::reclaim;

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn everything_given_is_dropped_exactly_once() {
        let dropped = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            reclaim(Counted(dropped.clone()));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while dropped.load(Ordering::SeqCst) < 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 100);
    }
}
