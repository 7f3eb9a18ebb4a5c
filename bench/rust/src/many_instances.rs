//! `many_instances` (issue 24, item 6): P processes (this binary again, `many_instances_worker`)
//! × concurrency C sharing one Redis session cache. Reports, from one run:
//!
//! - throughput of 1 process and of P processes (`whoami` over a pool of sessions, every answer
//!   from Redis or Kratos), their ratio (scaling) and the machine's CPU count (the ceiling: P
//!   processes cannot scale past the cores they share with Redis, Kratos and each other);
//! - the shared cache's hit ratio and the Kratos calls per second (the misses);
//! - revoke → refused propagation across processes: while the P processes keep loading (and
//!   again once they are done), this process revokes sessions the other processes (watchers,
//!   separate processes) hold cached; each watcher polls `whoami` and stamps its first refusal
//!   (wall clock, one machine). The delay is from the revoke's return; a refusal seen before it
//!   returned counts as 0.
//!
//! Fresh sessions (native registration), a fresh key prefix per run; no fixtures needed.

use http::HeaderMap;
use ory_iam::dto::{FlowResult, InitiateFlow, SubmitFlow};
use ory_iam::Iam;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type R<T> = Result<T, Box<dyn std::error::Error>>;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const SESSIONS: usize = 64;
const ROUNDS: usize = 60;
const WATCHERS: usize = 3;

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn headers(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-session-token", token.parse().expect("token is a header value"));
    h
}

fn config(stack: &Value, prefix: &str) -> Value {
    let mut cfg = stack["iam_config"].clone();
    cfg["audit"] = json!({"sink": "none"});
    cfg["session_cache"] = json!({"redis": {"url": stack["redis"]["url"], "keys": [KEY], "key_prefix": prefix}});
    if let Some(tenants) = cfg["tenants"].as_object_mut() {
        for t in tenants.values_mut() {
            t["cache"] = json!({"session_ttl_ms": 600_000});
        }
    }
    cfg
}

/// A fresh identity's session token (and session id, identity id).
async fn register(iam: &Iam, n: usize) -> R<(String, String, String)> {
    let flows = iam.flow().for_tenant("customer")?;
    let flow = flows.initiate_registration(InitiateFlow::default()).await?;
    let email = format!("bench-mi-{}-{n}-{}@bench.example", std::process::id(), now_ns());
    let body = json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}});
    match flows.submit_registration(&flow.id, body, SubmitFlow::default()).await? {
        FlowResult::Success(s) => {
            let token = s.session_token.ok_or("no token")?.expose().to_owned();
            let session = iam.session().whoami(&headers(&token)).await?;
            Ok((token, session.id, s.identity.ok_or("no identity")?.id))
        }
        _ => Err("registration did not succeed".into()),
    }
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    out: std::io::Lines<std::io::BufReader<ChildStdout>>,
}

impl Worker {
    fn spawn(spec: Value) -> R<Worker> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("many_instances_worker")
            .env("BENCH_MANY_INSTANCES", spec.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let out = std::io::BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
        Ok(Worker { child, stdin, out })
    }

    fn send(&mut self, v: Value) -> R<()> {
        writeln!(self.stdin, "{v}")?;
        Ok(self.stdin.flush()?)
    }

    fn recv(&mut self) -> R<Value> {
        Ok(serde_json::from_str(&self.out.next().ok_or("worker exited")??)?)
    }

    fn finish(mut self) -> R<()> {
        drop(self.stdin);
        self.child.wait()?;
        Ok(())
    }
}

/// Run `p` load processes for `duration` s (all started, then told to go together); their
/// summed `{calls, hits, elapsed_s}`. `during` runs meanwhile (the propagation rounds).
async fn load<F: std::future::Future<Output = R<Value>>>(
    cfg: &Value,
    tokens: &[String],
    p: usize,
    concurrency: usize,
    duration: f64,
    during: F,
) -> R<(Value, Value)> {
    let mut ws = (0..p)
        .map(|_| Worker::spawn(json!({"mode": "load", "config": cfg, "tokens": tokens, "concurrency": concurrency, "duration": duration})))
        .collect::<R<Vec<_>>>()?;
    for w in &mut ws {
        w.recv()?; // ready
    }
    for w in &mut ws {
        w.send(json!("go"))?;
    }
    let extra = during.await?;
    let (mut calls, mut hits, mut elapsed) = (0u64, 0u64, 0f64);
    for mut w in ws {
        let r = tokio::task::block_in_place(|| w.recv())?;
        calls += r["calls"].as_u64().unwrap_or(0);
        hits += r["hits"].as_u64().unwrap_or(0);
        elapsed = elapsed.max(r["elapsed_s"].as_f64().unwrap_or(0.0));
        w.finish()?;
    }
    let rps = calls as f64 / elapsed;
    Ok((
        json!({"processes": p, "concurrency": concurrency, "calls": calls, "elapsed_s": elapsed, "rps": rps,
               "hit_ratio": hits as f64 / calls.max(1) as f64,
               "kratos_calls_per_s": (calls - hits) as f64 / elapsed}),
        extra,
    ))
}

fn pct(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[((p / 100.0 * (xs.len() - 1) as f64).round() as usize).min(xs.len() - 1)]
}

