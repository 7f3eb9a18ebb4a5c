'use strict'
// `ory-iam/express`: Express middleware over a wrapped `Iam`.
//
//   const auth = iamExpress(iam, { tenant: 'customer' })
//   app.get('/me', auth.currentUser(), (req, res) => res.json(req.iam.session.identity.id))
//   app.use(auth.errorHandler())
//
// The middleware stores what it resolved on `req.iam` ({ tenant, session, principal }) and shows
// it as `req.user` (the identity without admin metadata, or the machine principal) and
// `req.session` — unless another middleware owns those (express-session's `req.session`,
// Passport's `req.user`: left alone). Failures go to `next(err)` as IamError; `errorHandler()`
// turns them into 401/403/503/400 answers. Nothing is ever allowed on an error: a Keto or Kratos
// outage is a 503, never a pass.

const { IamForbiddenError } = require('./ory-iam.js')
const fw = require('./framework.js')
const { checkSubject, subjectOf, requestState, httpErrorOf, withChallenge, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope, loginAs, bearerFor, roleSpec, rolesSatisfied, checkTransport } = require('./framework.js')

// Express 4 does not await middleware: settle the promise into next(). The work and everything
// after it (the next middleware, the handler) run inside the request's correlation scope: every
// Ory call made while serving the request carries its X-Request-Id, echoed on the response.
const middleware = (fn) => (req, res, next) => {
  const id = fw.requestIdOf(req)
  fw.echoRequestId(res, id)
  fw.withRequestId(req, () => {
    let p
    try {
      p = Promise.resolve(fn(req, res))
    } catch (e) {
      return next(e)
    }
    p.then(
      () => fw.withRequestId(req, () => next()),
      (e) => fw.withRequestId(req, () => next(e)),
    )
  })
}

/**
 * Serves the rest of the request inside its correlation scope without authenticating anything:
 * `app.use(iamRequestId())` first, and every Ory call a route makes — guarded or not — carries
 * the incoming `X-Request-Id` (when valid; else a new UUID), which the response echoes.
 */
const iamRequestId = () => middleware(() => undefined)

// Per-request state lives in framework.js's private store, never read back from `req.iam`.
const slot = (req) => requestState(req)

function iamExpress(iam, options = {}) {
  if (!iam || typeof iam !== 'object' || !iam.session) throw new TypeError('iamExpress(iam, options): iam must be an Iam (Iam.fromConfig(...))')
  const opts = { roles: defaultRoles, ...options }
  if (typeof opts.roles !== 'function') throw new TypeError('iamExpress: roles must be (session, req) => string[]')
  const subjectRule = fw.checkSubjectRule(opts.subject, 'iamExpress')
  // The accepted credentials and the challenge of a 401 follow the tenant's configured transport;
  // `transport` narrows both (e.g. 'bearer' for an API router next to a cookie UI).
  checkTransport(opts.transport)
  const sessionChallenge = (h, req) => ({ transport: opts.transport ?? h.transport, tenant: h.name, presented: bearerPresented(req) })
  const forTenantName = handles(iam, opts.transport)
  // Validate a fixed tenant now (unknown name → IamConfigurationError at construction).
  if (typeof opts.tenant === 'string') forTenantName(opts.tenant)

  const tenantOf = async (req) => forTenantName(typeof opts.tenant === 'function' ? await opts.tenant(req) : opts.tenant)

  // The session for this request and tenant, resolved at most once per request.
  async function session(req, optional) {
    const h = await tenantOf(req)
    const s = slot(req)
    if (s.session !== undefined && s.tenant === h.name && (optional || s.session !== null)) {
      fw.exposeSession(req, s.session)
      return { h, session: s.session }
    }
    let resolved
    try {
      resolved = optional ? await h.session.whoamiOrNull(req) : await h.session.whoami(req)
    } catch (e) {
      throw withChallenge(e, sessionChallenge(h, req))
    }
    s.tenant = h.name
    s.session = resolved
    fw.exposeSession(req, resolved)
    return { h, session: resolved }
  }

  // Who a requirement is checked for: the machine principal when `requireToken()` ran before it
  // on this request (and no session was resolved), else the session (resolved here if needed).
  async function caller(req) {
    const st = fw.peekState(req)
    if (st && st.principal && st.session === undefined) return { h: await tenantOf(req), session: null, principal: st.principal }
    return { ...(await session(req, false)), principal: null }
  }
  const routeOf = (req) => `${req.method} ${req.baseUrl || ''}${req.route && typeof req.route.path === 'string' ? req.route.path : ''}`

  const forbidden = (h, req, what) => withChallenge(new IamForbiddenError(what, { code: 'forbidden', tenant: h.name }), sessionChallenge(h, req))

  const auth = {
    /** 401 unless the request carries a valid session of this tenant; sets `req.iam.session`. */
    currentUser: () => middleware((req) => session(req, false)),

    /** `req.iam.session` is the session or null; a Kratos outage is still a 503. */
    optionalUser: () => middleware((req) => session(req, true)),

    /**
     * 403 unless the caller has any of `roles` (`requireRole('a', 'b', { match: 'all' })`: every
     * one). Roles of a session from `options.roles` (default `metadataPublic.roles`, else
     * `traits.roles`); after `requireToken()`, the token's scopes. Resolves the session if
     * needed. A refusal is audited (`authz.role.deny`).
     */
    requireRole: (...roles) => {
      const spec = roleSpec(roles)
      return middleware(async (req) => {
        const { h, session: s, principal } = await caller(req)
        const have = principal ? fw.principalRoles(principal) : await opts.roles(s, req)
        if (!rolesSatisfied(spec, have)) {
          fw.auditRoleDenial(iam, h.name, { actor: principal ? principal.clientId || principal.subject : s.identity.id, specs: [spec], route: routeOf(req) })
          throw forbidden(h, req, 'missing role')
        }
      })
    },

    /**
     * 403 unless Keto allows `subject` `relation` on `namespace:object`. `object` is a string or
     * `(req) => string` (the request names the object; nothing usable → 400); `subject` defaults
     * to `options.subject(id, caller)` over the session's identity id (or, after
     * `requireToken()`, the OAuth2 client id), else that id; or a fixed id / subject set or
     * `(session) => …` — never from the request.
     */
    requirePermission: (namespace, relation, permOptions = {}) => {
      const { object, subject, fresh } = permOptions
      if (object === undefined) throw new TypeError('requirePermission needs { object }')
      checkSubject(subject, 'requirePermission')
      return middleware(async (req) => {
        const { h, session: s, principal } = await caller(req)
        let allowed
        try {
          const tuple = {
            namespace,
            relation,
            object: await fw.objectOf(object, req, h.name),
            subject: await subjectOf(subject, fw.callerOf(s, principal), subjectRule),
          }
          allowed = await h.permission.check(tuple, fresh === undefined ? undefined : { fresh })
        } catch (e) {
          throw withChallenge(e, sessionChallenge(h, req))
        }
        if (allowed !== true) throw forbidden(h, req, 'permission denied')
      })
    },

    /**
     * An OAuth2 bearer token (Hydra): 401 without a valid token, 403 without `scope`;
     * sets `req.iam.principal`.
     */
    requireToken: (tokenOptions = {}) => {
      const scope = normalizeScope(tokenOptions.scope)
      const o = {}
      if (scope.length) o.requiredScope = scope
      if (tokenOptions.mode) o.mode = tokenOptions.mode
      if (tokenOptions.audience) o.requiredAudience = tokenOptions.audience
      return middleware(async (req) => {
        const h = await tenantOf(req)
        try {
          const principal = await h.token.authenticate(req, o)
          const s = slot(req)
          s.principal = principal
          if (s.tenant === undefined) s.tenant = h.name
          fw.exposePrincipal(req, principal)
        } catch (e) {
          throw withChallenge(e, { transport: 'bearer', tenant: h.name, scope, presented: hasAuthorization(req) })
        }
      })
    },

    /** The correlation scope alone (see `iamRequestId`); the other middleware open it too. */
    requestId: () => iamRequestId(),

    /** A readiness route over `iam.health()`: see `iamHealth`. */
    health: () => iamHealth(iam),

    /** Answers IamErrors (401 + WWW-Authenticate, 403, 503 + Retry-After, 400, …); passes on the rest. */
    errorHandler: () => iamErrorHandler({ retryAfter: opts.retryAfter, transport: opts.transport, iam }),

    /** The same middleware bound to another tenant (e.g. one router per tenant). */
    forTenant: (name) => iamExpress(iam, { ...options, tenant: name }),
  }
  return auth
}

