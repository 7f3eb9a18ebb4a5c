//! `PermissionService`: Keto relation tuples — check, grant, revoke, list, expand, batch check.
//! Fails closed: an upstream failure is an error (or `allowed: false` with `error` in a batch),
//! never `allowed`.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::cache::invalidation::{Epochs, Tier};
use crate::config::KetoConfig;
use crate::dto::{
    CheckOptions, CheckResult, DeleteMatching, ExpandQuery, Page, PatchAction, PermissionPatch, PermissionQuery,
    PermissionTuple, Subject, SubjectTree,
};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Call, OryClient};
use crate::paging::{page_query, pages, Pager};
use crate::tenancy::service_handle;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

service_handle!(
    /// Permissions of one tenant (Keto read and write APIs).
    PermissionService
);

/// Concurrent single checks when the server has no batch endpoint.
const FALLBACK_CONCURRENCY: usize = 16;
/// Concurrent batch requests (each is checked by Keto with its own parallelism, default 5).
const BATCH_CONCURRENCY: usize = 4;
const MAX_FIELD: usize = 1024;

/// What one batch request said about its chunk of tuples.
enum Chunk {
    /// One decision per tuple, in order; `None` where Keto reported an error for the tuple.
    Answered(Vec<Option<bool>>),
    /// The server cannot answer batches (see `batch_chunk`): use single checks.
    Unsupported,
    /// The request failed (after the client's retries): every tuple of the chunk fails alone.
    Failed(Error),
}

/// The whole question a cached decision answers (`max_depth` included), and the tenant's write
/// generation it was asked in.
#[derive(Clone, PartialEq, Eq, Hash)]
struct DecisionKey {
    generation: u64,
    namespace: String,
    object: String,
    relation: String,
    subject: Subject,
    max_depth: Option<u32>,
}

/// Decision cache of one tenant: bounded (`cache.permission_max_entries`, least recently used
/// out first) and expiring (`cache.permission_ttl_ms`), by moka.
///
/// No cached answer outlives a write made through this library that could change it: every
/// grant and revoke bumps the generation, and a decision is stored under the generation its
/// check started in, so one that was in flight across a write is never read (a revoke that
/// removes a subject-set membership changes answers about other objects too, so nothing less
/// than the whole tenant's cache is safe to keep).
///
/// Writes through other instances sharing Redis reach it as epochs
/// ([`crate::cache::invalidation`]): the generation is this instance's writes plus the epoch, and
/// nothing is read or stored while the epoch says the instance is off the invalidation channel.
pub(crate) struct Decisions {
    cache: moka::sync::Cache<DecisionKey, bool>,
    generation: AtomicU64,
    remote: Arc<Epochs>,
    /// 0 unknown, 1 the server has batch check, 2 it does not.
    pub batch: AtomicU8,
}

impl Decisions {
    pub fn new(c: &crate::config::CacheConfig, remote: Arc<Epochs>) -> Self {
        Decisions {
            remote,
            cache: moka::sync::Cache::builder()
                .max_capacity(c.permission_max_entries)
                .time_to_live(crate::cache::bounded_ttl(c.permission_ttl_ms))
                .build(),
            generation: AtomicU64::new(0),
            batch: AtomicU8::new(0),
        }
    }

    /// This instance's writes plus the other instances' (the epoch); `None` while the decisions
    /// may not be served (off the invalidation channel).
    fn generation(&self) -> Option<u64> {
        let remote = self.remote.current(Tier::Permissions);
        Epochs::servable(remote).then(|| self.generation.load(Ordering::Acquire).wrapping_add(remote))
    }

    fn key(generation: u64, t: &PermissionTuple, max_depth: Option<u32>) -> DecisionKey {
        DecisionKey {
            generation,
            namespace: t.namespace.clone(),
            object: t.object.clone(),
            relation: t.relation.clone(),
            subject: t.subject.clone(),
            max_depth,
        }
    }

    fn get(&self, t: &PermissionTuple, max_depth: Option<u32>) -> Option<bool> {
        self.cache.get(&Self::key(self.generation()?, t, max_depth))
    }

    /// Store a decision asked at `generation`: nothing if a write happened since (here or at
    /// another instance), or if the decisions may not be served.
    fn put(&self, generation: Option<u64>, t: &PermissionTuple, max_depth: Option<u32>, allowed: bool) {
        if let Some(g) = generation.filter(|g| Some(*g) == self.generation()) {
            self.cache.insert(Self::key(g, t, max_depth), allowed);
        }
    }

