'use strict'
// `ory-iam/testing`: in-memory Kratos, Keto and Hydra behind an ordinary `Iam`, so code built on
// ory-iam can be tested with no servers. The fake answers the Rust core's HTTP requests with the
// servers' JSON, status codes and paging headers; everything above (credential extraction, the
// session cache, errors, audit, paging) is the library's real code. What is emulated: README,
// "Testing your code without servers".

const pkg = require('./ory-iam.js')

const { wrap, convertError } = pkg._internal
const native = pkg.native

/** The client configured as every fake tenant's `hydra.clientId` (any scope allowed unless `clientScope` is given). */
const DEFAULT_CLIENT_ID = 'ory-iam-fake-client'
const SESSION_COOKIE = 'ory_kratos_session'
/** Keto's namespaces when `ketoNamespaces` is not given. */
const DEFAULT_KETO_NAMESPACES = Object.freeze(['documents', 'groups', 'folders'])

const scopes = (s) => (s === undefined || s === null ? [] : typeof s === 'string' ? s.split(' ').filter(Boolean) : [...s])

function call(fn) {
  try {
    return fn()
  } catch (e) {
    throw convertError(e)
  }
}

class FakeOry {
  #n
  #iam

  /**
   * Fake servers for `tenants` (default `['customer']`; the first is the default tenant), with
   * Kratos's `identitySchemas` (schema id → JSON Schema) and `defaultSchemaId`, Keto's
   * `ketoNamespaces` (names or `{ id, name }`) and the scopes of `DEFAULT_CLIENT_ID` (`clientScope`).
   */
  constructor({ tenants = ['customer'], identitySchemas, tenantIdentitySchemas, defaultSchemaId, ketoNamespaces, clientScope } = {}) {
    const options = { tenants: typeof tenants === 'string' ? [tenants] : [...tenants] }
    if (identitySchemas !== undefined && identitySchemas !== null) options.identity_schemas = identitySchemas
    if (tenantIdentitySchemas !== undefined && tenantIdentitySchemas !== null) options.tenant_identity_schemas = tenantIdentitySchemas
    if (defaultSchemaId !== undefined && defaultSchemaId !== null) options.default_schema_id = defaultSchemaId
    if (ketoNamespaces !== undefined && ketoNamespaces !== null) options.keto_namespaces = [...ketoNamespaces]
    if (clientScope !== undefined && clientScope !== null) options.client_scope = scopes(clientScope)
    this.#n = call(() => native.FakeOry.createWith(options))
    this.#iam = wrap(this.#n.iam)
  }

  /** An ordinary `Iam` talking to this fake (the same instance every time). */
  get iam() {
    return this.#iam
  }

  get tenants() {
    return this.#n.tenants
  }

  get defaultTenant() {
    return this.#n.defaultTenant
  }

  /** Log the identity in (an active 24 h session): `{ sessionId, token, cookie }`. */
  async createSession(identityId, { tenant } = {}) {
    const s = call(() => this.#n.createSession(identityId, tenant ?? null))
    return { sessionId: s.sessionId, token: s.token, cookie: s.cookie }
  }

  /** Make the session expire now (and drop it from the session cache). */
  async expireSession(sessionId, { tenant } = {}) {
    try {
      await this.#n.expireSession(sessionId, tenant ?? null)
    } catch (e) {
      throw convertError(e)
    }
  }

  /** Register a client allowed the `client_credentials` grant for `scope`. */
  addOAuth2Client({ clientId, clientSecret, scope, tenant } = {}) {
    const secret = clientSecret instanceof native.Secret ? clientSecret.expose() : clientSecret ?? null
    call(() => this.#n.addOauth2Client(clientId, secret, scopes(scope), tenant ?? null))
  }

  /** An access token as Hydra would issue it to `clientId` (active for an hour, or until revoked). */
  async issueToken({ clientId, scope, tenant } = {}) {
    return call(() => this.#n.issueToken(clientId, scopes(scope), tenant ?? null))
  }

  /**
   * Start an authorization request as a browser would (`GET /oauth2/auth` on the fake Hydra): the
   * URL Hydra redirects to — the login UI (`LOGIN_URL?login_challenge=…`), or the client's
   * `redirectUri` with `error` (e.g. `invalid_scope`), or the error page (`ERROR_URL`).
   */
  authorize({ clientId, redirectUri, scope, state, codeChallenge, codeChallengeMethod, audience, nonce, responseType, tenant } = {}) {
    const request = {
      clientId, redirectUri, scope: scopes(scope).join(' '), state,
      codeChallenge: codeChallenge ?? undefined, codeChallengeMethod: codeChallengeMethod ?? undefined,
      audience: audience == null ? undefined : scopes(audience).join(' '), nonce: nonce ?? undefined, responseType: responseType ?? undefined,
    }
    return call(() => this.#n.authorize(request, tenant ?? null))
  }

  /**
   * Follow a `redirectTo` of an accepted or rejected login or consent as the browser would: the
   * next `Location` (the consent UI after a login; the client's `redirectUri` with `code`, or with
   * `error` after a rejection or a verifier used twice). Another URL is `IamValidationError`.
   */
  follow(url, { tenant } = {}) {
    return call(() => this.#n.follow(url, tenant ?? null))
  }

  /** Request headers carrying a token: `kind` is `bearer` (default), `cookie` or `sessionToken`. */
  headersFor(credential, { kind = 'bearer' } = {}) {
    // A session's cookie is its own value: Kratos refuses a session token sent as the cookie.
    const session = credential && credential.token !== undefined
    const t = session ? (kind === 'cookie' && credential.cookie !== undefined ? credential.cookie : credential.token) : credential
    const value = t instanceof native.Secret ? t.expose() : String(t)
    if (kind === 'bearer') return { authorization: `Bearer ${value}` }
    if (kind === 'cookie') return { cookie: `${SESSION_COOKIE}=${value}` }
    if (kind === 'sessionToken') return { 'x-session-token': value }
    throw new pkg.IamValidationError("kind must be 'bearer', 'cookie' or 'sessionToken'", { code: 'validation' })
  }

  /** Requests per emulated endpoint, e.g. `{ 'kratos-public GET sessions/whoami': 2 }`. */
  requests() {
    return this.#n.requests()
  }
}

/** Where the fake Hydra sends the browser for login, consent and errors. */
const LOGIN_URL = 'http://app.fake.ory-iam.invalid/login'
const CONSENT_URL = 'http://app.fake.ory-iam.invalid/consent'
const ERROR_URL = 'http://app.fake.ory-iam.invalid/error'

module.exports = { FakeOry, DEFAULT_CLIENT_ID, DEFAULT_KETO_NAMESPACES, LOGIN_URL, CONSENT_URL, ERROR_URL }
