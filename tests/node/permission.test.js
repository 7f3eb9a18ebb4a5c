'use strict'
// PermissionService from Node against the real Keto.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const net = require('node:net')
const { Iam, IamConfigurationError, IamValidationError, IamUpstreamUnavailableError } = require('../../bindings-node/ory-iam.js')
const { FaultProxy, waitFor } = require('../reliability/proxy.js')
const { iamConfig, stack } = require('./helpers.js')

function make(ttl = 0) {
  const cfg = iamConfig()
  cfg.tenants.customer.cache = { permissionTtlMs: ttl }
  return Iam.fromConfig(cfg)
}
const obj = () => `doc-${crypto.randomUUID()}`

test('grant, check, revoke are idempotent', async () => {
  const p = make().permission
  const t = { namespace: 'documents', object: obj(), relation: 'view', subject: 'alice' }
  assert.equal(await p.check(t), false)
  await p.grant(t)
  await p.grant(t)
  assert.equal(await p.check(t), true)
  await p.revoke(t)
  await p.revoke(t)
  assert.equal(await p.check(t), false)
  await assert.rejects(p.check({ ...t, object: '' }), IamValidationError)
})

test('subject sets, expand, list paging', async () => {
  const p = make().permission
  const group = obj()
  const doc = obj()
  await p.grant({ namespace: 'groups', object: group, relation: 'member', subject: 'bob' })
  await p.grant({ namespace: 'documents', object: doc, relation: 'view', subject: { namespace: 'groups', object: group, relation: 'member' } })
  assert.equal(await p.check({ namespace: 'documents', object: doc, relation: 'view', subject: 'bob' }), true)
  const tree = await p.expand({ namespace: 'documents', object: doc, relation: 'view', maxDepth: 3 })
  assert.equal(tree.kind, 'union')
  assert.ok(JSON.stringify(tree).includes('bob'))
  for (let i = 0; i < 7; i++) await p.grant({ namespace: 'documents', object: doc, relation: 'edit', subject: `user-${i}` })
  const page = await p.list({ namespace: 'documents', object: doc, relation: 'edit', pageSize: 3 })
  assert.equal(page.items.length, 3)
  assert.ok(page.nextPageToken)
  const all = []
  for await (const t of p.listAll({ namespace: 'documents', object: doc, relation: 'edit', pageSize: 3 })) all.push(t.subject)
  assert.deepEqual(all.sort(), Array.from({ length: 7 }, (_, i) => `user-${i}`).sort())
})

test('checkBatch keeps order and isolates failures', async () => {
  const p = make().permission
  const doc = obj()
  const tuples = []
  for (let i = 0; i < 25; i++) {
    const t = { namespace: 'documents', object: doc, relation: 'view', subject: `u${i}` }
    if (i % 3 === 0) await p.grant(t)
    tuples.push(t)
  }
  tuples.splice(5, 0, { namespace: 'documents', object: doc, relation: '', subject: 'broken' })
  const results = await p.checkBatch(tuples)
  assert.equal(results.length, 26)
  results.forEach((r, i) => {
    if (i === 5) return assert.ok(!r.allowed && r.error)
    const n = i < 5 ? i : i - 1
    assert.equal(r.allowed, n % 3 === 0)
    assert.ok(r.error == null)
  })
})

test('decision cache and fresh', async () => {
  const cached = make(60000).permission
  const other = make().permission
  const t = { namespace: 'documents', object: obj(), relation: 'view', subject: 'carol' }
  assert.equal(await cached.check(t), false)
  await other.grant(t)
  assert.equal(await cached.check(t), false, 'cached decision')
  assert.equal(await cached.check(t, { fresh: true }), true)
  await cached.revoke(t)
  assert.equal(await cached.check(t), false)
  await cached.grant(t)
  assert.equal(await cached.check(t), true)
})

test('Keto down never reads as allowed', async () => {
  const srv = net.createServer()
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const port = srv.address().port
  await new Promise((r) => srv.close(r))
  const cfg = iamConfig()
  cfg.tenants.customer.keto.read_url = `http://127.0.0.1:${port}/`
  cfg.tenants.customer.http = { retries: 1, backoff_base_ms: 10 }
  const p = Iam.fromConfig(cfg).permission
  const t = { namespace: 'documents', object: 'd', relation: 'view', subject: 'alice' }
  await assert.rejects(p.check(t), IamUpstreamUnavailableError)
  assert.ok((await p.checkBatch([t, t])).every((r) => !r.allowed && r.error))
})

// (requests to the batch endpoint, all requests) the proxy forwarded to Keto.
async function batchRequests(proxy) {
  return [await proxy.requests('batch/check'), await proxy.requests()]
}