    /// A grant or revoke went out (whatever its outcome): no earlier answer may be served.
    fn written(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
    }

    #[cfg(test)]
    fn entries(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

fn check_field(path: &str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(Error::invalid_field(path, "must not be empty"));
    }
    if v.len() > MAX_FIELD || v.chars().any(char::is_control) {
        return Err(Error::invalid_field(path, "must be at most 1024 characters without control characters"));
    }
    Ok(())
}

fn validate(t: &PermissionTuple) -> Result<()> {
    validate_at("", t)
}

/// `validate` with the field paths under `prefix` (`patch[3].tuple.`).
fn validate_at(prefix: &str, t: &PermissionTuple) -> Result<()> {
    let at = |f: &str| format!("{prefix}{f}");
    check_field(&at("namespace"), &t.namespace)?;
    check_field(&at("object"), &t.object)?;
    check_field(&at("relation"), &t.relation)?;
    check_subject(prefix, &t.subject)
}

fn check_subject(prefix: &str, s: &Subject) -> Result<()> {
    let at = |f: &str| format!("{prefix}{f}");
    match s {
        Subject::Id(id) => check_field(&at("subject"), id),
        Subject::Set { namespace, object, relation } => {
            check_field(&at("subject.namespace"), namespace)?;
            check_field(&at("subject.object"), object)?;
            check_field(&at("subject.relation"), relation)
        }
    }
}

fn subject_query<'a>(mut call: Call<'a>, s: &Subject) -> Call<'a> {
    match s {
        Subject::Id(id) => call = call.query("subject_id", id.clone()),
        Subject::Set { namespace, object, relation } => {
            call = call
                .query("subject_set.namespace", namespace.clone())
                .query("subject_set.object", object.clone())
                .query("subject_set.relation", relation.clone())
        }
    }
    call
}

fn tuple_query<'a>(call: Call<'a>, t: &PermissionTuple) -> Call<'a> {
    let call = call
        .query("namespace", t.namespace.clone())
        .query("object", t.object.clone())
        .query("relation", t.relation.clone());
    subject_query(call, &t.subject)
}

fn tuple_json(t: &PermissionTuple) -> Value {
    let mut v = json!({"namespace": t.namespace, "object": t.object, "relation": t.relation});
    match &t.subject {
        Subject::Id(id) => v["subject_id"] = json!(id),
        Subject::Set { namespace, object, relation } => {
            v["subject_set"] = json!({"namespace": namespace, "object": object, "relation": relation})
        }
    }
    v
}

impl PermissionService {
    fn read(&self, op: &str) -> Result<&OryClient> {
        self.t.keto_read.as_ref().ok_or_else(|| self.t.missing("keto.read_url", op))
    }

    fn write(&self, op: &str) -> Result<&OryClient> {
        self.t.keto_write.as_ref().ok_or_else(|| self.t.missing("keto.write_url", op))
    }

    fn ttl(&self) -> Duration {
        Duration::from_millis(self.t.config.cache.permission_ttl_ms)
    }

    /// Is `subject` allowed `relation` on `namespace:object`? Upstream failures are errors
    /// (and audited `authz.upstream_unavailable`), never `true`.
    pub async fn check(&self, tuple: &PermissionTuple, opts: CheckOptions) -> Result<bool> {
        self.t.ensure_open()?;
        validate(tuple)?;
        let decisions = self.decisions();
        let generation = decisions.generation();
        if !opts.fresh && !self.ttl().is_zero() {
            if let Some(allowed) = decisions.get(tuple, opts.max_depth) {
                return Ok(allowed);
            }
        }
        let res = self.check_upstream(tuple, opts.max_depth).await;
        self.settle(generation, tuple, opts.max_depth, &res);
        res
    }

    fn decisions(&self) -> std::sync::Arc<Decisions> {
        // With Redis, other instances' writes reach this one over the invalidation channel
        // (listened to only when there is a cache to keep coherent).
        if !self.ttl().is_zero() {
            self.t.sessions.subscribe();
        }
        self.t.state_with(|c| Decisions::new(&c.cache, self.t.sessions.epochs()))
    }

