'use strict'
// ory-iam/nestjs as an ory-nestjs user expects it (issue 23): protected by default (global
// guards, @Public, @Anonymous, the start-up list of public routes), forRootAsync in its three
// forms, req.user / req.session and @CurrentUser / @CurrentSession, stacked permissions, the
// module's Keto subject rule, machine principals, the 400 of an object that resolves to nothing,
// roles from metadata (traits on request), `authz.role.deny`, and IamHealthIndicator. Real HTTP
// (loopback), real stack; the app is nestjs-app.ts, compiled with its type errors.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
require('reflect-metadata')
const { NestFactory } = require('@nestjs/core')
const { Iam, rolesOf } = require('../../bindings-node/ory-iam.js')
const nest = require('../../bindings-node/nestjs.js')
const { compileTs } = require('./nestjs-compile.js')
const { iamConfig, closedPort, registerUser, machineClient } = require('./helpers.js')

const bearer = (u) => ({ authorization: `Bearer ${u.token}` })

async function serve(mod, logger = false) {
  const app = await NestFactory.create(mod, { logger })
  await app.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`
  return { url, app, get: (p, headers = {}) => fetch(url + p, { headers }), close: () => app.close() }
}

let appTs, iam, srv, alice, bob, client, machineToken
const created = []

before(async () => {
  appTs = compileTs(path.join(__dirname, 'nestjs-app.ts'))
  iam = Iam.fromConfig(iamConfig())
  srv = await serve(appTs.defaultModule({ iam, tenant: 'customer' }))
  alice = await registerUser(iam, 'customer', 'nestd-alice')
  bob = await registerUser(iam, 'customer', 'nestd-bob')
  created.push(alice.id, bob.id)
  await iam.identity.patch(alice.id, [{ op: 'add', path: '/metadata_public', value: { roles: ['admin'] } }])
  ;({ client, token: machineToken } = await machineClient(iam))
})

after(async () => {
  await srv.close()
  for (const id of created) await iam.identity.delete(id)
  await iam.oauth2Client.delete(client.clientId)
})

test('protected by default: routes without guards need a session; @Public opens one; a class @Public does not beat a handler role', async () => {
  for (const p of ['/d/plain', '/service', '/d/admin', `/d/two/a/b`]) {
    const r = await srv.get(p)
    assert.equal(r.status, 401, p)
    assert.equal((await r.json()).error, 'unauthorized', p)
    assert.ok(r.headers.get('www-authenticate'), `${p}: the challenge`)
  }
  assert.equal((await srv.get('/d/plain', { authorization: 'Bearer ory_st_bogus' })).status, 401)
  assert.equal((await srv.get('/service', bearer(bob))).status, 200)
  const open = await srv.get('/d/open')
  assert.equal(open.status, 200)
  assert.equal((await open.json()).id, null)
  assert.equal((await srv.get('/d-open')).status, 200)
  assert.equal((await srv.get('/d-open/admin')).status, 401)
  assert.equal((await srv.get('/d-open/admin', bearer(bob))).status, 403)
  assert.equal((await srv.get('/d-open/admin', bearer(alice))).status, 200)
  assert.equal((await srv.get('/d/admin', bearer(bob))).status, 403)
  assert.equal((await srv.get('/d/admin', bearer(alice))).status, 200)
})

test('global: false registers no guard: the same routes are open', async () => {
  const s = await serve(appTs.defaultModule({ iam, tenant: 'customer', global: false }))
  try {
    assert.equal((await s.get('/service')).status, 200)
    assert.equal((await s.get('/d/admin')).status, 200)
  } finally {
    await s.close()
  }
})

test('request shape: req.user is the identity (no admin metadata), req.session the session; @CurrentUser / @CurrentSession', async () => {
  await iam.identity.patch(bob.id, [{ op: 'add', path: '/metadata_admin', value: { note: 'admin only' } }])
  const r = await srv.get('/d/plain', bearer(bob))
  assert.equal(r.status, 200)
  const body = await r.json()
  assert.equal(body.id, bob.id)
  assert.equal(body.user, bob.id)
  assert.equal(body.tenant, 'customer')
  assert.ok(body.session && body.session === body.sessionOfDecorator)
  assert.equal(body.sameSession, true)
  assert.equal(body.adminMetadataShown, false)
})

test('@Anonymous: the session when there is one, null otherwise, never 401; its route requirements still hold; an outage is a 503', async () => {
  const none = await (await srv.get('/d/maybe')).json()
  assert.deepEqual([none.id, none.user, none.session], [null, null, null])
  assert.equal((await (await srv.get('/d/maybe', { authorization: 'Bearer ory_st_bogus' })).json()).user, null)
  const some = await (await srv.get('/d/maybe', bearer(bob))).json()
  assert.deepEqual([some.id, some.user], [bob.id, bob.id])
  assert.equal((await srv.get('/d/maybe-admin')).status, 401)
  assert.equal((await srv.get('/d/maybe-admin', bearer(bob))).status, 403)
  assert.equal((await srv.get('/d/maybe-admin', bearer(alice))).status, 200)
  const down = iamConfig()
  down.tenants.customer.kratos.public_url = `http://127.0.0.1:${await closedPort()}/`
  down.tenants.customer.http = { timeout_ms: 1000, retries: 0 }
  const s = await serve(appTs.defaultModule({ config: down, tenant: 'customer' }))
  try {
    const r = await s.get('/d/maybe', bearer(bob))
    assert.equal(r.status, 503, 'never anonymous on an outage')
    assert.equal((await r.json()).error, 'upstream_unavailable')
    assert.equal((await s.get('/d/maybe')).status, 200, 'no credential: nothing to ask Kratos')
  } finally {
    await s.close()
  }
})

