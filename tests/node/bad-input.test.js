'use strict'
// Bad input (issue 8), the same cases as tests/python/test_bad_input.py (tests/scenarios/
// bad_input.json): every public method fed wrong types, empty, 1 MiB and malformed values fails
// with the typed error of API.md and sends no request (the Iam under test points every Ory URL
// at the fault proxy, whose request counter must not move); bad configs are refused at
// construction; nothing is written half-way (checked against the real stack).
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { Iam, IamError, IamConfigurationError, IamNotFoundError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { stack, iamConfig, uniqueEmail, camel, registerSecret, ROOT } = require('./helpers.js')
const { FaultProxy } = require('../reliability/proxy.js')

const SCENARIOS = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'scenarios', 'bad_input.json'), 'utf8'))
const HUGE = 'a'.repeat(1 << 20)
const REPORT = path.join(ROOT, '.stack', 'reliability', 'bad_input.json')
const CLOUD_KEY = 'ory_pat_bad_input_project_key'
const WORKSPACE_KEY = 'ory_wak_bad_input_workspace_key'

const expand = (v) => {
  if (typeof v === 'string') return v.replaceAll('$huge', HUGE)
  if (Array.isArray(v)) return v.map(expand)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]))
  return v
}

function proxiedConfig(url) {
  const customer = structuredClone(stack().iam_config.tenants.customer)
  for (const product of ['kratos', 'keto', 'hydra']) {
    for (const k of Object.keys(customer[product])) if (k.endsWith('_url')) customer[product][k] = url
  }
  // One attempt, short timeout: a case that wrongly sends a request fails fast.
  customer.http = { timeout_ms: 2000, retries: 0 }
  registerSecret(CLOUD_KEY)
  registerSecret(WORKSPACE_KEY)
  const cloud = {
    mode: 'cloud',
    cloud: { project_slug: 'bad-input', api_key: CLOUD_KEY },
    console: { url, workspace_api_key: WORKSPACE_KEY },
    http: { timeout_ms: 2000, retries: 0 },
  }
  return { default_tenant: 'customer', tenants: { customer, cloud }, audit: { sink: 'log' } }
}

function writeReport(lang, section) {
  fs.mkdirSync(path.dirname(REPORT), { recursive: true })
  let doc = {}
  try {
    doc = JSON.parse(fs.readFileSync(REPORT, 'utf8'))
  } catch {}
  doc[lang] = section
  const parts = Object.values(doc).filter((s) => s && typeof s === 'object' && 'cases' in s)
  for (const k of ['cases', 'passed', 'failed']) doc[k] = parts.reduce((n, s) => n + s[k], 0)
  fs.writeFileSync(REPORT, JSON.stringify(doc, null, 1))
}

let proxy
before(async () => {
  proxy = await FaultProxy.start(stack().iam_config.tenants.customer.kratos.admin_url)
})
after(async () => {
  await proxy.stop()
})

async function runCase(iam, c) {
  const beforeCount = (await proxy.stats()).requests
  let problem = null
  try {
    let svc = iam[camel(c.service)]
    if (c.tenant) svc = svc.forTenant(c.tenant)
    let out
    if (c.iterate) {
      for await (out of svc[camel(c.call)](...expand(c.args))) break
    } else {
      out = await svc[camel(c.call)](...expand(c.args))
    }
    if (!c.returns_null) problem = `returned ${typeof out}, expected ${c.code}`
    else if (out !== null && out !== undefined) problem = `returned ${typeof out}, expected null`
  } catch (e) {
    if (!(e instanceof IamError)) problem = `threw ${e?.constructor?.name} (${e?.code}), not IamError`
    else if (c.returns_null) problem = `threw ${e.code}, expected null`
    else if (e.code !== c.code) problem = `threw ${e.code}, expected ${c.code}`
    else if (e.message.length > 4096 || JSON.stringify(e).includes(HUGE.slice(0, 256))) problem = 'the error echoes the input'
  }
  const sent = (await proxy.stats()).requests - beforeCount
  if (sent) problem = `${problem || 'ok'}; sent ${sent} request(s)`
  return problem
}

