'use strict'
// Hydra services from Node against the real Hydra.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const util = require('node:util')
const { Iam, Secret, IamConfigurationError, IamNotFoundError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { stack, iamConfig } = require('./helpers.js')
const { step, param, codeFlow: flowFor } = require('./hydra-flow.js')

const iam = Iam.fromConfig(iamConfig())
const codeFlow = (strategy, audience) => flowFor(iam, strategy, audience)
const b64 = (b) => Buffer.from(b).toString('base64url')


test('clients and client credentials', async () => {
  const name = `svc-${crypto.randomUUID()}`
  const created = await iam.oauth2Client.create({ client_name: name, grant_types: ['client_credentials'], scope: 'read write' })
  assert.ok(created.clientSecret instanceof Secret)
  assert.ok(!util.inspect(created).includes(created.clientSecret.expose()))
  const got = await iam.oauth2Client.get(created.clientId)
  assert.ok(got.clientSecret == null)
  const listed = []
  for await (const c of iam.oauth2Client.listAll({ clientName: name, pageSize: 1 })) listed.push(c.clientId)
  assert.deepEqual(listed, [created.clientId])
  const patched = await iam.oauth2Client.patch(created.clientId, [{ op: 'replace', path: '/client_name', value: 'renamed' }])
  assert.equal(patched.clientName, 'renamed')

  const cfg = iamConfig()
  cfg.tenants.customer.hydra.client_id = created.clientId
  cfg.tenants.customer.hydra.client_secret = created.clientSecret.expose()
  const withClient = Iam.fromConfig(cfg)
  const t1 = await withClient.token.clientCredentials('read')
  const t2 = await withClient.token.clientCredentials('read')
  assert.equal(t1.accessToken.expose(), t2.accessToken.expose(), 'cached')
  const i = await withClient.token.introspect(t1.accessToken)
  assert.ok(i.active)
  assert.equal(i.clientId, created.clientId)
  // The contract's shapes: a list of scopes, or a space-separated string.
  const scoped = await withClient.token.clientCredentials(['read', 'write'])
  assert.deepEqual((await withClient.token.introspect(scoped.accessToken)).scope.split(' ').sort(), ['read', 'write'])
  const joined = await withClient.token.clientCredentials('read write')
  assert.equal(joined.accessToken.expose(), scoped.accessToken.expose(), 'one cache entry for both shapes')
  await assert.rejects(withClient.token.clientCredentials(['read', 'two words']), (e) => e.code === 'validation' && e.fields[0].path === 'scope[1]')
  await withClient.token.revoke(t1.accessToken)
  assert.equal((await withClient.token.introspect(t1.accessToken)).active, false)
  await assert.rejects(iam.token.clientCredentials(), IamConfigurationError)
  await iam.oauth2Client.delete(created.clientId)
  await assert.rejects(iam.oauth2Client.get(created.clientId), IamNotFoundError)
})

test('authorization code + PKCE, refresh, revoke, logout', async () => {
  const s = stack()
  const redirect = `${s.helper.base_url}callback`
  const client = await iam.oauth2Client.create({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code', 'id_token'],
    redirect_uris: [redirect],
    scope: 'openid offline_access',
  })
  const verifier = b64(crypto.randomBytes(32))
  const challenge = b64(crypto.createHash('sha256').update(verifier).digest())
  const auth = new URL(`${s.hydra.public_url}oauth2/auth`)
  for (const [k, v] of Object.entries({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'openid offline_access',
    state: 'state-123456789',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    auth.searchParams.set(k, v)
  const jar = new Map()
  const loginChallenge = param(await step(auth.href, jar), 'login_challenge')
  const login = await iam.consent.getLoginRequest(loginChallenge)
  assert.equal(login.clientId, client.clientId)
  let next = await iam.consent.acceptLoginRequest(loginChallenge, { subject: 'user-1', remember: true, remember_for: 3600 })
  const consentChallenge = param(await step(next.redirectTo, jar), 'consent_challenge')
  const c = await iam.consent.getConsentRequest(consentChallenge)
  assert.equal(c.subject, 'user-1')
  next = await iam.consent.acceptConsentRequest(consentChallenge, { grant_scope: c.requestedScope })
  const back = await step(next.redirectTo, jar)
  assert.ok(back.startsWith(redirect))
  const tokens = await iam.token.authorizationCode({
    code: param(back, 'code'),
    redirectUri: redirect,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    codeVerifier: verifier,
  })
  assert.ok(tokens.refreshToken && tokens.idToken)
  assert.equal((await iam.token.introspect(tokens.accessToken)).sub, 'user-1')
  const renewed = await iam.token.refresh({ refreshToken: tokens.refreshToken, clientId: client.clientId, clientSecret: client.clientSecret })
  await assert.rejects(iam.token.refresh({ refreshToken: tokens.refreshToken, clientId: client.clientId, clientSecret: client.clientSecret }), IamValidationError)
  await iam.token.revoke(renewed.accessToken, { clientId: client.clientId, clientSecret: client.clientSecret })
  assert.equal((await iam.token.introspect(renewed.accessToken)).active, false)
  const logout = new URL(`${s.hydra.public_url}oauth2/sessions/logout`)
  logout.searchParams.set('id_token_hint', tokens.idToken.expose())
  const logoutChallenge = param(await step(logout.href, jar), 'logout_challenge')
  assert.equal((await iam.consent.getLogoutRequest(logoutChallenge)).subject, 'user-1')
  assert.ok((await iam.consent.acceptLogoutRequest(logoutChallenge)).redirectTo)
  await iam.oauth2Client.delete(client.clientId)
})

test('JWKs, trusted issuer and the JWT-bearer grant', async () => {
  const s = stack()
  const set = `issuer-${crypto.randomUUID()}`
  const pair = await iam.jwk.createSet(set, { alg: 'ES256', use: 'sig', kid: 'ik' })
  await iam.jwk.createSet(set, { alg: 'ES256', use: 'sig', kid: 'other' })
  assert.equal((await iam.jwk.getSet(set)).keys.length, 2)
  await iam.jwk.deleteKey(set, 'other')
  await assert.rejects(iam.jwk.getKey(set, 'other'), IamNotFoundError)
  const priv = pair.keys[0]
  const { d, ...pub } = priv
  const issuer = `https://issuer-${crypto.randomUUID()}.example.test`
  const expiresAt = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z')
  const trusted = await iam.trustedIssuer.trust({ issuer, subject: 'svc-1', scope: ['read'], expiresAt, publicKey: pub })
  assert.equal((await iam.trustedIssuer.get(trusted.id)).issuer, issuer)
  await assert.rejects(iam.trustedIssuer.trust({ issuer, scope: [], expiresAt, publicKey: pub }), IamValidationError)
  const client = await iam.oauth2Client.create({ grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'], scope: 'read' })
  const now = Math.floor(Date.now() / 1000)
  const header = b64(JSON.stringify({ alg: 'ES256', kid: 'ik', typ: 'JWT' }))
  const claims = b64(JSON.stringify({ iss: issuer, sub: 'svc-1', aud: `${s.hydra.public_url}oauth2/token`, iat: now, exp: now + 300, jti: crypto.randomUUID() }))
  const key = crypto.createPrivateKey({ key: { ...priv, d }, format: 'jwk' })
  const sig = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' })
  const tokens = await iam.token.jwtBearer({ assertion: `${header}.${claims}.${b64(sig)}`, scope: 'read', clientId: client.clientId, clientSecret: client.clientSecret })
  assert.equal((await iam.token.introspect(tokens.accessToken)).sub, 'svc-1')
  assert.ok((await iam.metadata.discoverJwks()).keys.length > 0)
  await iam.trustedIssuer.delete(trusted.id)
  await iam.oauth2Client.delete(client.clientId)
  await iam.jwk.deleteSet(set)
  await assert.rejects(iam.jwk.getSet(set), IamNotFoundError)
})

test('resource server: authenticate bearer tokens', async () => {
  const tokens = []
  for (const strategy of ['jwt', 'opaque']) {
    const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read write', access_token_strategy: strategy })
    const cfg = iamConfig()
    cfg.tenants.customer.hydra.client_id = client.clientId
    cfg.tenants.customer.hydra.client_secret = client.clientSecret.expose()
    const t = await Iam.fromConfig(cfg).token.clientCredentials('read')
    tokens.push([strategy, client.clientId, t.accessToken.expose()])
  }
  const { IamForbiddenError, IamUnauthorizedError } = require('../../bindings-node/ory-iam.js')
  for (const [strategy, clientId, token] of tokens) {
    const p = await iam.token.authenticate({ headers: { authorization: `Bearer ${token}` } })
    assert.equal(p.clientId, clientId)
    assert.deepEqual(p.scope, ['read'])
    assert.equal(p.verifiedBy, strategy === 'jwt' ? 'jwt' : 'introspection')
    await assert.rejects(iam.token.authenticate({ headers: { authorization: `Bearer ${token}` } }, { requiredScope: ['write'] }), IamForbiddenError)
  }
  const jwt = tokens[0][2]
  const forged = jwt.slice(0, -1) + (jwt.endsWith('A') ? 'B' : 'A')
  await assert.rejects(iam.token.authenticate({ headers: { authorization: `Bearer ${forged}` } }), IamUnauthorizedError)
  await assert.rejects(iam.token.authenticate({ headers: {} }), IamUnauthorizedError)
})

test('JWK update set and key', async () => {
  const set = `upd-${crypto.randomUUID()}`
  const created = await iam.jwk.createSet(set, { alg: 'ES256', use: 'sig', kid: 'a' })
  const { d, ...key } = created.keys[0]
  assert.ok(d)
  // Private material never shows in inspect/console.log (set or key), but JSON keeps it.
  assert.ok(!util.inspect(created, { depth: 5 }).includes(d) && !util.inspect(created.keys[0]).includes(d))
  assert.ok(util.inspect(created.keys[0]).includes("'***'"))
  assert.equal(JSON.parse(JSON.stringify(created)).keys[0].d, d)
  const updated = await iam.jwk.updateKey(set, 'a', key)
  assert.equal(updated.kid, 'a')
  assert.equal(updated.d, undefined)
  const replaced = await iam.jwk.updateSet(set, { keys: [key, { ...key, kid: 'b' }] })
  assert.equal(replaced.keys.length, 2)
  await assert.rejects(iam.jwk.updateKey(set, 'a', { ...key, kid: 'zzz' }), IamValidationError)
  await iam.jwk.deleteSet(set)
})

test('set client; reject login, consent and logout', async () => {
  const s = stack()
  const redirect = `${s.helper.base_url}callback`
  const fields = { grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [redirect], scope: 'openid' }
  const client = await iam.oauth2Client.create(fields)
  assert.equal((await iam.oauth2Client.set(client.clientId, { ...fields, client_name: 'replaced' })).clientName, 'replaced')
  const auth = (state) => {
    const u = new URL(`${s.hydra.public_url}oauth2/auth`)
    for (const [k, v] of Object.entries({ client_id: client.clientId, response_type: 'code', redirect_uri: redirect, scope: 'openid', state })) u.searchParams.set(k, v)
    return u.href
  }
  let jar = new Map()
  let ch = param(await step(auth('state-reject-login'), jar), 'login_challenge')
  let r = await iam.consent.rejectLoginRequest(ch, { error: 'access_denied', error_description: 'no' })
  assert.equal(param(await step(r.redirectTo, jar), 'error'), 'access_denied')
  jar = new Map()
  ch = param(await step(auth('state-reject-consent'), jar), 'login_challenge')
  r = await iam.consent.acceptLoginRequest(ch, { subject: 'user-2', remember: true, remember_for: 3600 })
  const cc = param(await step(r.redirectTo, jar), 'consent_challenge')
  r = await iam.consent.rejectConsentRequest(cc, { error: 'access_denied' })
  assert.equal(param(await step(r.redirectTo, jar), 'error'), 'access_denied')
  const lc = param(await step(`${s.hydra.public_url}oauth2/sessions/logout`, jar), 'logout_challenge')
  assert.equal((await iam.consent.rejectLogoutRequest(lc)).redirectTo, '')
  await iam.oauth2Client.delete(client.clientId)
})

const bearerOf = (t) => ({ authorization: `Bearer ${typeof t === 'string' ? t : t.expose()}` })

test('local JWT verification cannot see revocation; introspection can', async () => {
  const { IamUnauthorizedError } = require('../../bindings-node/ory-iam.js')
  const { tokens, clientId, clientSecret } = await codeFlow('jwt')
  await iam.token.refresh({ refreshToken: tokens.refreshToken, clientId, clientSecret })
  const old = bearerOf(tokens.accessToken)
  assert.equal((await iam.token.introspect(tokens.accessToken)).active, false)
  assert.equal((await iam.token.authenticate(old)).verifiedBy, 'jwt') // documented limitation
  await assert.rejects(iam.token.authenticate(old, { mode: 'introspect' }), IamUnauthorizedError)
  const cfg = iamConfig()
  cfg.tenants.customer.hydra.bearer_mode = 'introspect'
  await assert.rejects(Iam.fromConfig(cfg).token.authenticate(old), IamUnauthorizedError)
  await iam.oauth2Client.delete(clientId)
})
