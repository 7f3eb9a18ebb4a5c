'use strict'
// ory-iam/express over real HTTP (loopback) against the real stack: sessions from Kratos,
// permissions from Keto, OAuth2 tokens from Hydra; outages simulated with closed ports.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const express = require('express')
const { Iam } = require('../../bindings-node/ory-iam.js')
const { iamExpress } = require('../../bindings-node/express.js')
const { iamConfig, uniqueEmail, closedPort, registerUser } = require('./helpers.js')

const PASSWORD = 'a-Long-and-unique-passphrase-42'


async function listen(app) {
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }
}

const register = registerUser
const bearer = (u) => ({ authorization: `Bearer ${u.token}` })

function buildApp(iam, { withAdminRouter = true } = {}) {
  const app = express()
  const auth = iamExpress(iam, { tenant: 'customer' })
  app.get('/me', auth.currentUser(), (req, res) => res.json({ id: req.iam.session.identity.id, tenant: req.iam.tenant }))
  app.get('/maybe', auth.optionalUser(), (req, res) => res.json({ id: req.iam.session ? req.iam.session.identity.id : null }))
  app.get('/staff', auth.requireRole('admin', 'editor'), (req, res) => res.json({ id: req.iam.session.identity.id }))
  app.get('/docs/:id', auth.currentUser(), auth.requirePermission('documents', 'edit', { object: (req) => req.params.id }), (req, res) => res.json({ edited: req.params.id }))
  app.get('/docs-by-query', auth.requirePermission('documents', 'edit', { object: (req) => req.query.id ?? '' }), (req, res) => res.json({ ok: true }))
  app.get('/api/read', auth.requireToken({ scope: 'read' }), (req, res) => res.json({ clientId: req.iam.principal.clientId, scope: req.iam.principal.scope }))
  app.get('/api/write', auth.requireToken({ scope: ['write'] }), (req, res) => res.json({ ok: true }))
  if (withAdminRouter) {
    const admin = express.Router()
    const adminAuth = auth.forTenant('admin')
    admin.use(adminAuth.currentUser())
    admin.get('/me', (req, res) => res.json({ id: req.iam.session.identity.id, tenant: req.iam.tenant }))
    app.use('/admin', admin)
  }
  app.use(auth.errorHandler())
  return app
}

let iam, server, alice, bob, adminUser
const created = []

before(async () => {
  iam = Iam.fromConfig(iamConfig())
  server = await listen(buildApp(iam))
  alice = await register(iam, 'customer', 'express-alice')
  bob = await register(iam, 'customer', 'express-bob')
  adminUser = await register(iam, 'admin', 'express-admin')
  created.push(['customer', alice.id], ['customer', bob.id], ['admin', adminUser.id])
  // Roles live in metadata_public, which only the admin API writes.
  await iam.identity.patch(alice.id, [{ op: 'add', path: '/metadata_public', value: { roles: ['editor'] } }])
})

after(async () => {
  await server.close()
  for (const [t, id] of created) await iam.identity.forTenant(t).delete(id)
})

const get = (path, headers = {}) => fetch(server.url + path, { headers })

test('currentUser: 401 + WWW-Authenticate without or with bad credentials, 200 with a session', async () => {
  const challenges = [
    [{}, 'Bearer realm="customer", Cookie realm="customer"'],
    [{ cookie: 'ory_kratos_session_customer=bogus' }, 'Bearer realm="customer", Cookie realm="customer"'],
    [{ authorization: 'Bearer ory_st_notARealToken' }, 'Bearer realm="customer", error="invalid_token", Cookie realm="customer"'],
  ]
  for (const [headers, challenge] of challenges) {
    const r = await get('/me', headers)
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('www-authenticate'), challenge)
    const body = await r.json()
    assert.equal(body.error, 'unauthorized')
    assert.equal(body.statusCode, 401)
    assert.ok(Object.keys(body).every((k) => ['error', 'statusCode', 'requestId'].includes(k)), 'no message or upstream detail in the body')
  }
  const r = await get('/me', bearer(alice))
  assert.equal(r.status, 200)
  assert.deepEqual(await r.json(), { id: alice.id, tenant: 'customer' })
  const byHeader = await get('/me', { 'x-session-token': bob.token })
  assert.deepEqual(await byHeader.json(), { id: bob.id, tenant: 'customer' })
})

