//! Single-flight per cache key: the first request for an untranslated chapter starts the
//! translation as a task of its own (it finishes and is cached even if that request goes away);
//! requests for the same key meanwhile wait for the same result instead of paying again.
//! Across replicas, `super::claim` leases each key to one translating replica, and the unique
//! key of `translations` keeps one cached row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::error::TranslateError;
use crate::db::translations::TranslationRecord;

/// What a flight ends with, shared by every waiter: the translation, and whether this replica
/// paid for it (false when another replica's translation was served, see `super::claim`).
pub type FlightResult = Result<(Arc<TranslationRecord>, bool), Arc<TranslateError>>;

/// (content hash, language, model).
pub type CacheKey = (String, String, String);

type Flight = Shared<BoxFuture<'static, FlightResult>>;

/// The translations in progress in this process.
#[derive(Clone, Default)]
pub struct Flights {
    inflight: Arc<Mutex<HashMap<CacheKey, Flight>>>,
}

impl Flights {
    /// Waits for the flight of `key`, starting `work` as one unless it is already in the air.
    /// Returns the result and whether this call joined a flight another request started.
    pub async fn run<F>(&self, key: CacheKey, work: F) -> (FlightResult, bool)
    where
        F: Future<Output = FlightResult> + Send + 'static,
    {
        let (flight, joined) = {
            let mut map = self.inflight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match map.get(&key) {
                Some(flight) => (flight.clone(), true),
                None => {
                    let flight = self.start(key.clone(), work);
                    map.insert(key, flight.clone());
                    (flight, false)
                }
            }
        };
        (flight.await, joined)
    }

    /// Spawns `work`; the task forgets its key when done (the result is cached by then).
    fn start<F>(&self, key: CacheKey, work: F) -> Flight
    where
        F: Future<Output = FlightResult> + Send + 'static,
    {
        let (inflight, done_key) = (Arc::clone(&self.inflight), key.clone());
        let task = tokio::spawn(async move {
            let result = work.await;
            forget(&inflight, &done_key);
            result
        });
        let inflight = Arc::clone(&self.inflight);
        async move {
            task.await.unwrap_or_else(|err| {
                forget(&inflight, &key);
                Err(Arc::new(TranslateError::Task(err.to_string())))
            })
        }
        .boxed()
        .shared()
    }

    /// How many translations are in progress.
    pub fn len(&self) -> usize {
        self.inflight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn forget(inflight: &Mutex<HashMap<CacheKey, Flight>>, key: &CacheKey) {
    inflight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
}
