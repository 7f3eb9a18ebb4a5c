'use strict'
// ory-iam/express with the semantics an ory-nestjs user expects (issue 23), against the real
// stack over loopback HTTP: req.user / req.session (left alone when express-session or Passport
// own them), machine principals (scopes as roles, Keto on the client id), the subject rule, the
// 400 of an object that resolves to nothing, roles from metadata then traits, `authz.role.deny`,
// and the health route.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const express = require('express')
const { Iam, rolesOf } = require('../../bindings-node/ory-iam.js')
const { iamExpress, iamHealth } = require('../../bindings-node/express.js')
const { iamConfig, closedPort, registerUser, machineClient } = require('./helpers.js')

async function listen(app) {
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const url = `http://127.0.0.1:${server.address().port}`
  return { url, get: (p, headers = {}) => fetch(url + p, { headers }), close: () => new Promise((r) => server.close(r)) }
}
const bearer = (u) => ({ authorization: `Bearer ${u.token}` })

// What a handler sees on req.user / req.session.
const shape = (req, res) => {
  const u = req.user
  res.json({
    id: u && u.id !== undefined ? u.id : null,
    clientId: u && u.clientId !== undefined ? u.clientId : null,
    session: req.session && req.session.id !== undefined ? req.session.id : null,
    same: !!req.iam && req.session === req.iam.session,
    adminMetadataShown: !!u && 'metadataAdmin' in u,
  })
}

function buildApp(iam, options = {}) {
  const app = express()
  const auth = iamExpress(iam, { tenant: 'customer', ...options })
  app.get('/me', auth.currentUser(), shape)
  app.get('/maybe', auth.optionalUser(), shape)
  app.get('/admin', auth.requireRole('admin'), shape)
  app.get('/doc', auth.requirePermission('documents', 'edit', { object: (req) => req.query.doc }), shape)
  app.get('/machine', auth.requireToken({ scope: 'read' }), shape)
  app.get('/machine/role', auth.requireToken({ scope: 'read' }), auth.requireRole('read'), shape)
  app.get('/machine/admin', auth.requireToken({ scope: 'read' }), auth.requireRole('admin'), shape)
  app.get('/machine/doc/:id', auth.requireToken({ scope: 'read' }), auth.requirePermission('documents', 'edit', { object: (req) => req.params.id }), shape)
  // Another middleware owns req.session / req.user (express-session, Passport): left alone.
  app.get(
    '/owned',
    (req, res, next) => {
      req.session = { cookie: {}, id: 'express-session-id' }
      req.user = { passport: true }
      next()
    },
    auth.currentUser(),
    (req, res) => res.json({ session: req.session.id, user: req.user, iamSession: req.iam.session.identity.id }),
  )
  app.get('/health', auth.health())
  app.use(auth.errorHandler())
  return app
}

let iam, srv, alice, bob, client, machineToken
const created = []

before(async () => {
  iam = Iam.fromConfig(iamConfig())
  srv = await listen(buildApp(iam))
  alice = await registerUser(iam, 'customer', 'exs-alice')
  bob = await registerUser(iam, 'customer', 'exs-bob')
  created.push(alice.id, bob.id)
  await iam.identity.patch(alice.id, [{ op: 'add', path: '/metadata_public', value: { roles: ['admin'] } }])
  ;({ client, token: machineToken } = await machineClient(iam))
})

after(async () => {
  await srv.close()
  for (const id of created) await iam.identity.delete(id)
  await iam.oauth2Client.delete(client.clientId)
})

test('req.user is the identity without admin metadata, req.session the session (= req.iam.session); null on an anonymous optional route', async () => {
  await iam.identity.patch(bob.id, [{ op: 'add', path: '/metadata_admin', value: { note: 'admin only' } }])
  const body = await (await srv.get('/me', bearer(bob))).json()
  assert.equal(body.id, bob.id)
  assert.ok(body.session)
  assert.equal(body.same, true)
  assert.equal(body.adminMetadataShown, false)
  const none = await (await srv.get('/maybe')).json()
  assert.deepEqual([none.id, none.session], [null, null])
})

test("req.session / req.user owned by another middleware (express-session, Passport) are left alone; req.iam has ory-iam's", async () => {
  const r = await srv.get('/owned', bearer(bob))
  assert.equal(r.status, 200)
  assert.deepEqual(await r.json(), { session: 'express-session-id', user: { passport: true }, iamSession: bob.id })
})

