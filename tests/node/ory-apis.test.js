'use strict'
// Issue 25 from Node against the real stack: Keto patch / deleteMatching / namespaces; Kratos
// revokeSessions, admin session list/get, recovery links and codes, flow errors.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Iam, IamConfigurationError, IamNotFoundError, IamUnauthorizedError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { iamConfig, registerUser, stack, PASSWORD } = require('./helpers.js')

function make(events) {
  const cfg = iamConfig()
  cfg.session_cache = 'memory'
  cfg.audit = { sink: 'callback' }
  cfg.tenants.customer.cache = { permission_ttl_ms: 60000, session_ttl_ms: 60000 }
  return Iam.fromConfig(cfg, (e) => events.push(e))
}
const obj = () => `doc-${crypto.randomUUID()}`
const tuplesOf = async (iam, namespace, object) => (await iam.permission.list({ namespace, object })).items
const field = (path) => (e) => e instanceof IamValidationError && e.fields[0].path === path

test('patch is one transaction and invalidates the decision cache', async () => {
  const events = []
  const iam = make(events)
  const p = iam.permission
  const [folderA, folderB, doc] = [obj(), obj(), obj()]
  const inA = { namespace: 'folders', object: folderA, relation: 'parent', subject: doc }
  const inB = { namespace: 'folders', object: folderB, relation: 'parent', subject: doc }
  await p.grant(inA)
  assert.equal(await p.check(inA), true)
  assert.equal(await p.check(inB), false)
  events.length = 0

  await p.patch([{ action: 'delete', tuple: inA }, { action: 'insert', tuple: inB }])
  assert.deepEqual(await tuplesOf(iam, 'folders', folderA), [])
  assert.deepEqual(await tuplesOf(iam, 'folders', folderB), [inB])
  assert.equal(await p.check(inA), false, 'the cached allow is gone')
  assert.equal(await p.check(inB), true, 'the cached deny is gone')
  const mutations = events.filter((e) => e.name !== 'authz.permission.deny').map((e) => [e.name, e.result, e.attributes.via])
  assert.deepEqual(mutations, [['authz.permission.revoke', 'success', 'patch'], ['authz.permission.grant', 'success', 'patch']])

  // One entry Keto refuses: nothing applies.
  const doc2 = obj()
  const fine = { namespace: 'documents', object: doc2, relation: 'view', subject: 'alice' }
  events.length = 0
  await assert.rejects(
    p.patch([{ action: 'insert', tuple: fine }, { action: 'delete', tuple: inB }, { action: 'insert', tuple: { ...fine, namespace: 'no-such-namespace' } }]),
    IamNotFoundError,
  )
  assert.deepEqual(await tuplesOf(iam, 'documents', doc2), [])
  assert.deepEqual(await tuplesOf(iam, 'folders', folderB), [inB])
  assert.deepEqual(events.map((e) => e.result), ['failure', 'failure', 'failure'])

  // Invalid locally: nothing sent.
  events.length = 0
  await assert.rejects(p.patch([{ action: 'insert', tuple: fine }, { action: 'insert', tuple: { ...fine, object: '' } }]), field('patch[1].tuple.object'))
  await assert.rejects(p.patch([{ action: 'upsert', tuple: fine }]), IamValidationError)
  assert.deepEqual(events, [])
  assert.deepEqual(await tuplesOf(iam, 'documents', doc2), [])
  await p.revoke(inB)
})

test('deleteMatching refuses a namespace alone and forgets cached answers', async () => {
  const events = []
  const iam = make(events)
  const p = iam.permission
  const [doc, other] = [obj(), obj()]
  for (const s of ['alice', 'bob']) await p.grant({ namespace: 'documents', object: doc, relation: 'view', subject: s })
  await p.grant({ namespace: 'documents', object: other, relation: 'view', subject: 'alice' })
  const alice = { namespace: 'documents', object: doc, relation: 'view', subject: 'alice' }
  assert.equal(await p.check(alice), true)
  events.length = 0

  await assert.rejects(p.deleteMatching({ namespace: 'documents' }), field('query'))
  assert.deepEqual(events, [])
  assert.equal((await tuplesOf(iam, 'documents', doc)).length, 2)

  await p.deleteMatching({ namespace: 'documents', object: doc })
  assert.deepEqual(await tuplesOf(iam, 'documents', doc), [])
  assert.equal(await p.check(alice), false)
  assert.equal((await tuplesOf(iam, 'documents', other)).length, 1)
  const e = events.filter((x) => x.name !== 'authz.permission.deny').map((x) => [x.name, x.result, x.targetId])
  assert.deepEqual(e, [['authz.permission.delete_matching', 'success', doc]])
  await assert.rejects(p.deleteMatching({ namespace: 'no-such-namespace', object: doc }), IamNotFoundError)
  await p.deleteMatching({ namespace: 'documents', object: other, subject: 'alice' })
  assert.deepEqual(await tuplesOf(iam, 'documents', other), [])
  assert.deepEqual(await p.namespaces(), ['documents', 'folders', 'groups'])
})

