'use strict'
// Issue 19's attack scenarios from tests/security/trust_attacks.json (shared with the Rust and
// Python drivers), against the real stack: token confusion and forged tokens, the expected
// audience, the JWKS under a flood of unknown key ids and during an outage, cache coherence after
// writes made through the library, configuration bounds; and the index of every attack of the
// issue, whose Node references must name tests that exist.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { Iam, IamError } = require('../../bindings-node/ory-iam.js')
const { FaultProxy } = require('../reliability/proxy.js')
const { stack, iamConfig, registerUser, uniqueEmail, redisCache, ROOT } = require('./helpers.js')
const { codeFlow } = require('./hydra-flow.js')

const SCENARIOS = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'security', 'trust_attacks.json'), 'utf8'))
const iam = Iam.fromConfig(iamConfig())

const dec = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
const enc = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const bearer = (t) => ({ authorization: `Bearer ${t}` })

// The token of kind `kind` from a real flow's token set, or one forged from them.
function tokenOf(kind, t) {
  const access = t.accessToken.expose()
  const id = t.idToken.expose()
  const parts = (jwt) => {
    const [h, c, s] = jwt.split('.')
    return [dec(h), dec(c), s]
  }
  switch (kind) {
    case 'access':
      return access
    case 'id':
      return id
    case 'refresh':
      return t.refreshToken.expose()
    case 'alg_none': {
      const [h, c] = parts(access)
      return `${enc({ ...h, alg: 'none' })}.${enc(c)}.`
    }
    case 'alg_hs256': {
      const [h, c] = parts(access)
      const input = `${enc({ ...h, alg: 'HS256' })}.${enc(c)}`
      return `${input}.${crypto.createHmac('sha256', 'attacker-chosen-key').update(input).digest('base64url')}`
    }
    case 'tampered_sub': {
      const [h, c, s] = parts(access)
      return `${enc(h)}.${enc({ ...c, sub: 'someone-else' })}.${s}`
    }
    case 'unknown_kid': {
      const [h, c, s] = parts(access)
      return `${enc({ ...h, kid: `made-up-${crypto.randomUUID()}` })}.${enc(c)}.${s}`
    }
    case 'id_token_header_typ_at': {
      const [h, c, s] = parts(id)
      return `${enc({ ...h, typ: 'at+jwt' })}.${enc(c)}.${s}`
    }
    default:
      throw new Error(`unknown token kind ${kind}`)
  }
}

// ['ok', value] or [error code, undefined]; anything but an IamError fails the test.
async function outcome(p) {
  try {
    return ['ok', await p]
  } catch (e) {
    if (!(e instanceof IamError)) throw e
    return [e.code, undefined]
  }
}

