'use strict'
// Internal: what the Express middleware (express.js) and the NestJS module (nestjs.js) share,
// so both frameworks answer the same status, headers and body for the same IamError.
// Not a public entry point (package.json `exports` does not map it).

const { IamError } = require('./ory-iam.js')

const STATUS = {
  unauthorized: 401,
  forbidden: 403,
  validation: 400,
  not_found: 404,
  conflict: 409,
  upstream_unavailable: 503,
  configuration: 500,
}

// Errors of another copy of the package (or of the testing fakes) still carry the taxonomy's code.
const isIamError = (e) => e instanceof IamError || (e instanceof Error && typeof e.code === 'string' && Object.hasOwn(STATUS, e.code) && /^Iam\w*Error$/.test(e.name))

// What the middleware knew when it failed, for the challenge header (RFC 6750).
const CHALLENGE = Symbol('ory-iam.challenge')
function withChallenge(err, challenge) {
  if (err !== null && typeof err === 'object') Object.defineProperty(err, CHALLENGE, { value: challenge, configurable: true })
  if (isIamError(err) && err.statusCode === undefined) {
    // Express's default handler reads `statusCode` when the app installs no IamError handler.
    Object.defineProperty(err, 'statusCode', { value: STATUS[err.code] ?? 500, configurable: true, writable: true })
  }
  return err
}

const quote = (v) => `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * The 401 challenge for the tenant's transport, as `ory_iam.starlette.www_authenticate` builds
 * it in Python: `bearer` → `Bearer realm="t"` (+ `error`, `scope` per RFC 6750); `cookie` →
 * `Cookie realm="t"` (no standard scheme exists for session cookies, but every 401 needs a
 * challenge); `cookie-or-bearer` and `oathkeeper` → both, Bearer first.
 */
function wwwAuthenticate(transport, realm, { error, scope } = {}) {
  let bearer = `Bearer realm=${quote(realm)}`
  if (error) bearer += `, error=${quote(error)}`
  if (scope && scope.length) bearer += `, scope=${quote(scope.join(' '))}`
  const cookie = `Cookie realm=${quote(realm)}`
  if (transport === 'bearer') return bearer
  if (transport === 'cookie') return cookie
  return `${bearer}, ${cookie}`
}

const bearerPresented = (req) => {
  const a = req && req.headers && req.headers.authorization
  return typeof a === 'string' && a.toLowerCase().startsWith('bearer ')
}

/**
 * The HTTP answer for an IamError: `{status, headers, body}`, or null for any other error.
 * `Retry-After` only when the library knows how long to wait (an open breaker, a 429/503 with
 * Retry-After) or `options.retryAfter` gives a fallback: a refused connection says nothing
 * about when. The body carries the code (and request id, validation paths), never the
 * message, so nothing from upstream or from a credential reaches the client.
 */
function httpErrorOf(err, options = {}) {
  if (!isIamError(err)) return null
  const status = STATUS[err.code] ?? 500
  const ch = err[CHALLENGE] || {}
  const transport = ch.transport ?? options.transport ?? 'cookie-or-bearer'
  const realm = ch.tenant ?? err.tenant ?? 'ory-iam'
  const presented = ch.presented ?? bearerPresented(options.req)
  const headers = {}
  if (status === 401) {
    headers['www-authenticate'] = wwwAuthenticate(transport, realm, { error: presented ? 'invalid_token' : undefined })
  } else if (status === 403 && ch.scope && ch.scope.length) {
    headers['www-authenticate'] = wwwAuthenticate('bearer', realm, { error: 'insufficient_scope', scope: ch.scope })
  } else if (status === 503) {
    const s = typeof err.retryAfter === 'number' && err.retryAfter > 0 ? err.retryAfter : options.retryAfter
    if (typeof s === 'number' && s > 0) headers['retry-after'] = String(Math.max(1, Math.ceil(s)))
  }
  const body = { statusCode: status, error: err.code }
  if (err.requestId) body.requestId = err.requestId
  if (status === 400 && Array.isArray(err.fields) && err.fields.length) body.fields = err.fields.map((f) => ({ path: f.path, reason: f.reason }))
  return { status, headers, body }
}

/** Roles of a session by default: `identity.metadataPublic.roles` (strings only). */
function defaultRoles(session) {
  const r = session && session.identity && session.identity.metadataPublic && session.identity.metadataPublic.roles
  return Array.isArray(r) ? r.filter((x) => typeof x === 'string') : []
}

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

const hasAuthorization = (req) => Boolean(req && req.headers && req.headers.authorization)

/** Per-tenant service handles, created once per tenant (forTenant is cheap but not free). */
function handles(iam) {
  const cache = new Map()
  return (tenant) => {
    const key = tenant ?? '\u0000default'
    let h = cache.get(key)
    if (!h) {
      h = tenant === undefined || tenant === null
        ? { session: iam.session, permission: iam.permission, token: iam.token }
        : { session: iam.session.forTenant(tenant), permission: iam.permission.forTenant(tenant), token: iam.token.forTenant(tenant) }
      h.name = h.session.tenant
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

module.exports = { roleSpec, rolesSatisfied, loginAs, bearerFor, httpErrorOf, wwwAuthenticate, withChallenge, isIamError, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope }
