//! In-process LRU session cache with per-entry expiry.

use crate::dto::Session;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct MemoryCache {
    lru: Mutex<LruCache<String, (Session, Instant)>>,
}

impl MemoryCache {
    pub fn new(max_entries: usize) -> Self {
        let cap = NonZeroUsize::new(max_entries.max(1)).expect("non-zero");
        MemoryCache { lru: Mutex::new(LruCache::new(cap)) }
    }

    pub fn get(&self, key: &str) -> Option<Session> {
        let mut lru = self.lru.lock().ok()?;
        match lru.get(key) {
            Some((s, until)) if *until > Instant::now() => Some(s.clone()),
            Some(_) => {
                lru.pop(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: &str, s: &Session, ttl: Duration) {
        if let Ok(mut lru) = self.lru.lock() {
            lru.put(key.to_owned(), (s.clone(), Instant::now() + ttl));
        }
    }

    pub fn evict_key(&self, key: &str) {
        if let Ok(mut lru) = self.lru.lock() {
            lru.pop(key);
        }
    }

    pub fn evict_session(&self, tenant: &str, session_id: &str) {
        if let Ok(mut lru) = self.lru.lock() {
            let doomed: Vec<String> = lru
                .iter()
                .filter(|(_, (s, _))| s.id == session_id && s.tenant == tenant)
                .map(|(k, _)| k.clone())
                .collect();
            for k in doomed {
                lru.pop(&k);
            }
        }
    }
}
