'use strict'
// `iam.close()` against the real stack: this process's connections to Kratos, Keto and Redis are
// closed (counted from /proc; node:test runs each file in its own process, and this file builds
// no other Iam), every call through a handle taken before is refused with
// IamConfigurationError, cached answers included; health() reports the probes `closed`; another
// Iam is untouched.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const crypto = require('node:crypto')
const { Iam, IamConfigurationError } = require('../../bindings-node/ory-iam.js')
const { stack, iamConfig, registerUser, redisCache } = require('./helpers.js')

const linux = process.platform === 'linux' ? false : 'sockets are counted from /proc'

// This process's established TCP connections to `port`: the sockets among our file descriptors
// whose /proc/net/tcp entry has that remote port.
function connectionsTo(port) {
  const mine = new Set()
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${fd}`)
      if (link.startsWith('socket:[')) mine.add(link.slice(8, -1))
    } catch {}
  }
  let n = 0
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const col = line.trim().split(/\s+/)
      if (parseInt(col[2].split(':').pop(), 16) === port && col[3] === '01' && mine.has(col[9])) n++
    }
  }
  return n
}

async function allClosed(ports) {
  let left = {}
  for (let i = 0; i < 60; i++) {
    left = Object.fromEntries(ports.map((p) => [p, connectionsTo(p)]).filter(([, n]) => n > 0))
    if (Object.keys(left).length === 0) return left
    await new Promise((r) => setTimeout(r, 50))
  }
  return left
}

const port = (url) => Number(new URL(url).port)

function config(sessionCache) {
  const cfg = iamConfig()
  cfg.session_cache = sessionCache
  cfg.tenants.customer.cache = { session_ttl_ms: 60000, permission_ttl_ms: 60000 }
  cfg.audit = { sink: 'none' }
  return cfg
}

async function refused(promise) {
  try {
    await promise
  } catch (e) {
    return e instanceof IamConfigurationError && e.code === 'configuration'
  }
  return false
}

for (const backend of ['memory', 'redis']) {
  test(`close (${backend} cache): connections closed, every call refused`, { skip: linux }, async () => {
    const s = stack()
    const t = s.iam_config.tenants.customer
    const ports = [port(t.kratos.public_url), port(t.keto.read_url)]
    const cache = backend === 'redis' ? redisCache() : 'memory'
    if (backend === 'redis') ports.push(s.redis.port)
    const iam = Iam.fromConfig(config(cache))
    const other = Iam.fromConfig(config(cache))
    const { token } = await registerUser(iam, 'customer', `close-${backend}`)
    const req = { authorization: `Bearer ${token}` }
    const { session, permission, identity } = iam
    const tuple = { namespace: 'documents', object: `close-${crypto.randomUUID()}`, relation: 'view', subject: 'nobody' }

    assert.equal((await session.whoami(req)).cacheHit, false)
    assert.equal((await session.whoami(req)).cacheHit, true)
    assert.equal(await permission.check(tuple), false)
    for (const p of ports) assert.ok(connectionsTo(p) > 0, `a pooled connection to port ${p} before the close`)

    await iam.close()
    await iam.close() // twice is fine
    assert.deepEqual(await allClosed(ports), {}, 'connections left open after close (port: count)')

    assert.ok(await refused(session.whoami(req)), 'cached session')
    assert.ok(await refused(session.whoamiOrNull(req)))
    assert.ok(await refused(permission.check(tuple)), 'cached decision')
    assert.ok(await refused(permission.checkBatch([tuple])))
    assert.ok(await refused(identity.list()))
    assert.ok(await refused(iam.session.forTenant('admin').whoami(req)))
    const health = await iam.health()
    assert.equal(health.healthy, false)
    assert.deepEqual([...new Set(health.probes.map((p) => p.reason))], ['closed'])
    assert.deepEqual(await allClosed(ports), {}, 'a refused call opened a connection')

    assert.ok((await other.session.whoami(req)).identity.id, 'another Iam is untouched')
    assert.equal(await other.permission.check(tuple), false)
    await other.close()
  })
}