test('optionalUser: null without credentials, the session with them', async () => {
  assert.deepEqual(await (await get('/maybe')).json(), { id: null })
  assert.deepEqual(await (await get('/maybe', { authorization: 'Bearer ory_st_bogus' })).json(), { id: null })
  assert.deepEqual(await (await get('/maybe', bearer(bob))).json(), { id: bob.id })
})

test('requireRole: allowed with a role from metadata_public, 403 without, 401 anonymous', async () => {
  const ok = await get('/staff', bearer(alice))
  assert.equal(ok.status, 200)
  assert.deepEqual(await ok.json(), { id: alice.id })
  const denied = await get('/staff', bearer(bob))
  assert.equal(denied.status, 403)
  assert.equal((await denied.json()).error, 'forbidden')
  assert.equal((await get('/staff')).status, 401)
  // A custom role source replaces the default.
  const app = express()
  const auth = iamExpress(iam, { tenant: 'customer', roles: (s) => (s.identity.id === bob.id ? ['admin', 'editor'] : ['admin']) })
  app.get('/x', auth.requireRole('editor'), (req, res) => res.json({ ok: true }))
  app.get('/all', auth.requireRole('admin', 'editor', { match: 'all' }), (req, res) => res.json({ ok: true }))
  app.use(auth.errorHandler())
  const custom = await listen(app)
  try {
    assert.equal((await fetch(custom.url + '/x', { headers: bearer(bob) })).status, 200)
    assert.equal((await fetch(custom.url + '/x', { headers: bearer(alice) })).status, 403)
    assert.equal((await fetch(custom.url + '/all', { headers: bearer(bob) })).status, 200)
    assert.equal((await fetch(custom.url + '/all', { headers: bearer(alice) })).status, 403, 'match all: admin alone is not enough')
  } finally {
    await custom.close()
  }
})

test('requirePermission: 403 before the grant, 200 after, 403 after the revoke', async () => {
  const doc = `doc-${crypto.randomUUID()}`
  const tuple = { namespace: 'documents', object: doc, relation: 'edit', subject: alice.id }
  assert.equal((await get(`/docs/${doc}`, bearer(alice))).status, 403)
  await iam.permission.grant(tuple)
  try {
    const ok = await get(`/docs/${doc}`, bearer(alice))
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { edited: doc })
    assert.equal((await get(`/docs/${doc}`, bearer(bob))).status, 403, 'the grant is per subject')
    assert.equal((await get(`/docs/${doc}`)).status, 401)
    assert.equal((await get(`/docs-by-query?id=${doc}`, bearer(alice))).status, 200, 'resolves the session itself')
  } finally {
    await iam.permission.revoke(tuple)
  }
  assert.equal((await get(`/docs/${doc}`, bearer(alice))).status, 403)
  // An object the check cannot use is the caller's mistake: 400, not a pass.
  const bad = await get('/docs-by-query', bearer(alice))
  assert.equal(bad.status, 400)
  assert.equal((await bad.json()).error, 'validation')
})

test('tenant per router: the admin router accepts only admin-tenant sessions', async () => {
  const ok = await get('/admin/me', bearer(adminUser))
  assert.equal(ok.status, 200)
  assert.deepEqual(await ok.json(), { id: adminUser.id, tenant: 'admin' })
  const cross = await get('/admin/me', bearer(alice))
  assert.equal(cross.status, 401)
  assert.equal(cross.headers.get('www-authenticate'), 'Bearer realm="admin", error="invalid_token", Cookie realm="admin"')
  assert.equal((await get('/me', bearer(adminUser))).status, 401)
  // A tenant chosen per request.
  const app = express()
  const auth = iamExpress(iam, { tenant: (req) => req.get('x-tenant') || 'customer' })
  app.get('/who', auth.currentUser(), (req, res) => res.json({ tenant: req.iam.tenant }))
  app.use(auth.errorHandler())
  const dyn = await listen(app)
  try {
    assert.deepEqual(await (await fetch(dyn.url + '/who', { headers: { ...bearer(adminUser), 'x-tenant': 'admin' } })).json(), { tenant: 'admin' })
    assert.equal((await fetch(dyn.url + '/who', { headers: bearer(adminUser) })).status, 401)
  } finally {
    await dyn.close()
  }
})

