'use strict'
// The Redis session cache and replay store on a real Redis Cluster and a real Sentinel setup
// (tests/stack/redis-topology, started here; issue 24 items 1, 4, 5), shared between this process
// and another Node process: a session cached here is a cache hit there, a revoke made here is
// refused there, an Oathkeeper envelope accepted here is a replay there, and a Keto revoke made
// here drops the decision the other process had cached (the invalidation channel).
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const crypto = require('node:crypto')
const readline = require('node:readline')
const { spawn, execFileSync } = require('node:child_process')
const { Iam, IamUpstreamUnavailableError, IamUnauthorizedError } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail } = require('./helpers.js')

const SCRIPT = path.resolve(__dirname, '..', 'stack', 'redis-topology')
const KEY = 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='
const SIGNER = 'node-topology-signer-key-0123456789'
const PASSWORD = 'a-Long-and-unique-passphrase-42'

// Another process: one Iam per config of argv; each stdin line {iam, headers} (or {iam, check,
// fresh}) is answered with one line: the session's identity id and cacheHit (or the check's
// answer), or the error's code.
const PEER = `
const readline = require('node:readline')
const { Iam } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'bindings-node', 'ory-iam.js'))})
const iams = Object.fromEntries(Object.entries(JSON.parse(process.argv[1])).map(([k, c]) => [k, Iam.fromConfig(c)]))
const rl = readline.createInterface({ input: process.stdin })
let chain = Promise.resolve()
rl.on('line', (line) => {
  chain = chain.then(async () => {
    const req = JSON.parse(line)
    let out
    try {
      if (req.check) out = { allowed: await iams[req.iam].permission.check(req.check, { fresh: !!req.fresh }) }
      else {
        const s = await iams[req.iam].session.whoami(req.headers)
        out = { identity: s.identity.id, cacheHit: s.cacheHit }
      }
    } catch (e) {
      out = { code: e.code }
    }
    process.stdout.write(JSON.stringify(out) + '\\n')
  })
})
rl.on('close', () => chain.then(() => process.exit(0)))
`

class Peer {
  constructor(configs) {
    this.proc = spawn(process.execPath, ['-e', PEER, JSON.stringify(configs)], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]()
  }
  async whoami(iam, headers) {
    this.proc.stdin.write(JSON.stringify({ iam, headers }) + '\n')
    return JSON.parse((await this.lines.next()).value)
  }
  async check(iam, tuple, fresh = false) {
    this.proc.stdin.write(JSON.stringify({ iam, check: tuple, fresh }) + '\n')
    return JSON.parse((await this.lines.next()).value).allowed
  }
  close() {
    this.proc.stdin.end()
    return new Promise((resolve) => this.proc.on('exit', resolve))
  }
}

const topologies = {}
after(() => {
  for (const t of Object.values(topologies)) execFileSync(SCRIPT, ['down', t.dir])
})

function topology(kind) {
  topologies[kind] ??= JSON.parse(execFileSync(SCRIPT, ['up', kind], { encoding: 'utf8' }))
  return topologies[kind]
}

function sessionCache(t) {
  const redis = { keys: [KEY], key_prefix: `node-topo-${crypto.randomUUID()}` }
  if (t.kind === 'cluster') redis.cluster = t.urls
  else redis.sentinel = { urls: t.urls, master_name: t.master_name }
  return { redis }
}

function envelope(claims) {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
  const sig = crypto.createHmac('sha256', SIGNER).update(payload).digest('base64url')
  return { 'x-user': payload, 'x-user-signature': sig }
}

