'use strict'
// Node side of the benchmark: one client and one workload per process, JSON on stdout.
//
//   node bench/node_bench.js CLIENT WORKLOAD [--concurrency N] [--duration S] [--calls N]
//       [--repeat N] [--iam-dir DIR] [--replay-url URL]
//
// CLIENT: ory-iam (the release addon loaded from --iam-dir, where scripts/bench.sh puts the
// release .node next to copies of ory-iam.js and index.js), @ory/client (axios),
// @ory/client-fetch (fetch), raw-net (whoami_uncached only: no library, hand-written requests on
// keep-alive sockets; the floor). Client CPU is process.cpuUsage() over the measured calls only.

const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const stack = JSON.parse(fs.readFileSync(path.join(ROOT, '.stack', 'stack.json'), 'utf8'))
const fx = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', '.work', 'fixtures.json'), 'utf8'))

function parseArgs(argv) {
  const a = { client: argv[0], workload: argv[1], concurrency: 1, duration: 5, calls: 20000, repeat: 3, batchSize: 0, iamDir: null, replayUrl: null }
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase())
    a[k] = ['iamDir', 'replayUrl'].includes(k) ? argv[i + 1] : Number(argv[i + 1])
  }
  return a
}
const args = parseArgs(process.argv.slice(2))
const tokens = fx.tokens
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const cpuS = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1e6
}
const nowNs = () => process.hrtime.bigint()
const rssMb = () => process.memoryUsage().rss / 1024 / 1024
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))]
}
const median = (xs) => pct(xs, 50)
const noSlash = (u) => u.replace(/\/+$/, '')

function tuples(n, subjectKey) {
  const t = fx.tuples
  return Array.from({ length: n }, (_, i) => ({
    namespace: t.namespace,
    object: `bench-doc-${String(i).padStart(3, '0')}`,
    relation: t.relation,
    [subjectKey]: t.subject_id,
  }))
}

function throughput(calls, elapsed, cpu) {
  return { calls, elapsed_s: elapsed, rps: calls / elapsed, cpu_s: cpu, cpu_per_call_us: (cpu / Math.max(calls, 1)) * 1e6 }
}
function latency(ns, cpu) {
  const us = ns.map((x) => Number(x) / 1000)
  return {
    calls: us.length,
    p50_us: pct(us, 50),
    p99_us: pct(us, 99),
    mean_us: us.reduce((a, b) => a + b, 0) / us.length,
    cpu_per_call_us: (cpu / us.length) * 1e6,
  }
}

// Run `call(worker)` in `concurrency` async loops for `duration` seconds.
async function loadLoop(concurrency, duration, call) {
  let calls = 0
  let stop = false
  const c0 = cpuS()
  const t0 = performance.now()
  const workers = Array.from({ length: concurrency }, async (_, i) => {
    while (!stop) {
      await call(i)
      calls++
    }
  })
  await sleep(duration * 1000)
  stop = true
  await Promise.all(workers)
  return throughput(calls, (performance.now() - t0) / 1000, cpuS() - c0)
}

function iamConfig(cache, replayUrl) {
  const cfg = JSON.parse(JSON.stringify(stack.iam_config))
  cfg.audit = { sink: 'none' }
  cfg.session_cache = cache ? { memory: { max_entries: 200000 } } : 'none'
  for (const t of Object.values(cfg.tenants)) t.cache = { session_ttl_ms: cache ? 600000 : 0 }
  if (replayUrl) cfg.tenants.customer.kratos.public_url = replayUrl
  return cfg
}

