'use strict'
// Soak through the Node binding (issue 8): a fixed request rate against the real stack for a
// bounded time; RSS and open file descriptors sampled throughout; no error allowed.
//
//   SOAK_SECONDS=600 SOAK_RATE=50 node tests/reliability/soak.js
//
// Same shape as soak.py: each tick starts one call (whoami with the session cache off, check,
// identity.get) on schedule whatever the latency (at most 64 in flight). The baseline is taken
// after a warm-up (10 % of the run, at most 30 s); the run fails if the end RSS exceeds it by more
// than max(16 MiB, 10 %), if fds grow by more than 4 (pooled keep-alive connections), or if any
// call fails. Results are merged into .stack/reliability/soak.json under "node" (SOAK_OUT to
// write elsewhere).
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { Iam, IamError } = require('../../bindings-node/ory-iam.js')

const ROOT = path.resolve(__dirname, '..', '..')
const RSS_TOLERANCE_MIB = 16
const RSS_TOLERANCE_RATIO = 0.1
const FD_TOLERANCE = 4

const rssMib = () => process.memoryUsage.rss() / (1024 * 1024)
const fds = () => fs.readdirSync('/proc/self/fd').length
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function main() {
  const seconds = Number(process.env.SOAK_SECONDS || 600)
  const rate = Number(process.env.SOAK_RATE || 50)
  const out = process.env.SOAK_OUT || path.join(ROOT, '.stack', 'reliability', 'soak.json')
  const stack = JSON.parse(fs.readFileSync(path.join(ROOT, '.stack', 'stack.json'), 'utf8'))
  const cfg = structuredClone(stack.iam_config)
  cfg.session_cache = 'none'
  cfg.audit = { sink: 'none' }
  const iam = Iam.fromConfig(cfg)

  const flow = await iam.flow.initiateRegistration()
  const reg = await iam.flow.submitRegistration(flow.id, {
    method: 'password',
    password: 'a-Long-and-unique-passphrase-42',
    traits: { email: `soak-node-${crypto.randomUUID()}@example.test` },
  })
  if (reg.kind !== 'success') throw new Error('registration failed')
  const req = { authorization: `Bearer ${reg.sessionToken.expose()}` }
  const identityId = reg.identity.id
  const tuple = { namespace: 'documents', object: `soak-node-${crypto.randomUUID()}`, relation: 'view', subject: 'alice' }
  await iam.permission.grant(tuple)

  const errors = {}
  let done = 0
  let wrong = 0
  let inFlight = 0
  const pending = new Set()
  async function one(i) {
    inFlight++
    try {
      const k = i % 3
      if (k === 0) wrong += (await iam.session.whoami(req)).identity.id !== identityId ? 1 : 0
      else if (k === 1) wrong += (await iam.permission.check(tuple)) !== true ? 1 : 0
      else wrong += (await iam.identity.get(identityId)).id !== identityId ? 1 : 0
      done++
    } catch (e) {
      const code = e instanceof IamError ? e.code : 'non_iam_error'
      errors[code] = (errors[code] || 0) + 1
    } finally {
      inFlight--
    }
  }

  const warmup = Math.min(30, seconds * 0.1)
  const samples = []
  let baseline = null
  const t0 = performance.now()
  let nextSample = 0
  let i = 0
  for (;;) {
    const now = (performance.now() - t0) / 1000
    if (now >= seconds) break
    if (now >= nextSample) {
      samples.push({ t: +now.toFixed(1), rss_mib: +rssMib().toFixed(2), fds: fds(), done })
      nextSample += Math.max(1, seconds / 60)
    }
    if (baseline === null && now >= warmup) baseline = { t: +now.toFixed(1), rss_mib: rssMib(), fds: fds() }
    const target = i / rate
    if (target > now) await sleep((target - now) * 1000)
    while (inFlight >= 64) await sleep(1)
    const p = one(i).finally(() => pending.delete(p))
    pending.add(p)
    i++
  }
  await Promise.all(pending)
  const endT = (performance.now() - t0) / 1000
  const end = { rss_mib: rssMib(), fds: fds() }
  samples.push({ t: +endT.toFixed(1), rss_mib: +end.rss_mib.toFixed(2), fds: end.fds, done })
  await iam.permission.revoke(tuple)
  await iam.identity.delete(identityId)

  const rssAllowed = Math.max(RSS_TOLERANCE_MIB, baseline.rss_mib * RSS_TOLERANCE_RATIO)
  const problems = []
  if (end.rss_mib - baseline.rss_mib > rssAllowed) problems.push(`RSS grew ${(end.rss_mib - baseline.rss_mib).toFixed(1)} MiB (allowed ${rssAllowed.toFixed(1)})`)
  if (end.fds > baseline.fds + FD_TOLERANCE) problems.push(`fds grew ${baseline.fds} → ${end.fds}`)
  if (Object.keys(errors).length) problems.push(`errors ${JSON.stringify(errors)}`)
  if (wrong) problems.push(`${wrong} wrong answers`)
  const result = {
    language: 'node',
    seconds,
    rate_per_s: rate,
    requests: i,
    completed: done,
    achieved_rate_per_s: +(done / endT).toFixed(1),
    errors,
    wrong_answers: wrong,
    warmup_s: warmup,
    rss_start_mib: +baseline.rss_mib.toFixed(2),
    rss_end_mib: +end.rss_mib.toFixed(2),
    rss_tolerance_mib: +rssAllowed.toFixed(1),
    fds_start: baseline.fds,
    fds_end: end.fds,
    fd_tolerance: FD_TOLERANCE,
    samples,
    ok: problems.length === 0,
    problems,
  }
  fs.mkdirSync(path.dirname(out), { recursive: true })
  const data = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : {}
  data.node = result
  fs.writeFileSync(out, JSON.stringify(data, null, 2))
  console.log(
    `soak (node): ${done}/${i} calls in ${endT.toFixed(0)} s at ${rate}/s, errors ${Object.values(errors).reduce((a, b) => a + b, 0)}, ` +
      `RSS ${baseline.rss_mib.toFixed(1)} → ${end.rss_mib.toFixed(1)} MiB, fds ${baseline.fds} → ${end.fds}: ` +
      (problems.length ? `FAIL ${problems.join('; ')}` : 'ok'),
  )
  return problems.length ? 1 : 0
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e)
      process.exit(2)
    },
  )
}
module.exports = { main }
