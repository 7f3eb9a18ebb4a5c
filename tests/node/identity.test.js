'use strict'
// IdentityService and MetadataService from Node against the real Kratos instances.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const {
  Iam,
  IamError,
  IamConfigurationError,
  IamConflictError,
  IamNotFoundError,
  IamUpstreamUnavailableError,
  IamValidationError,
} = require('../../bindings-node/ory-iam.js')
const { FaultProxy } = require('../reliability/proxy.js')
const { stack, iamConfig, uniqueEmail, scenarios, camel } = require('./helpers.js')

const iam = Iam.fromConfig(iamConfig())

test('server versions match the stack', async () => {
  const s = stack()
  const v = await iam.metadata.version()
  console.log(`servers: kratos ${v.kratos}, keto ${v.keto}, hydra ${v.hydra}`)
  assert.equal(v.tenant, 'customer')
  assert.deepEqual([v.kratos, v.keto, v.hydra], [s.versions.kratos, s.versions.keto, s.versions.hydra])
})

test('create, get, getWithTraits, delete', async () => {
  const email = uniqueEmail('node')
  const created = await iam.identity.create({ schemaId: 'customer', traits: { email, name: { first: 'Ada' } } })
  assert.equal(created.tenant, 'customer')
  assert.equal(created.schemaId, 'customer')
  assert.equal(created.traits.email, email)

  const plain = await iam.identity.get(created.id)
  assert.equal(plain.id, created.id)
  assert.ok(plain.traits == null && plain.verifiableAddresses == null, 'get() must not carry traits')
  assert.ok(!JSON.stringify(plain).includes(email))

  const full = await iam.identity.getWithTraits(created.id)
  assert.deepEqual(full.traits, { email, name: { first: 'Ada' } })
  assert.ok(Array.isArray(full.verifiableAddresses))

  await iam.identity.delete(created.id)
  await assert.rejects(iam.identity.get(created.id), (e) => {
    assert.ok(e instanceof IamNotFoundError && e instanceof IamError && e instanceof Error)
    assert.equal(e.code, 'not_found')
    assert.equal(e.status, 404)
    assert.equal(e.tenant, 'customer')
    assert.ok(e.requestId)
    return true
  })
  await assert.rejects(iam.identity.delete(created.id), IamNotFoundError)
})

test('tenants never see each other’s identities', async () => {
  const customer = iam.identity.forTenant('customer')
  const admin = iam.identity.forTenant('admin')
  assert.ok(customer.equals(iam.identity))
  assert.ok(!customer.equals(admin))
  const c = await customer.create({ schemaId: 'customer', traits: { email: uniqueEmail('iso') } })
  const a = await admin.create({ schemaId: 'admin', traits: { email: uniqueEmail('iso-admin') } })
  assert.equal(a.tenant, 'admin')
  await assert.rejects(admin.get(c.id), IamNotFoundError)
  await assert.rejects(customer.get(a.id), IamNotFoundError)
  await customer.delete(c.id)
  await admin.delete(a.id)
})

test('duplicate identifier is a conflict', async () => {
  const email = uniqueEmail('dup')
  const first = await iam.identity.create({ schemaId: 'customer', traits: { email } })
  await assert.rejects(iam.identity.create({ schemaId: 'customer', traits: { email } }), IamConflictError)
  await iam.identity.delete(first.id)
})

test('shared error scenarios', async () => {
  for (const c of scenarios('identity_errors').cases) {
    const svc = c.tenant === null ? iam.identity : iam.identity.forTenant(c.tenant)
    const args = c.args.map((a) => (a === '$missing_uuid' ? crypto.randomUUID() : structuredClone(a)))
    await assert.rejects(svc[camel(c.call)](...args), (e) => {
      assert.ok(e instanceof IamError, c.name)
      assert.equal(e.code, c.code, c.name)
      assert.equal(e.status === undefined || e.status === null, c.local, c.name)
      return true
    })
  }
})

test('wrong JS types are validation errors', async () => {
  await assert.rejects(iam.identity.get(123), IamValidationError)
  await assert.rejects(iam.identity.create('nope'), IamValidationError)
})