test('token confusion cases', async () => {
  const flows = { jwt: await codeFlow(iam, 'jwt'), opaque: await codeFlow(iam, 'opaque') }
  const failures = []
  const { cases } = SCENARIOS.token_confusion
  for (const c of cases) {
    const { tokens, clientId } = flows[c.strategy]
    const [got, p] = await outcome(iam.token.authenticate(bearer(tokenOf(c.token, tokens)), { mode: c.mode }))
    const ok = got === c.expect && (got !== 'ok' || (p.verifiedBy === c.verified_by && p.subject === 'user-1' && p.clientId === clientId))
    if (!ok) failures.push(`${JSON.stringify(c)}: got ${got} ${p ? p.verifiedBy : ''}`)
  }
  for (const f of Object.values(flows)) await iam.oauth2Client.delete(f.clientId)
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} failed`)
})

test('audience cases', async () => {
  const flows = new Map()
  const failures = []
  for (const c of SCENARIOS.audience.cases) {
    const key = `${c.strategy} ${c.client_audience.join(' ')}`
    if (!flows.has(key)) flows.set(key, await codeFlow(iam, c.strategy, c.client_audience))
    const at = bearer(flows.get(key).tokens.accessToken.expose())
    let got
    if (c.where === 'call') {
      ;[got] = await outcome(iam.token.authenticate(at, { requiredAudience: c.required }))
    } else {
      const cfg = iamConfig()
      cfg.tenants.customer.hydra.audience = c.required
      const other = Iam.fromConfig(cfg)
      ;[got] = await outcome(other.token.authenticate(at))
      await other.close()
    }
    if (got !== c.expect) failures.push(`${JSON.stringify(c)}: got ${got}`)
  }
  for (const f of flows.values()) await iam.oauth2Client.delete(f.clientId)
  assert.deepEqual(failures, [])
})

// A real JWT access token (client credentials) and an Iam whose Hydra public URL is `proxy`.
async function jwtThrough(proxy, cache) {
  const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read', access_token_strategy: 'jwt' })
  const cfg = iamConfig()
  const h = cfg.tenants.customer.hydra
  h.client_id = client.clientId
  h.client_secret = client.clientSecret.expose()
  const issuing = Iam.fromConfig(cfg)
  const token = (await issuing.token.clientCredentials('read')).accessToken.expose()
  await issuing.close()
  h.issuer = h.issuer || h.public_url // tokens name the real issuer; only the JWKS is proxied
  h.public_url = proxy.url
  cfg.tenants.customer.cache = cache
  cfg.tenants.customer.http = { retries: 0, timeout_ms: 2000 }
  return { via: Iam.fromConfig(cfg), token, clientId: client.clientId }
}

test('jwks cases', async () => {
  const j = SCENARIOS.jwks
  const proxy = await FaultProxy.start(stack().hydra.public_url)
  try {
    const { via, token, clientId } = await jwtThrough(proxy, {})
    assert.equal((await via.token.authenticate(bearer(token))).verifiedBy, 'jwt')
    assert.equal(await proxy.requests(j.path), 1, 'the first verification fetches the set')
    const [h, c, s] = token.split('.')
    const forged = Array.from({ length: j.flood.tokens }, (_, i) => `${enc({ ...dec(h), kid: `made-up-${i}` })}.${c}.${s}`)
    const t0 = Date.now()
    const got = await Promise.all(forged.map((t) => outcome(via.token.authenticate(bearer(t)))))
    const elapsed = Date.now() - t0
    assert.ok(got.every(([g]) => g === 'unauthorized'), JSON.stringify(got.map(([g]) => g)))
    const allowed = 2 + Math.floor(elapsed / j.flood.cooldown_ms)
    const fetched = await proxy.requests(j.path)
    assert.ok(fetched <= allowed, `${fetched} JWKS fetches in ${elapsed} ms`)
    await via.close()
    await iam.oauth2Client.delete(clientId)
  } finally {
    await proxy.stop()
  }
  for (const cs of j.outage) {
    const p = await FaultProxy.start(stack().hydra.public_url)
    try {
      const { via, token, clientId } = await jwtThrough(p, cs.cache)
      await via.token.authenticate(bearer(token))
      await p.fault('status', { status: 503, path: j.path })
      await new Promise((r) => setTimeout(r, cs.wait_ms))
      const [got, principal] = await outcome(via.token.authenticate(bearer(token)))
      assert.equal(got, cs.expect, JSON.stringify(cs))
      if (got === 'ok') assert.equal(principal.verifiedBy, 'jwt')
      await via.close()
      await iam.oauth2Client.delete(clientId)
    } finally {
      await p.stop()
    }
  }
})

test('coherence cases', async () => {
  const failures = []
  for (const c of SCENARIOS.coherence.cases) {
    const cfg = iamConfig()
    cfg.session_cache = c.cache === 'memory' ? { memory: { max_entries: 1000 } } : redisCache()
    cfg.tenants.customer.cache = { session_ttl_ms: 60000 }
    const local = Iam.fromConfig(cfg)
    const { id, token } = await registerUser(local, 'customer', 'coherence')
    const req = bearer(token)
    await local.session.whoami(req)
    assert.ok((await local.session.whoami(req)).cacheHit, `${JSON.stringify(c)}: cached before the write`)
    const sessionId = async () => (await local.identity.listSessions(id)).items[0].id
    switch (c.write) {
      case 'identity.deactivate':
        await local.identity.patch(id, [{ op: 'replace', path: '/state', value: 'inactive' }])
        break
      case 'identity.delete':
        await local.identity.delete(id)
        break
      case 'identity.update_traits':
        await local.identity.updateTraits(id, { email: uniqueEmail('changed') })
        break
      case 'identity.patch_metadata':
        await local.identity.patch(id, [{ op: 'add', path: '/metadata_public', value: { roles: ['x'] } }])
        break
      case 'identity.revoke_session':
        await local.identity.revokeSession(await sessionId())
        break
      case 'session.revoke':
        await local.session.revoke(await sessionId())
        break
      default:
        throw new Error(`unknown write ${c.write}`)
    }
    const [got, s] = await outcome(local.session.whoami(req))
    const ok = c.expect === 'fresh' ? got === 'ok' && !s.cacheHit : got === c.expect
    if (!ok) failures.push(`${JSON.stringify(c)}: got ${got} ${s ? s.cacheHit : ''}`)
    await outcome(local.identity.delete(id))
    await local.close()
  }
  assert.deepEqual(failures, [])
})

function setPath(doc, dotted, value) {
  const parts = dotted.split('.')
  let at = doc
  for (const p of parts.slice(0, -1)) {
    if (at[p] === null || typeof at[p] !== 'object') at[p] = {}
    at = at[p]
  }
  at[parts[parts.length - 1]] = value
}

test('config bound cases', () => {
  for (const c of SCENARIOS.config_bounds.cases) {
    const cfg = iamConfig()
    if (c.transport) {
      cfg.tenants.customer.transport = c.transport
      cfg.tenants.customer.oathkeeper = { signer_keys: ['k-0123456789abcdef'] }
    }
    setPath(cfg, c.path, c.value)
    assert.throws(
      () => Iam.fromConfig(cfg),
      (e) => e instanceof IamError && e.code === 'configuration' && e.fields.some((f) => f.path === c.path),
      JSON.stringify(c),
    )
  }
})

test('every item names existing tests', () => {
  const { items } = SCENARIOS
  assert.ok(items.length >= 10)
  for (const it of items) {
    assert.ok(it.node.length > 0, `item ${it.item}: no Node tests`)
    for (const ref of it.node) {
      const [file, title] = ref.split('::')
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
      assert.ok([`'`, `"`, '`'].some((q) => text.includes(`test(${q}${title}${q}`)), `${ref}: no such test`)
    }
  }
})