test('forRootAsync: useFactory, useClass and useExisting (with imports), each protected by default; global: false from the factory or statically', async () => {
  for (const form of ['useFactory', 'useClass', 'useExisting']) {
    const s = await serve(appTs.asyncDefaultModule(iamConfig(), form))
    try {
      assert.equal((await s.get('/service')).status, 401, form)
      const ok = await s.get('/service', bearer(alice))
      assert.equal(ok.status, 200, form)
      assert.equal((await ok.json()).tenant, 'customer', form)
    } finally {
      await s.close()
    }
    const open = await serve(appTs.asyncDefaultModule(iamConfig(), form, false))
    try {
      assert.equal((await open.get('/service')).status, 200, `${form}, global: false`)
    } finally {
      await open.close()
    }
  }
  assert.throws(() => nest.IamModule.forRootAsync({}), TypeError)
  assert.throws(() => nest.IamModule.forRootAsync({ useFactory: () => ({}), useClass: class {} }), TypeError)
})

test('start-up: outside production, one warning lists the @Public() routes (not those a handler requirement closes)', async () => {
  const warnings = []
  const logger = { log() {}, error() {}, verbose() {}, debug() {}, warn: (m, ctx) => warnings.push({ m: String(m), ctx }) }
  const saved = process.env.NODE_ENV
  try {
    delete process.env.NODE_ENV
    const s = await serve(appTs.defaultModule({ iam, tenant: 'customer' }), logger)
    await s.close()
    const mine = warnings.filter((w) => w.m.includes('@Public()'))
    assert.equal(mine.length, 1)
    const routes = mine[0].m
    for (const r of ['DefaultController.open', 'DefaultController.outageCheck', 'OpenDefaultController.list']) assert.ok(routes.includes(r), r)
    for (const r of ['OpenDefaultController.admin', 'DefaultController.maybe', 'DefaultController.plain']) assert.ok(!routes.includes(r), r)
    warnings.length = 0
    process.env.NODE_ENV = 'production'
    const p = await serve(appTs.defaultModule({ iam, tenant: 'customer' }), logger)
    await p.close()
    assert.equal(warnings.filter((w) => w.m.includes('@Public()')).length, 0)
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = saved
  }
})

