'use strict'
// `ory-iam/express`: Express middleware over a wrapped `Iam`.
//
//   const auth = iamExpress(iam, { tenant: 'customer' })
//   app.get('/me', auth.currentUser(), (req, res) => res.json(req.iam.session.identity.id))
//   app.use(auth.errorHandler())
//
// The middleware stores what it resolved on `req.iam` ({ tenant, session, principal }); it
// leaves `req.session` (express-session) and `req.user` (Passport) alone. Failures go to
// `next(err)` as IamError; `errorHandler()` turns them into 401/403/503/400 answers. Nothing
// is ever allowed on an error: a Keto or Kratos outage is a 503, never a pass.

const { IamForbiddenError } = require('./ory-iam.js')
const { checkSubject, subjectOf, requestState, httpErrorOf, withChallenge, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope, loginAs, bearerFor, roleSpec, rolesSatisfied, checkTransport } = require('./framework.js')

// Express 4 does not await middleware: settle the promise into next().
const middleware = (fn) => (req, res, next) => {
  let p
  try {
    p = Promise.resolve(fn(req, res))
  } catch (e) {
    return next(e)
  }
  p.then(
    () => next(),
    (e) => next(e),
  )
}

// Per-request state lives in framework.js's private store, never read back from `req.iam`.
const slot = (req) => requestState(req)

function iamExpress(iam, options = {}) {
  if (!iam || typeof iam !== 'object' || !iam.session) throw new TypeError('iamExpress(iam, options): iam must be an Iam (Iam.fromConfig(...))')
  const opts = { roles: defaultRoles, ...options }
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
    if (s.session !== undefined && s.tenant === h.name && (optional || s.session !== null)) return { h, session: s.session }
    let resolved
    try {
      resolved = optional ? await h.session.whoamiOrNull(req) : await h.session.whoami(req)
    } catch (e) {
      throw withChallenge(e, sessionChallenge(h, req))
    }
    s.tenant = h.name
    s.session = resolved
    return { h, session: resolved }
  }

  const forbidden = (h, req, what) => withChallenge(new IamForbiddenError(what, { code: 'forbidden', tenant: h.name }), sessionChallenge(h, req))

  const auth = {
    /** 401 unless the request carries a valid session of this tenant; sets `req.iam.session`. */
    currentUser: () => middleware((req) => session(req, false)),

    /** `req.iam.session` is the session or null; a Kratos outage is still a 503. */
    optionalUser: () => middleware((req) => session(req, true)),

    /**
     * 403 unless the session has any of `roles` (`requireRole('a', 'b', { match: 'all' })`: every
     * one); roles from `options.roles`. Resolves the session if needed.
     */
    requireRole: (...roles) => {
      const spec = roleSpec(roles)
      return middleware(async (req) => {
        const { h, session: s } = await session(req, false)
        if (!rolesSatisfied(spec, await opts.roles(s, req))) throw forbidden(h, req, 'missing role')
      })
    },

    /**
     * 403 unless Keto allows `subject` `relation` on `namespace:object`. `object` is a string or
     * `(req) => string` (the request names the object); `subject` defaults to the session's
     * identity id, else a fixed id / subject set or `(session) => …` — never from the request.
     */
    requirePermission: (namespace, relation, permOptions = {}) => {
      const { object, subject, fresh } = permOptions
      if (object === undefined) throw new TypeError('requirePermission needs { object }')
      checkSubject(subject, 'requirePermission')
      return middleware(async (req) => {
        const { h, session: s } = await session(req, false)
        const tuple = {
          namespace,
          relation,
          object: typeof object === 'function' ? await object(req) : object,
          subject: await subjectOf(subject, s),
        }
        let allowed
        try {
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
        } catch (e) {
          throw withChallenge(e, { transport: 'bearer', tenant: h.name, scope, presented: hasAuthorization(req) })
        }
      })
    },

    /** Answers IamErrors (401 + WWW-Authenticate, 403, 503 + Retry-After, 400, …); passes on the rest. */
    errorHandler: () => iamErrorHandler({ retryAfter: opts.retryAfter, transport: opts.transport, iam }),

    /** The same middleware bound to another tenant (e.g. one router per tenant). */
    forTenant: (name) => iamExpress(iam, { ...options, tenant: name }),
  }
  return auth
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

module.exports = { iamExpress, iamErrorHandler, httpErrorOf, iamExpressTesting, loginAs, bearerFor }