test('unknown tenant fails at the call', () => {
  assert.throws(() => iam.identity.forTenant('nope'), (e) => e instanceof IamConfigurationError && e.code === 'configuration')
})

test('invalid config lists every path', () => {
  assert.throws(
    () =>
      Iam.fromConfig({
        tenants: {
          a: { mode: 'cloud', kratos: { publicUrl: 'nope' } },
          b: { transport: 'oathkeeper', kratos: { publicUrl: 'http://x', adminToken: 'SECRET-TOKEN' } },
        },
        sessionCache: { redis: { url: 'http://x' } },
      }),
    (e) => {
      assert.ok(e instanceof IamConfigurationError)
      const paths = new Set(e.fields.map((f) => f.path))
      for (const p of [
        'default_tenant',
        'tenants.a.kratos.public_url',
        'tenants.a.cloud.project_slug',
        'tenants.a.cloud.api_key',
        'tenants.b.oathkeeper.signer_keys',
        'session_cache.redis.url',
      ])
        assert.ok(paths.has(p), `missing ${p}`)
      assert.ok(!e.message.includes('SECRET-TOKEN') && !JSON.stringify(e).includes('SECRET-TOKEN'))
      return true
    },
  )
})

test('admin op without admin_url', async () => {
  const cfg = iamConfig()
  delete cfg.tenants.customer.kratos.admin_url
  const local = Iam.fromConfig(cfg)
  await assert.rejects(local.identity.get(crypto.randomUUID()), (e) => e instanceof IamConfigurationError && e.message.includes('kratos.admin_url'))
})

test('list and auto-paging', async () => {
  const admin = iam.identity.forTenant('admin')
  const made = []
  for (let i = 0; i < 3; i++) made.push((await admin.create({ schemaId: 'admin', traits: { email: uniqueEmail('page') } })).id)
  const page = await admin.list({ pageSize: 1 })
  assert.equal(page.items.length, 1)
  assert.ok(page.nextPageToken)
  assert.ok(page.items[0].traits == null)
  const seen = []
  for await (const i of admin.listAll(1)) seen.push(i.id)
  for (const id of made) assert.ok(seen.includes(id))
  for (const id of made) await admin.delete(id)
})

test('health names tenants and products only', async () => {
  const h = await iam.health()
  assert.ok(h.healthy, JSON.stringify(h))
  assert.ok(!JSON.stringify(h).includes('127.0.0.1'))
  assert.ok(h.probes.some((p) => p.tenant === 'admin' && p.product === 'kratos-admin'))
  assert.deepEqual(h.warnings, [])
})

test('health states the staleness bound of each cache', async () => {
  const cfg = iamConfig()
  cfg.session_cache = { memory: {} }
  cfg.tenants.customer.cache = { session_ttl_ms: 30000, permission_ttl_ms: 600000 }
  cfg.tenants.customer.hydra.bearer_mode = 'introspect'
  const other = Iam.fromConfig(cfg)
  const h = await other.health()
  await other.close()
  const got = h.staleness
    .filter((s) => s.tenant === 'customer')
    .map((s) => [s.cache, s.maxStaleMs, s.configKey])
    .sort()
  assert.deepEqual(got, [
    ['decisions', 600000, 'tenants.customer.cache.permission_ttl_ms'],
    ['sessions', 30000, 'tenants.customer.cache.session_ttl_ms'],
  ])
  assert.equal(h.warnings.length, 1)
  assert.ok(h.warnings[0].includes('tenants.customer.cache.permission_ttl_ms'))
})

test('concurrent calls', async () => {
  const vs = await Promise.all(Array.from({ length: 20 }, () => iam.metadata.version()))
  assert.equal(new Set(vs.map((v) => v.kratos)).size, 1)
})