test('keto batchSize within and beyond the server limit', async () => {
  const limit = stack().keto.max_batch_check_size
  const doc = obj()
  const tuples = Array.from({ length: limit + 5 }, (_, i) => ({ namespace: 'documents', object: doc, relation: 'view', subject: `u${i}` }))
  const writer = make().permission
  for (let i = 0; i < tuples.length; i += 3) await writer.grant(tuples[i])
  const expect = tuples.map((_, i) => i % 3 === 0)
  const proxy = await FaultProxy.start(stack().keto.read_url)
  try {
    const cfg = iamConfig()
    Object.assign(cfg.tenants.customer.keto, { read_url: proxy.url, batchSize: limit })
    let results = await Iam.fromConfig(cfg).permission.checkBatch(tuples)
    assert.deepEqual(results.map((r) => r.allowed), expect)
    assert.ok(results.every((r) => r.error == null))
    assert.deepEqual(await batchRequests(proxy), [2, 2], 'one full batch and the 5 left over')

    // Above the server's limit Keto answers 400: the same answers come from single checks.
    await proxy.reset()
    cfg.tenants.customer.keto.batchSize = limit + 1
    results = await Iam.fromConfig(cfg).permission.checkBatch(tuples.slice(0, limit + 1))
    assert.deepEqual(results.map((r) => r.allowed), expect.slice(0, limit + 1))
    assert.ok(results.every((r) => r.error == null))
    assert.deepEqual(await batchRequests(proxy), [1, limit + 2])
  } finally {
    await proxy.stop()
  }
})

test('keto batchSize is validated', () => {
  for (const bad of [0, 65536, -1, 'ten']) {
    const cfg = iamConfig()
    cfg.tenants.customer.keto.batchSize = bad
    assert.throws(
      () => Iam.fromConfig(cfg),
      (e) => e instanceof IamConfigurationError && e.fields.map((f) => f.path).join() === 'tenants.customer.keto.batch_size',
    )
  }
})

test('checkBatch caches and audits like check', async () => {
  const doc = obj()
  const tuples = Array.from({ length: 12 }, (_, i) => ({ namespace: 'documents', object: doc, relation: 'view', subject: `u${i}` }))
  const writer = make().permission
  for (let i = 0; i < tuples.length; i += 3) await writer.grant(tuples[i])
  // Keto reports an error for a tuple in a namespace it does not know.
  tuples.push({ namespace: 'no-such-namespace', object: 'o', relation: 'view', subject: 'u0' })
  const expect = tuples.map((_, i) => i < 12 && i % 3 === 0)
  const events = []
  const count = (name) => events.filter((e) => e.name === name).length
  const proxy = await FaultProxy.start(stack().keto.read_url)
  try {
    const cfg = iamConfig()
    cfg.tenants.customer.keto.read_url = proxy.url
    cfg.tenants.customer.cache = { permissionTtlMs: 60000 }
    cfg.audit = { sink: 'callback' }
    const p = Iam.fromConfig(cfg, (e) => events.push(e)).permission
    const first = await p.checkBatch(tuples)
    assert.deepEqual(first.map((r) => r.allowed), expect)
    assert.ok(first.slice(0, 12).every((r) => r.error == null) && first[12].error)
    assert.deepEqual(await batchRequests(proxy), [2, 2])
    assert.notEqual(await waitFor(() => count('authz.permission.deny') === 8 && count('authz.upstream_unavailable') === 1), null)

    // Cached for checkBatch and check alike; only the failed tuple is asked again.
    const second = await p.checkBatch(tuples)
    assert.deepEqual(second.map((r) => r.allowed), expect)
    assert.equal(await p.check(tuples[1]), false)
    assert.deepEqual(await batchRequests(proxy), [3, 3])
    assert.notEqual(await waitFor(() => count('authz.upstream_unavailable') === 2), null)
    assert.equal(count('authz.permission.deny'), 8)
  } finally {
    await proxy.stop()
  }
})

test('a revoke invalidates cached answers derived through subject sets; a string subject is an id', async () => {
  const p = make(60000).permission
  const [group, doc, bob] = [obj(), obj(), `bob-${crypto.randomUUID()}`]
  const member = { namespace: 'groups', object: group, relation: 'member', subject: bob }
  const via = { namespace: 'documents', object: doc, relation: 'view', subject: { namespace: 'groups', object: group, relation: 'member' } }
  await p.grant(member)
  await p.grant(via)
  const q = { namespace: 'documents', object: doc, relation: 'view', subject: bob }
  assert.equal(await p.check(q), true)
  await p.revoke(member)
  assert.equal(await p.check(q), false, 'the cached allow outlived the revoke')
  await p.grant(member)
  assert.equal(await p.check({ ...q, subject: `groups:${group}#member` }), false, 'a string subject was read as a subject set')
  await p.revoke(member)
  await p.revoke(via)
})
