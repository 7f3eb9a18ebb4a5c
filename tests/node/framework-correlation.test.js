'use strict'
// Correlation in the framework adapters (issue 23, item 6): Express middleware and NestJS guards
// serve each request inside runWithRequestId(its X-Request-Id), so the guard's whoami and the
// handler's own Ory calls (Kratos admin, Keto) all carry it, and the response echoes it. Each
// Ory API is reached through a recording pass-through proxy in front of the real stack.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const path = require('node:path')
const express = require('express')
require('reflect-metadata')
const { NestFactory } = require('@nestjs/core')
const { Iam } = require('../../bindings-node/ory-iam.js')
const { iamExpress, iamRequestId } = require('../../bindings-node/express.js')
const { compileTs } = require('./nestjs-compile.js')
const { iamConfig, registerUser } = require('./helpers.js')

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A pass-through proxy to `target` recording each request's path and X-Request-Id. */
async function recorder(target) {
  const up = new URL(target)
  const seen = []
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url, id: req.headers['x-request-id'] })
    const fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: up.pathname.replace(/\/$/, '') + req.url, headers: { ...req.headers, host: up.host } }, (r) => {
      res.writeHead(r.statusCode, r.headers)
      r.pipe(res)
    })
    fwd.on('error', () => res.writeHead(502).end())
    req.pipe(fwd)
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${server.address().port}/`, seen, close: () => new Promise((r) => server.close(r)) }
}

let proxies, iam, user, appTs
const take = () => Object.fromEntries(Object.entries(proxies).map(([k, p]) => [k, p.seen.splice(0).map((s) => s.id)]))

before(async () => {
  const cfg = iamConfig()
  const t = cfg.tenants.customer
  proxies = { kratosPublic: await recorder(t.kratos.public_url), kratosAdmin: await recorder(t.kratos.admin_url), ketoRead: await recorder(t.keto.read_url) }
  t.kratos.public_url = proxies.kratosPublic.url
  t.kratos.admin_url = proxies.kratosAdmin.url
  t.keto.read_url = proxies.ketoRead.url
  iam = Iam.fromConfig(cfg)
  user = await registerUser(iam, 'customer', 'correlation')
  appTs = compileTs(path.join(__dirname, 'nestjs-app.ts'))
})

after(async () => {
  await iam.identity.delete(user.id)
  await iam.close()
  for (const p of Object.values(proxies)) await p.close()
})

async function expectCorrelated(get) {
  const auth = { authorization: `Bearer ${user.token}` }
  for (const [incoming, kept] of [
    ['req-7f3a:checkout/42', true],
    [undefined, false],
    ['bad id with spaces', false],
    ['x'.repeat(201), false],
  ]) {
    take()
    const r = await get({ ...auth, ...(incoming === undefined ? {} : { 'x-request-id': incoming }) })
    assert.equal(r.status, 200, String(incoming))
    const echoed = r.headers.get('x-request-id')
    if (kept) assert.equal(echoed, incoming)
    else assert.match(echoed, UUID, `${incoming}: replaced by a new UUID`)
    const seen = take()
    // The guard's whoami, and the handler's own Kratos admin and Keto calls.
    assert.deepEqual(seen, { kratosPublic: [echoed], kratosAdmin: [echoed], ketoRead: [echoed] }, String(incoming))
  }
  // Concurrent requests never see each other's id.
  take()
  const ids = Array.from({ length: 6 }, (_, i) => `concurrent-${i}`)
  const answers = await Promise.all(ids.map((id) => get({ ...auth, 'x-request-id': id })))
  assert.deepEqual(answers.map((r) => r.headers.get('x-request-id')), ids)
  const seen = take()
  for (const k of Object.keys(seen)) assert.deepEqual([...seen[k]].sort(), [...ids].sort(), k)
}

test('Express: the middleware and the handler after it make every Ory call with the request id, echoed', async () => {
  const app = express()
  const auth = iamExpress(iam, { tenant: 'customer' })
  app.get('/ory-calls', auth.currentUser(), async (req, res, next) => {
    try {
      await iam.identity.get(req.user.id)
      await iam.permission.check({ namespace: 'documents', object: 'correlation', relation: 'edit', subject: req.user.id })
      res.json({ ok: true })
    } catch (e) {
      next(e)
    }
  })
  app.use(auth.errorHandler())
  const server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s))
  })
  try {
    await expectCorrelated((headers) => fetch(`http://127.0.0.1:${server.address().port}/ory-calls`, { headers }))
  } finally {
    await new Promise((r) => server.close(r))
  }
})

test('Express: iamRequestId() alone correlates a route without other ory-iam middleware', async () => {
  const app = express()
  app.use(iamRequestId())
  app.get('/plain', async (req, res) => {
    await iam.identity.get(user.id)
    res.json({ ok: true })
  })
  const server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s))
  })
  try {
    take()
    const r = await fetch(`http://127.0.0.1:${server.address().port}/plain`, { headers: { 'x-request-id': 'plain-1' } })
    assert.equal(r.headers.get('x-request-id'), 'plain-1')
    assert.deepEqual(take().kratosAdmin, ['plain-1'])
  } finally {
    await new Promise((r) => server.close(r))
  }
})

test('NestJS: the global guards and IamRequestIdInterceptor make every Ory call with the request id, echoed', async () => {
  const app = await NestFactory.create(appTs.defaultModule({ iam, tenant: 'customer' }), { logger: false })
  await app.listen(0, '127.0.0.1')
  try {
    const url = `http://127.0.0.1:${app.getHttpServer().address().port}/d/ory-calls`
    await expectCorrelated((headers) => fetch(url, { headers }))
  } finally {
    await app.close()
  }
})
