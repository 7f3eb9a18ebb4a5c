'use strict'
// Path safety (issue 19, item 2), the same cases as core/tests/security_paths.rs and
// tests/python/test_security_paths.py (tests/security/hostile_ids.json): ids that go into URL
// paths never reach another endpoint. Every Ory URL of the Iam under test points at the fault
// proxy armed to answer 404 to everything: it records each request's raw path, forwards none.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Iam, IamError } = require('../../bindings-node/ory-iam.js')
const { stack, camel, ROOT } = require('./helpers.js')
const { FaultProxy } = require('../reliability/proxy.js')

const CASES = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'security', 'hostile_ids.json'), 'utf8'))

const place = (v, id) => {
  if (v === '$id') return id
  if (Array.isArray(v)) return v.map((x) => place(x, id))
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, place(x, id)]))
  return v
}

function capturedConfig(url) {
  const customer = structuredClone(stack().iam_config.tenants.customer)
  for (const product of ['kratos', 'keto', 'hydra']) {
    for (const k of Object.keys(customer[product])) if (k.endsWith('_url')) customer[product][k] = url
  }
  customer.http = { timeout_ms: 2000, retries: 0 }
  return { default_tenant: 'customer', tenants: { customer }, audit: { sink: 'none' } }
}

let proxy
before(async () => {
  proxy = await FaultProxy.start(stack().iam_config.tenants.customer.kratos.admin_url)
  await proxy.fault('status', { status: 404 })
})
after(async () => {
  await proxy.stop()
})

async function call(iam, m, id) {
  try {
    await iam[camel(m.service)][camel(m.call)](...place(m.args, id))
  } catch (e) {
    if (!(e instanceof IamError)) throw e
    return e
  }
  return null
}

function staysInPlace(p, m, id) {
  if (!p.startsWith(m.prefix)) return false
  let rest = p.slice(m.prefix.length)
  const suffix = m.suffix || ''
  if (suffix) {
    if (!rest.endsWith(suffix)) return false
    rest = rest.slice(0, rest.length - suffix.length)
  }
  return !rest.includes('/') && decodeURIComponent(rest) === id
}

test('hostile ids stay one segment of their own endpoint', async () => {
  const iam = Iam.fromConfig(capturedConfig(proxy.url))
  const failures = []
  for (const m of CASES.methods) {
    for (const id of CASES.hostile) {
      const beforePaths = (await proxy.stats()).by_path
      await call(iam, m, id)
      const afterPaths = (await proxy.stats()).by_path
      const sent = Object.keys(afterPaths).filter((p) => afterPaths[p] !== (beforePaths[p] || 0))
      if (sent.length === 0) failures.push(`${m.service}.${m.call}(${JSON.stringify(id)}): no request`)
      for (const p of sent) if (!staysInPlace(p, m, id)) failures.push(`${m.service}.${m.call}(${JSON.stringify(id)}) sent ${p}`)
    }
  }
  assert.deepEqual(failures, [])
})

test('ids no server can hold are refused locally', async () => {
  const iam = Iam.fromConfig(capturedConfig(proxy.url))
  const failures = []
  for (const m of CASES.methods) {
    for (const id of CASES.refused) {
      const beforeCount = (await proxy.stats()).requests
      const e = await call(iam, m, id)
      if (!e || e.code !== 'validation' || !e.fields?.length) failures.push(`${m.service}.${m.call}(${JSON.stringify(id)}): ${e ? e.code : 'accepted'}`)
      if ((await proxy.stats()).requests !== beforeCount) failures.push(`${m.service}.${m.call}(${JSON.stringify(id)}) sent a request`)
    }
  }
  assert.deepEqual(failures, [])
})
