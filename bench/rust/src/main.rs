//! Rust side of the benchmark (`scripts/bench.sh` runs it): the core used directly, one workload
//! per process, JSON on stdout. Uses only the public API.
//!
//! cargo run --release -p ory-iam-bench -- WORKLOAD [--concurrency N] [--duration S]
//!     [--calls N] [--repeat N] [--batch-size N] [--replay-url URL]
//!
//! WORKLOAD: whoami_uncached, whoami_hit, check, check_batch, identity_list, memory,
//! cache_bounds, many_instances (`--processes N`, see `many_instances.rs`).
//! Client CPU is the process's on-CPU time (all threads) over the measured calls only.

mod many_instances;

use futures::StreamExt;
use http::HeaderMap;
use ory_iam::dto::{CheckOptions, PermissionTuple};
use ory_iam::Iam;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    workload: String,
    concurrency: usize,
    duration: f64,
    calls: usize,
    repeat: usize,
    /// `keto.batch_size` for check_batch (0: the library's default).
    batch_size: u64,
    replay_url: Option<String>,
    /// Processes of `many_instances`.
    processes: usize,
}

fn args() -> Args {
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        workload: v.first().cloned().unwrap_or_default(),
        concurrency: 1,
        duration: 5.0,
        calls: 20_000,
        repeat: 3,
        batch_size: 0,
        replay_url: None,
        processes: 4,
    };
    let mut i = 1;
    while i + 1 < v.len() {
        let val = &v[i + 1];
        match v[i].as_str() {
            "--concurrency" => a.concurrency = val.parse().expect("--concurrency"),
            "--duration" => a.duration = val.parse().expect("--duration"),
            "--calls" => a.calls = val.parse().expect("--calls"),
            "--repeat" => a.repeat = val.parse().expect("--repeat"),
            "--batch-size" => a.batch_size = val.parse().expect("--batch-size"),
            "--replay-url" => a.replay_url = Some(val.clone()),
            "--processes" => a.processes = val.parse().expect("--processes"),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    a
}

/// CPU seconds (user+sys) of the whole process: the sum over its threads of the scheduler's
/// run time (/proc/self/task/*/schedstat, in ns; /proc/self/stat only counts 10 ms ticks).
/// The runtime's threads live for the whole run, so none of their time is lost.
fn cpu() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 / 1e9
}

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn pct(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[((p / 100.0 * (xs.len() - 1) as f64).round() as usize).min(xs.len() - 1)]
}

fn latency(ns: Vec<u128>, cpu_s: f64) -> Value {
    let mut us: Vec<f64> = ns.iter().map(|&x| x as f64 / 1000.0).collect();
    let n = us.len() as f64;
    let mean = us.iter().sum::<f64>() / n;
    json!({"calls": us.len(), "p50_us": pct(&mut us, 50.0), "p99_us": pct(&mut us, 99.0), "mean_us": mean,
           "cpu_per_call_us": cpu_s / n * 1e6})
}

fn median(mut xs: Vec<f64>) -> f64 {
    pct(&mut xs, 50.0)
}

fn config(stack: &Value, cache: bool, replay_url: Option<&str>) -> Value {
    let mut cfg = stack["iam_config"].clone();
    cfg["audit"] = json!({"sink": "none"});
    cfg["session_cache"] = if cache { json!({"memory": {"max_entries": 200_000}}) } else { json!("none") };
    if let Some(tenants) = cfg["tenants"].as_object_mut() {
        for t in tenants.values_mut() {
            t["cache"] = json!({"session_ttl_ms": if cache { 600_000 } else { 0 }});
        }
    }
    if let Some(u) = replay_url {
        cfg["tenants"]["customer"]["kratos"]["public_url"] = json!(u);
    }
    cfg
}

fn token_headers(t: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-session-token", t.parse().expect("token is a header value"));
    h
}

