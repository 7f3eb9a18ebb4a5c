'use strict'
// A cloud tenant end to end through one Ory Network project host (tests/network/emulator.py in
// front of the stack's Kratos, Keto and Hydra, strict to the Network API document): every
// service, the session cookie named after the slug, health() and version(), a wrong key, and what
// the host saw of the key. Same scenario as core/tests/ory_network.rs and
// tests/python/test_ory_network.py.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const readline = require('node:readline')
const { spawn } = require('node:child_process')
const { Iam, IamUnauthorizedError } = require('../../bindings-node/ory-iam.js')
const { stack, uniqueEmail, registerSecret, PASSWORD, ROOT } = require('./helpers.js')

const SLUG = 'ory-iam-emulated'

async function startNetwork(t) {
  const key = `ory_pat_emulated_${crypto.randomUUID().replaceAll('-', '')}`
  registerSecret(key)
  const record = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ory-network-')), 'requests.jsonl')
  const child = spawn(process.env.PYTHON || 'python3', [
    path.join(ROOT, 'tests', 'network', 'emulator.py'), '--key', key, '--slug', SLUG, '--record', record,
  ], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => child.kill())
  const [line] = await new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', (l) => resolve([l])))
  const hello = JSON.parse(line)
  return {
    key,
    url: hello.url,
    cookieName: hello.cookie_name,
    config(apiKey, client) {
      const tenant = {
        mode: 'cloud',
        cloud: { projectSlug: SLUG, apiKey },
        // The project's custom domain: Keto and Hydra follow it.
        kratos: { publicUrl: hello.url },
        http: { timeoutMs: 15000, retries: 2, backoffBaseMs: 10 },
      }
      if (client) tenant.hydra = { publicUrl: hello.url, adminUrl: hello.url, clientId: client[0], clientSecret: client[1] }
      return { tenants: { cloud: tenant }, audit: { sink: 'log' } }
    },
    requests: () => fs.readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
  }
}

// Documented operations only; the key only in Authorization, only where required.
function assertKeyDiscipline(requests) {
  assert.ok(requests.length > 0)
  for (const r of requests) {
    assert.ok(r.operation !== null, JSON.stringify(r))
    if (r.key_required) assert.ok(r.key_in.every((p) => p === 'header:authorization'), JSON.stringify(r))
    else assert.deepEqual(r.key_in, [], JSON.stringify(r))
  }
}

const cookies = (setCookie) =>
  setCookie.map((sc) => sc.expose().split(';')[0]).filter((p) => p.slice(p.indexOf('=') + 1)).join('; ')

