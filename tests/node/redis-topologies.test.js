'use strict'
// The Redis session cache and replay store on a real Redis Cluster and a real Sentinel setup
// (tests/stack/redis-topology, started here; issue 24 items 1, 4, 5), shared between this process
// and another Node process: a session cached here is a cache hit there, a revoke made here is
// refused there, an Oathkeeper envelope accepted here is a replay there, and a Keto revoke made
// here drops the decision the other process had cached (the invalidation channel); a revoke no
// replica acknowledged is an outage (wait_replicas); and a master killed under load leaves every
// call correct or a typed outage (never a wrong allow), the cache serving again after the failover.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const crypto = require('node:crypto')
const readline = require('node:readline')
const fs = require('node:fs')
const { promisify } = require('node:util')
const { spawn, execFile, execFileSync } = require('node:child_process')
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// redis-cli, without blocking the event loop (the load runs meanwhile).
async function cli(port, ...args) {
  const { stdout } = await promisify(execFile)('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])
  return stdout
}

async function waitUntil(what, ok) {
  const deadline = Date.now() + 60000
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `${what}: not after 60 s`)
    await sleep(100)
  }
}

function procState(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop().trim()[0]
  } catch {
    return 'gone'
  }
}

// Signal a node and wait until it is in `state` ('T' stopped, 'gone' killed), if given.
async function signalNode(pid, sig, state) {
  process.kill(pid, sig)
  if (state) await waitUntil(`node ${pid} ${state}`, async () => procState(pid) === state || (state === 'gone' && procState(pid) === 'Z'))
}

async function register(iam, tag) {
  const flow = await iam.flow.initiateRegistration()
  const reg = await iam.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email: uniqueEmail(tag) } })
  return { id: reg.identity.id, bearer: { authorization: `Bearer ${reg.sessionToken.expose()}` } }
}