    /// After Keto decided one tuple (alone or in a batch): cache the decision, audit a denial
    /// or a failure.
    fn settle(&self, generation: Option<u64>, tuple: &PermissionTuple, max_depth: Option<u32>, res: &Result<bool>) {
        match res {
            Ok(allowed) => {
                if !self.ttl().is_zero() {
                    self.decisions().put(generation, tuple, max_depth, *allowed);
                }
                if !allowed {
                    self.t.emit(
                        AuditEvent::new(names::AUTHZ_PERMISSION_DENY, &self.t.name, "denied")
                            .attr("namespace", tuple.namespace.clone())
                            .attr("relation", tuple.relation.clone())
                            .target(tuple.object.clone()),
                    );
                }
            }
            Err(e) => self.t.emit(
                AuditEvent::new(names::AUTHZ_UPSTREAM_UNAVAILABLE, &self.t.name, "failure")
                    .attr("namespace", tuple.namespace.clone())
                    .attr("error", e.code()),
            ),
        }
    }

    async fn check_upstream(&self, tuple: &PermissionTuple, max_depth: Option<u32>) -> Result<bool> {
        let c = self.read("permission.check")?;
        let mut call = tuple_query(Call::get("relation-tuples/check/openapi"), tuple);
        if let Some(d) = max_depth {
            call = call.query("max-depth", d.to_string());
        }
        let r = c.send(call).await?;
        Ok(c.decode::<wire::Allowed>(&r)?.allowed)
    }

    /// Check many tuples; results in input order. Uses Keto's batch endpoint in chunks of
    /// `keto.batch_size` (default 10) where the server has it, else bounded concurrent single
    /// checks. One failing tuple does not fail the others: it comes back `allowed: false` with
    /// `error`. Each tuple is settled as `check` settles it (decision cache, audit).
    pub async fn check_batch(&self, tuples: &[PermissionTuple]) -> Result<Vec<CheckResult>> {
        self.t.ensure_open()?;
        let c = self.read("permission.check_batch")?.clone();
        let mut out: Vec<Option<CheckResult>> = vec![None; tuples.len()];
        let decisions = self.decisions();
        let generation = decisions.generation();
        // Tuples Keto must decide: valid ones without a cached decision (as `check` does).
        let mut valid = Vec::new();
        let cached = |t: &PermissionTuple| if self.ttl().is_zero() { None } else { decisions.get(t, None) };
        for (i, t) in tuples.iter().enumerate() {
            match validate(t) {
                Ok(()) => match cached(t) {
                    Some(allowed) => out[i] = Some(CheckResult { allowed, error: None }),
                    None => valid.push(i),
                },
                Err(e) => out[i] = Some(CheckResult { allowed: false, error: Some(e.to_string()) }),
            }
        }
        if decisions.batch.load(Ordering::Relaxed) != 2 {
            let size =
                self.t.config.keto.as_ref().map_or(KetoConfig::DEFAULT_BATCH_SIZE as usize, KetoConfig::batch_size);
            let chunks: Vec<&[usize]> = valid.chunks(size).collect();
            let mut rest = 0..chunks.len();
            let mut supported = true;
            if decisions.batch.load(Ordering::Relaxed) == 0 {
                // Not known yet whether this server has the endpoint: one chunk asks alone, so
                // an old Keto sees one 404, not a burst of them.
                if let Some(first) = chunks.first() {
                    match self.batch_chunk(&c, tuples, first).await? {
                        Chunk::Unsupported => {
                            supported = false;
                            decisions.batch.store(2, Ordering::Relaxed);
                            tracing::warn!(
                                target: "ory_iam::keto",
                                tenant = %self.t.name,
                                batch_size = size,
                                "keto refused a batch check (no batch endpoint, or its limit.max_batch_check_size is below keto.batch_size); using single checks for this tenant"
                            );
                        }
                        answer => {
                            if matches!(answer, Chunk::Answered(_)) {
                                decisions.batch.store(1, Ordering::Relaxed);
                            }
                            self.take(generation, tuples, first, answer, &mut out);
                            rest = 1..chunks.len();
                        }
                    }
                }
            }
            if supported {
                // Chunks by index: a closure over a borrowed slice would not be `Send` for
                // every lifetime, which the bindings' spawned futures need.
                let (c, chunks) = (&c, &chunks);
                let answers: Vec<Result<(usize, Chunk)>> = stream::iter(rest)
                    .map(|k| async move { Ok((k, self.batch_chunk(c, tuples, chunks[k]).await?)) })
                    .buffer_unordered(BATCH_CONCURRENCY)
                    .collect()
                    .await;
                for a in answers {
                    let (k, answer) = a?;
                    self.take(generation, tuples, chunks[k], answer, &mut out);
                }
                return Ok(out.into_iter().map(|r| r.expect("every tuple answered")).collect());
            }
        }
        let singles: Vec<(usize, CheckResult)> = stream::iter(valid)
            .map(|i| {
                let svc = self.clone();
                let t = tuples[i].clone();
                async move {
                    let r = match svc.check(&t, CheckOptions::default()).await {
                        Ok(allowed) => CheckResult { allowed, error: None },
                        Err(e) => CheckResult { allowed: false, error: Some(e.to_string()) },
                    };
                    (i, r)
                }
            })
            .buffer_unordered(FALLBACK_CONCURRENCY)
            .collect()
            .await;
        for (i, r) in singles {
            out[i] = Some(r);
        }
        Ok(out.into_iter().map(|r| r.expect("every tuple answered")).collect())
    }

