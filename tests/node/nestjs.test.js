'use strict'
// ory-iam/nestjs over real HTTP (loopback) against the real stack. The app (nestjs-app.ts) is
// TypeScript with decorators, compiled here by the repo's TypeScript (type errors fail the test).
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
require('reflect-metadata')
const { NestFactory } = require('@nestjs/core')
const { Iam } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail, closedPort, registerUser } = require('./helpers.js')

const PASSWORD = 'a-Long-and-unique-passphrase-42'
const APP_TS = path.join(__dirname, 'nestjs-app.ts')
const { compileTs } = require('./nestjs-compile.js')
const compileApp = () => compileTs(APP_TS)

async function serve(mod) {
  const app = await NestFactory.create(mod, { logger: false })
  await app.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`
  return { url, app, get: (p, headers = {}) => fetch(url + p, { headers }), close: () => app.close() }
}

const register = registerUser
const bearer = (u) => ({ authorization: `Bearer ${u.token}` })

let appTs, iam, srv, alice, bob, adminUser
const created = []

before(async () => {
  appTs = compileApp()
  iam = Iam.fromConfig(iamConfig())
  srv = await serve(appTs.appModule({ iam, tenant: 'customer' }))
  alice = await register(iam, 'customer', 'nest-alice')
  bob = await register(iam, 'customer', 'nest-bob')
  adminUser = await register(iam, 'admin', 'nest-admin')
  created.push(['customer', alice.id], ['customer', bob.id], ['admin', adminUser.id])
  await iam.identity.patch(alice.id, [{ op: 'add', path: '/metadata_public', value: { roles: ['admin'] } }])
})

after(async () => {
  await srv.close()
  for (const [t, id] of created) await iam.identity.forTenant(t).delete(id)
})

test('SessionGuard: 401 + WWW-Authenticate without a session, the session with one; @Public bypasses', async () => {
  const challenges = [
    [{}, 'Bearer realm="customer", Cookie realm="customer"'],
    [{ cookie: 'ory_kratos_session_customer=bogus' }, 'Bearer realm="customer", Cookie realm="customer"'],
    [{ authorization: 'Bearer ory_st_bogus' }, 'Bearer realm="customer", error="invalid_token", Cookie realm="customer"'],
  ]
  for (const [headers, challenge] of challenges) {
    const r = await srv.get('/me', headers)
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('www-authenticate'), challenge)
    assert.equal((await r.json()).error, 'unauthorized')
  }
  const r = await srv.get('/me', bearer(alice))
  assert.equal(r.status, 200)
  assert.deepEqual(await r.json(), { id: alice.id, tenant: 'customer' })
  assert.deepEqual(await (await srv.get('/me/identity-id', bearer(bob))).json(), { id: bob.id })
  // A browser session: Kratos's cookie from a browser registration flow.
  const flow = await iam.flow.initiateRegistration({ kind: 'browser' })
  const csrf = flow.setCookie.map((c) => c.expose().split(';')[0]).join('; ')
  const reg = await iam.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email: uniqueEmail('nest-cookie') } }, { cookie: csrf, csrfToken: flow.csrfToken })
  assert.equal(reg.kind, 'success')
  created.push(['customer', reg.identity.id])
  const cookie = reg.setCookie.map((c) => c.expose().split(';')[0]).join('; ')
  assert.deepEqual(await (await srv.get('/me', { cookie })).json(), { id: reg.identity.id, tenant: 'customer' })
  const open = await srv.get('/me/public')
  assert.equal(open.status, 200)
  assert.deepEqual(await open.json(), { ok: true, session: null })
})

test('OptionalSessionGuard: null without credentials, the session with them', async () => {
  assert.deepEqual(await (await srv.get('/maybe')).json(), { id: null })
  assert.deepEqual(await (await srv.get('/maybe', { authorization: 'Bearer ory_st_bogus' })).json(), { id: null })
  assert.deepEqual(await (await srv.get('/maybe', bearer(bob))).json(), { id: bob.id })
})

test('RoleGuard + @RequireRole: allowed with the role, 403 without, routes without roles open to sessions', async () => {
  assert.equal((await srv.get('/staff', bearer(alice))).status, 200)
  const denied = await srv.get('/staff', bearer(bob))
  assert.equal(denied.status, 403)
  assert.equal((await denied.json()).error, 'forbidden')
  assert.equal((await srv.get('/staff')).status, 401)
  assert.equal((await srv.get('/staff/anyone', bearer(bob))).status, 200)
  // { match: 'all' }: admin alone is not enough, admin + editor is.
  assert.equal((await srv.get('/staff/all', bearer(alice))).status, 403)
  await iam.identity.patch(alice.id, [{ op: 'replace', path: '/metadata_public', value: { roles: ['admin', 'editor'] } }])
  try {
    assert.equal((await srv.get('/staff/all', bearer(alice))).status, 200)
  } finally {
    await iam.identity.patch(alice.id, [{ op: 'replace', path: '/metadata_public', value: { roles: ['admin'] } }])
  }
})

test('PermissionGuard + @RequirePermission: 403 before the grant, 200 after, 403 after the revoke', async () => {
  const doc = `doc-${crypto.randomUUID()}`
  const tuple = { namespace: 'documents', object: doc, relation: 'edit', subject: bob.id }
  assert.equal((await srv.get(`/docs/${doc}`, bearer(bob))).status, 403)
  await iam.permission.grant(tuple)
  try {
    const ok = await srv.get(`/docs/${doc}`, bearer(bob))
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { edited: doc })
    assert.equal((await srv.get(`/docs/${doc}`, bearer(alice))).status, 403)
    assert.equal((await srv.get(`/docs/${doc}`)).status, 401)
    assert.deepEqual(await (await srv.get(`/docs/${doc}/check`, bearer(bob))).json(), { allowed: true })
  } finally {
    await iam.permission.revoke(tuple)
  }
  assert.equal((await srv.get(`/docs/${doc}`, bearer(bob))).status, 403)
})

test('@Tenant("admin") on a controller: only admin-tenant sessions', async () => {
  const ok = await srv.get('/admin/me', bearer(adminUser))
  assert.equal(ok.status, 200)
  assert.deepEqual(await ok.json(), { id: adminUser.id, tenant: 'admin' })
  const cross = await srv.get('/admin/me', bearer(alice))
  assert.equal(cross.status, 401)
  assert.equal(cross.headers.get('www-authenticate'), 'Bearer realm="admin", error="invalid_token", Cookie realm="admin"')
  assert.equal((await srv.get('/me', bearer(adminUser))).status, 401)
})

test('OAuth2Guard + @RequireScope with a real Hydra client-credentials token', async () => {
  const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read write' })
  try {
    const cfg = iamConfig()
    cfg.tenants.customer.hydra.client_id = client.clientId
    cfg.tenants.customer.hydra.client_secret = client.clientSecret.expose()
    const token = (await Iam.fromConfig(cfg).token.clientCredentials('read')).accessToken.expose()
    const ok = await srv.get('/api/read', { authorization: `Bearer ${token}` })
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { clientId: client.clientId, scope: ['read'] })
    const scope = await srv.get('/api/write', { authorization: `Bearer ${token}` })
    assert.equal(scope.status, 403)
    assert.equal(scope.headers.get('www-authenticate'), 'Bearer realm="customer", error="insufficient_scope", scope="write"')
    const none = await srv.get('/api/read')
    assert.equal(none.status, 401)
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="customer"')
    const bad = await srv.get('/api/read', { authorization: 'Bearer not-a-token' })
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer realm="customer", error="invalid_token"')
    assert.equal((await srv.get('/api/read', bearer(alice))).status, 401, 'a session token is not an OAuth2 token')
  } finally {
    await iam.oauth2Client.delete(client.clientId)
  }
})

test('outages fail closed: 503 + Retry-After from guards and from IamExceptionFilter; @Public still answers', async () => {
  const down = iamConfig()
  down.tenants.customer.kratos.public_url = `http://127.0.0.1:${await closedPort()}/`
  // A breaker that opens after two failures: from then on it knows how long (Retry-After).
  down.tenants.customer.http = { timeout_ms: 1000, retries: 0, breaker_threshold: 2, breaker_open_ms: 30000 }
  const downKeto = iamConfig()
  const keto = `http://127.0.0.1:${await closedPort()}/`
  downKeto.tenants.customer.keto = { read_url: keto, write_url: keto }
  downKeto.tenants.customer.http = { timeout_ms: 1000, retries: 0 }
  const a = await serve(appTs.appModule({ config: down, tenant: 'customer' }))
  const b = await serve(appTs.appModule({ config: downKeto, tenant: 'customer', retryAfter: 7 }))
  const doc = `doc-${crypto.randomUUID()}`
  const tuple = { namespace: 'documents', object: doc, relation: 'edit', subject: bob.id }
  await iam.permission.grant(tuple) // the real Keto allows it: a pass during the outage would be wrong
  try {
    const first = await a.get('/me', bearer(bob))
    assert.equal(first.status, 503)
    assert.equal(first.headers.get('retry-after'), null, 'a refused connection gives no hint')
    assert.equal((await a.get('/maybe', bearer(bob))).status, 503, 'never anonymous')
    for (const p of ['/staff', '/me', '/maybe']) {
      const r = await a.get(p, bearer(bob))
      assert.equal(r.status, 503, p)
      const secs = Number(r.headers.get('retry-after'))
      assert.ok(Number.isInteger(secs) && secs >= 1 && secs <= 30, `${p}: Retry-After ${secs}`)
      assert.equal((await r.json()).error, 'upstream_unavailable', p)
    }
    // Keto down: never allowed, from the guard and from a handler's own check (IamExceptionFilter).
    for (const p of [`/docs/${doc}`, `/docs/${doc}/check`]) {
      const r = await b.get(p, bearer(bob))
      assert.equal(r.status, 503, p)
      assert.equal(r.headers.get('retry-after'), '7', `${p}: the module's retryAfter is the fallback`)
      assert.equal((await r.json()).error, 'upstream_unavailable', p)
    }
    assert.equal((await a.get('/me/public', bearer(bob))).status, 200)
    assert.deepEqual(await (await a.get('/maybe')).json(), { id: null })
  } finally {
    await iam.permission.revoke(tuple)
    await a.close()
    await b.close()
  }
})

