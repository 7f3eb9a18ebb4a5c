//! The event-loop lane: an uncached `whoami` whose request the asyncio loop thread writes and
//! whose answer it reads itself, on keep-alive sockets that belong to that loop.
//!
//! Why: through the runtime, an uncached call puts three threads to sleep and wakes them (the
//! spawn wakes a runtime thread, Kratos' answer wakes it again, the result wakes the loop), and
//! on virtual machines each wake-up across CPUs costs tens of µs of CPU (bench/NOTES.md,
//! "Missed"). Here the loop thread writes the request, its selector wakes it when the answer
//! is in, and it parses the answer and resolves the future: one sleep per call, as a blocking
//! client has.
//!
//! What stays on the runtime: opening connections (DNS, `connect_timeout_ms`), and every
//! attempt after a failed first one (retries, backoff, `Retry-After`, the breaker) through the
//! core's `ResumeWhoami`, which counts the first. The core decides when a call may come here
//! (`SessionService::whoami_direct`: plain-HTTP Kratos without a proxy, a session cache in
//! memory or none, a closed breaker, no client-side rate limit or trace context); everything
//! else, and loops that cannot watch sockets, take the runtime path as before. Results, cache
//! stores and audit events are the core's, identical on both paths.
//!
//! Nothing here can stall another loop or thread: a connection belongs to one loop's lane and
//! is never shared, and concurrent calls with the same credential share a request only within
//! one loop (the core's single flight is not joined). A call whose every awaiting task is
//! cancelled closes its connection within one watchdog tick (25 ms), like a dropped Rust future.
//! Timeouts and abandoned calls are found by that one per-loop watchdog timer, which runs only
//! while calls are in flight: no timer and no done-callback per call.

use crate::errors::to_pyerr;
use crate::runtime::{mailbox_loop, running_loop, spawn_with};
use crate::session::{any_session_to_py, optional_session_to_py};
use ory_iam::dto::Session;
use ory_iam::h1::{parse_response, Parsed};
use ory_iam::kratos::session::{DirectWhoami, ResumeWhoami, Settled, WhoamiOutcome};
use ory_iam::{DirectFailure, SessionService};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// An idle connection older than this is closed instead of reused (reqwest's pool uses the
/// same, below the servers' idle timeouts).
const IDLE_FOR: Duration = Duration::from_secs(20);
/// Idle connections kept per host; more are closed.
const IDLE_PER_HOST: usize = 256;

/// `ORY_IAM_LANE`, read once: off sends every call through the runtime.
static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Counters for tests and the benchmark (`_lane_stats`).
#[derive(Default, Clone, Copy)]
struct Stats {
    /// Exchanges written on a socket.
    requests: u64,
    /// Connections opened.
    connects: u64,
    /// Requests written on a connection that had answered before.
    reused: u64,
    /// Idle connections found closed by the server (or too old) when about to be reused;
    /// the request went on another one (nothing had been sent).
    stale: u64,
    /// Calls whose first attempt failed and whose other attempts ran on the runtime.
    resumed: u64,
    /// Calls that shared another call's request.
    joined: u64,
}

struct Waiter {
    fut: Py<PyAny>,
    /// `None` for the caller whose request it is.
    joiner: Option<DirectWhoami>,
    or_null: bool,
}

/// One request to Kratos and the calls waiting for it.
struct Flight {
    key: Option<String>,
    waiters: Vec<Waiter>,
    /// The connection carrying it, once written.
    conn: Option<Py<Conn>>,
    /// A runtime step (connecting, or the remaining attempts): cancelling it drops the task.
    pending: Option<Py<PyAny>>,
    /// When the written request times out (`timeout_ms` from the attempt's start).
    deadline: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    idle: HashMap<String, Vec<(Py<Conn>, Instant)>>,
    flights: HashMap<u64, Flight>,
    by_key: HashMap<String, u64>,
    next: u64,
    stats: Stats,
    /// A sweep of idle connections is scheduled on the loop.
    sweeping: bool,
    /// The watchdog (timeouts, abandoned calls) is scheduled on the loop.
    watching: bool,
}

type LaneRef = Arc<Mutex<Shared>>;