    /// One request to Keto's batch endpoint for the tuples at `chunk`. `Err` only when Keto's
    /// answer cannot be trusted as a whole (undecodable, or not one result per tuple).
    async fn batch_chunk(&self, c: &OryClient, tuples: &[PermissionTuple], chunk: &[usize]) -> Result<Chunk> {
        let body = json!({"tuples": chunk.iter().map(|&i| tuple_json(&tuples[i])).collect::<Vec<_>>()});
        let mut call = Call::post("relation-tuples/batch/check").json(body);
        call.idempotent = true; // a read
        match c.send(call).await {
            Ok(r) => {
                let res: wire::BatchResults = c.decode(&r)?;
                if res.results.len() != chunk.len() {
                    return Err(Error::new(ErrorKind::UpstreamUnavailable, "keto returned a batch of the wrong size")
                        .with_tenant(&*self.t.name));
                }
                // Keto's per-tuple error text is not passed on (errors never carry what Ory
                // said; it can echo the tuple): such a tuple fails with the library's words.
                Ok(Chunk::Answered(res.results.into_iter().map(|r| r.error.is_none().then_some(r.allowed)).collect()))
            }
            // No such endpoint (Keto before v0.14); a 400 for a chunk of valid tuples means the
            // server's `limit.max_batch_check_size` is below `keto.batch_size`: single checks
            // answer either way.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Validation) => Ok(Chunk::Unsupported),
            Err(e) => Ok(Chunk::Failed(e)),
        }
    }

    /// Put the answers for the tuples at `chunk` in place, settled like single checks (cached,
    /// denials and failures audited). Never `allowed` on an error.
    fn take(
        &self,
        generation: Option<u64>,
        tuples: &[PermissionTuple],
        chunk: &[usize],
        answer: Chunk,
        out: &mut [Option<CheckResult>],
    ) {
        let failed = |why: &str| Err(Error::new(ErrorKind::UpstreamUnavailable, why).with_tenant(&*self.t.name));
        for (pos, &i) in chunk.iter().enumerate() {
            let res = match &answer {
                Chunk::Answered(rs) => match rs[pos] {
                    Some(allowed) => Ok(allowed),
                    None => failed("keto could not check this tuple"),
                },
                // The server had answered batches before and refused this one: it changed.
                Chunk::Unsupported => failed("keto refused the batch check"),
                Chunk::Failed(e) => Err(e.clone()),
            };
            self.settle(generation, &tuples[i], None, &res);
            out[i] = Some(match res {
                Ok(allowed) => CheckResult { allowed, error: None },
                Err(e) => CheckResult { allowed: false, error: Some(e.to_string()) },
            });
        }
    }

    /// Create the tuple. Idempotent: an existing tuple (409) is success. Audited.
    pub async fn grant(&self, tuple: &PermissionTuple) -> Result<()> {
        validate(tuple)?;
        let c = self.write("permission.grant")?;
        let mut call = Call::new(http::Method::PUT, "admin/relation-tuples").json(tuple_json(tuple));
        call.idempotent = true;
        let res = match c.send(call).await {
            Ok(r) => Ok(r.request_id),
            Err(e) if e.kind() == ErrorKind::Conflict => Ok(e.request_id().unwrap_or_default().to_owned()),
            Err(e) => Err(e),
        };
        self.after_write(tuple, names::AUTHZ_PERMISSION_GRANT, &res);
        self.t.sessions.publish(Tier::Permissions, &self.t.name).await;
        res.map(|_| ())
    }