// No retries, and a breaker that opens after two failures: a refused connection says nothing
// about when to come back (no Retry-After), an open breaker does.
const FAST_FAIL = { timeout_ms: 1000, retries: 0, breaker_threshold: 2, breaker_open_ms: 30000 }

test('Kratos unreachable: 503, never anonymous; Retry-After once the breaker knows', async () => {
  const cfg = iamConfig()
  cfg.tenants.customer.kratos.public_url = `http://127.0.0.1:${await closedPort()}/`
  cfg.tenants.customer.http = FAST_FAIL
  const down = await listen(buildApp(Iam.fromConfig(cfg), { withAdminRouter: false }))
  try {
    const first = await fetch(down.url + '/me', { headers: bearer(alice) })
    assert.equal(first.status, 503)
    assert.equal((await first.json()).error, 'upstream_unavailable')
    assert.equal(first.headers.get('retry-after'), null, 'a refused connection gives no hint')
    // optionalUser must not turn an outage into an anonymous request either (2nd failure: the breaker opens).
    assert.equal((await fetch(down.url + '/maybe', { headers: bearer(alice) })).status, 503)
    for (const p of ['/staff', '/me', '/maybe']) {
      const r = await fetch(down.url + p, { headers: bearer(alice) })
      assert.equal(r.status, 503, p)
      const secs = Number(r.headers.get('retry-after'))
      assert.ok(Number.isInteger(secs) && secs >= 1 && secs <= 30, `${p}: Retry-After ${secs}`)
    }
    // No credential needs no Kratos: optional is anonymous, required is 401.
    assert.deepEqual(await (await fetch(down.url + '/maybe')).json(), { id: null })
    assert.equal((await fetch(down.url + '/me')).status, 401)
  } finally {
    await down.close()
  }
})

