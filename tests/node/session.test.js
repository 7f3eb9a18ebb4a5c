'use strict'
// FlowService and SessionService from Node against the real Kratos instances.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const crypto = require('node:crypto')
const { Iam, Secret, IamUnauthorizedError, IamUpstreamUnavailableError } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail, closedPort, redisCache } = require('./helpers.js')

const PASSWORD = 'a-Long-and-unique-passphrase-42'

function makeIam(sessionCache) {
  const cfg = iamConfig()
  cfg.session_cache = sessionCache
  for (const t of ['customer', 'admin']) cfg.tenants[t].cache = { session_ttl_ms: 60000 }
  return Iam.fromConfig(cfg)
}


// What a browser does with Set-Cookie.
class Jar {
  constructor() {
    this.cookies = new Map()
  }
  update(setCookie) {
    for (const sc of setCookie) {
      const [pair] = sc.expose().split(';')
      const i = pair.indexOf('=')
      const [k, v] = [pair.slice(0, i), pair.slice(i + 1)]
      if (v) this.cookies.set(k, v)
      else this.cookies.delete(k)
    }
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}

async function registerNative(iam, email) {
  const flow = await iam.flow.initiateRegistration()
  assert.equal(flow.flowType, 'native')
  const res = await iam.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email } })
  assert.equal(res.kind, 'success')
  return res
}

test('native registration → login → whoami → logout', async () => {
  const iam = makeIam('none')
  const email = uniqueEmail('native')
  const reg = await registerNative(iam, email)
  assert.ok(reg.sessionToken instanceof Secret)
  const token = reg.sessionToken.expose()
  assert.ok(!util.inspect(reg, { depth: 10 }).includes(token), 'inspect hides the token')
  assert.ok(!JSON.stringify(reg).includes(token), 'JSON hides the token')

  // An Express/IncomingMessage-like request, a Fetch Headers object and a plain object.
  const s = await iam.session.whoami({ headers: { authorization: `Bearer ${token}` } })
  assert.equal(s.tenant, 'customer')
  assert.equal(s.id, reg.sessionId)
  assert.equal(s.cacheHit, false)
  assert.equal(s.identity.traits.email, email)
  assert.equal((await iam.session.whoami(new Headers({ 'X-Session-Token': token }))).id, s.id)
  assert.equal((await iam.session.whoami({ authorization: `Bearer ${token}` })).id, s.id)

  const login = await iam.flow.initiateLogin()
  const wrong = await iam.flow.submitLogin(login.id, { method: 'password', identifier: email, password: 'wrong-password-123' })
  assert.equal(wrong.kind, 'continue')
  assert.ok(wrong.flow.ui.messages.some((m) => m.type === 'error'))
  const ok = await iam.flow.submitLogin(wrong.flow.id, { method: 'password', identifier: email, password: PASSWORD })
  assert.equal(ok.kind, 'success')
  await iam.flow.performNativeLogout(ok.sessionToken)
  const req2 = { authorization: `Bearer ${ok.sessionToken.expose()}` }
  await assert.rejects(iam.session.whoami(req2), IamUnauthorizedError)
  assert.equal(await iam.session.whoamiOrNull(req2), null)
  assert.equal((await iam.session.whoami({ authorization: `Bearer ${token}` })).id, s.id)
  await iam.identity.delete(s.identity.id)
})

test('browser registration → whoami → logout with cookies', async () => {
  const iam = makeIam('none')
  const email = uniqueEmail('browser')
  const jar = new Jar()
  const flow = await iam.flow.initiateRegistration({ kind: 'browser' })
  assert.equal(flow.flowType, 'browser')
  assert.ok(flow.csrfToken)
  let cookie = jar.update(flow.setCookie)
  const res = await iam.flow.submitRegistration(
    flow.id,
    { method: 'password', password: PASSWORD, traits: { email } },
    { cookie, csrfToken: flow.csrfToken },
  )
  assert.equal(res.kind, 'success')
  assert.ok(res.sessionToken == null, 'browser flows use cookies, not tokens')
  cookie = jar.update(res.setCookie)
  assert.ok(cookie.includes('ory_kratos_session_customer='))
  const s = await iam.session.whoami({ headers: { cookie } })
  assert.equal(s.identity.traits.email, email)
  await assert.rejects(iam.session.forTenant('admin').whoami({ headers: { cookie } }), IamUnauthorizedError)
  const logout = await iam.flow.initiateBrowserLogout(cookie)
  assert.ok(!util.inspect(logout).includes(logout.logoutToken.expose()))
  const cleared = await iam.flow.submitBrowserLogout(logout.logoutToken, cookie)
  assert.ok(cleared.some((c) => c.expose().startsWith('ory_kratos_session_customer=')))
  assert.equal(await iam.session.whoamiOrNull({ headers: { cookie } }), null)
  await iam.identity.delete(s.identity.id)
})