test('permissions: stacked specs are ANDed under the global guards; an object that resolves to nothing is a 400 without asking Keto', async () => {
  const [a, b] = [`doc-${crypto.randomUUID()}`, `doc-${crypto.randomUUID()}`]
  const t = (object) => ({ namespace: 'documents', object, relation: 'edit', subject: bob.id })
  await iam.permission.grant(t(a))
  try {
    assert.equal((await srv.get(`/d/two/${a}/${b}`, bearer(bob))).status, 403, 'one of two is not enough')
    await iam.permission.grant(t(b))
    assert.equal((await srv.get(`/d/two/${a}/${b}`, bearer(bob))).status, 200)
  } finally {
    await iam.permission.revoke(t(a))
    await iam.permission.revoke(t(b))
  }
  const downKeto = iamConfig()
  const keto = `http://127.0.0.1:${await closedPort()}/`
  downKeto.tenants.customer.keto = { read_url: keto, write_url: keto }
  downKeto.tenants.customer.http = { timeout_ms: 1000, retries: 0 }
  const s = await serve(appTs.defaultModule({ config: downKeto, tenant: 'customer' }))
  try {
    for (const q of ['', '?doc=']) {
      for (const server of [srv, s]) {
        const r = await server.get(`/d/doc${q}`, bearer(bob))
        assert.equal(r.status, 400, `/d/doc${q}: ${server === s ? 'Keto down, yet never asked' : 'Keto up'}`)
        const body = await r.json()
        assert.equal(body.error, 'validation')
        assert.deepEqual(body.fields.map((f) => f.path), ['object'])
      }
    }
    assert.equal((await s.get('/d/doc?doc=x', bearer(bob))).status, 503, 'with an object, the outage shows')
  } finally {
    await s.close()
  }
})

test("the module's subject rule: default the bare identity id; `(id) => `user:${id}`` matches ory-nestjs data", async () => {
  const doc = `doc-${crypto.randomUUID()}`
  const prefixed = { namespace: 'documents', object: doc, relation: 'edit', subject: `user:${bob.id}` }
  const s = await serve(appTs.defaultModule({ iam, tenant: 'customer', subject: (id) => `user:${id}` }))
  await iam.permission.grant(prefixed)
  try {
    assert.equal((await s.get(`/d/doc?doc=${doc}`, bearer(bob))).status, 200)
    assert.equal((await srv.get(`/d/doc?doc=${doc}`, bearer(bob))).status, 403, 'the default subject is the bare id')
  } finally {
    await iam.permission.revoke(prefixed)
    await s.close()
  }
  assert.throws(() => appTs.defaultModule({ iam, subject: 'user:' }), TypeError)
})

test('machine principals: a token route takes the OAuth2 token (req.user = the principal), scopes act as roles, Keto checks the client id', async () => {
  const tok = { authorization: `Bearer ${machineToken}` }
  const r = await srv.get('/d/machine', tok)
  assert.equal(r.status, 200)
  const body = await r.json()
  assert.deepEqual([body.principal, body.clientId, body.id, body.session], [client.clientId, client.clientId, null, null])
  assert.equal((await srv.get('/d/machine', bearer(bob))).status, 401, 'a session token is not an OAuth2 token')
  assert.equal((await srv.get('/d/machine')).status, 401)
  assert.deepEqual(await (await srv.get('/d/machine-role', tok)).json(), { clientId: client.clientId })
  assert.equal((await srv.get('/d/machine-admin', tok)).status, 403)
  const doc = `doc-${crypto.randomUUID()}`
  const grant = { namespace: 'documents', object: doc, relation: 'edit', subject: client.clientId }
  assert.equal((await srv.get(`/d/machine-doc/${doc}`, tok)).status, 403)
  await iam.permission.grant(grant)
  try {
    assert.equal((await srv.get(`/d/machine-doc/${doc}`, tok)).status, 200)
  } finally {
    await iam.permission.revoke(grant)
  }
})

