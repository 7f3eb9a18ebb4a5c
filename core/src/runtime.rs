//! The tokio runtime the Python and Node bindings run every call on (Rust users bring their own).

/// Number of the bindings' runtime worker threads, read once when the runtime is built.
pub const THREADS_ENV: &str = "ORY_IAM_RUNTIME_THREADS";

/// The bindings' runtime: multi-thread, threads named `ory-iam-runtime`, one worker unless
/// `ORY_IAM_RUNTIME_THREADS` is a positive number. The consumer of every result is one event
/// loop thread (asyncio's, Node's), and a runtime thread does an Ory request's Rust-side work in
/// tens of microseconds, so one keeps up with it; more workers mostly add cross-thread wake-ups
/// (measured per uncached whoami: Python ~15 % more client CPU with two at concurrency 8, Node
/// 4–16 % more with napi's default of one per CPU).
pub fn binding_runtime() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all()
        .thread_name("ory-iam-runtime")
        .worker_threads(worker_threads(std::env::var(THREADS_ENV).ok().as_deref()));
    b
}

/// `ORY_IAM_RUNTIME_THREADS`'s value as a worker count: a positive number, else 1.
pub fn worker_threads(value: Option<&str>) -> usize {
    value.and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or(1)
}

/// Set to `0`, `off`, `false` or `no` to keep the Python binding's uncached `whoami` off the
/// event-loop lane (every call through the runtime, as before the lane existed).
pub const LANE_ENV: &str = "ORY_IAM_LANE";

/// Whether `ORY_IAM_LANE`'s value leaves the lane on (anything but an explicit "off").
pub fn lane_enabled(value: Option<&str>) -> bool {
    !value.is_some_and(|v| ["0", "off", "false", "no"].iter().any(|off| v.trim().eq_ignore_ascii_case(off)))
}

#[cfg(test)]
mod tests {
    use super::{lane_enabled, worker_threads};

    #[test]
    fn lane_switch_from_the_environment_value() {
        for on in [None, Some(""), Some("1"), Some("on"), Some("yes")] {
            assert!(lane_enabled(on), "{on:?}");
        }
        for off in ["0", "off", "OFF", " false ", "No"] {
            assert!(!lane_enabled(Some(off)), "{off:?}");
        }
    }

    #[test]
    fn worker_threads_from_the_environment_value() {
        assert_eq!(worker_threads(None), 1);
        assert_eq!(worker_threads(Some("3")), 3);
        assert_eq!(worker_threads(Some(" 2 ")), 2);
        for bad in ["", "0", "-1", "many", "1.5"] {
            assert_eq!(worker_threads(Some(bad)), 1, "{bad:?}");
        }
    }
}