test('machine principals: req.user is the principal, scopes act as roles, Keto checks the client id', async () => {
  const tok = { authorization: `Bearer ${machineToken}` }
  const body = await (await srv.get('/machine', tok)).json()
  assert.deepEqual([body.clientId, body.id, body.session], [client.clientId, null, null])
  assert.equal((await srv.get('/machine/role', tok)).status, 200)
  assert.equal((await srv.get('/machine/admin', tok)).status, 403)
  const doc = `doc-${crypto.randomUUID()}`
  const grant = { namespace: 'documents', object: doc, relation: 'edit', subject: client.clientId }
  assert.equal((await srv.get(`/machine/doc/${doc}`, tok)).status, 403)
  await iam.permission.grant(grant)
  try {
    assert.equal((await srv.get(`/machine/doc/${doc}`, tok)).status, 200)
  } finally {
    await iam.permission.revoke(grant)
  }
})

test("an object resolver that yields nothing is a 400 (validation, field 'object') before Keto is asked", async () => {
  const downKeto = iamConfig()
  const keto = `http://127.0.0.1:${await closedPort()}/`
  downKeto.tenants.customer.keto = { read_url: keto, write_url: keto }
  downKeto.tenants.customer.http = { timeout_ms: 1000, retries: 0 }
  const down = Iam.fromConfig(downKeto)
  const s = await listen(buildApp(down))
  try {
    for (const server of [srv, s]) {
      for (const q of ['', '?doc=']) {
        const r = await server.get(`/doc${q}`, bearer(bob))
        assert.equal(r.status, 400, q)
        const body = await r.json()
        assert.equal(body.error, 'validation')
        assert.deepEqual(body.fields.map((f) => f.path), ['object'])
      }
    }
    assert.equal((await s.get('/doc?doc=x', bearer(bob))).status, 503)
  } finally {
    await s.close()
    await down.close()
  }
})

test('the subject rule: default the bare id; `(id) => `user:${id}`` for ory-nestjs data', async () => {
  const doc = `doc-${crypto.randomUUID()}`
  const prefixed = { namespace: 'documents', object: doc, relation: 'edit', subject: `user:${bob.id}` }
  const s = await listen(buildApp(iam, { subject: (id) => `user:${id}` }))
  await iam.permission.grant(prefixed)
  try {
    assert.equal((await s.get(`/doc?doc=${doc}`, bearer(bob))).status, 200)
    assert.equal((await srv.get(`/doc?doc=${doc}`, bearer(bob))).status, 403)
  } finally {
    await iam.permission.revoke(prefixed)
    await s.close()
  }
  assert.throws(() => iamExpress(iam, { subject: 'user:' }), TypeError)
})

test('roles: metadata only by default, the ory-nestjs rule (metadata, else traits) on request; a denial is audited as authz.role.deny with the route pattern', async () => {
  const events = []
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback' }
  const audited = Iam.fromConfig(cfg, (e) => events.push(e))
  const s = await listen(buildApp(audited))
  const nest = await listen(buildApp(iam, { roles: (x) => rolesOf(x.identity.metadataPublic, x.identity.traits) }))
  const self = await registerUser(iam, 'customer', 'exs-traits', { roles: ['admin'] })
  created.push(self.id)
  try {
    assert.equal((await s.get('/admin', bearer(self))).status, 403, 'self-written traits.roles never count by default')
    assert.equal((await nest.get('/admin', bearer(self))).status, 200, 'opted in: traits.roles while metadata names none')
    await iam.identity.patch(self.id, [{ op: 'add', path: '/metadata_public', value: { roles: [] } }])
    assert.equal((await nest.get('/admin', bearer(self))).status, 403, 'metadata (even empty) beats traits')
    const deny = events.filter((e) => e.name === 'authz.role.deny')
    assert.deepEqual(
      deny.map((e) => [e.result, e.tenant, e.actor, e.attributes.route, e.attributes.roles]),
      [['denied', 'customer', self.id, 'GET /admin', ['admin']]],
    )
  } finally {
    await s.close()
    await nest.close()
    await audited.close()
  }
})

test('health route: 200 up / 503 down, tenant → product → up|down, no URL or reason', async () => {
  const r = await srv.get('/health')
  assert.equal(r.status, 200)
  const body = await r.json()
  assert.equal(body.status, 'up')
  assert.equal(body.tenants.customer['kratos-public'], 'up')
  const down = iamConfig()
  down.tenants.customer.kratos.public_url = `http://127.0.0.1:${await closedPort()}/`
  const d = Iam.fromConfig(down)
  const app = express()
  app.get('/health', iamHealth(d))
  const s = await listen(app)
  try {
    const bad = await s.get('/health')
    assert.equal(bad.status, 503)
    const text = await bad.text()
    const b = JSON.parse(text)
    assert.equal(b.status, 'down')
    assert.equal(b.tenants.customer['kratos-public'], 'down')
    assert.equal(b.tenants.customer['keto-read'], 'up')
    assert.ok(!/https?:|127\.0\.0\.1|refused/i.test(text), 'names only')
    await d.close()
    const closed = await s.get('/health')
    assert.equal(closed.status, 503, 'a closed Iam is not ready')
  } finally {
    await s.close()
  }
})
