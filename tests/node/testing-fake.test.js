'use strict'
// `ory-iam/testing` FakeOry: the library's real code paths against in-memory Ory servers. No
// servers: these tests never read the stack file.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const util = require('node:util')

const { scenarios, camel } = require('./helpers.js')
const { IamError, IamConfigurationError, IamUnauthorizedError, IamValidationError, Secret } = require('../../bindings-node/ory-iam.js')
const { FakeOry, DEFAULT_CLIENT_ID } = require('../../bindings-node/testing.js')

const KINDS = { bearer: 'bearer', cookie: 'cookie', session_token: 'sessionToken' }

async function runStep(fake, step, saved) {
  const iam = fake.iam
  const tenant = step.tenant || fake.defaultTenant
  const arg = (k) => {
    const v = step[k]
    if (typeof v === 'string' && v.startsWith('$')) return v === '$missing' ? crypto.randomUUID() : saved[v.slice(1)]
    return v
  }
  const req = () => ('token' in step ? fake.headersFor(arg('token')) : fake.headersFor(arg('session'), { kind: KINDS[step.kind] }))
  const svc = (name) => iam[camel(name)].forTenant(tenant)
  switch (step.do) {
    case 'create_identity':
      return (await svc('identity').create({ schemaId: tenant, traits: { email: step.email } })).id
    case 'get_identity':
    case 'get_identity_with_traits': {
      const ident = await svc('identity')[step.do === 'get_identity' ? 'get' : 'getWithTraits'](arg('id'))
      assert.equal(ident.id, arg('id'))
      assert.equal(ident.tenant, tenant)
      assert.equal(ident.traits?.email ?? null, step.expect_email)
      return undefined
    }
    case 'update_traits':
      return void (await svc('identity').updateTraits(arg('id'), { email: step.email }))
    case 'delete_identity':
      return void (await svc('identity').delete(arg('id')))
    case 'create_session':
      return fake.createSession(arg('identity'), { tenant })
    case 'whoami': {
      const s = await svc('session').whoami(req())
      assert.equal(s.identity.id, arg('expect_identity'))
      assert.equal(s.tenant, tenant)
      assert.ok(s.active)
      return undefined
    }
    case 'whoami_or_null':
      assert.equal((await svc('session').whoamiOrNull(req())) === null, step.expect_null)
      return undefined
    case 'revoke_session':
      return void (await svc('session').revoke(arg('session').sessionId))
    case 'expire_session':
      return void (await fake.expireSession(arg('session').sessionId, { tenant }))
    case 'grant':
      return void (await svc('permission').grant(step.tuple))
    case 'revoke_permission':
      return void (await svc('permission').revoke(step.tuple))
    case 'check':
      assert.equal(await svc('permission').check(step.tuple), step.expect_allowed)
      return undefined
    case 'list_permissions': {
      const got = []
      for await (const t of svc('permission').listAll(step.query)) got.push(t)
      assert.equal(got.length, step.expect_count)
      return undefined
    }
    case 'issue_token':
      return fake.issueToken({ clientId: step.client_id, scope: step.scope, tenant })
    case 'introspect': {
      const i = await svc('token').introspect(arg('token'))
      assert.equal(i.active, step.expect_active)
      if ('expect_client' in step) assert.equal(i.clientId, step.expect_client)
      return undefined
    }
    case 'authenticate': {
      const p = await svc('token').authenticate(req(), { requiredScope: step.required_scope ?? [] })
      assert.equal(p.clientId, step.expect_client)
      assert.equal(p.tenant, tenant)
      return undefined
    }
    case 'revoke_token':
      return void (await svc('token').revoke(arg('token')))
    case 'initiate_recovery':
      return void (await svc('flow').initiateRecovery())
    default:
      throw new Error(`unknown step ${step.do}`)
  }
}

test('shared scenario (tests/scenarios/testing_fake.json)', async () => {
  const sc = scenarios('testing_fake')
  const fake = new FakeOry({ tenants: sc.tenants })
  const saved = {}
  for (const [i, step] of sc.steps.entries()) {
    const where = `step ${i} (${step.do})`
    if ('error' in step) {
      await assert.rejects(runStep(fake, step, saved), (e) => e instanceof IamError && e.code === step.error, where)
    } else {
      const out = await runStep(fake, step, saved)
      if (step.save) saved[step.save] = out
    }
  }
  assert.ok(fake.requests()['kratos-public GET sessions/whoami'] >= 8)
})

test('paging through listAll', async () => {
  const fake = new FakeOry()
  const made = new Set()
  for (let i = 0; i < 7; i++) made.add((await fake.iam.identity.create({ schemaId: 'customer', traits: { email: `u${i}@example.com` } })).id)
  const page = await fake.iam.identity.list({ pageSize: 3 })
  assert.equal(page.items.length, 3)
  assert.ok(page.nextPageToken)
  assert.ok(page.items.every((i) => i.traits == null), 'listing is sanitized')
  const seen = []
  for await (const i of fake.iam.identity.listAll(2)) seen.push(i.id)
  assert.deepEqual(seen.sort(), [...made].sort())
  assert.equal(fake.requests()['kratos-admin GET admin/identities'], 1 + 4)
})

test('sessions, tokens and helpers', async () => {
  const fake = new FakeOry({ tenants: ['customer'] })
  const ada = await fake.iam.identity.create({ schemaId: 'customer', traits: { email: 'ada@example.com' } })
  const cred = await fake.createSession(ada.id)
  assert.ok(cred.token instanceof Secret)
  assert.ok(!util.inspect(cred).includes(cred.token.expose()))
  assert.ok(!JSON.stringify(cred).includes(cred.token.expose()))
  for (const kind of ['bearer', 'cookie', 'sessionToken']) {
    const s = await fake.iam.session.whoami({ headers: fake.headersFor(cred, { kind }) })
    assert.equal(s.id, cred.sessionId)
    assert.equal(s.identity.id, ada.id)
  }
  assert.ok((await fake.iam.session.whoami(fake.headersFor(cred))).cacheHit, 'the session cache is in front, as configured normally')
  assert.throws(() => fake.headersFor(cred, { kind: 'basic' }), IamValidationError)
  await assert.rejects(fake.createSession(ada.id, { tenant: 'nope' }), IamConfigurationError)

  const cc = await fake.iam.token.clientCredentials('reports.read')
  const i = await fake.iam.token.introspect(cc.accessToken)
  assert.equal(i.active, true)
  assert.equal(i.clientId, DEFAULT_CLIENT_ID)
  assert.equal(i.scope, 'reports.read')

  fake.addOAuth2Client({ clientId: 'svc', clientSecret: 's3cret', scope: 'a b' })
  await fake.iam.token.revoke('anything', { clientId: 'svc', clientSecret: 's3cret' })
  await assert.rejects(fake.iam.token.revoke('anything', { clientId: 'svc', clientSecret: 'wrong' }), IamUnauthorizedError)
  const tok = await fake.issueToken({ clientId: 'svc', scope: ['a'] })
  const p = await fake.iam.token.authenticate({ headers: fake.headersFor(tok) }, { requiredScope: ['a'] })
  assert.equal(p.clientId, 'svc')
  assert.deepEqual(p.scope, ['a'])
})

test('needs a tenant', () => {
  assert.throws(() => new FakeOry({ tenants: [] }), IamValidationError)
})
