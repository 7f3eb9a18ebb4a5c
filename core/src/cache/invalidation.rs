//! Cross-instance invalidation of the in-memory tiers (Keto decisions, Hydra introspections)
//! through Redis pub/sub, on the channel `<prefix>:invalidate`.
//!
//! A write through any instance that can change an in-memory answer (a Keto grant or revoke, a
//! token revoke) is published there; every instance subscribed drops that tier's answers. Each
//! tier's answers are kept under an epoch: a message moves it on by two, so nothing cached
//! before it is read again. An odd epoch means the instance is not subscribed (not yet, or the
//! subscription was lost: a Redis restart, a failover): the tier is then neither read nor
//! written, so no instance serves an answer it may have missed an invalidation for. Getting
//! (back) on the channel makes the epoch even again, past everything cached before the gap.
//!
//! Messages only ever drop answers: one planted by anyone who can publish on Redis costs extra
//! upstream calls, never a wrong answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// An in-memory tier that other instances' writes can make stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    Permissions = 0,
    Introspections = 1,
}

impl Tier {
    const ALL: [Tier; 2] = [Tier::Permissions, Tier::Introspections];

    /// The message naming this tier on the channel (with `:<tenant>` after it).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Permissions => "permissions",
            Tier::Introspections => "introspections",
        }
    }

    fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The epoch of each tier (see the module documentation): even, the tier may be served; odd,
/// it may not.
#[derive(Default)]
pub(crate) struct Epochs([AtomicU64; 2]);

impl Epochs {
    /// Epochs of an instance that shares nothing (no Redis): always 0, always served.
    pub fn local() -> Arc<Epochs> {
        Arc::new(Epochs::default())
    }

    /// Epochs of an instance that must be subscribed before serving its in-memory tiers.
    pub fn unsubscribed() -> Arc<Epochs> {
        Arc::new(Epochs([AtomicU64::new(1), AtomicU64::new(1)]))
    }

    pub fn current(&self, tier: Tier) -> u64 {
        self.0[tier as usize].load(Ordering::Acquire)
    }

    /// Whether answers kept under `epoch` may be served.
    pub fn servable(epoch: u64) -> bool {
        epoch % 2 == 0
    }

    /// Another instance (or this one) changed what `tier` answers.
    pub fn invalidated(&self, tier: Tier) {
        self.0[tier as usize].fetch_add(2, Ordering::AcqRel);
    }

    /// Off the channel: every tier stops being served (and what it held is never read again).
    pub fn down(&self) {
        for e in &self.0 {
            let _ = e.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| (v % 2 == 0).then_some(v + 1));
        }
    }

    /// On the channel: the tiers are served again, from empty.
    pub fn up(&self) {
        for e in &self.0 {
            let _ = e.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| (v % 2 == 1).then_some(v + 1));
        }
    }

    /// Apply one message of the channel; unknown ones are ignored.
    pub fn apply(&self, payload: &[u8]) {
        let Ok(s) = std::str::from_utf8(payload) else { return };
        let tier = s.split_once(':').map_or(s, |(t, _)| t);
        if let Some(t) = Tier::parse(tier) {
            self.invalidated(t);
        }
    }
}

/// The message of a write to `tier` of `tenant`.
pub(crate) fn message(tier: Tier, tenant: &str) -> String {
    format!("{}:{tenant}", tier.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_says_whether_a_tier_is_served() {
        let e = Epochs::unsubscribed();
        let before = e.current(Tier::Permissions);
        assert!(!Epochs::servable(before), "not subscribed yet");
        e.up();
        let live = e.current(Tier::Permissions);
        assert!(Epochs::servable(live) && live != before);
        e.up();
        assert_eq!(e.current(Tier::Permissions), live, "up twice is up once");
        e.apply(message(Tier::Permissions, "t").as_bytes());
        let after = e.current(Tier::Permissions);
        assert!(Epochs::servable(after) && after != live, "a message moves the epoch on");
        assert_eq!(e.current(Tier::Introspections), live, "another tier is untouched");
        e.apply(b"nonsense");
        e.apply(&[0xff, 0xfe]);
        assert_eq!(e.current(Tier::Permissions), after);
        e.down();
        assert!(!Epochs::servable(e.current(Tier::Permissions)));
        assert!(!Epochs::servable(e.current(Tier::Introspections)));
        e.up();
        assert!(e.current(Tier::Permissions) > after, "back on the channel, past everything before the gap");
        let l = Epochs::local();
        assert!(Epochs::servable(l.current(Tier::Introspections)));
    }
}