test('whoami rejects missing, malformed and invalid credentials', async () => {
  const iam = makeIam('none')
  for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer ory_st_notARealToken' }, { cookie: 'ory_kratos_session_customer=bogus' }]) {
    await assert.rejects(iam.session.whoami({ headers }), (e) => e instanceof IamUnauthorizedError && e.code === 'unauthorized')
    assert.equal(await iam.session.whoamiOrNull({ headers }), null)
  }
})

test('Kratos down is an outage, not anonymous', async () => {
  const cfg = iamConfig()
  cfg.tenants.customer.kratos.public_url = `http://127.0.0.1:${await closedPort()}/`
  cfg.tenants.customer.http = { timeout_ms: 1000, retries: 1, backoff_base_ms: 10 }
  const iam = Iam.fromConfig(cfg)
  const req = { authorization: 'Bearer ory_st_whatever' }
  await assert.rejects(iam.session.whoami(req), IamUpstreamUnavailableError)
  await assert.rejects(iam.session.whoamiOrNull(req), IamUpstreamUnavailableError)
  assert.equal(await iam.session.whoamiOrNull({}), null)
})

for (const backend of ['memory', 'redis']) {
  test(`session cache (${backend}): hit, miss, evict on revoke`, async () => {
    const iam = makeIam(backend === 'memory' ? 'memory' : redisCache())
    const reg = await registerNative(iam, uniqueEmail(`cache-${backend}`))
    const req = { authorization: `Bearer ${reg.sessionToken.expose()}` }
    const first = await iam.session.whoami(req)
    const second = await iam.session.whoami(req)
    assert.deepEqual([first.cacheHit, second.cacheHit], [false, true])
    const third = await iam.session.whoamiOrNull(req)
    assert.ok(third && third.cacheHit && third.id === first.id)
    await assert.rejects(iam.session.forTenant('admin').whoami(req), IamUnauthorizedError)
    assert.equal(await iam.session.forTenant('admin').whoamiOrNull(req), null)
    await iam.session.revoke(first.id)
    await assert.rejects(iam.session.whoami(req), IamUnauthorizedError)
    assert.equal(await iam.session.whoamiOrNull(req), null)
    await iam.identity.delete(first.identity.id)
  })
}

test('identity sessions: list, extend, revoke', async () => {
  const iam = makeIam('memory')
  const reg = await registerNative(iam, uniqueEmail('sessions'))
  const page = await iam.identity.listSessions(reg.identity.id)
  assert.deepEqual(page.items.map((s) => s.id), [reg.sessionId])
  assert.ok(page.items[0].identity.traits == null, 'listed sessions carry no traits')
  const all = []
  for await (const x of iam.identity.listSessionsAll(reg.identity.id, true)) all.push(x.id)
  assert.deepEqual(all, [reg.sessionId])
  assert.equal((await iam.identity.extendSession(reg.sessionId)).id, reg.sessionId)
  await iam.identity.revokeSession(reg.sessionId)
  assert.equal(await iam.session.whoamiOrNull({ authorization: `Bearer ${reg.sessionToken.expose()}` }), null)
  await iam.identity.delete(reg.identity.id)
})

test('Secret values never print', async () => {
  const iam = makeIam('none')
  const reg = await registerNative(iam, uniqueEmail('secret'))
  const t = reg.sessionToken
  assert.equal(String(t), '***')
  assert.equal(JSON.stringify({ t }), '{"t":"***"}')
  assert.ok(!util.inspect(t).includes(t.expose()))
  assert.ok(t.expose().length > 10)
  await iam.identity.delete(reg.identity.id)
})

// The envelope format documented in core/src/transport/oathkeeper.rs, built independently.
function sign(claims, key) {
  const crypto = require('node:crypto')
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
  return [payload, crypto.createHmac('sha256', key).update(payload).digest('base64url')]
}

