'use strict'
// Internal: what the Express middleware (express.js) and the NestJS module (nestjs.js) share,
// so both frameworks answer the same status, headers and body for the same IamError (the
// answer itself comes from the core, `httpAnswer`, and is the same in Python).
// Not a public entry point (package.json `exports` does not map it).

const lib = require('./ory-iam.js')
const { IamError, IamValidationError, httpAnswer, rolesOf, requestIdFor, runWithRequestId, currentRequestId } = lib

// The taxonomy's codes, from the error classes.
const CODES = new Set(Object.values(lib).filter((c) => typeof c === 'function' && c.prototype instanceof Error && typeof c.code === 'string').map((c) => c.code))

// Errors of another copy of the package (or of the testing fakes) still carry the taxonomy's code.
const isIamError = (e) => e instanceof IamError || (e instanceof Error && typeof e.code === 'string' && CODES.has(e.code) && /^Iam\w*Error$/.test(e.name))

// What an error carries, as the core's answer policy takes it.
function factsOf(err) {
  const str = (v) => (typeof v === 'string' ? v : undefined)
  return {
    code: String(err.code),
    requestId: str(err.requestId),
    retryAfter: typeof err.retryAfter === 'number' ? err.retryAfter : undefined,
    fields: Array.isArray(err.fields)
      ? err.fields.filter((f) => f !== null && typeof f === 'object' && typeof f.path === 'string' && typeof f.reason === 'string').map((f) => ({ path: f.path, reason: f.reason }))
      : undefined,
    tenant: str(err.tenant),
  }
}

// What the middleware knew when it failed, for the challenge header (RFC 6750).
const CHALLENGE = Symbol('ory-iam.challenge')
function withChallenge(err, challenge) {
  if (err !== null && typeof err === 'object') Object.defineProperty(err, CHALLENGE, { value: challenge, configurable: true })
  if (isIamError(err) && err.statusCode === undefined) {
    // Express's default handler reads `statusCode` when the app installs no IamError handler.
    Object.defineProperty(err, 'statusCode', { value: httpAnswer({ code: String(err.code) }).status, configurable: true, writable: true })
  }
  return err
}

const bearerPresented = (req) => {
  const a = req && req.headers && req.headers.authorization
  return typeof a === 'string' && a.toLowerCase().startsWith('bearer ')
}

// The transport `tenant` is configured with in `iam`; undefined when unknown (the core's default).
function transportOf(iam, tenant) {
  if (!iam || typeof iam.transportOf !== 'function' || typeof tenant !== 'string') return undefined
  try {
    return iam.transportOf(tenant)
  } catch {
    return undefined // a tenant of another Iam
  }
}

/** Throws IamValidationError unless `transport` is undefined or one the core knows. */
function checkTransport(transport) {
  if (transport !== undefined) httpAnswer({ code: 'unauthorized' }, { transport })
  return transport
}

/**
 * The HTTP answer for an IamError: `{status, headers, body}` from the core (the same policy as
 * Python's), or null for any other error. The challenge follows what the middleware recorded
 * (transport, tenant, scopes, whether a token was sent), else `options.transport`, else the
 * error's tenant's configured transport in `options.iam`. `options.retryAfter` is the
 * Retry-After fallback for an outage of unknown length. The body carries the code (and request
 * id, validation paths), never the message, so nothing from upstream or from a credential
 * reaches the client.
 */
function httpErrorOf(err, options = {}) {
  if (!isIamError(err)) return null
  const ch = err[CHALLENGE] || {}
  const facts = factsOf(err)
  return httpAnswer(facts, {
    transport: ch.transport ?? options.transport ?? transportOf(options.iam, facts.tenant),
    realm: typeof ch.tenant === 'string' ? ch.tenant : undefined,
    bearerPresented: ch.presented ?? bearerPresented(options.req),
    requiredScopes: Array.isArray(ch.scope) ? ch.scope : undefined,
    retryAfterFallback: typeof options.retryAfter === 'number' ? options.retryAfter : undefined,
  })
}