fn lock(l: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

/// Attached to an asyncio loop as `_ory_iam_lane`.
#[pyclass(module = "ory_iam._ory_iam", frozen)]
pub struct Lane {
    shared: LaneRef,
}

/// One keep-alive connection of a lane; its `_readable` is the loop's reader callback.
#[pyclass(module = "ory_iam._ory_iam", frozen)]
pub struct Conn {
    lane: Weak<Mutex<Shared>>,
    state: Mutex<ConnState>,
}

struct ConnState {
    stream: Option<TcpStream>,
    authority: String,
    exchange: Option<Exchange>,
}

/// A request written on a connection, waiting for its answer.
struct Exchange {
    flight: u64,
    whoami: DirectWhoami,
    buf: Vec<u8>,
    max_body: usize,
}

impl Conn {
    fn st(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The lane of the running loop, attached on first use; `None` for loops that cannot watch a
/// socket (those have no mailbox either) or take no attributes.
fn lane_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> Option<LaneRef> {
    if !*ENABLED
        .get_or_init(|| ory_iam::runtime::lane_enabled(std::env::var(ory_iam::runtime::LANE_ENV).ok().as_deref()))
    {
        return None;
    }
    let name = intern!(py, "_ory_iam_lane");
    if let Ok(l) = event_loop.getattr(name) {
        return l.cast::<Lane>().ok().map(|l| l.get().shared.clone());
    }
    mailbox_loop(py, event_loop)?;
    let shared: LaneRef = Arc::default();
    let lane = Bound::new(py, Lane { shared: shared.clone() }).ok()?;
    event_loop.setattr(name, lane).ok()?;
    Some(shared)
}

/// `whoami` (or `whoami_or_null`) of a call the core handed over; `None` when the running loop
/// has no lane (the caller takes the runtime path).
pub fn start<'py>(
    py: Python<'py>,
    d: DirectWhoami,
    or_null: bool,
) -> PyResult<Result<Bound<'py, PyAny>, DirectWhoami>> {
    let event_loop = running_loop(py)?;
    let Some(lane) = lane_for(py, &event_loop) else { return Ok(Err(d)) };
    let fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let shared_key = d.shares_flights().then(|| d.key().to_owned());
    let mut sh = lock(&lane);
    if let Some(id) = shared_key.as_ref().and_then(|k| sh.by_key.get(k).copied()) {
        if let Some(f) = sh.flights.get_mut(&id) {
            f.waiters.push(Waiter { fut: fut.clone().unbind(), joiner: Some(d), or_null });
            sh.stats.joined += 1;
            return Ok(Ok(fut));
        }
    }
    let id = sh.next;
    sh.next += 1;
    if let Some(k) = &shared_key {
        sh.by_key.insert(k.clone(), id);
    }
    let waiter = Waiter { fut: fut.clone().unbind(), joiner: None, or_null };
    sh.flights.insert(id, Flight { key: shared_key, waiters: vec![waiter], conn: None, pending: None, deadline: None });
    let watch = !std::mem::replace(&mut sh.watching, true);
    drop(sh);
    if watch {
        schedule_watchdog(py, &lane);
    }
    send(py, &lane, id, d);
    Ok(Ok(fut))
}

/// Write the flight's request on an idle connection to its host, or open one.
fn send(py: Python<'_>, lane: &LaneRef, id: u64, mut d: DirectWhoami) {
    while let Some(conn) = take_idle(py, lane, d.authority()) {
        match begin(py, lane, &conn, id, d, true) {
            None => return,
            Some(back) => {
                // The send was refused (closed by the server): nothing went out, so this is
                // not an attempt.
                close(py, &conn);
                lock(lane).stats.stale += 1;
                d = back;
            }
        }
    }
    connect(py, lane, id, d);
}

/// The most recently used idle connection to `authority` that is young enough and still
/// open: a server that closed it (an idle timeout) is noticed here, before anything is sent,
/// even when the loop has not yet run the reader callback that would have seen it.
fn take_idle(py: Python<'_>, lane: &LaneRef, authority: &str) -> Option<Py<Conn>> {
    loop {
        let (conn, since) = lock(lane).idle.get_mut(authority)?.pop()?;
        if since.elapsed() < IDLE_FOR && conn.get().st().stream.as_ref().is_some_and(still_open) {
            return Some(conn);
        }
        lock(lane).stats.stale += 1;
        close(py, &conn);
    }
}

/// Nothing to read and no end of stream on an idle connection.
fn still_open(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: a valid, open socket (owned by `s`) and a one-byte buffer that outlives the call.
    let n = unsafe { libc::recv(s.as_raw_fd(), b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
}

/// Write the request and arm the timeout. Gives the call back when the reused connection
/// cannot take it (the server closed it meanwhile).
#[must_use]
fn begin(
    py: Python<'_>,
    lane: &LaneRef,
    conn: &Py<Conn>,
    id: u64,
    d: DirectWhoami,
    reused: bool,
) -> Option<DirectWhoami> {
    let c = conn.get();
    let written = {
        let st = c.st();
        match &st.stream {
            Some(s) => write_all(s, d.request()),
            None => false,
        }
    };
    if !written {
        if reused {
            return Some(d);
        }
        close(py, conn);
        fail(py, lane, id, d, DirectFailure::Broken);
        return None;
    }
    let deadline = Instant::now() + d.time_left();
    let max_body = d.limits().max_body_bytes;
    c.st().exchange = Some(Exchange { flight: id, whoami: d, buf: Vec::new(), max_body });
    let mut sh = lock(lane);
    sh.stats.requests += 1;
    if reused {
        sh.stats.reused += 1;
    }
    if let Some(f) = sh.flights.get_mut(&id) {
        f.conn = Some(conn.clone_ref(py));
        f.deadline = Some(deadline);
    }
    None
}

/// The whole request in one non-blocking send (a few hundred bytes to an idle socket); a short
/// write counts as a broken connection. `MSG_NOSIGNAL`: a closed peer must not raise SIGPIPE.
fn write_all(s: &TcpStream, buf: &[u8]) -> bool {
    loop {
        // SAFETY: a valid, open socket (owned by `s`) and a buffer that outlives the call.
        let n = unsafe { libc::send(s.as_raw_fd(), buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return n >= 0 && n as usize == buf.len();
    }
}

/// Open a connection on the runtime (DNS, connect timeout), then continue on the loop.
fn connect(py: Python<'_>, lane: &LaneRef, id: u64, d: DirectWhoami) {
    let authority = d.authority().to_owned();
    let limit = d.limits().connect_timeout;
    let step = Step { lane: Arc::downgrade(lane), flight: id, call: Mutex::new(Some(d)) };
    let run = async move {
        let r = match tokio::time::timeout(limit, tokio::net::TcpStream::connect(authority.as_str())).await {
            Err(_) => Err(DirectFailure::Timeout),
            Ok(Err(_)) => Err(DirectFailure::Connect),
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                s.into_std().map_err(|_| DirectFailure::Connect)
            }
        };
        Ok(Carried(Mutex::new(Some(Carry::Connected(r)))))
    };
    let started = spawn_with(py, run, |py, c| Ok(Bound::new(py, c)?.into_any()))
        .and_then(|p| p.call_method1(intern!(py, "add_done_callback"), (step,)).map(|_| p));
    match started {
        Ok(p) => {
            if let Some(f) = lock(lane).flights.get_mut(&id) {
                f.pending = Some(p.unbind());
            }
        }
        // No loop to continue on (it is closing): the waiters' futures go with it.
        Err(_) => {
            remove_flight(lane, id);
        }
    }
}

/// A value carried from a runtime step back to the loop.
enum Carry {
    Connected(Result<TcpStream, DirectFailure>),
    Resumed(Box<Settled>),
}

#[pyclass(module = "ory_iam._ory_iam", frozen)]
struct Carried(Mutex<Option<Carry>>);

/// Done-callback of a runtime step's future: continue the flight on the loop.
#[pyclass(module = "ory_iam._ory_iam", frozen)]
struct Step {
    lane: Weak<Mutex<Shared>>,
    flight: u64,
    /// The call, while connecting (`None` for the remaining attempts: the core holds it).
    call: Mutex<Option<DirectWhoami>>,
}

#[pymethods]
impl Step {
    fn __call__(&self, py: Python<'_>, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(lane) = self.lane.upgrade() else { return Ok(()) };
        if fut.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
            return Ok(());
        }
        if let Some(f) = lock(&lane).flights.get_mut(&self.flight) {
            f.pending = None;
        }
        let carry = match fut.call_method0(intern!(py, "result")) {
            Ok(v) => v.cast::<Carried>().ok().and_then(|c| c.get().0.lock().ok()?.take()),
            Err(_) => None,
        };
        let call = self.call.lock().ok().and_then(|mut c| c.take());
        match (carry, call) {
            (Some(Carry::Connected(Ok(stream))), Some(d)) => adopt(py, &lane, self.flight, d, stream),
            (Some(Carry::Connected(Err(why))), Some(d)) => fail(py, &lane, self.flight, d, why),
            (Some(Carry::Resumed(res)), _) => settle(py, &lane, self.flight, *res),
            // A panic in the step (the bridge turned it into an exception): the call fails as
            // an attempt that broke, through the core.
            (None, Some(d)) => fail(py, &lane, self.flight, d, DirectFailure::Broken),
            _ => fail_all(py, &lane, self.flight, ory_iam::Error::internal("internal error in ory-iam's lane")),
        }
        Ok(())
    }
}

/// A new connection: watch it and write the request.
fn adopt(py: Python<'_>, lane: &LaneRef, id: u64, d: DirectWhoami, stream: TcpStream) {
    if !lock(lane).flights.contains_key(&id) {
        return; // every waiter gave up meanwhile; the stream closes here
    }
    let fd = stream.as_raw_fd();
    let authority = d.authority().to_owned();
    let conn = Conn {
        lane: Arc::downgrade(lane),
        state: Mutex::new(ConnState { stream: Some(stream), authority, exchange: None }),
    };
    let watched = Py::new(py, conn).and_then(|conn| {
        let cb = conn.bind(py).getattr(intern!(py, "_readable"))?;
        running_loop(py)?.call_method1(intern!(py, "add_reader"), (fd, cb))?;
        Ok(conn)
    });
    match watched {
        Ok(conn) => {
            lock(lane).stats.connects += 1;
            // A new connection never gives the call back (`reused` is false).
            let _ = begin(py, lane, &conn, id, d, false);
        }
        Err(_) => fail(py, lane, id, d, DirectFailure::Broken),
    }
}

/// What the reader callback found, decided under the connection's lock and acted on after.
enum Read {
    Nothing,
    /// An idle connection became readable: closed by the server (or sent junk).
    IdleClosed,
    Answer(Exchange, ory_iam::h1::Response),
    Failed(Exchange, DirectFailure),
}

#[pymethods]
impl Conn {
    /// The loop's reader callback.
    fn _readable(slf: &Bound<'_, Self>) {
        let py = slf.py();
        let c = slf.get();
        let read = {
            let mut st = c.st();
            let Some(fd) = st.stream.as_ref().map(AsRawFd::as_raw_fd) else { return };
            let mut chunk = [0u8; 16384];
            let (mut eof, mut broken, mut got) = (false, false, Vec::new());
            loop {
                // SAFETY: a valid, open socket fd (owned by the stream) and a buffer that
                // outlives the call.
                let n = unsafe { libc::recv(fd, chunk.as_mut_ptr().cast(), chunk.len(), 0) };
                if n > 0 {
                    got.extend_from_slice(&chunk[..n as usize]);
                    if (n as usize) < chunk.len() {
                        break;
                    }
                    continue;
                }
                if n == 0 {
                    eof = true;
                    break;
                }
                match std::io::Error::last_os_error().kind() {
                    std::io::ErrorKind::Interrupted => continue,
                    std::io::ErrorKind::WouldBlock => break,
                    _ => {
                        broken = true;
                        break;
                    }
                }
            }
            match st.exchange.as_mut() {
                None if eof || broken || !got.is_empty() => Read::IdleClosed,
                None => Read::Nothing,
                Some(x) => {
                    x.buf.extend_from_slice(&got);
                    let ended = eof || broken;
                    match parse_response(&x.buf, ended, x.max_body) {
                        Parsed::Partial if !ended => Read::Nothing,
                        Parsed::Partial | Parsed::Invalid => {
                            Read::Failed(st.exchange.take().expect("some"), DirectFailure::Broken)
                        }
                        Parsed::TooLarge => Read::Failed(st.exchange.take().expect("some"), DirectFailure::TooLarge),
                        Parsed::Done(r) => Read::Answer(st.exchange.take().expect("some"), r),
                    }
                }
            }
        };
        let Some(lane) = c.lane.upgrade() else { return };
        let conn = slf.clone().unbind();
        match read {
            Read::Nothing => {}
            Read::IdleClosed => close(py, &conn),
            Read::Failed(x, why) => {
                close(py, &conn);
                fail(py, &lane, x.flight, x.whoami, why);
            }
            Read::Answer(x, r) => {
                if r.keep_alive {
                    park(py, &lane, &conn);
                } else {
                    close(py, &conn);
                }
                if let Some(f) = lock(&lane).flights.get_mut(&x.flight) {
                    f.conn = None;
                    f.deadline = None;
                }
                outcome(py, &lane, x.flight, x.whoami.answered(r.status, r.headers, r.body));
            }
        }
    }
}

/// Back to the idle list of its host.
fn park(py: Python<'_>, lane: &LaneRef, conn: &Py<Conn>) {
    let authority = conn.get().st().authority.clone();
    let mut sh = lock(lane);
    let list = sh.idle.entry(authority).or_default();
    if list.len() < IDLE_PER_HOST {
        list.push((conn.clone_ref(py), Instant::now()));
        if !std::mem::replace(&mut sh.sweeping, true) {
            drop(sh);
            schedule_sweep(py, lane);
        }
        return;
    }
    drop(sh);
    close(py, conn);
}

/// Close idle connections older than `IDLE_FOR` even when no call comes to reuse them (after
/// a burst, a quiet loop would otherwise hold its peak's sockets): a timer while any are idle.
fn schedule_sweep(py: Python<'_>, lane: &LaneRef) {
    let sweep = Sweep(Arc::downgrade(lane));
    let scheduled = running_loop(py)
        .and_then(|l| l.call_method1(intern!(py, "call_later"), (IDLE_FOR.as_secs_f64(), sweep)))
        .is_ok();
    if !scheduled {
        lock(lane).sweeping = false;
    }
}

#[pyclass(module = "ory_iam._ory_iam", frozen)]
struct Sweep(Weak<Mutex<Shared>>);

#[pymethods]
impl Sweep {
    fn __call__(&self, py: Python<'_>) {
        let Some(lane) = self.0.upgrade() else { return };
        if sweep(py, &lane, IDLE_FOR) {
            schedule_sweep(py, &lane);
        }
    }
}

/// Close the idle connections parked `max_age` ago or earlier; whether any are left.
fn sweep(py: Python<'_>, lane: &LaneRef, max_age: Duration) -> bool {
    let (expired, left) = {
        let mut sh = lock(lane);
        let mut expired = Vec::new();
        for list in sh.idle.values_mut() {
            // Oldest first: parked in order.
            let n = list.iter().take_while(|(_, since)| since.elapsed() >= max_age).count();
            expired.extend(list.drain(..n).map(|(c, _)| c));
        }
        sh.idle.retain(|_, list| !list.is_empty());
        let left = !sh.idle.is_empty();
        sh.sweeping = left;
        (expired, left)
    };
    for conn in &expired {
        close(py, conn);
    }
    left
}

/// `Iam.close()`: close the running loop's idle lane connections now (one still carrying a call
/// is parked when it ends and swept like any idle one). Lanes belong to loops, not to an `Iam`,
/// so other `Iam`s on this loop just connect again. Nothing to do outside a running loop.
pub fn close_idle(py: Python<'_>) {
    sweep_running(py, Duration::ZERO);
}

/// [`sweep`] the running loop's lane, if there is one.
fn sweep_running(py: Python<'_>, max_age: Duration) {
    let Ok(event_loop) = running_loop(py) else { return };
    if let Ok(l) = event_loop.getattr(intern!(py, "_ory_iam_lane")) {
        if let Ok(l) = l.cast::<Lane>() {
            sweep(py, &l.get().shared.clone(), max_age);
        }
    }
}

/// Test builds only: sweep the running loop's idle connections parked `max_age_s` ago or
/// earlier now, instead of waiting for the timer (`IDLE_FOR`).
#[cfg(debug_assertions)]
#[pyfunction]
pub fn _debug_lane_sweep(py: Python<'_>, max_age_s: f64) -> PyResult<()> {
    running_loop(py)?; // outside a running loop: raise, as before
    sweep_running(py, Duration::from_secs_f64(max_age_s.max(0.0)));
    Ok(())
}

/// Stop watching and close; drop it from the idle list if it is there. Any exchange on it is
/// dropped (its caller was handled before, or gave up).
fn close(py: Python<'_>, conn: &Py<Conn>) {
    let c = conn.get();
    let (stream, authority, exchange) = {
        let mut st = c.st();
        (st.stream.take(), st.authority.clone(), st.exchange.take())
    };
    drop(exchange);
    if let Some(s) = stream {
        if let Ok(l) = running_loop(py) {
            let _ = l.call_method1(intern!(py, "remove_reader"), (s.as_raw_fd(),));
        }
        drop(s);
    }
    if let Some(lane) = c.lane.upgrade() {
        if let Some(list) = lock(&lane).idle.get_mut(&authority) {
            list.retain(|(other, _)| !other.is(conn));
        }
    }
}

/// The attempt failed; the core says whether that is final or the runtime tries again.
fn fail(py: Python<'_>, lane: &LaneRef, id: u64, d: DirectWhoami, why: DirectFailure) {
    if let Some(f) = lock(lane).flights.get_mut(&id) {
        f.conn = None;
        f.deadline = None;
    }
    outcome(py, lane, id, d.failed(why));
}

fn outcome(py: Python<'_>, lane: &LaneRef, id: u64, o: WhoamiOutcome) {
    match o {
        WhoamiOutcome::Done(res) => settle(py, lane, id, res),
        WhoamiOutcome::Resume(r) => resume(py, lane, id, r),
    }
}

/// The remaining attempts on the runtime, unless every waiter gave up.
fn resume(py: Python<'_>, lane: &LaneRef, id: u64, r: ResumeWhoami) {
    let live = lock(lane).flights.get(&id).is_some_and(|f| f.waiters.iter().any(|w| !is_done(py, &w.fut)));
    if !live {
        remove_flight(lane, id);
        return;
    }
    lock(lane).stats.resumed += 1;
    let step = Step { lane: Arc::downgrade(lane), flight: id, call: Mutex::new(None) };
    let run = async move { Ok(Carried(Mutex::new(Some(Carry::Resumed(Box::new(r.run().await)))))) };
    let started = spawn_with(py, run, |py, c| Ok(Bound::new(py, c)?.into_any()))
        .and_then(|p| p.call_method1(intern!(py, "add_done_callback"), (step,)).map(|_| p));
    match started {
        Ok(p) => {
            if let Some(f) = lock(lane).flights.get_mut(&id) {
                f.pending = Some(p.unbind());
            }
        }
        Err(_) => {
            remove_flight(lane, id);
        }
    }
}

fn is_done(py: Python<'_>, fut: &Py<PyAny>) -> bool {
    fut.bind(py).call_method0(intern!(py, "done")).and_then(|d| d.is_truthy()).unwrap_or(true)
}

fn remove_flight(lane: &LaneRef, id: u64) -> Option<Flight> {
    let mut sh = lock(lane);
    let f = sh.flights.remove(&id)?;
    if let Some(k) = &f.key {
        if sh.by_key.get(k) == Some(&id) {
            sh.by_key.remove(k);
        }
    }
    Some(f)
}

/// Resolve every waiter of the flight: the caller whose request it was gets the result,
/// audited for it only if it still waits; each joiner the same through the core (audited for
/// it).
fn settle(py: Python<'_>, lane: &LaneRef, id: u64, settled: Settled) {
    let Some(f) = remove_flight(lane, id) else { return };
    let mut leader = None;
    for w in f.waiters {
        if is_done(py, &w.fut) {
            continue;
        }
        match w.joiner {
            Some(j) => resolve(py, &w.fut, j.join(settled.result()), w.or_null),
            None => leader = Some(w),
        }
    }
    if let Some(w) = leader {
        resolve(py, &w.fut, settled.deliver(), w.or_null);
    }
}

/// A bug in the lane itself (a step that panicked after taking the call): every waiter fails
/// with `IamError` rather than waiting forever.
fn fail_all(py: Python<'_>, lane: &LaneRef, id: u64, e: ory_iam::Error) {
    let Some(f) = remove_flight(lane, id) else { return };
    for w in f.waiters {
        if !is_done(py, &w.fut) {
            resolve(py, &w.fut, Err(e.clone()), w.or_null);
        }
    }
}

fn resolve(py: Python<'_>, fut: &Py<PyAny>, res: ory_iam::Result<Session>, or_null: bool) {
    let fut = fut.bind(py);
    let value = if or_null {
        SessionService::or_null(res).map_err(|e| to_pyerr(py, e)).and_then(|s| optional_session_to_py(py, s))
    } else {
        res.map_err(|e| to_pyerr(py, e)).and_then(|s| any_session_to_py(py, s))
    };
    let _ = match value {
        Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,)),
        Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
    };
}

/// How often the watchdog looks at the calls in flight while there are any: a request times
/// out at most this much after its `timeout_ms`, and one whose every caller gave up is
/// abandoned (its connection closed, its runtime step dropped) within this. One timer per loop
/// instead of a timer and a done-callback per call.
const TICK: Duration = Duration::from_millis(25);

fn schedule_watchdog(py: Python<'_>, lane: &LaneRef) {
    let dog = Watchdog(Arc::downgrade(lane));
    let scheduled =
        running_loop(py).and_then(|l| l.call_method1(intern!(py, "call_later"), (TICK.as_secs_f64(), dog))).is_ok();
    if !scheduled {
        lock(lane).watching = false;
    }
}

#[pyclass(module = "ory_iam._ory_iam", frozen)]
struct Watchdog(Weak<Mutex<Shared>>);

#[pymethods]
impl Watchdog {
    fn __call__(&self, py: Python<'_>) {
        let Some(lane) = self.0.upgrade() else { return };
        let now = Instant::now();
        let (abandoned, expired) = {
            let sh = lock(&lane);
            let mut abandoned = Vec::new();
            let mut expired = Vec::new();
            for (&id, f) in &sh.flights {
                if f.waiters.iter().all(|w| is_done(py, &w.fut)) {
                    abandoned.push(id);
                } else if f.deadline.is_some_and(|d| d <= now) {
                    expired.push(id);
                }
            }
            (abandoned, expired)
        };
        for id in abandoned {
            if let Some(f) = remove_flight(&lane, id) {
                if let Some(conn) = &f.conn {
                    close(py, conn);
                }
                if let Some(p) = &f.pending {
                    let _ = p.bind(py).call_method0(intern!(py, "cancel"));
                }
            }
        }
        for id in expired {
            let conn = lock(&lane).flights.get_mut(&id).and_then(|f| f.conn.take());
            let Some(conn) = conn else { continue };
            let x = conn.get().st().exchange.take();
            close(py, &conn);
            if let Some(x) = x {
                fail(py, &lane, id, x.whoami, DirectFailure::Timeout);
            }
        }
        let mut sh = lock(&lane);
        sh.watching = !sh.flights.is_empty();
        if sh.watching {
            drop(sh);
            schedule_watchdog(py, &lane);
        }
    }
}

/// The running loop's lane counters (`None` before its first lane call): for tests and the
/// benchmark, to tell which path calls took.
#[pyfunction]
pub fn _lane_stats(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let event_loop = running_loop(py)?;
    let Ok(l) = event_loop.getattr(intern!(py, "_ory_iam_lane")) else { return Ok(None) };
    let Ok(l) = l.cast::<Lane>() else { return Ok(None) };
    let sh = lock(&l.get().shared);
    let s = sh.stats;
    let d = PyDict::new(py);
    d.set_item("requests", s.requests)?;
    d.set_item("connects", s.connects)?;
    d.set_item("reused", s.reused)?;
    d.set_item("stale", s.stale)?;
    d.set_item("resumed", s.resumed)?;
    d.set_item("joined", s.joined)?;
    d.set_item("idle", sh.idle.values().map(Vec::len).sum::<usize>())?;
    d.set_item("in_flight", sh.flights.len())?;
    Ok(Some(d))
}