test('roles: metadata_public.roles only by default; the ory-nestjs rule (metadata, else traits) on request; a denial is audited as authz.role.deny', async () => {
  const events = []
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback' }
  const s = await serve(appTs.defaultModule({ config: cfg, onAudit: (e) => events.push(e), tenant: 'customer' }))
  const opted = await serve(appTs.defaultModule({ config: iamConfig(), tenant: 'customer', roles: (x) => rolesOf(x.identity.metadataPublic, x.identity.traits) }))
  const self = await registerUser(iam, 'customer', 'nestd-traits', { roles: ['admin', 'editor'] })
  created.push(self.id)
  try {
    assert.equal((await s.get('/d/admin', bearer(self))).status, 403, 'self-written traits.roles never count by default')
    assert.equal((await opted.get('/d/admin', bearer(self))).status, 200, 'opted in: traits.roles while metadata names none')
    assert.equal((await opted.get('/d/admin-editor', bearer(self))).status, 200)
    await iam.identity.patch(self.id, [{ op: 'add', path: '/metadata_public', value: { roles: [] } }])
    assert.equal((await opted.get('/d/admin', bearer(self))).status, 403, 'metadata_public.roles (even empty) beats self-service traits')
    await iam.identity.patch(self.id, [{ op: 'replace', path: '/metadata_public', value: { roles: ['editor'] } }])
    assert.equal((await opted.get('/d/admin-editor', bearer(self))).status, 403, 'traits never add to metadata')
    assert.equal((await s.get('/d/admin-editor', bearer(self))).status, 403)
    const deny = events.filter((e) => e.name === 'authz.role.deny')
    assert.equal(deny.length, 2)
    assert.deepEqual(
      deny.map((e) => [e.result, e.tenant, e.actor, e.attributes.route, e.attributes.roles]),
      [
        ['denied', 'customer', self.id, 'DefaultController.admin', ['admin']],
        ['denied', 'customer', self.id, 'DefaultController.adminEditor', ['admin', 'editor']],
      ],
    )
    events.length = 0
    assert.equal((await s.get('/d/machine-admin', { authorization: `Bearer ${machineToken}` })).status, 403)
    const m = events.find((e) => e.name === 'authz.role.deny')
    assert.equal(m.actor, client.clientId)
    assert.ok(!JSON.stringify(events).includes(machineToken))
  } finally {
    await opted.close()
    await s.close()
  }
})

test('IamHealthIndicator: Terminus-shaped up result; HealthCheckError with the down result as causes; names only', async () => {
  const s = await serve(appTs.defaultModule({ iam, tenant: 'customer' }))
  try {
    const up = await s.app.get(nest.IamHealthIndicator).isHealthy('ory')
    assert.equal(up.ory.status, 'up')
    assert.deepEqual(Object.keys(up.ory.tenants).sort(), ['admin', 'customer'])
    assert.equal(up.ory.tenants.customer['kratos-public'], 'up')
    assert.deepEqual(Object.keys(await s.app.get(nest.IamHealthIndicator).isHealthy()), ['ory-iam'])
  } finally {
    await s.close()
  }
  const down = iamConfig()
  down.tenants.customer.keto = { read_url: `http://127.0.0.1:${await closedPort()}/`, write_url: down.tenants.customer.keto.write_url }
  const d = await serve(appTs.defaultModule({ config: down, tenant: 'customer' }))
  try {
    const err = await d.app.get(nest.IamHealthIndicator).isHealthy('ory').then(
      () => assert.fail('a down Keto is not healthy'),
      (e) => e,
    )
    assert.equal(err.isHealthCheckError, true)
    assert.equal(err.causes.ory.status, 'down')
    assert.equal(err.causes.ory.tenants.customer['keto-read'], 'down')
    assert.equal(err.causes.ory.tenants.customer['kratos-public'], 'up')
    assert.ok(!/https?:|127\.0\.0\.1/.test(JSON.stringify(err.causes)), 'no URL')
  } finally {
    await d.close()
  }
})

test('IamTestingModule follows the module default: protected unless global: false', async () => {
  const { FakeOry } = require('../../bindings-node/testing.js')
  const fake = new FakeOry({ tenants: ['customer', 'admin'] })
  const app = (await appTs.testingModule(fake, true).compile()).createNestApplication({ logger: false })
  await app.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`
  try {
    assert.equal((await fetch(`${url}/d/plain`)).status, 401)
    const u = await nest.loginAs(fake, { traits: { email: 'x@example.org' } })
    const body = await (await fetch(`${url}/d/plain`, { headers: u.headers })).json()
    assert.equal(body.id, u.identityId)
  } finally {
    await app.close()
  }
})