/// Revoke `rounds` sessions through `iam` while `WATCHERS` other processes poll them.
async fn propagation(iam: &Iam, cfg: &Value, rounds: Vec<(String, String, String)>) -> R<Value> {
    let mut ws =
        (0..WATCHERS).map(|_| Worker::spawn(json!({"mode": "watch", "config": cfg}))).collect::<R<Vec<_>>>()?;
    let mut delays_ms = Vec::new();
    for (token, session_id, _) in &rounds {
        for w in &mut ws {
            w.send(json!(token))?;
        }
        for w in &mut ws {
            let r = tokio::task::block_in_place(|| w.recv())?;
            if r != json!("hit") {
                return Err(format!("a watcher did not have the session cached: {r}").into());
            }
        }
        for w in &mut ws {
            w.send(json!("poll"))?;
        }
        iam.session().revoke(session_id).await?;
        let returned = now_ns();
        for w in &mut ws {
            let r = tokio::task::block_in_place(|| w.recv())?;
            let at: u128 = r["refused_at_ns"].as_str().ok_or("refused_at_ns")?.parse()?;
            delays_ms.push(at.saturating_sub(returned) as f64 / 1e6);
            if std::env::var_os("BENCH_MI_TRACE").is_some() {
                let st: u128 = r["refusing_call_started_ns"].as_str().ok_or("started")?.parse()?;
                eprintln!(
                    "trace: delay {:.1} ms, refusing call took {:.1} ms, started {:.1} ms after the return",
                    at.saturating_sub(returned) as f64 / 1e6,
                    at.saturating_sub(st) as f64 / 1e6,
                    (st as f64 - returned as f64) / 1e6
                );
            }
        }
    }
    for w in ws {
        w.finish()?;
    }
    let n = delays_ms.len();
    Ok(json!({"watchers": WATCHERS, "revokes": rounds.len(), "samples": n,
              "p50_ms": pct(&mut delays_ms, 50.0), "p99_ms": pct(&mut delays_ms, 99.0),
              "max_ms": pct(&mut delays_ms, 100.0)}))
}

pub async fn run(stack: &Value, processes: usize, concurrency: usize, duration: f64) -> R<Value> {
    let prefix = format!("bench-mi-{}-{}", std::process::id(), now_ns());
    let cfg = config(stack, &prefix);
    let iam = Iam::from_value(&cfg)?;
    let mut pool = Vec::new();
    for i in 0..SESSIONS + ROUNDS {
        pool.push(register(&iam, i).await?);
    }
    let mut rounds = pool.split_off(SESSIONS);
    let idle_rounds = rounds.split_off(ROUNDS / 2);
    let tokens: Vec<String> = pool.iter().map(|(t, _, _)| t.clone()).collect();
    // The load runs under fresh prefixes: it starts cold, so the hit ratio counts the misses
    // that fill the shared cache. The propagation rounds use `cfg`'s prefix, where the
    // registrations cached their sessions.
    let cold = |phase: &str| config(stack, &format!("{prefix}-{phase}"));
    let (one, _) = load(&cold("one"), &tokens, 1, concurrency, duration, async { Ok(Value::Null) }).await?;
    let (many, prop) =
        load(&cold("many"), &tokens, processes, concurrency, duration, propagation(&iam, &cfg, rounds)).await?;
    // The same without the load: what the library and Redis take, not the CPU queue of a
    // saturated machine.
    let idle = propagation(&iam, &cfg, idle_rounds).await?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(json!({"one_process": one, "many_processes": many, "propagation": prop, "propagation_idle": idle,
              "scaling": many["rps"].as_f64().unwrap_or(0.0) / one["rps"].as_f64().unwrap_or(1.0),
              "cpus": cpus, "sessions": SESSIONS}))
}

/// The child side (`many_instances_worker`, spec in `BENCH_MANY_INSTANCES`).
pub async fn worker() -> R<()> {
    let spec: Value = serde_json::from_str(&std::env::var("BENCH_MANY_INSTANCES")?)?;
    let iam = Iam::from_value(&spec["config"])?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let say = |v: Value| {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{v}");
        let _ = o.flush();
    };
    if spec["mode"] == "watch" {
        while let Some(line) = rx.recv().await {
            let token: String = serde_json::from_str(&line)?;
            let h = headers(&token);
            let s = iam.session().whoami(&h).await;
            say(if s.is_ok_and(|s| s.cache_hit) { json!("hit") } else { json!("miss") });
            rx.recv().await; // poll
            let mut started = now_ns();
            while iam.session().whoami(&h).await.is_ok() {
                started = now_ns();
            }
            say(json!({"refused_at_ns": now_ns().to_string(), "refusing_call_started_ns": started.to_string()}));
        }
        return Ok(());
    }
    let tokens: Arc<Vec<HeaderMap>> =
        Arc::new(spec["tokens"].as_array().ok_or("tokens")?.iter().filter_map(|t| t.as_str()).map(headers).collect());
    let concurrency = spec["concurrency"].as_u64().unwrap_or(16) as usize;
    let duration = spec["duration"].as_f64().unwrap_or(5.0);
    say(json!("ready"));
    rx.recv().await; // go
    let (stop, calls, hits) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|i| {
            let (svc, tokens, stop, calls, hits) =
                (iam.session(), tokens.clone(), stop.clone(), calls.clone(), hits.clone());
            tokio::spawn(async move {
                let mut k = i;
                while !stop.load(Ordering::Relaxed) {
                    let s = svc.whoami(&tokens[k % tokens.len()]).await.expect("whoami");
                    calls.fetch_add(1, Ordering::Relaxed);
                    if s.cache_hit {
                        hits.fetch_add(1, Ordering::Relaxed);
                    }
                    k += concurrency;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(duration)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    say(json!({"calls": calls.load(Ordering::Relaxed), "hits": hits.load(Ordering::Relaxed),
               "elapsed_s": t0.elapsed().as_secs_f64()}));
    Ok(())
}
