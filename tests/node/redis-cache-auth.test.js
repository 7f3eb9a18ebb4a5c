'use strict'
// The Redis session cache does not trust Redis (issue 19, item 8), through the Node binding
// against the real Kratos and Redis: a session planted in Redis without the cache key is never a
// session; a real entry copied under another token's name is a miss; only instances with the
// same key and prefix share entries; rotation reads entries of a key listed second; bad keys and
// prefixes are configuration errors; Redis holds no token or trait in clear. Data shared with
// Rust and Python: tests/security/redis_cache.json. Redis is read and written with `redis-cli`.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { Iam, IamConfigurationError, IamUnauthorizedError } = require('../../bindings-node/ory-iam.js')
const { stack, iamConfig, registerUser, registerSecret, ROOT } = require('./helpers.js')

const SCENARIO = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'security', 'redis_cache.json'), 'utf8'))

function newKey() {
  const key = crypto.randomBytes(32).toString('base64')
  registerSecret(key)
  return key
}
const newPrefix = () => `node-${crypto.randomUUID()}`
const redis = (...args) => execFileSync('redis-cli', ['-u', stack().redis.url, ...args], { encoding: 'utf8', timeout: 30_000 })
const sessionNames = (prefix) => new Set(redis('KEYS', `${prefix}:session:*`).split(/\s+/).filter(Boolean))

/** One Iam on the stack's Redis with the given prefix and keys, recording its audit events. */
function deployment(prefix, keys) {
  const cfg = iamConfig()
  cfg.session_cache = { redis: { url: stack().redis.url, key_prefix: prefix, keys } }
  cfg.tenants.customer.cache = { session_ttl_ms: 60000 }
  cfg.audit = { sink: 'callback' }
  const events = []
  const iam = Iam.fromConfig(cfg, (e) => events.push(e))
  return {
    iam,
    // Node queues audit events to the JS thread: wait (up to 2 s) until `n` have arrived.
    rejected: async (n) => {
      const mine = () => events.filter((e) => e.name === 'session.cache_rejected')
      for (const t0 = Date.now(); mine().length < n && Date.now() - t0 < 2000; ) await new Promise((r) => setTimeout(r, 10))
      return mine()
    },
    whoami: (token) => iam.session.whoami({ 'x-session-token': token }),
  }
}

/** A new user whose session `d` has cached: { id, token, name } (its entry's Redis name). */
async function cachedUser(d, prefix) {
  const before = sessionNames(prefix)
  const { id, token } = await registerUser(d.iam, 'customer', 'redis-auth')
  assert.equal((await d.whoami(token)).cacheHit, false)
  assert.equal((await d.whoami(token)).cacheHit, true, 'cached')
  const added = [...sessionNames(prefix)].filter((n) => !before.has(n))
  assert.equal(added.length, 1, String(added))
  return { id, token, name: added[0] }
}

test('a session planted in Redis is never a session', async () => {
  const prefix = newPrefix()
  const d = deployment(prefix, [newKey()])
  const { id, token, name } = await cachedUser(d, prefix)
  const forged = JSON.stringify(SCENARIO.forged_session)
  redis('SET', name, forged, 'PX', '600000')
  const s = await d.whoami(token)
  assert.equal(s.identity.id, id, "Kratos' session, not the planted one")
  assert.equal(s.cacheHit, false)
  const [ev, ...more] = await d.rejected(1)
  assert.equal(more.length, 0)
  assert.deepEqual([ev.tenant, ev.result, ev.attributes], ['customer', 'denied', { reason: 'unauthenticated' }])
  // Once Kratos no longer knows the token, the planted session does not keep it alive.
  await d.iam.session.revoke(s.id)
  redis('SET', name, forged, 'PX', '600000')
  await assert.rejects(d.whoami(token), (e) => e instanceof IamUnauthorizedError && e.code === 'unauthorized')
  assert.equal((await d.rejected(2)).length, 2)
  assert.equal(redis('EXISTS', name).trim(), '0', 'the planted value was deleted')
  await d.iam.identity.delete(id)
})

test("a real entry copied under another token's name is a miss", async () => {
  const prefix = newPrefix()
  const d = deployment(prefix, [newKey()])
  const u1 = await cachedUser(d, prefix)
  const u2 = await cachedUser(d, prefix)
  redis('COPY', u1.name, u2.name, 'REPLACE')
  const s = await d.whoami(u2.token)
  assert.equal(s.identity.id, u2.id, "never the session copied from another token's entry")
  assert.equal(s.cacheHit, false)
  assert.equal((await d.rejected(1)).length, 1)
  for (const u of [u1, u2]) await d.iam.identity.delete(u.id)
})

test('only the same key and prefix share entries; rotation reads the second key', async () => {
  const [prefix, key] = [newPrefix(), newKey()]
  const a = deployment(prefix, [key])
  const { id, token } = await cachedUser(a, prefix)
  const s = await deployment(prefix, [key]).whoami(token)
  assert.ok(s.cacheHit && s.identity.id === id, 'same key and prefix: a hit across instances')
  assert.equal((await deployment(prefix, [newKey()]).whoami(token)).cacheHit, false, 'another key')
  assert.equal((await deployment(newPrefix(), [key]).whoami(token)).cacheHit, false, 'another prefix')
  const fresh = newKey()
  assert.equal((await deployment(prefix, [fresh, key]).whoami(token)).cacheHit, true, 'old key listed second')
  assert.equal((await deployment(prefix, [fresh]).whoami(token)).cacheHit, false, 'old key dropped')
  await a.iam.identity.delete(id)
})

test('Redis holds no token or traits in clear', async () => {
  const prefix = newPrefix()
  const d = deployment(prefix, [newKey()])
  const { id, token, name } = await cachedUser(d, prefix)
  const email = (await d.whoami(token)).identity.traits.email
  const dump = redis('GET', name) + redis('KEYS', `${prefix}:*`)
  assert.ok(!dump.includes(token.replace(/^ory_st_/, '')) && !dump.includes(email) && !dump.includes('traits'))
  await d.iam.identity.delete(id)
})

test('bad cache keys and prefixes are configuration errors', () => {
  for (const c of SCENARIO.bad_configs) {
    const cfg = iamConfig()
    cfg.session_cache = { redis: { url: stack().redis.url, ...c.redis } }
    assert.throws(
      () => Iam.fromConfig(cfg),
      (e) => {
        assert.ok(e instanceof IamConfigurationError && e.code === 'configuration', c.name)
        assert.ok(e.fields.some((f) => f.path === c.path), `${c.name}: ${JSON.stringify(e.fields)}`)
        for (const k of c.redis.keys ?? []) if (typeof k === 'string' && k) assert.ok(!e.message.includes(k), c.name)
        return true
      },
      c.name,
    )
  }
})