async function iamRun() {
  const { Iam } = require(path.resolve(args.iamDir, 'ory-iam.js'))
  const w = args.workload
  if (w === 'whoami_uncached') {
    const svc = Iam.fromConfig(iamConfig(false)).session
    const hs = tokens.map((t) => ({ 'x-session-token': t }))
    for (let i = 0; i < args.concurrency; i++) await svc.whoami(hs[i % hs.length])
    return loadLoop(args.concurrency, args.duration, (i) => svc.whoami(hs[i % hs.length]))
  }
  if (w === 'whoami_hit' || w === 'whoami_or_null_hit') {
    // whoami_or_null_hit: the same cache hit through `whoamiOrNull` (which has the same
    // settled-promise fast path now; not part of the default run).
    const svc = Iam.fromConfig(iamConfig(true)).session
    const call = w === 'whoami_hit' ? (h) => svc.whoami(h) : (h) => svc.whoamiOrNull(h)
    const h = { 'x-session-token': tokens[0] }
    if ((await svc.whoami(h)).cacheHit) throw new Error('first call must miss')
    for (let i = 0; i < 2000; i++) await call(h)
    const lat = []
    let s
    const c0 = cpuS()
    for (let i = 0; i < args.calls; i++) {
      const t0 = nowNs()
      s = await call(h)
      lat.push(nowNs() - t0)
    }
    const cpu = cpuS() - c0
    if (!s.cacheHit) throw new Error('expected cache hits')
    return latency(lat, cpu)
  }
  if (w === 'check') {
    const perm = Iam.fromConfig(iamConfig(false)).permission
    const t = tuples(1, 'subject')[0]
    if (!(await perm.check(t))) throw new Error('bench tuple not granted')
    const lat = []
    const c0 = cpuS()
    for (let i = 0; i < args.calls; i++) {
      const t0 = nowNs()
      await perm.check(t)
      lat.push(nowNs() - t0)
    }
    return latency(lat, cpuS() - c0)
  }
  if (w === 'check_batch') {
    const cfg = iamConfig(false)
    if (args.batchSize) cfg.tenants.customer.keto.batch_size = args.batchSize
    const perm = Iam.fromConfig(cfg).permission
    const ts = tuples(fx.tuples.count, 'subject')
    await perm.checkBatch(ts.slice(0, 10))
    const runs = []
    const c0 = cpuS()
    for (let r = 0; r < args.repeat; r++) {
      const t0 = performance.now()
      const res = await perm.checkBatch(ts)
      runs.push((performance.now() - t0) / 1000)
      if (res.length !== ts.length || !res.every((x) => x.allowed)) throw new Error('every bench tuple is granted')
    }
    return { tuples: ts.length, batch_size: args.batchSize || 10, runs_s: runs, median_s: median(runs), cpu_s: (cpuS() - c0) / args.repeat }
  }
  if (w === 'identity_list') {
    const ident = Iam.fromConfig(iamConfig(false)).identity
    const runs = []
    let n = 0
    const c0 = cpuS()
    for (let r = 0; r < args.repeat; r++) {
      const t0 = performance.now()
      n = 0
      for await (const _ of ident.listAll()) n++
      runs.push((performance.now() - t0) / 1000)
    }
    return { identities: n, runs_s: runs, median_s: median(runs), cpu_s: (cpuS() - c0) / args.repeat }
  }
  if (w === 'memory') {
    const svc = Iam.fromConfig(iamConfig(true, args.replayUrl)).session
    await svc.whoami({ 'x-session-token': 'bench-replay-warmup' })
    global.gc?.()
    const before = rssMb()
    const t0 = performance.now()
    const tok = (i) => ({ 'x-session-token': `bench-replay-${String(i).padStart(8, '0')}` })
    let next = 0
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < args.calls) await svc.whoami(tok(next++))
      }),
    )
    const fill = (performance.now() - t0) / 1000
    let hits = 0
    const lat = []
    for (let i = 0; i < args.calls; i += Math.max(1, Math.floor(args.calls / 1000))) {
      const h = tok(i)
      const t0 = nowNs()
      hits += (await svc.whoami(h)).cacheHit ? 1 : 0
      lat.push(Number(nowNs() - t0) / 1000)
    }
    global.gc?.()
    return { sessions: args.calls, rss_before_mb: before, rss_after_mb: rssMb(), fill_s: fill, sample_hits: hits, sample: lat.length, sample_p50_us: pct(lat, 50) }
  }
  throw new Error(`unknown workload ${w}`)
}

async function sdkRun() {
  const m = require(path.join(__dirname, 'node_modules', args.client))
  const conf = (basePath) => new m.Configuration({ basePath: noSlash(basePath) })
  const k = stack.kratos.customer
  const w = args.workload
  if (w === 'whoami_uncached') {
    const fe = new m.FrontendApi(conf(k.public_url))
    for (let i = 0; i < args.concurrency; i++) await fe.toSession({ xSessionToken: tokens[i % tokens.length] })
    return loadLoop(args.concurrency, args.duration, (i) => fe.toSession({ xSessionToken: tokens[i % tokens.length] }))
  }
  const allowed = (r) => (r.data ? r.data.allowed : r.allowed)
  if (w === 'check' || w === 'check_batch') {
    const perm = new m.PermissionApi(conf(stack.keto.read_url))
    const ts = tuples(fx.tuples.count, 'subjectId')
    if (!allowed(await perm.checkPermission(ts[0]))) throw new Error('bench tuple not granted')
    if (w === 'check') {
      const lat = []
      const c0 = cpuS()
      for (let i = 0; i < args.calls; i++) {
        const t0 = nowNs()
        await perm.checkPermission(ts[0])
        lat.push(nowNs() - t0)
      }
      return latency(lat, cpuS() - c0)
    }
    const runs = []
    const c0 = cpuS()
    for (let r = 0; r < args.repeat; r++) {
      const t0 = performance.now()
      for (const t of ts) if (!allowed(await perm.checkPermission(t))) throw new Error('every bench tuple is granted')
      runs.push((performance.now() - t0) / 1000)
    }
    return { tuples: ts.length, batch_size: args.batchSize || 10, runs_s: runs, median_s: median(runs), cpu_s: (cpuS() - c0) / args.repeat }
  }
  if (w === 'identity_list') {
    const ident = new m.IdentityApi(conf(k.admin_url))
    const runs = []
    let n = 0
    const c0 = cpuS()
    for (let r = 0; r < args.repeat; r++) {
      const t0 = performance.now()
      n = 0
      let pageToken
      for (;;) {
        let items, link
        if (args.client === '@ory/client') {
          const res = await ident.listIdentities(pageToken ? { pageToken } : {})
          items = res.data
          link = res.headers.link
        } else {
          const res = await ident.listIdentitiesRaw(pageToken ? { pageToken } : {})
          items = await res.value()
          link = res.raw.headers.get('link')
        }
        n += items.length
        pageToken = nextToken(link)
        if (!pageToken || items.length === 0) break
      }
      runs.push((performance.now() - t0) / 1000)
    }
    return { identities: n, runs_s: runs, median_s: median(runs), cpu_s: (cpuS() - c0) / args.repeat }
  }
  throw new Error(`workload ${w} is not run with ${args.client}`)
}

