'use strict'
// Internal: what the Express middleware (express.js) and the NestJS module (nestjs.js) share,
// so both frameworks answer the same status, headers and body for the same IamError (the
// answer itself comes from the core, `httpAnswer`, and is the same in Python).
// Not a public entry point (package.json `exports` does not map it).

const lib = require('./ory-iam.js')
const { IamError, httpAnswer, rolesOf } = lib

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

/** Roles of a session by default: `identity.metadataPublic.roles` (strings only; the core's rule). */
const defaultRoles = (session) => rolesOf(session && session.identity ? session.identity.metadataPublic : undefined)

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
const subjectOf = async (subject, session) => (typeof subject === 'function' ? await subject(session) : subject ?? session.identity.id)

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

/** This request's state when a guard resolved something, else undefined (never `req.iam`). */
const peekState = (req) => (req !== null && typeof req === 'object' ? STATE.get(req) : undefined)

module.exports = { checkSubject, subjectOf, requestState, peekState, roleSpec, rolesSatisfied, loginAs, bearerFor, httpErrorOf, withChallenge, isIamError, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope, checkTransport }