test('updateTraits and patch', async () => {
  const email = uniqueEmail('patch')
  const created = await iam.identity.create({ schemaId: 'customer', traits: { email }, metadataPublic: { plan: 'pro' } })
  const updated = await iam.identity.updateTraits(created.id, { email: `u-${email}`, roles: ['editor'] })
  assert.deepEqual(updated.traits, { email: `u-${email}`, roles: ['editor'] })
  assert.deepEqual(updated.metadataPublic, { plan: 'pro' })
  const patched = await iam.identity.patch(created.id, [
    { op: 'replace', path: '/state', value: 'inactive' },
    { op: 'add', path: '/traits/roles/-', value: 'admin' },
  ])
  assert.equal(patched.state, 'inactive')
  assert.deepEqual(patched.traits.roles, ['editor', 'admin'])
  await assert.rejects(iam.identity.patch(created.id, [{ op: 'remove', path: '/credentials' }]), (e) => {
    assert.ok(e instanceof IamValidationError)
    assert.equal(e.fields[0].path, 'ops[0].path')
    return true
  })
  await iam.identity.delete(created.id)
})

test('config from a file and from the environment', async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ory-iam-'))
  const file = path.join(dir, 'ory-iam.json')
  fs.writeFileSync(file, JSON.stringify(iamConfig()))
  const fromFile = Iam.fromFile(file)
  assert.deepEqual(fromFile.tenants, ['admin', 'customer'])
  assert.ok((await fromFile.metadata.version()).kratos)
  process.env.ORY_IAM_CONFIG_FILE = file
  process.env.ORY_IAM__DEFAULT_TENANT = 'admin'
  try {
    const fromEnv = Iam.fromEnv()
    assert.equal(fromEnv.defaultTenant, 'admin')
    process.env.ORY_IAM_CONFIG_FILE = path.join(dir, 'missing.yaml')
    assert.throws(() => Iam.fromEnv(), IamConfigurationError)
    // A file that does not parse: fromEnv names its line and column like fromFile.
    const bad = path.join(dir, 'bad.yaml')
    fs.writeFileSync(bad, 'tenants: [oops\n  admin_token: SECRET_IN_BAD_FILE')
    let byFile
    assert.throws(() => Iam.fromFile(bad), (e) => (byFile = e) instanceof IamConfigurationError)
    process.env.ORY_IAM_CONFIG_FILE = bad
    assert.throws(() => Iam.fromEnv(), (e) => {
      const at = byFile.fields[0].reason.split(' at ').pop()
      assert.ok(at.startsWith('line '))
      assert.equal(e.fields[0].path, 'ORY_IAM_CONFIG_FILE')
      assert.ok(e.fields[0].reason.endsWith(` at ${at}`) && !e.message.includes('SECRET_IN_BAD_FILE'))
      return true
    })
  } finally {
    delete process.env.ORY_IAM_CONFIG_FILE
    delete process.env.ORY_IAM__DEFAULT_TENANT
    fs.rmSync(dir, { recursive: true })
  }
})

test('credentials: public metadata, deletion, refusal', async () => {
  const email = uniqueEmail('creds')
  const who = await iam.identity.create({
    schemaId: 'customer',
    traits: { email },
    credentials: { password: { config: { password: 'a-Long-and-unique-passphrase-42' } }, oidc: { config: { providers: [{ provider: 'github', subject: 'gh-js' }] } } },
  })
  const creds = await iam.identity.getCredentials(who.id)
  assert.deepEqual(creds.map((c) => c.credentialType), ['oidc', 'password'])
  assert.deepEqual(creds[0].providers, ['github'])
  const dump = JSON.stringify(creds)
  assert.ok(!dump.includes('$2a$') && !dump.includes('a-Long-and-unique-passphrase-42'))
  await assert.rejects(iam.identity.deleteCredential(who.id, 'password'), (e) => e instanceof IamValidationError && e.fields[0].path === 'type' && e.status === 400)
  await iam.identity.deleteCredential(who.id, 'oidc', 'github:gh-js')
  assert.deepEqual((await iam.identity.getCredentials(who.id)).map((c) => c.credentialType), ['password'])
  await assert.rejects(iam.identity.forTenant('admin').getCredentials(who.id), IamNotFoundError)
  await iam.identity.delete(who.id)
})