/**
 * Roles of a session by default: `identity.metadataPublic.roles` only (strings only; the core's
 * rule, the same in Python). Traits are never read by default: users write their own. The
 * ory-nestjs rule (metadata, else traits) is one `roles` option away:
 * `roles: (s) => rolesOf(s.identity.metadataPublic, s.identity.traits)`.
 */
const defaultRoles = (session) => {
  const identity = session && session.identity
  return identity ? rolesOf(identity.metadataPublic) : []
}
/** The roles of a machine principal: its granted scopes. */
const principalRoles = (principal) => (principal && Array.isArray(principal.scope) ? principal.scope.filter((s) => typeof s === 'string') : [])

/** `('a', 'b')` or `('a', 'b', { match: 'all' })` → `{ roles, match }` (match: any | all). */
function roleSpec(args) {
  const list = args.flat()
  let match = 'any'
  const last = list[list.length - 1]
  if (last !== null && typeof last === 'object') {
    list.pop()
    match = last.match ?? 'any'
  }
  if (match !== 'any' && match !== 'all') throw new TypeError("role match must be 'any' or 'all'")
  if (list.length === 0 || !list.every((r) => typeof r === 'string' && r)) throw new TypeError('at least one role (non-empty strings) is needed')
  return { roles: list, match }
}
const rolesSatisfied = (spec, have) => Array.isArray(have) && (spec.match === 'all' ? spec.roles.every((r) => have.includes(r)) : spec.roles.some((r) => have.includes(r)))

/**
 * Audit a role refusal (`authz.role.deny`) through the tenant's sink. Never fails the request
 * differently: an Iam without the hook (another copy of the package) or a throwing sink leaves
 * the 403 as it is.
 */
function auditRoleDenial(iam, tenant, { actor, specs, route, requestId }) {
  if (!iam || typeof iam.auditRoleDenial !== 'function') return
  try {
    iam.auditRoleDenial(tenant, { actor: actor || undefined, requiredRoles: [...new Set(specs.flatMap((s) => s.roles))], route: route || undefined, requestId: requestId || currentRequestId() || undefined })
  } catch {
    // Auditing is best effort here; the answer is a 403 either way.
  }
}

// The Keto subject of a permission requirement: the caller's identity id by default, else a
// fixed id or subject set, or `(session) => …` computed from the caller's session only. The
// callback never receives the request (whoever names a subject in a URL, header or body would
// pick whose permission is checked); one that declares a second parameter — the old
// `(req, session)` form — is refused when the requirement is built.
function checkSubject(subject, where) {
  if (subject === undefined || subject === null) return
  if (typeof subject === 'function') {
    if (subject.length > 1) throw new TypeError(`${where}: a subject callback receives the caller's session only, (session) => subject; the subject never comes from the request`)
    return
  }
  if (typeof subject === 'string' ? subject === '' : typeof subject !== 'object') throw new TypeError(`${where}: subject must be a non-empty string, a subject set or (session) => subject`)
}

/**
 * The module-level subject rule: `(id, caller) => subject`, `caller` = `{ kind: 'identity' |
 * 'machine', tenant }`; default the bare id (identity id, or the OAuth2 client id of a machine
 * principal). `(id) => \`user:${id}\`` is ory-nestjs's form.
 */
function checkSubjectRule(rule, where) {
  if (rule !== undefined && rule !== null && typeof rule !== 'function') throw new TypeError(`${where}: subject must be (id, caller) => subject`)
  return rule ?? null
}

/**
 * The caller of a permission requirement: the session's identity, or (on a token route) the
 * machine principal. `{ kind, id, tenant, source }`, `source` what a per-requirement subject
 * callback receives (the session, or the principal).
 */
function callerOf(session, principal) {
  if (session) return { kind: 'identity', id: session.identity.id, tenant: session.tenant, source: session }
  const id = principal && (principal.clientId || principal.subject)
  return { kind: 'machine', id, tenant: principal && principal.tenant, source: principal }
}

async function subjectOf(subject, caller, rule) {
  if (typeof subject === 'function') return await subject(caller.source)
  if (subject !== undefined && subject !== null) return subject
  if (typeof caller.id !== 'string' || caller.id === '') throw new lib.IamForbiddenError('the caller has no id to check', { code: 'forbidden', tenant: caller.tenant })
  return rule ? await rule(caller.id, { kind: caller.kind, tenant: caller.tenant }) : caller.id
}