test('Keto unreachable: 503, never allowed; `retryAfter` is the fallback hint', async () => {
  const cfg = iamConfig()
  const keto = `http://127.0.0.1:${await closedPort()}/`
  cfg.tenants.customer.keto = { read_url: keto, write_url: keto }
  cfg.tenants.customer.http = { timeout_ms: 1000, retries: 0 }
  const app = express()
  const auth = iamExpress(Iam.fromConfig(cfg), { tenant: 'customer', retryAfter: 7 })
  app.post('/docs/:id/edit', auth.requirePermission('documents', 'edit', { object: (req) => req.params.id }), (req, res) => res.json({ ok: true }))
  // A handler's own call: its IamError reaches errorHandler through next(err).
  const downIam = Iam.fromConfig(cfg)
  app.get('/raw/:id', auth.currentUser(), async (req, res, next) => {
    try {
      res.json({ allowed: await downIam.permission.check({ namespace: 'documents', object: req.params.id, relation: 'edit', subject: req.iam.session.identity.id }) })
    } catch (err) {
      next(err)
    }
  })
  app.use(auth.errorHandler())
  const down = await listen(app)
  const doc = `doc-${crypto.randomUUID()}`
  const tuple = { namespace: 'documents', object: doc, relation: 'edit', subject: alice.id }
  await iam.permission.grant(tuple) // allowed by the real Keto: a pass during the outage would be wrong
  try {
    assert.equal((await get(`/docs/${doc}`, bearer(alice))).status, 200)
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${down.url}/docs/${doc}/edit`, { method: 'POST', headers: bearer(alice) })
      assert.equal(r.status, 503)
      assert.equal(r.headers.get('retry-after'), '7')
      assert.equal((await r.json()).error, 'upstream_unavailable')
    }
    const raw = await fetch(`${down.url}/raw/${doc}`, { headers: bearer(alice) })
    assert.equal(raw.status, 503)
    assert.equal(raw.headers.get('retry-after'), '7')
  } finally {
    await iam.permission.revoke(tuple)
    await down.close()
  }
})

test('requireToken: Hydra client-credentials tokens, scopes, RFC 6750 challenges', async () => {
  const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read write' })
  try {
    const cfg = iamConfig()
    cfg.tenants.customer.hydra.client_id = client.clientId
    cfg.tenants.customer.hydra.client_secret = client.clientSecret.expose()
    const token = (await Iam.fromConfig(cfg).token.clientCredentials('read')).accessToken.expose()
    const ok = await get('/api/read', { authorization: `Bearer ${token}` })
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { clientId: client.clientId, scope: ['read'] })
    const scope = await get('/api/write', { authorization: `Bearer ${token}` })
    assert.equal(scope.status, 403)
    assert.equal(scope.headers.get('www-authenticate'), 'Bearer realm="customer", error="insufficient_scope", scope="write"')
    const none = await get('/api/read')
    assert.equal(none.status, 401)
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="customer"')
    const bad = await get('/api/read', { authorization: 'Bearer not-a-token' })
    assert.equal(bad.status, 401)
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer realm="customer", error="invalid_token"')
    // A session token is not an OAuth2 token.
    assert.equal((await get('/api/read', bearer(alice))).status, 401)
  } finally {
    await iam.oauth2Client.delete(client.clientId)
  }
})

test('errors never carry secrets; other errors pass through the handler', async () => {
  const r = await get('/me', { authorization: 'Bearer ory_st_secretLookingValue123' })
  const text = await r.text()
  assert.equal(r.status, 401)
  assert.ok(!text.includes('ory_st_secretLookingValue123'))
  const app = express()
  const auth = iamExpress(iam)
  app.get('/boom', () => {
    throw new Error('not ours')
  })
  app.use(auth.errorHandler())
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => res.status(418).json({ passed: err.message }))
  const s = await listen(app)
  try {
    const boom = await fetch(s.url + '/boom')
    assert.equal(boom.status, 418)
  } finally {
    await s.close()
  }
  assert.throws(() => iamExpress(iam, { tenant: 'nope' }), (e) => e.code === 'configuration')
  assert.throws(() => iamExpress(iam).requireRole(), TypeError)
  assert.throws(() => iamExpress(iam).requireRole('a', { match: 'most' }), TypeError)
})

test('testing: iamExpressTesting over a FakeOry (no servers)', async () => {
  const { FakeOry } = require('../../bindings-node/testing.js')
  const { iamExpressTesting } = require('../../bindings-node/express.js')
  const fake = new FakeOry({ tenants: ['customer', 'admin'] })
  const t = iamExpressTesting(fake, { tenant: 'customer' })
  const app = express()
  app.get('/me', t.auth.currentUser(), (req, res) => res.json({ id: req.iam.session.identity.id }))
  app.get('/staff', t.auth.requireRole('admin'), (req, res) => res.json({ ok: true }))
  app.get('/docs/:id', t.auth.requirePermission('documents', 'edit', { object: (req) => req.params.id }), (req, res) => res.json({ ok: true }))
  app.get('/api', t.auth.requireToken({ scope: 'read' }), (req, res) => res.json({ clientId: req.iam.principal.clientId }))
  app.use(t.auth.errorHandler())
  const s = await listen(app)
  const at = (p, headers = {}) => fetch(s.url + p, { headers })
  try {
    const boss = await t.loginAs({ traits: { email: 'boss@example.org' }, metadataPublic: { roles: ['admin'] } })
    const clerk = await t.loginAs({ traits: { email: 'clerk@example.org' } }, { kind: 'cookie' })
    assert.equal((await at('/me')).status, 401)
    assert.deepEqual(await (await at('/me', boss.headers)).json(), { id: boss.identityId })
    assert.deepEqual(await (await at('/me', clerk.headers)).json(), { id: clerk.identityId })
    assert.equal((await at('/staff', boss.headers)).status, 200)
    assert.equal((await at('/staff', clerk.headers)).status, 403)
    assert.equal((await at('/docs/d1', clerk.headers)).status, 403)
    await t.iam.permission.grant({ namespace: 'documents', object: 'd1', relation: 'edit', subject: clerk.identityId })
    assert.equal((await at('/docs/d1', clerk.headers)).status, 200)
    // Sessions of another tenant and expired sessions are refused.
    const other = await fake.iam.identity.forTenant('admin').create({ schemaId: 'admin', traits: { email: 'x@example.org' } })
    assert.equal((await at('/me', (await t.loginAs(other.id, { tenant: 'admin' })).headers)).status, 401)
    await fake.expireSession(boss.sessionId)
    assert.equal((await at('/me', boss.headers)).status, 401)
    // Tokens of the fake Hydra.
    fake.addOAuth2Client({ clientId: 'svc', clientSecret: 'svc-secret', scope: 'read write' })
    const reader = await t.bearerFor({ clientId: 'svc', scope: 'read' })
    assert.deepEqual(await (await at('/api', reader.headers)).json(), { clientId: 'svc' })
    const writer = await t.bearerFor({ clientId: 'svc', scope: 'write' })
    assert.equal((await at('/api', writer.headers)).status, 403)
  } finally {
    await s.close()
  }
})

// Issue 27, item 1: a prototype-pollution bug elsewhere in the app (here planted by hand) must not
// become an authentication bypass: the middleware keeps its per-request state in a private store,
// never reads an inherited `req.iam`, and still asks Kratos.
test('a polluted Object.prototype cannot plant a session', async () => {
  const forged = { tenant: 'customer', session: { identity: { id: 'victim' } }, principal: { clientId: 'victim' } }
  Object.prototype.iam = forged // eslint-disable-line no-extend-native
  Object.prototype.session = forged.session // eslint-disable-line no-extend-native
  try {
    const anonymous = await get('/me')
    assert.equal(anonymous.status, 401, 'an anonymous request became the victim')
    const own = await get('/me', bearer(bob))
    assert.equal(own.status, 200)
    assert.equal((await own.json()).id, bob.id, 'a user with a valid token became the victim')
    assert.equal((await get('/maybe')).status, 200)
    assert.equal(((await (await get('/maybe')).json()).id), null)
    assert.equal((await get('/api/read')).status, 401)
  } finally {
    delete Object.prototype.iam
    delete Object.prototype.session
  }
})

// Issue 27, item 4: an explicit transport narrows what the middleware accepts, not only the
// challenge; widening the tenant's transport fails at construction.
test('a bearer- or cookie-only middleware accepts only that credential', async () => {
  const { IamConfigurationError } = require('../../bindings-node/ory-iam.js')
  const app = express()
  const cookieOnly = iamExpress(iam, { tenant: 'customer', transport: 'cookie' })
  const bearerOnly = iamExpress(iam, { tenant: 'customer', transport: 'bearer' })
  app.get('/cookie-me', cookieOnly.currentUser(), (req, res) => res.json({ id: req.iam.session.identity.id }))
  app.get('/bearer-me', bearerOnly.currentUser(), (req, res) => res.json({ id: req.iam.session.identity.id }))
  app.use(cookieOnly.errorHandler())
  const s = await listen(app)
  try {
    const r1 = await fetch(s.url + '/cookie-me', { headers: bearer(bob) })
    assert.equal(r1.status, 401, 'a cookie-only route accepted a bearer token')
    assert.equal(r1.headers.get('www-authenticate'), 'Cookie realm="customer"')
    const r2 = await fetch(s.url + '/bearer-me', { headers: bearer(bob) })
    assert.equal(r2.status, 200)
    assert.equal((await r2.json()).id, bob.id)
  } finally {
    s.close()
  }
  const cfg = iamConfig()
  cfg.tenants.customer.transport = 'bearer'
  assert.throws(() => iamExpress(Iam.fromConfig(cfg), { tenant: 'customer', transport: 'cookie-or-bearer' }), IamConfigurationError)
})