test('bad input sweep: typed errors, no request sent', async () => {
  const iam = Iam.fromConfig(proxiedConfig(proxy.url))
  const t0 = Date.now()
  const failures = []
  for (const c of SCENARIOS.cases) {
    const problem = await runCase(iam, c)
    if (problem) failures.push(`${c.name}: ${problem}`)
  }
  for (const c of SCENARIOS.configs) {
    const beforeCount = (await proxy.stats()).requests
    try {
      Iam.fromConfig(expand(c.config))
      failures.push(`${c.name}: config accepted`)
    } catch (e) {
      if (!(e instanceof IamConfigurationError)) failures.push(`${c.name}: threw ${e?.constructor?.name}`)
    }
    if ((await proxy.stats()).requests !== beforeCount) failures.push(`${c.name}: config construction sent a request`)
  }
  const total = SCENARIOS.cases.length + SCENARIOS.configs.length
  const sent = (await proxy.stats()).requests
  console.log(`bad input (node): ${total} cases, ${total - failures.length} passed, ${failures.length} failed, ${sent} requests reached the proxy, ${((Date.now() - t0) / 1000).toFixed(1)}s`)
  for (const f of failures) console.log(`  FAIL ${f}`)
  writeReport('node', { cases: total, passed: total - failures.length, failed: failures.length, requests_sent: sent, failures })
  assert.deepEqual(failures, [])
})

test('the proxy counts a valid request (so "no request sent" means something)', async () => {
  const iam = Iam.fromConfig(proxiedConfig(proxy.url))
  const beforeCount = (await proxy.stats()).requests
  await assert.rejects(iam.identity.get(crypto.randomUUID()), IamNotFoundError)
  assert.equal((await proxy.stats()).requests, beforeCount + 1)
})

test('JS-only wrong types are validation errors', async () => {
  const iam = Iam.fromConfig(iamConfig())
  for (const bad of [Symbol('x'), () => 1, 10n, new Date(0)]) {
    await assert.rejects(iam.identity.get(bad), IamValidationError)
  }
  await assert.rejects(iam.identity.create({ schemaId: 'customer', traits: { email: 10n } }), IamError)
})

test('a wrong argument type names the argument, never its value', async () => {
  const iam = Iam.fromConfig(iamConfig())
  const named = (name) => (e) => e instanceof IamValidationError && e.fields.length === 1 && e.fields[0].path === name && !e.message.includes('4242')
  await assert.rejects(iam.identity.get(4242), named('id'))
  await assert.rejects(iam.identity.updateTraits(crypto.randomUUID(), 4242), named('traits'))
  await assert.rejects(iam.courier.get(crypto.randomUUID(), 4242), named('options'))
  await assert.rejects(iam.schema.get(4242), named('id'))
  assert.throws(() => iam.identity.forTenant(4242), named('name'))
})

// --- Nothing written half-way (real Kratos)

test('a create Kratos rejects leaves no identity', async () => {
  const iam = Iam.fromConfig(iamConfig())
  const email = uniqueEmail('node-bad')
  const err = await iam.identity.create({ schemaId: 'customer', traits: { email, shoe_size: 44 } }).catch((e) => e)
  assert.ok(err instanceof IamValidationError)
  assert.equal(err.status, 400)
  const ok = await iam.identity.create({ schemaId: 'customer', traits: { email } })
  await iam.identity.delete(ok.id)
})

test('a patch with one bad op changes nothing', async () => {
  const iam = Iam.fromConfig(iamConfig())
  const email = uniqueEmail('node-patch')
  const ident = await iam.identity.create({ schemaId: 'customer', traits: { email, roles: ['a'] }, metadataPublic: { v: 1 } })
  try {
    const good = { op: 'replace', path: '/metadata_public/v', value: 2 }
    const local = await iam.identity.patch(ident.id, [good, { op: 'replace', path: '/schema_id', value: 'admin' }]).catch((e) => e)
    assert.ok(local instanceof IamValidationError)
    assert.equal(local.status, undefined)
    assert.ok(local.fields[0].path.startsWith('ops[1]'))
    const upstream = await iam.identity.patch(ident.id, [good, { op: 'replace', path: '/traits/email', value: 42 }]).catch((e) => e)
    assert.ok(upstream instanceof IamValidationError)
    assert.equal(upstream.status, 400)
    await assert.rejects(iam.identity.updateTraits(ident.id, { email: `moved-${email}`, shoe_size: 44 }), IamValidationError)
    const now = await iam.identity.getWithTraits(ident.id)
    assert.deepEqual(now.traits, { email, roles: ['a'] })
    assert.deepEqual(now.metadataPublic, { v: 1 })
  } finally {
    await iam.identity.delete(ident.id)
  }
})