test('forRootAsync with injected config, SessionGuard as APP_GUARD, IamService injection', async () => {
  const s = await serve(appTs.asyncGlobalGuardModule(iamConfig()))
  try {
    const anon = await s.get('/service')
    assert.equal(anon.status, 401, 'the global guard protects every route')
    const ok = await s.get('/service', bearer(alice))
    assert.equal(ok.status, 200)
    const body = await ok.json()
    assert.equal(body.tenant, 'customer')
    assert.deepEqual([...body.tenants].sort(), ['admin', 'customer'])
    assert.equal((await s.get('/me/public')).status, 200, '@Public opts out of the global guard')
  } finally {
    await s.close()
  }
  assert.throws(() => appTs.appModule({ iam, tenant: 'nope' }), (e) => e.code === 'configuration')
})

test('testing: IamTestingModule over a FakeOry with Test.createTestingModule (no servers)', async () => {
  const { FakeOry } = require('../../bindings-node/testing.js')
  const { FAKE_ORY, loginAs, bearerFor } = require('../../bindings-node/nestjs.js')
  const fake = new FakeOry({ tenants: ['customer', 'admin'] })
  const moduleRef = await appTs.testingModule(fake).compile()
  assert.equal(moduleRef.get(FAKE_ORY), fake)
  const app = moduleRef.createNestApplication({ logger: false })
  await app.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`
  const at = (p, headers = {}) => fetch(url + p, { headers })
  try {
    const boss = await loginAs(fake, { traits: { email: 'boss@example.org' }, metadataPublic: { roles: ['editor'] } })
    const clerk = await loginAs(fake, { traits: { email: 'clerk@example.org' } }, { kind: 'sessionToken' })
    assert.equal((await at('/me')).status, 401)
    assert.deepEqual(await (await at('/me', boss.headers)).json(), { id: boss.identityId, tenant: 'customer' })
    assert.equal((await at('/staff', boss.headers)).status, 200)
    assert.equal((await at('/staff', clerk.headers)).status, 403)
    assert.equal((await at('/docs/d1', clerk.headers)).status, 403)
    await fake.iam.permission.grant({ namespace: 'documents', object: 'd1', relation: 'edit', subject: clerk.identityId })
    assert.equal((await at('/docs/d1', clerk.headers)).status, 200)
    const admin = await fake.iam.identity.forTenant('admin').create({ schemaId: 'admin', traits: { email: 'a@example.org' } })
    const adminLogin = await loginAs(fake, admin.id, { tenant: 'admin' })
    assert.deepEqual(await (await at('/admin/me', adminLogin.headers)).json(), { id: admin.id, tenant: 'admin' })
    assert.equal((await at('/admin/me', boss.headers)).status, 401)
    fake.addOAuth2Client({ clientId: 'svc', clientSecret: 'svc-secret', scope: 'read write' })
    const reader = await bearerFor(fake, { clientId: 'svc', scope: 'read' })
    assert.deepEqual(await (await at('/api/read', reader.headers)).json(), { clientId: 'svc', scope: ['read'] })
    assert.equal((await at('/api/write', reader.headers)).status, 403)
  } finally {
    await app.close()
  }
})

// Issue 27, item 2: class and handler requirements combine; a class-level @Public() does not
// open a handler that asks for a role.
test('guard composition: class + handler roles and stacked permissions all hold; class @Public() does not beat a handler requirement', async () => {
  const setRoles = (roles) => iam.identity.patch(alice.id, [{ op: 'replace', path: '/metadata_public', value: { roles } }])
  try {
    await setRoles(['editor'])
    assert.equal((await srv.get('/compose/editor', bearer(alice))).status, 403, "the handler's role replaced the class's")
    await setRoles(['admin', 'editor'])
    assert.equal((await srv.get('/compose/editor', bearer(alice))).status, 200)
    const [a, b] = [`doc-${crypto.randomUUID()}`, `doc-${crypto.randomUUID()}`]
    const t = (object) => ({ namespace: 'documents', object, relation: 'edit', subject: alice.id })
    await iam.permission.grant(t(a))
    try {
      assert.equal((await srv.get(`/compose/two/${a}/${b}`, bearer(alice))).status, 403, 'a stacked permission was dropped')
      await iam.permission.grant(t(b))
      assert.equal((await srv.get(`/compose/two/${a}/${b}`, bearer(alice))).status, 200)
    } finally {
      await iam.permission.revoke(t(a))
      await iam.permission.revoke(t(b))
    }
  } finally {
    await setRoles(['admin'])
  }
  assert.equal((await srv.get('/open-class')).status, 200)
  assert.equal((await srv.get('/open-class/admin')).status, 401, "a class-level @Public() opened a handler's @RequireRole")
  assert.equal((await srv.get('/open-class/admin', bearer(bob))).status, 403)
  assert.equal((await srv.get('/open-class/admin', bearer(alice))).status, 200)
})

test('SessionGuard behind the stack\'s real Oathkeeper (verifier jwt): the JWT is the identity', async () => {
  const { stack } = require('./helpers.js')
  const ok = stack().oathkeeper
  const user = await register(iam, 'customer', 'nest-oathkeeper')
  created.push(['customer', user.id])
  const echo = await (await fetch(`${ok.proxy_url}bearer/anything`, { headers: bearer(user) })).json()
  const cfg = iamConfig()
  cfg.tenants.customer.transport = 'oathkeeper'
  cfg.tenants.customer.oathkeeper = { verifier: 'jwt', jwks: { url: ok.jwks_url }, audience: ok.audience, issuer: ok.issuer }
  const edge = Iam.fromConfig(cfg)
  const behind = await serve(appTs.appModule({ iam: edge, tenant: 'customer' }))
  try {
    const r = await behind.get('/me', { authorization: echo.headers.authorization })
    assert.equal(r.status, 200)
    assert.deepEqual(await r.json(), { id: user.id, tenant: 'customer' })
    assert.equal((await behind.get('/me', bearer(user))).status, 401, 'a Kratos token is not an Oathkeeper JWT')
    assert.equal((await behind.get('/me')).status, 401)
  } finally {
    await behind.close()
    await edge.close()
  }
})