/**
 * A readiness route handler over `iam.health()`: 200 `{ status: 'up', tenants }` when every
 * configured Ory server answers, else 503 `{ status: 'down', tenants }`; `tenants` maps tenant →
 * product → 'up' | 'down'. Names only: no URL, reason, credential or warning.
 *   app.get('/health/ory', iamHealth(iam))
 */
function iamHealth(iam) {
  if (!iam || typeof iam.health !== 'function') throw new TypeError('iamHealth(iam): iam must be an Iam')
  return (req, res, next) => {
    Promise.resolve()
      .then(() => iam.health())
      .then(
        (h) => fw.healthReport(h),
        () => ({ status: 'down', tenants: {} }), // a closed Iam, say: not ready
      )
      .then((report) => {
        res.setHeader('cache-control', 'no-store')
        res.status(report.status === 'up' ? 200 : 503).json(report)
      })
      .catch(next)
  }
}

function iamErrorHandler(options = {}) {
  checkTransport(options.transport)
  // Four parameters: Express recognises error handlers by arity.
  // eslint-disable-next-line no-unused-vars
  return function iamErrors(err, req, res, next) {
    const answer = httpErrorOf(err, { ...options, req })
    if (!answer || res.headersSent) return next(err)
    res.status(answer.status)
    for (const [k, v] of Object.entries(answer.headers)) res.setHeader(k, v)
    res.json(answer.body)
  }
}

/**
 * Testing: the middleware over a FakeOry (`ory-iam/testing`), with helpers that log users in.
 *   const t = iamExpressTesting(new FakeOry(), { tenant: 'customer' })
 *   app.get('/me', t.auth.currentUser(), …)
 *   const { headers } = await t.loginAs({ traits: { email: 'a@example.com' }, metadataPublic: { roles: ['admin'] } })
 */
function iamExpressTesting(fake, options = {}) {
  if (!fake || !fake.iam || typeof fake.createSession !== 'function') throw new TypeError('iamExpressTesting(fake): fake must be a FakeOry from ory-iam/testing')
  const tenant = typeof options.tenant === 'string' ? options.tenant : undefined
  return {
    fake,
    iam: fake.iam,
    auth: iamExpress(fake.iam, options),
    loginAs: (user, o = {}) => loginAs(fake, user, { tenant, ...o }),
    bearerFor: (o = {}) => bearerFor(fake, { tenant, ...o }),
  }
}

module.exports = { iamExpress, iamErrorHandler, iamHealth, iamRequestId, httpErrorOf, iamExpressTesting, loginAs, bearerFor }