fn tuples(fx: &Value, n: usize) -> Vec<PermissionTuple> {
    let t = &fx["tuples"];
    let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
    (0..n)
        .map(|i| PermissionTuple::new(&s("namespace"), &format!("bench-doc-{i:03}"), &s("relation"), &s("subject_id")))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `BENCH_RUNTIME=current_thread` runs the same workload on a single-threaded runtime, to
    // tell the cost of the multi-thread runtime's cross-thread wake-ups from the library's own.
    let rt = match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        _ => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
    };
    rt.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let stack: Value = serde_json::from_str(&std::fs::read_to_string(format!("{root}/.stack/stack.json"))?)?;
    match a.workload.as_str() {
        "many_instances_worker" => return many_instances::worker().await,
        "many_instances" => {
            let mut out = many_instances::run(&stack, a.processes, a.concurrency, a.duration).await?;
            out["lang"] = json!("rust");
            out["client"] = json!("ory-iam");
            out["workload"] = json!(a.workload);
            println!("{out}");
            return Ok(());
        }
        _ => {}
    }
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(format!("{root}/bench/.work/fixtures.json"))?)?;
    let tokens: Vec<String> =
        fx["tokens"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect();

    let mut out = match a.workload.as_str() {
        "whoami_uncached" => {
            let svc = Iam::from_value(&config(&stack, false, None))?.session();
            let hs: Arc<Vec<HeaderMap>> = Arc::new(tokens.iter().map(|t| token_headers(t)).collect());
            for i in 0..a.concurrency {
                svc.whoami(&hs[i % hs.len()]).await?;
            }
            let stop = Arc::new(AtomicBool::new(false));
            let calls = Arc::new(AtomicU64::new(0));
            let (c0, t0) = (cpu(), Instant::now());
            let tasks: Vec<_> = (0..a.concurrency)
                .map(|i| {
                    let (svc, hs, stop, calls) = (svc.clone(), hs.clone(), stop.clone(), calls.clone());
                    tokio::spawn(async move {
                        let h = &hs[i % hs.len()];
                        while !stop.load(Ordering::Relaxed) {
                            svc.whoami(h).await.expect("whoami");
                            calls.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_secs_f64(a.duration)).await;
            stop.store(true, Ordering::Relaxed);
            for t in tasks {
                t.await?;
            }
            let (elapsed, cpu_s, n) = (t0.elapsed().as_secs_f64(), cpu() - c0, calls.load(Ordering::Relaxed) as f64);
            json!({"calls": n, "elapsed_s": elapsed, "rps": n / elapsed, "cpu_s": cpu_s,
                   "cpu_per_call_us": cpu_s / n.max(1.0) * 1e6})
        }
        "whoami_hit" => {
            let svc = Iam::from_value(&config(&stack, true, None))?.session();
            let h = token_headers(&tokens[0]);
            assert!(!svc.whoami(&h).await?.cache_hit, "first call must miss");
            for _ in 0..2000 {
                svc.whoami(&h).await?;
            }
            let mut lat = Vec::with_capacity(a.calls);
            let c0 = cpu();
            let mut last = None;
            for _ in 0..a.calls {
                let t0 = Instant::now();
                let s = svc.whoami(&h).await?;
                lat.push(t0.elapsed().as_nanos());
                last = Some(s);
            }
            let c = cpu() - c0;
            assert!(last.is_some_and(|s| s.cache_hit), "expected cache hits");
            latency(lat, c)
        }
        "check" => {
            let perm = Iam::from_value(&config(&stack, false, None))?.permission();
            let t = tuples(&fx, 1).remove(0);
            assert!(perm.check(&t, CheckOptions::default()).await?, "bench tuple not granted");
            let mut lat = Vec::with_capacity(a.calls);
            let c0 = cpu();
            for _ in 0..a.calls {
                let t0 = Instant::now();
                perm.check(&t, CheckOptions::default()).await?;
                lat.push(t0.elapsed().as_nanos());
            }
            latency(lat, cpu() - c0)
        }
        "check_batch" => {
            let mut cfg = config(&stack, false, None);
            if a.batch_size > 0 {
                cfg["tenants"]["customer"]["keto"]["batch_size"] = json!(a.batch_size);
            }
            let perm = Iam::from_value(&cfg)?.permission();
            let n = fx["tuples"]["count"].as_u64().unwrap_or(500) as usize;
            let ts = tuples(&fx, n);
            perm.check_batch(&ts[..10]).await?;
            let mut runs = Vec::new();
            let c0 = cpu();
            for _ in 0..a.repeat {
                let t0 = Instant::now();
                let res = perm.check_batch(&ts).await?;
                runs.push(t0.elapsed().as_secs_f64());
                assert!(res.len() == ts.len() && res.iter().all(|r| r.allowed), "every bench tuple is granted");
            }
            let cpu_s = (cpu() - c0) / a.repeat as f64;
            let batch_size = if a.batch_size > 0 { a.batch_size } else { 10 };
            json!({"tuples": n, "batch_size": batch_size, "runs_s": runs.clone(), "median_s": median(runs), "cpu_s": cpu_s})
        }
        "identity_list" => {
            let ident = Iam::from_value(&config(&stack, false, None))?.identity();
            let mut runs = Vec::new();
            let mut n = 0;
            let c0 = cpu();
            for _ in 0..a.repeat {
                let t0 = Instant::now();
                n = 0;
                let mut pager = ident.list_all(None);
                while let Some(i) = pager.next().await {
                    i?;
                    n += 1;
                }
                runs.push(t0.elapsed().as_secs_f64());
            }
            let cpu_s = (cpu() - c0) / a.repeat as f64;
            json!({"identities": n, "runs_s": runs.clone(), "median_s": median(runs), "cpu_s": cpu_s})
        }
        "memory" => {
            let svc = Iam::from_value(&config(&stack, true, a.replay_url.as_deref()))?.session();
            svc.whoami(&token_headers("bench-replay-warmup")).await?;
            let before = rss_mb();
            let t0 = Instant::now();
            let next = Arc::new(AtomicU64::new(0));
            let n = a.calls as u64;
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let (svc, next) = (svc.clone(), next.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                break;
                            }
                            svc.whoami(&token_headers(&format!("bench-replay-{i:08}"))).await.expect("whoami");
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await?;
            }
            let fill = t0.elapsed().as_secs_f64();
            let step = (a.calls / 1000).max(1);
            let (mut hits, mut sample, mut lat) = (0, 0, Vec::new());
            for i in (0..a.calls).step_by(step) {
                let h = token_headers(&format!("bench-replay-{i:08}"));
                let t0 = Instant::now();
                hits += svc.whoami(&h).await?.cache_hit as u32;
                lat.push(t0.elapsed().as_secs_f64() * 1e6);
                sample += 1;
            }
            json!({"sessions": a.calls, "rss_before_mb": before, "rss_after_mb": rss_mb(), "fill_s": fill,
                   "sample_hits": hits, "sample": sample, "sample_p50_us": median(lat)})
        }
        "cache_bounds" => cache_bounds(&stack, &fx, &a).await?,
        other => return Err(format!("unknown workload {other}").into()),
    };
    out["lang"] = json!("rust");
    out["client"] = json!("ory-iam");
    out["workload"] = json!(a.workload);
    out["concurrency"] = json!(a.concurrency);
    println!("{out}");
    Ok(())
}

/// Every bounded cache fed `--calls` distinct keys (200,000 in the report) with its maximum set
/// to a tenth of that: RSS is sampled at each quarter, and must stop growing once the cache is
/// full. Sessions and introspections are answered by `bench/kratos_replay.js` (distinct active
/// credentials in that number are out of reach against the shared SQLite servers), decisions by
/// the real Keto, Oathkeeper envelopes are signed and verified in-process.
async fn cache_bounds(stack: &Value, fx: &Value, a: &Args) -> Result<Value, Box<dyn std::error::Error>> {
    let n = a.calls as u64;
    let cap = (n / 10).max(1);
    let replay = a.replay_url.as_deref().ok_or("--replay-url is required")?;
    let mut cfg = stack["iam_config"].clone();
    cfg["audit"] = json!({"sink": "none"});
    cfg["session_cache"] = json!({"memory": {"max_entries": cap}});
    let key = "bench-oathkeeper-key-0123456789";
    let t = &mut cfg["tenants"]["customer"];
    t["kratos"]["public_url"] = json!(replay);
    t["hydra"]["admin_url"] = json!(replay);
    t["cache"] = json!({"session_ttl_ms": 600_000, "permission_ttl_ms": 600_000, "introspection_ttl_ms": 600_000,
                        "permission_max_entries": cap, "introspection_max_entries": cap});
    cfg["tenants"]["edge"] = json!({"transport": "oathkeeper", "keto": stack["iam_config"]["tenants"]["customer"]["keto"],
                                    "oathkeeper": {"signer_keys": [key], "replay_max_entries": cap}});
    let iam = Iam::from_value(&cfg)?;
    let sessions = iam.session();
    let edge = iam.session().for_tenant("edge")?;
    let perms = iam.permission();
    let tokens = iam.token();
    let t0 = &fx["tuples"];
    let (ns, rel) = (
        t0["namespace"].as_str().unwrap_or_default().to_owned(),
        t0["relation"].as_str().unwrap_or_default().to_owned(),
    );
    let signer = ory_iam::Secret::new(key);
    let mut out = serde_json::Map::new();
    for cache in ["sessions", "decisions", "introspections", "oathkeeper_replay"] {
        let before = rss_mb();
        let started = Instant::now();
        let mut samples = Vec::new();
        let next = Arc::new(AtomicU64::new(0));
        for quarter in 1..=4u64 {
            let upto = n * quarter / 4;
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let (next, sessions, edge, perms, tokens) =
                        (next.clone(), sessions.clone(), edge.clone(), perms.clone(), tokens.clone());
                    let (ns, rel, signer) = (ns.clone(), rel.clone(), signer.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= upto {
                                next.fetch_min(upto, Ordering::Relaxed);
                                break;
                            }
                            match cache {
                                "sessions" => {
                                    sessions.whoami(&token_headers(&format!("bench-bound-{i:08}"))).await.expect("whoami");
                                }
                                "decisions" => {
                                    let t = PermissionTuple::new(&ns, &format!("bench-bound-{i:08}"), &rel, "bench-bound-nobody");
                                    perms.check(&t, CheckOptions::default()).await.expect("check");
                                }
                                "introspections" => {
                                    let tok = ory_iam::Secret::new(format!("bench-bound-{i:08}"));
                                    assert!(tokens.introspect(&tok).await.expect("introspect").active);
                                }
                                _ => {
                                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                                    let claims = json!({"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 600,
                                                        "jti": format!("bench-bound-{i:08}"), "tenant": "edge"});
                                    let (p, sig) = ory_iam::transport::oathkeeper::sign_envelope(&claims, &signer);
                                    let h = ory_iam::transport::header_map([("x-user", p), ("x-user-signature", sig)]);
                                    edge.whoami(&h).await.expect("envelope");
                                }
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await?;
            }
            samples.push(json!({"keys": upto, "rss_mb": rss_mb()}));
        }
        out.insert(
            cache.into(),
            json!({"rss_before_mb": before, "samples": samples, "max_entries": cap,
                                        "elapsed_s": started.elapsed().as_secs_f64()}),
        );
    }
    Ok(json!({"keys": n, "caches": out, "build": if cfg!(debug_assertions) { "debug" } else { "release" }}))
}