// Revoke until it takes (each failure an outage), within 30 s.
async function revokeUntilItTakes(iam, sessionId) {
  const deadline = Date.now() + 30000
  for (;;) {
    try {
      return await iam.session.revoke(sessionId)
    } catch (e) {
      assert.ok(e instanceof IamUpstreamUnavailableError, String(e))
      assert.ok(Date.now() < deadline, 'the revoke never took')
      await sleep(100)
    }
  }
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

for (const kind of ['cluster', 'sentinel']) {
  test(`${kind}: a revoke no replica acknowledged is an outage (waitReplicas 0: accepted)`, async () => {
    const t = topology(kind)
    const cache = sessionCache(t)
    const cfg = iamConfig()
    cfg.session_cache = cache
    cfg.tenants.customer.cache = { session_ttl_ms: 600000 }
    const strict = Iam.fromConfig(cfg)
    const laxCfg = structuredClone(cfg)
    laxCfg.session_cache.redis.waitReplicas = 0
    const lax = Iam.fromConfig(laxCfg)
    // Connections made first (the eviction one too): a cluster connection is made to every node,
    // and a stopped node never answers a new connection's handshake.
    for (const iam of [strict, lax]) {
      const u = await register(iam, 'topo-warm')
      await iam.session.revoke((await iam.session.whoami(u.bearer)).id)
      await iam.identity.delete(u.id)
    }
    const u = await register(strict, 'topo-wait')
    const s = await strict.session.whoami(u.bearer)
    assert.equal((await strict.session.whoami(u.bearer)).cacheHit, true)
    // Every replica stopped (SIGSTOP: connected, acknowledging nothing).
    const replicas = t.nodes.filter((n) => n.role === 'replica').map((n) => n.pid)
    for (const pid of replicas) await signalNode(pid, 'SIGSTOP', 'T')
    let strictRevoke, laxRevoke
    try {
      strictRevoke = await strict.session.revoke(s.id).then(() => 'ok', (e) => e)
      laxRevoke = await lax.session.revoke(s.id).then(() => 'ok', (e) => e)
    } finally {
      for (const pid of replicas) await signalNode(pid, 'SIGCONT')
    }
    assert.ok(strictRevoke instanceof IamUpstreamUnavailableError, `unacknowledged, yet: ${strictRevoke}`)
    assert.equal(laxRevoke, 'ok')
    await revokeUntilItTakes(strict, s.id)
    await assert.rejects(strict.session.whoami(u.bearer), IamUnauthorizedError)
    await strict.identity.delete(u.id)
  })

  // Last for this topology: it kills its master (then restarts it as a replica).
  test(`${kind}: a master killed under load never yields a wrong answer`, async () => {
    const t = topology(kind)
    const cfg = iamConfig()
    cfg.session_cache = sessionCache(t)
    cfg.tenants.customer.cache = { session_ttl_ms: 600000 }
    const iam = Iam.fromConfig(cfg)
    const users = []
    for (let i = 0; i < 6; i++) {
      const u = await register(iam, 'topo-kill')
      const s = await iam.session.whoami(u.bearer)
      u.valid = i < 4
      if (u.valid) assert.equal((await iam.session.whoami(u.bearer)).cacheHit, true, 'cached before the kill')
      else await iam.session.revoke(s.id)
      users.push(u)
    }
    const victim = await register(iam, 'topo-victim')
    const victimSession = await iam.session.whoami(victim.bearer)
    let stop = false
    let ok = 0
    let outages = 0
    const wrong = []
    const load = async (u) => {
      while (!stop) {
        try {
          const s = await iam.session.whoami(u.bearer)
          if (u.valid && s.identity.id === u.id) ok++
          else wrong.push(`allowed: valid=${u.valid}`)
        } catch (e) {
          if (e instanceof IamUnauthorizedError && !u.valid) ok++
          else if (e instanceof IamUpstreamUnavailableError) outages++
          else wrong.push(`valid=${u.valid}: ${e.code}`)
        }
      }
    }
    const tasks = users.flatMap((u) => [load(u), load(u)])
    await sleep(300)
    const before = ok
    assert.ok(before > 0, 'load is running')
    const master = t.nodes.find((n) => n.role === 'master')
    await signalNode(master.pid, 'SIGKILL', 'gone')
    // A revoke while the master is down: an outage while the shared cache cannot drop the entry;
    // never a success that leaves the session cached (checked once the revoke took, below).
    const duringOutage = await iam.session.revoke(victimSession.id).then(() => 'ok', (e) => e)
    if (duringOutage !== 'ok') assert.ok(duringOutage instanceof IamUpstreamUnavailableError, String(duringOutage))
    if (kind === 'cluster') {
      const alive = t.nodes.find((n) => n.role === 'master' && n !== master).port
      await waitUntil('cluster failover', async () => {
        const nodes = (await cli(alive, 'cluster', 'nodes')).split('\n')
        return (await cli(alive, 'cluster', 'info')).includes('cluster_state:ok') &&
          nodes.some((l) => l.includes(`:${master.port}@`) && l.includes('fail')) &&
          nodes.filter((l) => l.includes('master') && !l.includes('fail')).length === 3
      })
    } else {
      const sentinel = t.nodes.find((n) => n.role === 'sentinel').port
      const replica = t.nodes.find((n) => n.role === 'replica').port
      await waitUntil('sentinel failover', async () =>
        !(await cli(sentinel, 'sentinel', 'get-master-addr-by-name', t.master_name)).includes(String(master.port)) &&
        (await cli(replica, 'role')).startsWith('master'))
    }
    // The old master restarted rejoins as a replica: the promoted master has one again, so
    // evictions (which wait for one) are confirmed again.
    execFileSync(SCRIPT, ['restart', t.dir, String(master.port)])
    await waitUntil('the old master rejoins as a replica', async () => {
      const rep = await cli(master.port, 'info', 'replication')
      return rep.includes('role:slave') && rep.includes('master_link_status:up')
    })
    await sleep(300)
    stop = true
    await Promise.all(tasks)
    assert.deepEqual(wrong, [])
    assert.ok(ok > before, `calls kept being answered (${ok} ok, ${outages} outages)`)
    // Recovered: every valid session is served from the cache again.
    for (const u of users) {
      if (!u.valid) {
        await assert.rejects(iam.session.whoami(u.bearer), IamUnauthorizedError)
        continue
      }
      const deadline = Date.now() + 30000
      while (!(await iam.session.whoami(u.bearer)).cacheHit) {
        assert.ok(Date.now() < deadline, 'the cache did not serve again after the failover')
        await sleep(100)
      }
    }
    if (duringOutage !== 'ok') await revokeUntilItTakes(iam, victimSession.id)
    await assert.rejects(iam.session.whoami(victim.bearer), IamUnauthorizedError)
    for (const u of [...users, victim]) await iam.identity.delete(u.id)
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