test('health neither resets nor probes a breaker', async () => {
  const missing = '9f425a8d-7efc-4768-8f23-7647a74fdf13'
  const proxy = await FaultProxy.start(stack().kratos.customer.admin_url)
  try {
    const cfg = iamConfig()
    cfg.tenants.customer.kratos.admin_url = proxy.url
    cfg.tenants.customer.http = { retries: 0, breaker_threshold: 3, breaker_open_ms: 60000 }
    const iam = Iam.fromConfig(cfg)
    await proxy.fault('status', { status: 500, path: '/admin/identities' })
    const adminBreaker = (h) => h.probes.find((p) => p.tenant === 'customer' && p.product === 'kratos-admin').breaker
    const versionLookups = () => proxy.requests('/admin/version')
    const failure = async () => {
      try {
        await iam.identity.get(missing)
      } catch (e) {
        assert.ok(e instanceof IamUpstreamUnavailableError)
        return e
      }
      assert.fail('expected an error')
    }

    for (let i = 0; i < 2; i++) await failure()
    // Health's version lookup on the same host succeeds; the two failures still count.
    assert.equal(adminBreaker(await iam.health()), 'closed')
    assert.ok((await versionLookups()) >= 1)
    assert.equal((await failure()).retryAfter ?? null, null, 'the third failure comes from the server')
    assert.ok((await failure()).retryAfter != null, 'the breaker opened after 3 consecutive failures')

    // While it is open, health still looks the versions up and leaves it open.
    const before = await versionLookups()
    assert.equal(adminBreaker(await iam.health()), 'open')
    assert.ok((await versionLookups()) > before)
  } finally {
    await proxy.stop()
  }
})

test('SDK fields, address objects and list filters', async () => {
  const email = uniqueEmail('sdk')
  const created = await iam.identity.create({
    schemaId: 'customer',
    traits: { email },
    credentials: { password: { config: { password: 'a-Long-and-unique-passphrase-42' } } },
    verifiableAddresses: [{ value: email, via: 'email', verified: true, status: 'completed' }],
    recoveryAddresses: [{ value: email }],
  })
  try {
    const full = await iam.identity.getWithTraits(created.id)
    assert.ok(full.stateChangedAt && full.schemaUrl.includes('/schemas/'))
    const v = full.verifiableAddresses[0]
    assert.ok(v.verified && v.status === 'completed' && v.verifiedAt && v.createdAt && v.updatedAt)
    assert.ok(full.recoveryAddresses[0].createdAt && full.recoveryAddresses[0].updatedAt)
    const found = await iam.identity.list({ credentialsIdentifier: email })
    assert.deepEqual(found.items.map((i) => i.id), [created.id])
    assert.ok(found.items[0].traits == null, 'sanitized like get')
    // Kratos's offset paging (the contract's page / per_page) next to page tokens; a second
    // identity of this test's own, so page 1 exists whatever ran before.
    const other = await iam.identity.create({ schemaId: 'customer', traits: { email: `other-${email}` } })
    const [first, second] = [await iam.identity.list({ page: 0, perPage: 1 }), await iam.identity.list({ page: 1, per_page: 1 })]
    await iam.identity.delete(other.id)
    assert.ok(first.items.length === 1 && second.items.length === 1 && first.items[0].id !== second.items[0].id)
    await assert.rejects(iam.identity.list({ page: 0, pageSize: 1 }), IamValidationError)
    const byIds = await iam.identity.list({ ids: [created.id] })
    assert.deepEqual(byIds.items.map((i) => i.id), [created.id])
    await assert.rejects(iam.identity.list({ ids: [created.id, 'nope'] }), (e) => e instanceof IamValidationError && e.fields[0].path === 'ids[1]')
  } finally {
    await iam.identity.delete(created.id)
  }
})

test('schema violations name each field without its value', async () => {
  const secret = `not-an-email-${crypto.randomUUID()}`
  const err = await iam.identity.create({ schemaId: 'customer', traits: { email: secret, name: { first: 5 }, shoe_size: 44 } }).then(
    () => assert.fail('must be rejected'),
    (e) => e,
  )
  assert.ok(err instanceof IamValidationError)
  assert.equal(err.status, 400)
  assert.deepEqual(err.fields.map((f) => [f.path, f.pointer]).sort(), [
    ['traits.email', '/traits/email'],
    ['traits.name.first', '/traits/name/first'],
    ['traits.shoe_size', '/traits/shoe_size'],
  ])
  assert.ok(err.fields.every((f) => f.reason && !('message_id' in f)))
  assert.ok(!JSON.stringify(err.fields).includes(secret) && !err.message.includes(secret))
})