    /// Delete exactly this tuple (every field is sent: Keto deletes by query, and a partial
    /// query would delete many). Idempotent: a missing tuple (404) is success. Audited.
    pub async fn revoke(&self, tuple: &PermissionTuple) -> Result<()> {
        validate(tuple)?;
        let c = self.write("permission.revoke")?;
        let res = match c.send(tuple_query(Call::delete("admin/relation-tuples"), tuple)).await {
            Ok(r) => Ok(r.request_id),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(e.request_id().unwrap_or_default().to_owned()),
            Err(e) => Err(e),
        };
        self.after_write(tuple, names::AUTHZ_PERMISSION_REVOKE, &res);
        self.t.sessions.publish(Tier::Permissions, &self.t.name).await;
        res.map(|_| ())
    }

    fn after_write(&self, tuple: &PermissionTuple, event: &str, res: &Result<String>) {
        // Whatever the outcome (a failed write may still have reached Keto), no decision cached
        // before it may be served: through subject sets it can change answers about any object.
        self.decisions().written();
        self.t.emit(
            AuditEvent::mutation(event, &self.t.name, res.as_ref().map(String::as_str))
                .attr("namespace", tuple.namespace.clone())
                .attr("relation", tuple.relation.clone())
                .target(tuple.object.clone()),
        );
    }

    /// Insert and delete many tuples in one Keto transaction (`PATCH /admin/relation-tuples`):
    /// either every entry applies or none does (an entry Keto refuses, e.g. one in an unknown
    /// namespace, fails the whole patch and changes nothing). Every tuple is validated before
    /// anything is sent. The decision cache is invalidated once for the whole patch; each entry
    /// is audited as `authz.permission.grant` / `authz.permission.revoke` with `via: "patch"`,
    /// all with the patch's outcome and request id. An empty patch sends nothing.
    pub async fn patch(&self, patch: &[PermissionPatch]) -> Result<()> {
        for (i, p) in patch.iter().enumerate() {
            validate_at(&format!("patch[{i}].tuple."), &p.tuple)?;
        }
        let c = self.write("permission.patch")?;
        if patch.is_empty() {
            return Ok(());
        }
        let body: Vec<Value> = patch
            .iter()
            .map(|p| {
                let action = match p.action {
                    PatchAction::Insert => "insert",
                    PatchAction::Delete => "delete",
                };
                json!({"action": action, "relation_tuple": tuple_json(&p.tuple)})
            })
            .collect();
        let mut call = Call::new(http::Method::PATCH, "admin/relation-tuples").json(Value::Array(body));
        // Applying the same patch twice leaves the same relations (a repeated insert is a
        // duplicate row Keto answers as one tuple, a repeated delete deletes nothing), as `grant`.
        call.idempotent = true;
        let res = c.send(call).await.map(|r| r.request_id);
        self.decisions().written();
        for p in patch {
            let event = match p.action {
                PatchAction::Insert => names::AUTHZ_PERMISSION_GRANT,
                PatchAction::Delete => names::AUTHZ_PERMISSION_REVOKE,
            };
            self.t.emit(
                AuditEvent::mutation(event, &self.t.name, res.as_ref().map(String::as_str))
                    .attr("namespace", p.tuple.namespace.clone())
                    .attr("relation", p.tuple.relation.clone())
                    .attr("via", "patch")
                    .target(p.tuple.object.clone()),
            );
        }
        res.map(|_| ())
    }