test('every service of a cloud tenant through one project host', async (t) => {
  const net = await startNetwork(t)
  const iam = Iam.fromConfig(net.config(net.key))

  const created = await iam.identity.create({ schemaId: 'customer', traits: { email: uniqueEmail('node-cloud') } })
  assert.equal((await iam.identity.get(created.id)).id, created.id)

  // Sessions: the project's cookie, found under the name derived from the slug.
  const flow = await iam.flow.initiateRegistration({ kind: 'browser' })
  const user = uniqueEmail('node-cloud-browser')
  const res = await iam.flow.submitRegistration(
    flow.id,
    { method: 'password', password: PASSWORD, traits: { email: user } },
    { cookie: cookies(flow.setCookie), csrfToken: flow.csrfToken },
  )
  assert.equal(res.kind, 'success')
  const cookie = cookies(res.setCookie)
  assert.ok(cookie.split('; ').some((p) => p.startsWith(`${net.cookieName}=`)))
  const session = await iam.session.whoami({ headers: { cookie } })
  assert.equal(session.identity.traits.email, user)
  assert.ok((await iam.identity.listSessions(session.identity.id)).items.length > 0)

  // Permissions.
  const tuple = { namespace: 'documents', object: `doc-${crypto.randomUUID()}`, relation: 'view', subject: 'alice' }
  await iam.permission.grant(tuple)
  assert.equal(await iam.permission.check(tuple), true)
  const batch = await iam.permission.checkBatch([tuple, { ...tuple, subject: 'bob' }])
  assert.deepEqual(batch.map((r) => r.allowed), [true, false])
  await iam.permission.revoke(tuple)
  assert.equal(await iam.permission.check(tuple), false)

  // OAuth2 clients and tokens.
  const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read' })
  const withClient = Iam.fromConfig(net.config(net.key, [client.clientId, client.clientSecret.expose()]))
  const tokens = await withClient.token.clientCredentials('read')
  assert.equal((await withClient.token.introspect(tokens.accessToken)).active, true)
  const p = await withClient.token.authenticate({ headers: { authorization: `Bearer ${tokens.accessToken.expose()}` } })
  assert.equal(p.clientId, client.clientId)
  await withClient.token.revoke(tokens.accessToken)

  // JWKs and the published keys.
  const set = `ory-iam-cloud-${crypto.randomUUID()}`
  assert.equal((await iam.jwk.createSet(set, { alg: 'ES256', use: 'sig' })).keys.length, 1)
  await iam.jwk.deleteSet(set)
  assert.ok((await iam.metadata.discoverJwks()).keys.length > 0)

  // Schemas.
  assert.ok((await iam.schema.list()).some((s) => s.id === 'customer'))

  // version(): Kratos's; Keto's and Hydra's unknown, with the reason.
  const v = await iam.metadata.version()
  assert.equal(v.kratos, stack().versions.kratos)
  assert.equal(v.keto ?? null, null)
  assert.equal(v.hydra ?? null, null)
  assert.deepEqual(v.unknown.map((u) => [u.product, u.reason]), [
    ['keto', 'not_published_by_ory_network'],
    ['hydra', 'not_published_by_ory_network'],
  ])

  // health(): documented operations only, healthy, no false version warnings.
  const h = await iam.health()
  assert.ok(h.healthy, JSON.stringify(h))
  assert.deepEqual(h.probes.map((x) => x.product), ['kratos-public', 'kratos-admin', 'keto-read', 'hydra-public', 'hydra-admin'])
  assert.ok(!h.warnings.some((w) => w.includes('major version')))

  await iam.oauth2Client.delete(client.clientId)
  await iam.identity.delete(created.id)
  await iam.identity.delete(session.identity.id)

  const seen = net.requests()
  assertKeyDiscipline(seen)
  assert.deepEqual(seen.filter((r) => r.status === 401 || r.status === 404), [])
})

test('a wrong project key is unauthorized and never echoed', async (t) => {
  const net = await startNetwork(t)
  const wrong = `ory_pat_wrong_${crypto.randomUUID().replaceAll('-', '')}`
  registerSecret(wrong)
  const iam = Iam.fromConfig(net.config(wrong))
  await assert.rejects(iam.identity.get('00000000-0000-0000-0000-000000000000'), (e) => {
    assert.ok(e instanceof IamUnauthorizedError)
    assert.equal(e.code, 'unauthorized')
    assert.ok(!util.inspect(e).includes(wrong) && !JSON.stringify(e).includes(wrong) && !e.message.includes(wrong))
    return true
  })
  await assert.rejects(iam.metadata.version(), IamUnauthorizedError)
  const h = await iam.health()
  assert.equal(h.healthy, false)
  for (const p of h.probes) {
    const keyed = ['kratos-admin', 'keto-read', 'hydra-admin'].includes(p.product)
    assert.equal(p.status, keyed ? 401 : 200, JSON.stringify(p))
  }
  assert.ok(!JSON.stringify(h).includes(wrong))
  for (const r of net.requests()) {
    if (r.key_required) assert.deepEqual([r.authorization, r.status], ['other', 401], JSON.stringify(r))
    else assert.equal(r.authorization, 'none', JSON.stringify(r))
  }
})
