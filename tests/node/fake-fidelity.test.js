'use strict'
// `ory-iam/testing` FakeOry answers as the pinned servers do (Kratos v1.3.1, Keto v0.14.0, Hydra
// v2.3.0) where a test could pass on the fake and fail in production: identity-schema validation,
// declared Keto namespaces, client scopes, the session cookie. Expected answers come from the
// real servers (core/tests/fake_fidelity.rs has the full list); no servers are involved here.
const test = require('node:test')
const assert = require('node:assert/strict')

const { IamError, IamNotFoundError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { FakeOry, DEFAULT_CLIENT_ID, DEFAULT_KETO_NAMESPACES } = require('../../bindings-node/testing.js')

const fieldsOf = (e) => e.fields.map((f) => [f.path, f.pointer])

test('traits are validated against the identity schema, with Kratos fields', async () => {
  const { iam } = new FakeOry()
  const bad = await iam.identity.create({ schemaId: 'customer', traits: { email: 'not-an-email' } }).catch((e) => e)
  assert.ok(bad instanceof IamValidationError)
  assert.equal(bad.status, 400)
  assert.deepEqual(fieldsOf(bad), [['traits.email', '/traits/email']])
  const several = await iam.identity.create({ schemaId: 'customer', traits: { zzz: 1, roles: 'a' } }).catch((e) => e)
  assert.deepEqual(fieldsOf(several), [
    ['traits.email', '/traits/email'],
    ['traits.roles', '/traits/roles'],
    ['traits.zzz', '/traits/zzz'],
  ])
  await assert.rejects(iam.identity.create({ schemaId: 'nope', traits: { email: 'ada@example.com' } }), IamValidationError)
  const ada = await iam.identity.create({ schemaId: 'customer', traits: { email: 'ada@example.com' } })
  const upd = await iam.identity.updateTraits(ada.id, { email: 5 }).catch((e) => e)
  assert.deepEqual(fieldsOf(upd), [['traits.email', '/traits/email']])
})

test('configured identity schemas and Keto namespaces', async () => {
  const schema = {
    type: 'object',
    properties: { traits: { type: 'object', properties: { username: { type: 'string', minLength: 3 } }, required: ['username'], additionalProperties: false } },
  }
  const fake = new FakeOry({ tenants: ['acme'], identitySchemas: { staff: schema }, ketoNamespaces: [{ id: 0, name: 'projects' }, 'teams'] })
  const { iam } = fake
  const ok = await iam.identity.create({ schemaId: 'staff', traits: { username: 'ada' } })
  assert.equal(ok.schemaId, 'staff')
  const short = await iam.identity.create({ schemaId: 'staff', traits: { username: 'x' } }).catch((e) => e)
  assert.deepEqual(fieldsOf(short), [['traits.username', '/traits/username']])

  const grant = { namespace: 'projects', object: 'p1', relation: 'edit', subject: ok.id }
  await iam.permission.grant(grant)
  assert.equal(await iam.permission.check(grant), true)
  const other = { ...grant, namespace: 'documents' }
  await assert.rejects(iam.permission.grant(other), IamNotFoundError)
  assert.equal(await iam.permission.check(other), false)

  assert.throws(() => new FakeOry({ identitySchemas: { broken: { type: 5 } } }), IamValidationError)
})

test('undeclared namespaces of the default configuration', async () => {
  assert.deepEqual([...DEFAULT_KETO_NAMESPACES], ['documents', 'groups', 'folders'])
  const { iam } = new FakeOry()
  const t = { namespace: 'nope', object: 'o', relation: 'view', subject: 'ada' }
  await assert.rejects(iam.permission.grant(t), IamNotFoundError)
  await assert.rejects(iam.permission.list({ namespace: 'nope' }), IamNotFoundError)
  assert.equal(await iam.permission.check(t), false)
})

test('client scopes are enforced, and another client cannot revoke a token', async () => {
  const fake = new FakeOry({ clientScope: 'invoices.read' })
  const { iam } = fake
  await iam.token.clientCredentials('invoices.read')
  const e = await iam.token.clientCredentials('invoices.read admin').catch((x) => x)
  assert.ok(e instanceof IamError)
  assert.equal(e.status, 400)

  fake.addOAuth2Client({ clientId: 'other', clientSecret: 'other-secret' })
  const tok = await fake.issueToken({ clientId: DEFAULT_CLIENT_ID, scope: ['invoices.read'] })
  await iam.token.revoke(tok, { clientId: 'other', clientSecret: 'other-secret' })
  assert.equal((await iam.token.introspect(tok)).active, true)
  await iam.token.revoke(tok)
  assert.equal((await iam.token.introspect(tok)).active, false)
})

test('a session token is not a session cookie', async () => {
  const fake = new FakeOry()
  const ada = await fake.iam.identity.create({ schemaId: 'customer', traits: { email: 'ada@example.com' } })
  const cred = await fake.createSession(ada.id)
  const s = await fake.iam.session.whoami({ headers: fake.headersFor(cred, { kind: 'cookie' }) })
  assert.equal(s.identity.id, ada.id)
  assert.equal(await fake.iam.session.whoamiOrNull({ headers: fake.headersFor(cred.token, { kind: 'cookie' }) }), null)
})

test('native registration and login with a password', async () => {
  const { iam } = new FakeOry()
  const password = 'Correct-Horse-Battery-9'
  const flow = await iam.flow.initiateRegistration()
  const short = await iam.flow.submitRegistration(flow.id, { method: 'password', password: 'short', traits: { email: 'ada@example.org' } })
  assert.equal(short.kind, 'continue')
  const ids = short.flow.ui.nodes.flatMap((n) => n.messages.map((m) => [n.attributes.name, m.id]))
  assert.deepEqual(ids, [['password', 4000032]])
  const done = await iam.flow.submitRegistration(flow.id, { method: 'password', password, traits: { email: 'ada@example.org' } })
  assert.equal(done.kind, 'success')
  const me = await iam.session.whoami({ headers: { 'x-session-token': done.sessionToken.expose() } })
  assert.equal(me.identity.traits.email, 'ada@example.org')

  const login = await iam.flow.initiateLogin()
  const wrong = await iam.flow.submitLogin(login.id, { method: 'password', identifier: 'ada@example.org', password: 'not-the-password' })
  assert.deepEqual(wrong.flow.ui.messages.map((m) => m.id), [4000006])
  const ok = await iam.flow.submitLogin(login.id, { method: 'password', identifier: 'ada@example.org', password })
  assert.equal(ok.kind, 'success')
  await iam.flow.performNativeLogout(ok.sessionToken)
  assert.equal(await iam.session.whoamiOrNull({ headers: { 'x-session-token': ok.sessionToken.expose() } }), null)
})

test('recovery by a code read from the courier ends with a session', async () => {
  // What a user's "forgot password" test does against FakeOry, as against Kratos v1.3.1.
  const { iam } = new FakeOry()
  await iam.identity.create({ schemaId: 'customer', traits: { email: 'rec@example.org' } })
  const flow = await iam.flow.initiateRecovery()
  const sent = await iam.flow.submitRecovery(flow.id, { method: 'code', email: 'rec@example.org' })
  assert.equal(sent.kind, 'continue')
  assert.equal(sent.flow.state, 'sent_email')
  const page = await iam.courier.list({ recipient: 'rec@example.org' })
  assert.deepEqual(page.items.map((m) => [m.templateType, m.status]), [['recovery_code_valid', 'queued']])
  const message = await iam.courier.get(page.items[0].id, { includeBody: true })
  const codes = message.body.expose().match(/\b\d{6}\b/g)
  assert.equal(codes.length, 1)
  const wrong = await iam.flow.submitRecovery(flow.id, { method: 'code', code: '000000' })
  assert.deepEqual(wrong.flow.ui.messages.map((m) => m.id), [4060006])
  const done = await iam.flow.submitRecovery(flow.id, { method: 'code', code: codes[0] })
  assert.equal(done.kind, 'success')
  const me = await iam.session.whoami({ 'x-session-token': done.sessionToken.expose() })
  assert.equal(me.identity.traits.email, 'rec@example.org')
  const other = await iam.flow.initiateRecovery()
  await iam.flow.submitRecovery(other.id, { method: 'code', email: 'nobody@example.org' })
  assert.deepEqual((await iam.courier.list({ recipient: 'nobody@example.org' })).items, [])
  await assert.rejects(iam.courier.get('../admin/identities'), IamValidationError)
  await assert.rejects(iam.courier.get('00000000-0000-4000-8000-000000000000'), IamNotFoundError)
})
