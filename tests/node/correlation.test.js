'use strict'
// X-Request-Id correlation: every Ory call made inside `runWithRequestId` carries the request's
// id, whichever service makes it and however many awaits/timers lie between; concurrent
// requests never see each other's id; outside a scope (or with an id that must not reach a log
// line) each request gets a fresh UUID.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { setTimeout: sleep } = require('node:timers/promises')
const { Iam, runWithRequestId, currentRequestId, requestIdFor } = require('../../bindings-node/ory-iam.js')
const { iamConfig } = require('./helpers.js')

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const MISSING = '9f425a8d-7efc-4768-8f23-7647a74fdf13'

/** A loopback server answering 404 to everything, recording each request's path and id. */
async function capture() {
  const seen = []
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url, id: req.headers['x-request-id'], tag: req.url.slice(-1) })
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":404}}')
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const at = `http://127.0.0.1:${server.address().port}/`
  const cfg = iamConfig()
  const t = cfg.tenants.customer
  Object.assign(t.kratos, { admin_url: at, public_url: at })
  t.keto.read_url = at
  t.hydra.admin_url = at
  t.http = { retries: 0 }
  return { seen, iam: Iam.fromConfig(cfg), close: () => server.close() }
}

test('every Ory call inside runWithRequestId carries the request id', async (t) => {
  const { seen, iam, close } = await capture()
  t.after(close)
  const rid = 'req-7f3a:checkout/42'
  const tuple = { namespace: 'documents', object: 'doc-1', relation: 'view', subject: MISSING }
  const out = await runWithRequestId(rid, async (id) => {
    assert.equal(id, rid)
    assert.equal(currentRequestId(), rid)
    await iam.identity.get(MISSING).catch(() => {})
    await sleep(5)
    await iam.permission.check(tuple).catch(() => {})
    await new Promise((r) => setTimeout(r, 5))
    await iam.oauth2Client.get('some-client').catch(() => {})
    await iam.session.whoami({ authorization: 'Bearer ory_st_x' }).catch(() => {})
    // A handle made inside the scope is not bound to it; its calls are, while inside.
    const other = iam.identity.forTenant('customer')
    await other.get(MISSING).catch(() => {})
    return other
  })
  assert.equal(seen.length, 5)
  for (const s of seen) assert.equal(s.id, rid, s.path)
  // Outside the scope: the kept handle sends a fresh UUID again, and so does everything else.
  await out.get(MISSING).catch(() => {})
  await iam.identity.get(MISSING).catch(() => {})
  assert.match(seen[5].id, UUID)
  assert.match(seen[6].id, UUID)
  assert.notEqual(seen[5].id, seen[6].id)
  assert.equal(currentRequestId(), undefined)
})

test('concurrent requests keep their own ids across interleaved awaits', async (t) => {
  const { seen, iam, close } = await capture()
  t.after(close)
  const one = (n) =>
    runWithRequestId(`req-${n}`, async () => {
      for (let i = 0; i < 3; i++) {
        await sleep((n * 7 + i * 3) % 5)
        await iam.identity.get(`9f425a8d-7efc-4768-8f23-00000000000${n}`).catch(() => {})
      }
    })
  await Promise.all([1, 2, 3, 4, 5, 6].map(one))
  assert.equal(seen.length, 18)
  for (const s of seen) assert.equal(s.id, `req-${s.tag}`)
})

test('an invalid incoming id is replaced, never sent', async (t) => {
  const { seen, iam, close } = await capture()
  t.after(close)
  for (const bad of ['', 'two words', 'a\r\nx-admin: 1', 'x'.repeat(201), undefined, null, ['from-array', 'second']]) {
    const id = await runWithRequestId(bad, async (id) => {
      await iam.identity.get(MISSING).catch(() => {})
      return id
    })
    const sent = seen[seen.length - 1].id
    assert.equal(sent, id)
    if (Array.isArray(bad)) assert.equal(id, 'from-array')
    else assert.match(id, UUID)
  }
  assert.equal(requestIdFor('ok-id'), 'ok-id')
  assert.throws(() => runWithRequestId('x', 'not a function'), TypeError)
})