// The floor: no library at all. The same `GET /sessions/whoami` written by hand on keep-alive
// `net` sockets, the response framed by Content-Length and its body decoded with `JSON.parse`
// (what any client has to do): the least CPU per call a Node client can spend here.
function rawConn(baseUrl, token) {
  const u = new URL(baseUrl)
  const req = Buffer.from(
    `GET ${u.pathname.replace(/\/+$/, '')}/sessions/whoami HTTP/1.1\r\nHost: ${u.host}\r\n` +
      `X-Session-Token: ${token}\r\nAccept: application/json\r\n\r\n`,
  )
  const sock = require('node:net').connect({ host: u.hostname, port: Number(u.port || 80), noDelay: true })
  let buf = Buffer.alloc(0)
  let waiter = null
  const fail = (e) => {
    if (waiter) waiter.reject(e)
    waiter = null
  }
  sock.on('error', fail)
  sock.on('close', () => fail(new Error('raw client: connection closed')))
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d
    if (!waiter) return
    const end = buf.indexOf('\r\n\r\n')
    if (end < 0) return
    const head = buf.toString('latin1', 0, end).toLowerCase()
    if (!head.startsWith('http/1.1 200 ')) return fail(new Error(`raw client: unexpected status line ${head.slice(0, 12)}`))
    const m = /\r\ncontent-length: *(\d+)/.exec(head)
    if (!m) return fail(new Error('raw client: response without Content-Length'))
    const total = end + 4 + Number(m[1])
    if (buf.length < total) return
    const body = buf.subarray(end + 4, total)
    buf = buf.subarray(total)
    const w = waiter
    waiter = null
    w.resolve(body)
  })
  const ready = new Promise((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  return {
    ready,
    get() {
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject }
        sock.write(req)
      })
    },
    close: () => sock.destroy(),
  }
}

async function rawRun() {
  if (args.workload !== 'whoami_uncached') throw new Error(`workload ${args.workload} is not run with ${args.client}`)
  const url = stack.kratos.customer.public_url
  const conns = Array.from({ length: args.concurrency }, (_, i) => rawConn(url, tokens[i % tokens.length]))
  const one = async (c) => {
    if (JSON.parse((await c.get()).toString('utf8')).active !== true) throw new Error('raw client: the session is not active')
  }
  for (const c of conns) {
    await c.ready
    await one(c)
  }
  const out = await loadLoop(args.concurrency, args.duration, (i) => one(conns[i]))
  conns.forEach((c) => c.close())
  return out
}

// What every user of the generated SDK writes: the page_token of `Link: <...>; rel="next"`.
function nextToken(link) {
  for (const part of (link || '').split(',')) {
    if (part.includes('rel="next"')) {
      const url = new URL(part.split(';')[0].trim().replace(/^<|>$/g, ''), 'http://x')
      return url.searchParams.get('page_token') || undefined
    }
  }
  return undefined
}

;(args.client === 'ory-iam' ? iamRun() : args.client === 'raw-net' ? rawRun() : sdkRun()).then(
  (out) => {
    Object.assign(out, { lang: 'node', client: args.client, workload: args.workload, concurrency: args.concurrency })
    process.stdout.write(JSON.stringify(out) + '\n')
    process.exit(0)
  },
  (e) => {
    console.error(`node_bench: ${args.client} ${args.workload}: ${e && e.message}`)
    process.exit(1)
  },
)