test('revokeSessions logs out everywhere, the session cache included', async () => {
  const events = []
  const iam = make(events)
  const { id, token } = await registerUser(iam, 'customer', 'everywhere')
  const headers = { 'x-session-token': token }
  const s = await iam.session.whoami(headers)
  assert.equal((await iam.session.whoami(headers)).cacheHit, true)

  const got = await iam.session.get(s.id)
  assert.deepEqual([got.id, got.identity.id, got.active, got.identity.traits ?? null], [s.id, id, true, null])
  const page = await iam.session.list({ pageSize: 1, active: true })
  assert.equal(page.items.length, 1)
  let seen = false
  for await (const x of iam.session.listAll(true)) {
    if (x.id === s.id) {
      seen = true
      break
    }
  }
  assert.ok(seen)
  events.length = 0

  await iam.identity.revokeSessions(id)
  assert.deepEqual(events.map((e) => [e.name, e.result, e.targetId]), [['authz.session.revoke_all', 'success', id]])
  await assert.rejects(iam.session.whoami(headers), IamUnauthorizedError)
  await assert.rejects(iam.session.get(s.id), IamNotFoundError, 'Kratos deletes them (v1.3.1)')
  for (const bad of ['../x', 'not-a-uuid']) {
    await assert.rejects(iam.identity.revokeSessions(bad), IamValidationError)
    await assert.rejects(iam.session.get(bad), IamValidationError)
  }
  await assert.rejects(iam.session.get(crypto.randomUUID()), IamNotFoundError)
  await iam.identity.delete(id)
})

test('a recovery link and a recovery code each recover the account', async () => {
  const events = []
  const iam = make(events)
  const { id } = await registerUser(iam, 'customer', 'recovery')
  events.length = 0

  const rec = await iam.identity.createRecoveryLink(id, { expiresIn: '10m' })
  const link = rec.link.expose()
  assert.equal(rec.code ?? null, null)
  assert.ok(!JSON.stringify(rec).includes(link) && !require('node:util').inspect(rec).includes(link))
  assert.deepEqual(events.map((e) => [e.name, e.attributes.method]), [['identity.recovery.create', 'link']])
  assert.ok(!JSON.stringify(events).includes(link))
  const r = await fetch(link, { redirect: 'manual' })
  assert.equal(r.status, 303)
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  assert.equal((await iam.session.whoami({ cookie })).identity.id, id)

  const code = await iam.identity.createRecoveryCode(id)
  const flowId = new URL(code.link.expose()).searchParams.get('flow')
  const done = await iam.flow.submitRecovery(flowId, { method: 'code', code: code.code.expose() })
  assert.equal(done.kind, 'success')
  const cookie2 = done.setCookie.map((c) => c.expose().split(';')[0]).join('; ')
  assert.equal((await iam.session.whoami({ cookie: cookie2 })).identity.id, id)

  await assert.rejects(iam.identity.createRecoveryLink(id, { expiresIn: 'soon' }), field('expires_in'))
  // An unknown identity: Kratos v1.3.1 answers 400 for a link (not the documented 404), 404 for a code.
  await assert.rejects(iam.identity.createRecoveryLink(crypto.randomUUID()), IamValidationError)
  await assert.rejects(iam.identity.createRecoveryCode(crypto.randomUUID()), IamNotFoundError)
  await iam.identity.delete(id)
})

test('a flow error is read by the id of the Kratos redirect', async () => {
  const iam = make([])
  const pub = stack().kratos.customer.public_url
  const r = await fetch(`${pub}self-service/login/browser?return_to=${encodeURIComponent('https://evil.example/')}`, { redirect: 'manual' })
  const id = new URL(r.headers.get('location')).searchParams.get('id')
  const e = await iam.flow.getError(id)
  assert.deepEqual([e.id, e.tenant, e.error.code], [id, 'customer', 400])
  await assert.rejects(iam.flow.getError(crypto.randomUUID()), IamNotFoundError)
  await assert.rejects(iam.flow.getError('stub:500'), IamValidationError)
})

async function login(iam, email) {
  const flow = await iam.flow.initiateLogin()
  const res = await iam.flow.submitLogin(flow.id, { method: 'password', identifier: email, password: PASSWORD })
  return res.sessionToken.expose()
}