/**
 * The Keto object of a requirement: a string, or what `(req) => …` returns. Nothing usable (not
 * a non-empty string) is the request's fault — the route's id is missing: IamValidationError
 * (400), before any Keto call.
 */
async function objectOf(object, req, tenant) {
  const v = typeof object === 'function' ? await object(req) : object
  if (typeof v !== 'string' || v === '') {
    throw new IamValidationError('the permission object could not be resolved from the request', {
      code: 'validation',
      tenant,
      fields: [{ path: 'object', reason: 'the route names no object for this permission check' }],
    })
  }
  return v
}

const hasAuthorization = (req) => Boolean(req && req.headers && req.headers.authorization)

/** Per-tenant service handles, created once per tenant (forTenant is cheap but not free). */
// `transport` (the adapter's option) narrows the credentials `h.session` accepts, not only the
// challenge: the core refuses to widen the tenant's own (IamConfigurationError).
function handles(iam, transport) {
  const cache = new Map()
  return (tenant) => {
    const key = tenant ?? '\u0000default'
    let h = cache.get(key)
    if (!h) {
      h = tenant === undefined || tenant === null
        ? { session: iam.session, permission: iam.permission, token: iam.token }
        : { session: iam.session.forTenant(tenant), permission: iam.permission.forTenant(tenant), token: iam.token.forTenant(tenant) }
      h.name = h.session.tenant
      h.transport = transportOf(iam, h.name)
      if (transport) h.session = h.session.withTransport(transport)
      cache.set(key, h)
    }
    return h
  }
}

function normalizeScope(scope) {
  if (scope === undefined || scope === null) return []
  const list = Array.isArray(scope) ? scope : String(scope).split(/\s+/)
  return list.filter(Boolean)
}

// --- testing helpers over `ory-iam/testing`'s FakeOry (shared by the Express and NestJS entries)

/**
 * Log a user into a FakeOry: `user` is an identity id, or `{ traits, schemaId?, metadataPublic? }`
 * to create the identity first. Returns `{ identityId, sessionId, token, headers }`, `headers`
 * ready for fetch/supertest (`kind`: bearer | cookie | sessionToken).
 */
async function loginAs(fake, user, { tenant, kind = 'bearer' } = {}) {
  let identityId = user
  if (user !== null && typeof user === 'object') {
    const ids = tenant ? fake.iam.identity.forTenant(tenant) : fake.iam.identity
    const created = await ids.create({ schemaId: user.schemaId ?? 'default', traits: user.traits ?? {}, metadataPublic: user.metadataPublic, metadataAdmin: user.metadataAdmin })
    identityId = created.id
  }
  const cred = await fake.createSession(identityId, { tenant })
  return { identityId, sessionId: cred.sessionId, token: cred.token, headers: fake.headersFor(cred, { kind }) }
}

/** A FakeOry access token for `clientId` with `scope`: `{ token, headers }`. */
async function bearerFor(fake, { clientId, scope, tenant } = {}) {
  const token = await fake.issueToken({ clientId: clientId ?? require('./testing.js').DEFAULT_CLIENT_ID, scope, tenant })
  return { token, headers: fake.headersFor(token) }
}

// What the guards resolved for one request, held where no other code can plant it: a
// module-private WeakMap keyed by the request, never a property read back from the request (a
// prototype-pollution bug elsewhere in the app — `Object.prototype.iam = …` — would otherwise
// hand every request a forged session without asking Kratos). The state objects have no
// prototype, so a polluted `Object.prototype.session` cannot show through either.
const STATE = new WeakMap()

/** This request's state (made on first use); also exposed to the app as `req.iam`. */
function requestState(req) {
  let s = STATE.get(req)
  if (s === undefined) {
    s = Object.create(null)
    s.tenant = undefined
    s.session = undefined
    s.principal = undefined
    STATE.set(req, s)
  }
  // What the app reads is written by us, as the request's own property, each time.
  Object.defineProperty(req, 'iam', { value: s, writable: true, configurable: true, enumerable: true })
  return s
}