test('oathkeeper envelopes are verified locally', async () => {
  const cfg = iamConfig()
  cfg.tenants.customer.kratos.public_url = `http://127.0.0.1:${await closedPort()}/`
  cfg.tenants.customer.transport = 'oathkeeper'
  cfg.tenants.customer.oathkeeper = { signerKeys: ['previous-key-0123456789', 'current-key-0123456789'] }
  const iam = Iam.fromConfig(cfg)
  const now = Math.floor(Date.now() / 1000)
  for (const [i, key] of ['previous-key-0123456789', 'current-key-0123456789'].entries()) {
    const [p, s] = sign({ sub: 'user-1', iat: now, exp: now + 300, jti: `js-${crypto.randomUUID()}-${i}` }, key)
    const session = await iam.session.whoami({ headers: { 'x-user': p, 'x-user-signature': s } })
    assert.equal(session.identity.id, 'user-1')
    assert.equal(await iam.session.whoamiOrNull({ headers: { 'x-user': p, 'x-user-signature': s } }), null, 'replay')
  }
  const [p, s] = sign({ sub: 'user-1', iat: now, exp: now + 300, jti: crypto.randomUUID() }, 'attacker-key-0123456789')
  await assert.rejects(iam.session.whoami({ headers: { 'x-user': p, 'x-user-signature': s } }), IamUnauthorizedError)
})

test('expired sessions are unauthorized even when cached', async () => {
  // The admin tenant's Kratos gives sessions a 3 s lifespan (tests/stack).
  const iam = makeIam('memory')
  const flows = iam.flow.forTenant('admin')
  const flow = await flows.initiateRegistration()
  const reg = await flows.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email: uniqueEmail('expiry') } })
  const sessions = iam.session.forTenant('admin')
  const req = { authorization: `Bearer ${reg.sessionToken.expose()}` }
  assert.equal((await sessions.whoami(req)).cacheHit, false)
  assert.equal((await sessions.whoami(req)).cacheHit, true)
  await new Promise((r) => setTimeout(r, 3500))
  await assert.rejects(sessions.whoami(req), IamUnauthorizedError)
  await iam.identity.forTenant('admin').delete(reg.identity.id)
})

test('browser login, settings, verification, fetchFlow', async () => {
  const iam = makeIam('none')
  const email = uniqueEmail('settings')
  const reg = await registerNative(iam, email)
  const jar = new Jar()
  const login = await iam.flow.initiateLogin({ kind: 'browser' })
  let cookie = jar.update(login.setCookie)
  assert.equal((await iam.flow.fetchFlow('login', login.id, { cookie })).id, login.id)
  const ok = await iam.flow.submitLogin(login.id, { method: 'password', identifier: email, password: PASSWORD }, { cookie, csrfToken: login.csrfToken })
  assert.equal(ok.kind, 'success')
  cookie = jar.update(ok.setCookie)
  assert.equal((await iam.session.whoami({ headers: { cookie } })).identity.id, reg.identity.id)

  const settings = await iam.flow.initiateSettings({ sessionToken: reg.sessionToken })
  const done = await iam.flow.submitSettings(settings.id, { method: 'profile', traits: { email, name: { first: 'Grace' } } }, { sessionToken: reg.sessionToken })
  assert.equal(done.kind, 'success')
  assert.equal(done.flow.state, 'success')
  assert.deepEqual((await iam.identity.getWithTraits(reg.identity.id)).traits.name, { first: 'Grace' })
  await assert.rejects(iam.flow.initiateSettings(), IamUnauthorizedError)

  const v = await iam.flow.initiateVerification()
  const sent = await iam.flow.submitVerification(v.id, { method: 'code', email })
  assert.equal(sent.kind, 'continue')
  assert.equal(sent.flow.state, 'sent_email')
  assert.equal((await iam.flow.fetchFlow('verification', v.id)).state, 'sent_email')
  await assert.rejects(iam.flow.fetchFlow('nonsense', v.id), (e) => e.code === 'validation')
  await assert.rejects(iam.flow.submitLogin(v.id, { identifier: 'x' }), (e) => e.code === 'validation')
  await iam.identity.delete(reg.identity.id)
})

test('identity writes evict that identity\'s cached sessions (memory and Redis)', async () => {
  for (const cache of [{ memory: { max_entries: 1000 } }, redisCache()]) {
    const iam = makeIam(cache)
    const reg = await registerNative(iam, uniqueEmail('evict'))
    const req = { authorization: `Bearer ${reg.sessionToken.expose()}` }
    await iam.session.whoami(req)
    assert.equal((await iam.session.whoami(req)).cacheHit, true)
    await iam.identity.patch(reg.identity.id, [{ op: 'replace', path: '/state', value: 'inactive' }])
    await assert.rejects(iam.session.whoami(req), IamUnauthorizedError, JSON.stringify(Object.keys(cache)))
    await iam.identity.delete(reg.identity.id)
  }
})