test('a user manages their own sessions', async () => {
  const events = []
  const iam = make(events)
  const email = `devices-${crypto.randomUUID()}@example.test`
  const flow = await iam.flow.initiateRegistration()
  const reg = await iam.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email } })
  const id = reg.identity.id
  const [a, b, c] = [reg.sessionToken.expose(), await login(iam, email), await login(iam, email)].map((t) => ({ 'x-session-token': t }))
  const [sb, sc, sa] = [await iam.session.whoami(b), await iam.session.whoami(c), await iam.session.whoami(a)]
  assert.ok((await iam.session.whoami(b)).cacheHit && (await iam.session.whoami(c)).cacheHit)

  const mine = await iam.session.listMine(a)
  assert.deepEqual(mine.items.map((s) => s.id).sort(), [sb.id, sc.id].sort())
  assert.ok(mine.items.every((s) => s.identity.id === id && s.identity.traits == null))
  const page = await iam.session.listMine({ headers: a }, { pageSize: 1 })
  assert.equal(page.items.length, 1)
  assert.ok(page.nextPageToken)
  const all = []
  for await (const s of iam.session.listMineAll(new Headers(a))) all.push(s.id)
  assert.deepEqual(all.sort(), [sb.id, sc.id].sort())
  events.length = 0

  await iam.session.revokeMine(a, sb.id)
  assert.deepEqual(events.filter((e) => e.name.startsWith('authz.session')).map((e) => [e.name, e.targetId, e.attributes.by]), [['authz.session.revoke', sb.id, 'owner']])
  await assert.rejects(iam.session.whoami(b), IamUnauthorizedError)
  await assert.rejects(iam.session.revokeMine(a, sa.id), IamValidationError)
  const other = await registerUser(iam, 'customer', 'other')
  const os = await iam.session.whoami({ 'x-session-token': other.token })
  await iam.session.revokeMine(a, os.id) // Kratos v1.3.1: 204, and nothing happens
  assert.equal((await iam.session.whoami({ 'x-session-token': other.token })).id, os.id)
  assert.equal((await iam.session.get(os.id)).active, true, "someone else's session is untouched")

  events.length = 0
  // Kratos v1.3.1 counts every other session it marked inactive: C, and B again.
  assert.equal(await iam.session.revokeMyOtherSessions(a), 2)
  assert.deepEqual(events.filter((e) => e.name.startsWith('authz.session')).map((e) => [e.name, e.targetId, e.attributes.scope]), [['authz.session.revoke_all', id, 'others']])
  await assert.rejects(iam.session.whoami(c), IamUnauthorizedError)
  assert.equal((await iam.session.whoami(a)).id, sa.id)
  assert.deepEqual((await iam.session.listMine(a)).items, [])
  await assert.rejects(iam.session.listMine({ 'x-session-token': 'not-a-session' }), IamUnauthorizedError)
  await assert.rejects(iam.session.revokeMyOtherSessions({}), IamUnauthorizedError)
  await iam.identity.delete(id)
  await iam.identity.delete(other.id)
})

const OPL = `import { Namespace, Context } from "@ory/keto-namespace-types"

class User implements Namespace {}

class Document implements Namespace {
  related: {
    viewers: User[]
  }

  permits = {
    view: (ctx: Context): boolean => this.related.viewers.includes(ctx.subject),
  }
}
`

test('OPL syntax is checked by the OPL server of Keto', async () => {
  const events = []
  const p = make(events).permission
  assert.deepEqual(await p.checkOplSyntax(OPL), [])
  const errors = await p.checkOplSyntax('class User implements Namespace {}\nclass Doc implements Namespace {\n  related: {\n')
  assert.equal(errors.length, 1)
  assert.ok(errors[0].message && errors[0].start.line === 3 && errors[0].start.column > 0)
  assert.deepEqual(events, [])
  const cfg = iamConfig()
  delete cfg.tenants.customer.keto.opl_url
  await assert.rejects(Iam.fromConfig(cfg).permission.checkOplSyntax(OPL), IamConfigurationError)
})

test('createMany imports identities with a result each', async () => {
  const events = []
  const iam = make(events)
  const [a, b, c] = [1, 2, 3].map(() => `bulk-${crypto.randomUUID()}@example.test`)
  const out = await iam.identity.createMany([
    { schemaId: 'customer', traits: { email: a } },
    { schemaId: 'customer', traits: { email: 42 } },
    { schemaId: 'customer', traits: { email: b } },
  ])
  assert.deepEqual(out.map((r) => r.error ?? null), [null, 'validation', null])
  const [ia, ib] = [out[0].identityId, out[2].identityId]
  await iam.identity.get(ia)
  assert.deepEqual(events.map((e) => [e.name, e.result, e.targetId ?? null]), [
    ['identity.create', 'success', ia],
    ['identity.create', 'failure', null],
    ['identity.create', 'success', ib],
  ])
  assert.ok(!JSON.stringify(events).includes(a))
  // A duplicate: Kratos v1.3.1 reports an id for c but keeps nothing of the batch.
  const dup = await iam.identity.createMany([a, c].map((email) => ({ schemaId: 'customer', traits: { email } })))
  assert.deepEqual(dup.map((r) => r.error ?? null), ['conflict', 'upstream_unavailable'])
  assert.deepEqual((await iam.identity.list({ credentialsIdentifier: c })).items, [])
  const again = await iam.identity.createMany([{ schemaId: 'customer', traits: { email: c } }])
  assert.ok(again[0].identityId)
  await assert.rejects(iam.identity.createMany([{ schemaId: 'customer', traits: { email: 'x@example.test' } }, { schemaId: '' }]), (e) => e instanceof IamValidationError && e.fields[0].path.startsWith('inputs[1]'))
  for (const i of [ia, ib, again[0].identityId]) await iam.identity.delete(i)
})