    /// Delete every tuple matching the filter (`DELETE /admin/relation-tuples` by query): e.g.
    /// every tuple of a deleted object, or every tuple of a deleted user in a namespace. A filter
    /// of the namespace alone (which would delete the whole namespace) is refused with
    /// `IamValidationError`. Nothing matching is a success; an unknown namespace is
    /// `IamNotFoundError`. Audited `authz.permission.delete_matching`; the decision cache is
    /// invalidated.
    pub async fn delete_matching(&self, q: &DeleteMatching) -> Result<()> {
        check_field("namespace", &q.namespace)?;
        if let Some(o) = &q.object {
            check_field("object", o)?;
        }
        if let Some(r) = &q.relation {
            check_field("relation", r)?;
        }
        if let Some(s) = &q.subject {
            check_subject("", s)?;
        }
        if q.object.is_none() && q.relation.is_none() && q.subject.is_none() {
            return Err(Error::invalid_field(
                "query",
                "needs object, relation or subject besides namespace (a namespace alone would delete every tuple in it)",
            ));
        }
        let c = self.write("permission.delete_matching")?;
        let mut call = Call::delete("admin/relation-tuples").query("namespace", q.namespace.clone());
        if let Some(o) = &q.object {
            call = call.query("object", o.clone());
        }
        if let Some(r) = &q.relation {
            call = call.query("relation", r.clone());
        }
        if let Some(s) = &q.subject {
            call = subject_query(call, s);
        }
        let res = c.send(call).await.map(|r| r.request_id);
        self.decisions().written();
        let mut by = vec!["namespace"];
        by.extend(q.object.as_ref().map(|_| "object"));
        by.extend(q.relation.as_ref().map(|_| "relation"));
        by.extend(q.subject.as_ref().map(|_| "subject"));
        let mut event = AuditEvent::mutation(
            names::AUTHZ_PERMISSION_DELETE_MATCHING,
            &self.t.name,
            res.as_ref().map(String::as_str),
        )
        .attr("namespace", q.namespace.clone())
        .attr("by", by);
        if let Some(r) = &q.relation {
            event = event.attr("relation", r.clone());
        }
        if let Some(o) = &q.object {
            event = event.target(o.clone());
        }
        self.t.emit(event);
        res.map(|_| ())
    }

    /// Check the syntax of an OPL (Ory Permission Language) file (`POST /opl/syntax/check`,
    /// served by Keto's OPL server only: `keto.opl_url`). Returns the errors found, none for a
    /// valid file; the file is not stored or applied. Text over 1 MiB is refused locally.
    pub async fn check_opl_syntax(&self, opl: &str) -> Result<Vec<crate::dto::OplSyntaxError>> {
        if opl.len() > 1 << 20 {
            return Err(Error::invalid_field("opl", "must be at most 1 MiB"));
        }
        let c =
            self.t.keto_opl.as_ref().ok_or_else(|| self.t.missing("keto.opl_url", "permission.check_opl_syntax"))?;
        let mut call = Call::post("opl/syntax/check").text(opl.to_owned());
        call.idempotent = true; // a read
        let r = c.send(call).await?;
        let pos = |p: wire::OplPosition| crate::dto::OplPosition { line: p.line, column: p.column };
        Ok(c.decode::<wire::OplCheck>(&r)?
            .errors
            .unwrap_or_default()
            .into_iter()
            .map(|e| crate::dto::OplSyntaxError { message: e.message, start: pos(e.start), end: pos(e.end) })
            .collect())
    }

    /// The namespaces Keto knows (`GET /namespaces`), by name.
    pub async fn namespaces(&self) -> Result<Vec<String>> {
        let c = self.read("permission.namespaces")?;
        let r = c.send(Call::get("namespaces")).await?;
        let mut names: Vec<String> = c.decode::<wire::Namespaces>(&r)?.namespaces.into_iter().map(|n| n.name).collect();
        // Keto answers in map order, which changes between calls.
        names.sort();
        Ok(names)
    }