for (const kind of ['cluster', 'sentinel']) {
  test(`${kind}: a session cached here is a hit in another process, a revoke here is refused there`, async () => {
    const cfg = iamConfig()
    cfg.session_cache = sessionCache(topology(kind))
    cfg.tenants.customer.cache = { session_ttl_ms: 600000 }
    const here = Iam.fromConfig(cfg)
    const flow = await here.flow.initiateRegistration()
    const reg = await here.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email: uniqueEmail('topo') } })
    const bearer = { authorization: `Bearer ${reg.sessionToken.expose()}` }
    const s = await here.session.whoami(bearer)
    assert.equal(s.cacheHit, false)
    const peer = new Peer({ a: cfg })
    try {
      assert.deepEqual(await peer.whoami('a', bearer), { identity: reg.identity.id, cacheHit: true })
      await here.session.revoke(s.id)
      assert.deepEqual(await peer.whoami('a', bearer), { code: 'unauthorized' })
    } finally {
      await peer.close()
    }
    await here.identity.delete(reg.identity.id)
  })

  test(`${kind}: a Keto revoke here drops the decision another process cached`, async () => {
    const cfg = iamConfig()
    cfg.session_cache = sessionCache(topology(kind))
    cfg.tenants.customer.cache = { permission_ttl_ms: 600000 }
    const here = Iam.fromConfig(cfg)
    const outside = Iam.fromConfig(iamConfig()) // shares no Redis: tells nobody
    const u = crypto.randomUUID()
    const q = { namespace: 'documents', object: `doc-${u}`, relation: 'view', subject: `bob-${u}` }
    const peer = new Peer({ b: cfg })
    try {
      // The peer caches `allowed` while Keto no longer has the tuple (retried until the peer's
      // invalidation channel is up: until then it caches nothing).
      const until = Date.now() + 30000
      for (;;) {
        await outside.permission.grant(q)
        assert.equal(await peer.check('b', q, true), true)
        await outside.permission.revoke(q)
        if (await peer.check('b', q)) break
        assert.ok(Date.now() < until, 'the peer never cached the decision')
        await new Promise((r) => setTimeout(r, 20))
      }
      await here.permission.revoke(q)
      const deadline = Date.now() + 10000
      while (await peer.check('b', q)) {
        assert.ok(Date.now() < deadline, 'the peer still served its cached allow after 10 s')
        await new Promise((r) => setTimeout(r, 1))
      }
    } finally {
      await peer.close()
    }
  })

  test(`${kind}: an Oathkeeper envelope accepted here is a replay in another process`, async () => {
    const cfg = iamConfig()
    cfg.session_cache = sessionCache(topology(kind))
    cfg.tenants.customer.transport = 'oathkeeper'
    cfg.tenants.customer.oathkeeper = { signer_keys: [SIGNER], replay_protection: { enabled: true } }
    const here = Iam.fromConfig(cfg)
    const now = Math.floor(Date.now() / 1000)
    const peer = new Peer({ edge: cfg })
    try {
      for (let i = 0; i < 10; i++) {
        const headers = envelope({ sub: '9f425a8d-7efc-4768-8f23-7647a74fdf13', iat: now, exp: now + 300, jti: `node-${i}-${crypto.randomUUID()}` })
        assert.ok((await here.session.whoami(headers)).identity)
        assert.deepEqual(await peer.whoami('edge', headers), { code: 'unauthorized' })
      }
    } finally {
      await peer.close()
    }
  })
}

test('a revoke the shared cache cannot take is an outage; the replay store fails closed', async () => {
  const cfg = iamConfig()
  cfg.session_cache = { redis: { url: 'redis://127.0.0.1:1/0', keys: [KEY] } }
  cfg.tenants.customer.cache = { session_ttl_ms: 600000 }
  const iam = Iam.fromConfig(cfg)
  const flow = await iam.flow.initiateRegistration()
  const reg = await iam.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email: uniqueEmail('topo-down') } })
  const bearer = { authorization: `Bearer ${reg.sessionToken.expose()}` }
  const s = await iam.session.whoami(bearer)
  await assert.rejects(iam.session.revoke(s.id), IamUpstreamUnavailableError)
  await assert.rejects(iam.session.whoami(bearer), IamUnauthorizedError)
  await assert.rejects(iam.identity.delete(reg.identity.id), IamUpstreamUnavailableError)

  const edgeCfg = iamConfig()
  edgeCfg.session_cache = { redis: { url: 'redis://127.0.0.1:1/0', keys: [KEY] } }
  edgeCfg.tenants.customer.transport = 'oathkeeper'
  edgeCfg.tenants.customer.oathkeeper = { signer_keys: [SIGNER], replay_protection: { enabled: true } }
  const now = Math.floor(Date.now() / 1000)
  const headers = envelope({ sub: '9f425a8d-7efc-4768-8f23-7647a74fdf13', iat: now, exp: now + 300, jti: `node-closed-${crypto.randomUUID()}` })
  await assert.rejects(Iam.fromConfig(edgeCfg).session.whoami(headers), IamUpstreamUnavailableError)
})