// `req.user` / `req.session` (what ory-nestjs users read): written for the app, never read back by
// the guards. A value another middleware put there (express-session's `req.session`, Passport's
// `req.user`) is left alone: `req.iam` always holds what ory-iam resolved.
const ATTACHED = new WeakSet()
function attach(req, name, value) {
  if (req === null || typeof req !== 'object' || value === undefined) return
  if (Object.hasOwn(req, name)) {
    const cur = req[name]
    if (cur !== undefined && cur !== null && !(typeof cur === 'object' && ATTACHED.has(cur))) return
  }
  if (value !== null) ATTACHED.add(value)
  // An own property, null included: a polluted `Object.prototype.user` must not show through.
  Object.defineProperty(req, name, { value, writable: true, configurable: true, enumerable: true })
}

/** The identity as `req.user` shows it: the session's, without admin metadata. */
function userOf(session) {
  const { metadataAdmin, ...identity } = session.identity // eslint-disable-line no-unused-vars
  return Object.freeze(identity)
}

/** Record the session (or its absence: null) on `req.user` (identity) and `req.session`. */
function exposeSession(req, session) {
  if (session === undefined) return
  if (session === null) {
    const st = STATE.get(req)
    if (!st || !st.principal) attach(req, 'user', null)
    attach(req, 'session', null)
    return
  }
  attach(req, 'user', userOf(session))
  attach(req, 'session', session)
}

/** Record a machine principal on `req.user` (unless a session of this request is there). */
function exposePrincipal(req, principal) {
  const s = STATE.get(req)
  if (s && s.session) return
  attach(req, 'user', principal)
}

/** Nothing resolved (a public route): `req.user` / `req.session` null unless someone owns them. */
function exposeNone(req) {
  const s = STATE.get(req)
  if (s && (s.session || s.principal)) return
  attach(req, 'user', null)
  attach(req, 'session', null)
}

/**
 * A health report for a probe endpoint, from `iam.health()`: the core's answer (the same in
 * Python), `{ status: 'up' | 'down', tenants: { [tenant]: { [product]: 'up' | 'down' } } }`.
 * Names only — no URL, reason, status code or warning (a public health route must not describe
 * the deployment).
 */
function healthReport(health) {
  const probes = (health.probes || []).map((p) => ({ tenant: p.tenant, product: p.product, healthy: p.healthy }))
  return lib.native.healthAnswer(Boolean(health.healthy), probes).body
}

// The request id of each application request (issue 23, correlation): its `X-Request-Id` when
// valid (1–200 visible ASCII characters: `requestIdFor`), else a new UUID — fixed once per
// request, so every middleware and guard of the request uses the same one.
const REQUEST_IDS = new WeakMap()
function requestIdOf(req) {
  if (req === null || typeof req !== 'object') return requestIdFor(undefined)
  let id = REQUEST_IDS.get(req)
  if (id === undefined) {
    const h = req.headers && typeof req.headers === 'object' ? req.headers['x-request-id'] : undefined
    id = requestIdFor(typeof h === 'string' || Array.isArray(h) ? h : undefined)
    REQUEST_IDS.set(req, id)
  }
  return id
}

/** Echo the request id on the response (Express/Node `setHeader`, Fastify `header`), once. */
function echoRequestId(res, id) {
  if (!res || res.headersSent) return
  if (typeof res.setHeader === 'function') res.setHeader('x-request-id', id)
  else if (typeof res.header === 'function') res.header('x-request-id', id)
}

/** Run `fn` inside the request's correlation scope: every Ory call it makes carries the id. */
const withRequestId = (req, fn) => runWithRequestId(requestIdOf(req), fn)

/** This request's state when a guard resolved something, else undefined (never `req.iam`). */
const peekState = (req) => (req !== null && typeof req === 'object' ? STATE.get(req) : undefined)

module.exports = { requestIdOf, echoRequestId, withRequestId, currentRequestId, checkSubject, checkSubjectRule, callerOf, objectOf, principalRoles, auditRoleDenial, exposeSession, exposePrincipal, exposeNone, healthReport, userOf, subjectOf, requestState, peekState, roleSpec, rolesSatisfied, loginAs, bearerFor, httpErrorOf, withChallenge, isIamError, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope, checkTransport }