    /// One page of tuples matching the query.
    pub async fn list(&self, q: PermissionQuery) -> Result<Page<PermissionTuple>> {
        check_field("namespace", &q.namespace)?;
        let c = self.read("permission.list")?;
        let mut call = Call::get("relation-tuples").query("namespace", q.namespace.clone());
        if let Some(o) = &q.object {
            check_field("object", o)?;
            call = call.query("object", o.clone());
        }
        if let Some(r) = &q.relation {
            check_field("relation", r)?;
            call = call.query("relation", r.clone());
        }
        if let Some(s) = &q.subject {
            call = subject_query(call, s);
        }
        call = page_query(call, q.page_size, q.page_token, 1000)?;
        let r = c.send(call).await?;
        let l: wire::TupleList = c.decode(&r)?;
        Ok(Page {
            items: l.relation_tuples.into_iter().filter_map(wire::Tuple::into_dto).collect(),
            next_page_token: l.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// Every tuple matching the query, page after page.
    pub fn list_all(&self, q: PermissionQuery) -> Pager<PermissionTuple> {
        pages(self.clone(), move |svc, token| {
            let q = PermissionQuery { page_token: token, ..q.clone() };
            async move { svc.list(q).await }
        })
    }

    /// Who has `relation` on `namespace:object`, as a tree (`max_depth` bounds the recursion).
    pub async fn expand(&self, q: ExpandQuery) -> Result<SubjectTree> {
        check_field("namespace", &q.namespace)?;
        check_field("object", &q.object)?;
        check_field("relation", &q.relation)?;
        let c = self.read("permission.expand")?;
        let mut call = Call::get("relation-tuples/expand")
            .query("namespace", q.namespace)
            .query("object", q.object)
            .query("relation", q.relation);
        if let Some(d) = q.max_depth {
            call = call.query("max-depth", d.to_string());
        }
        let r = c.send(call).await?;
        // Keto (v0.13, v0.14) answers an expand with no tuples as 200 `{"code":404,...}`: an empty tree.
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&r.body) {
            if v.get("type").is_none() && v.get("code").and_then(|c| c.as_u64()) == Some(404) {
                return Ok(SubjectTree { kind: "leaf".into(), tuple: None, children: vec![] });
            }
        }
        Ok(c.decode::<wire::Tree>(&r)?.into_dto())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200,000 distinct decisions into a cache bounded at 1,000: it stays bounded (moka evicts the
    /// least recently used), and a write makes every earlier answer unreadable at once.
    #[test]
    fn the_decision_cache_is_bounded_and_a_write_forgets_it() {
        let cfg = crate::config::CacheConfig {
            permission_ttl_ms: 60_000,
            permission_max_entries: 1_000,
            ..Default::default()
        };
        let d = Decisions::new(&cfg, Epochs::local());
        let t = |i: u32| PermissionTuple::new("documents", &format!("doc-{i}"), "view", &format!("user-{i}"));
        for i in 0..200_000 {
            d.put(d.generation(), &t(i), None, true);
        }
        assert!(d.entries() <= 1_000, "{} entries", d.entries());
        d.put(d.generation(), &t(7), None, true);
        assert_eq!(d.get(&t(7), None), Some(true));
        assert_eq!(d.get(&t(7), Some(3)), None, "max_depth is part of the key");
        let before = d.generation();
        d.written();
        assert_eq!(d.get(&t(7), None), None, "a write forgets earlier answers");
        d.put(before, &t(8), None, true);
        assert_eq!(d.get(&t(8), None), None, "an answer asked before the write is not stored after it");
    }

    /// Other instances' writes (the epoch moved by the invalidation channel) forget earlier
    /// answers as this instance's do; off the channel nothing is read or stored.
    #[test]
    fn other_instances_writes_and_a_lost_channel_forget_answers() {
        let cfg = crate::config::CacheConfig { permission_ttl_ms: 60_000, ..Default::default() };
        let remote = Epochs::unsubscribed();
        let d = Decisions::new(&cfg, remote.clone());
        let t = PermissionTuple::new("documents", "doc", "view", "user");
        d.put(d.generation(), &t, None, true);
        assert_eq!(d.get(&t, None), None, "not subscribed yet: nothing stored");
        remote.up();
        d.put(d.generation(), &t, None, true);
        assert_eq!(d.get(&t, None), Some(true));
        let before = d.generation();
        remote.invalidated(Tier::Permissions);
        assert_eq!(d.get(&t, None), None, "another instance's write forgets earlier answers");
        d.put(before, &t, None, true);
        assert_eq!(d.get(&t, None), None, "an answer asked before it is not stored after it");
        d.put(d.generation(), &t, None, true);
        remote.invalidated(Tier::Introspections);
        assert_eq!(d.get(&t, None), Some(true), "another tier's message leaves decisions alone");
        let before = d.generation();
        remote.down();
        assert_eq!(d.get(&t, None), None, "off the channel: not served");
        d.put(before, &t, None, true);
        d.put(d.generation(), &t, None, true);
        remote.up();
        assert_eq!(d.get(&t, None), None, "back on the channel: nothing from before the gap");
    }

    #[test]
    fn any_configured_lifetime_builds_a_cache() {
        for ms in [0, 1, u64::MAX] {
            let cfg = crate::config::CacheConfig { permission_ttl_ms: ms, ..Default::default() };
            Decisions::new(&cfg, Epochs::local()).put(Some(0), &PermissionTuple::new("n", "o", "r", "s"), None, true);
        }
    }
}
