'use strict'
// Shared by the Node tests: the real Ory stack from tests/stack (run `tests/stack/up`).
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const ROOT = path.resolve(__dirname, '..', '..')

function stack() {
  const p = process.env.ORY_IAM_STACK || path.join(ROOT, '.stack', 'stack.json')
  if (!fs.existsSync(p)) throw new Error(`the tests need the local Ory stack: run tests/stack/up first (${p} missing)`)
  return JSON.parse(fs.readFileSync(p, 'utf8'))
}

// Audit events go to the log callback, where the leak scan below reads every one of them.
const iamConfig = () => ({ ...structuredClone(stack().iam_config), audit: { sink: 'log' } })

// Leak scan (issue 8): everything the library logs (setLogCallback records: audit events with
// the `log` sink, warnings), raises (every IamError: message, inspect, JSON, fields) and audits to
// `onAudit` callbacks in this test process is scanned for every secret the tests use: keys and
// tokens from .stack/stack.json and the configs, every Secret value read with `expose()` (session
// tokens, cookies, logout tokens, courier bodies), registered emails and passwords, plus patterns
// for their shapes. Counts go to stdout and .stack/reliability/leaks.json; a planted probe proves
// each source is scanned; a leak fails the process.
const util = require('node:util')
const pkg = require('../../bindings-node/ory-iam.js')
const { setLogCallback } = pkg
const LEAK_PATTERNS = [
  /ory_st_[A-Za-z0-9]{8,}/,
  /ory_kratos_session_\w+=[^;\s"*]+/,
  /ory_session_[a-z0-9]+=[^;\s"*]+/,
  /ory_lo_[A-Za-z0-9]+/,
  /ory_(?:pat|wak|apikey)_[A-Za-z0-9_]{6,}/,
  /a-Long-and-unique-passphrase-42/,
  /[\w.+-]+@example\.test/,
]
const SECRET_KEY = /token|secret|api_?key|password|signer_?keys/i
const secrets = new Set(['a-Long-and-unique-passphrase-42', 'ory_pat_ory_iam_test_project_key'])
const SOURCES = ['logs', 'errors', 'audit_callbacks']
const texts = { logs: [], errors: [], audit_callbacks: [] }
const collect = (source, text) => texts[source].push(String(text).slice(0, 1 << 16))

function registerSecret(v) {
  if (typeof v === 'string' && v.length >= 6) {
    secrets.add(v)
    const m = /^\s*[^=;\s]+=([^;]{6,})/.exec(v)
    if (m) secrets.add(m[1])
  } else if (Array.isArray(v)) v.forEach(registerSecret)
}
function registerConfigSecrets(v, key = '') {
  if (Array.isArray(v)) v.forEach((x) => registerConfigSecrets(x, key))
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) registerConfigSecrets(x, k)
  else if (typeof v === 'string' && SECRET_KEY.test(key)) registerSecret(v)
}
try {
  registerConfigSecrets(stack())
} catch {}

function scanRecord(r) {
  collect('logs', r.message + JSON.stringify(r.fields))
}
setLogCallback(scanRecord)

// Every IamError, whatever raised it: the constructor's last step assigns `fields`, which this
// prototype setter intercepts once the error is complete.
Object.defineProperty(pkg.IamError.prototype, 'fields', {
  configurable: true,
  set(v) {
    Object.defineProperty(this, 'fields', { value: v, writable: true, enumerable: true, configurable: true })
    collect('errors', `${this}\n${util.inspect(this)}\n${JSON.stringify({ ...this, message: this.message })}`)
  },
})
// Secrets the library hands out are read through `expose()` (by tests, or by ory-iam.js when a
// Secret is passed back in).
const expose = pkg.Secret.prototype.expose
pkg.Secret.prototype.expose = function () {
  const v = expose.call(this)
  registerSecret(v)
  return v
}
const wrapAudit = (cb) => (typeof cb === 'function' ? (ev) => (collect('audit_callbacks', JSON.stringify(ev)), cb(ev)) : cb)
const fromConfig = pkg.Iam.fromConfig
pkg.Iam.fromConfig = (config, onAudit) => {
  registerConfigSecrets(config)
  return fromConfig(config, wrapAudit(onAudit))
}

const hits = (t) => [...LEAK_PATTERNS.filter((p) => p.test(t)).map(String), ...[...secrets].filter((s) => t.includes(s)).map(() => 'a registered secret')]
function plantProbe() {
  const probe = `leak-probe-${crypto.randomUUID()}`
  registerSecret(probe)
  scanRecord({ target: 'ory_iam::probe', message: `probe ${probe}`, fields: {} })
  new pkg.IamError(`probe ${probe}`, { code: 'internal' })
  wrapAudit(() => {})({ name: 'probe', attributes: { x: probe } })
  const found = SOURCES.every((s) => texts[s].some((t) => t.includes(probe) && hits(t).length))
  for (const s of SOURCES) texts[s] = texts[s].filter((t) => !t.includes(probe))
  secrets.delete(probe)
  return found
}

process.on('exit', () => {
  const probe = plantProbe()
  const sources = {}
  let total = 0
  const examples = []
  for (const s of SOURCES) {
    const leaks = texts[s].flatMap((t) => hits(t).map((h) => `${s}: ${h}`))
    sources[s] = { scanned: texts[s].length, leaks: leaks.length }
    total += leaks.length
    examples.push(...leaks)
  }
  const file = path.basename(process.argv[1] || 'node')
  const counts = SOURCES.map((s) => `${sources[s].scanned} ${s}`).join(', ')
  console.log(`leak scan (node ${file}): ${counts} scanned for ${secrets.size} secrets + ${LEAK_PATTERNS.length} patterns: ${total} leaks; planted probe ${probe ? 'detected' : 'NOT detected'}`)
  for (const l of examples.slice(0, 20)) console.log(`  LEAK ${l}`)
  try {
    // One file per test process; leaks.json's `node` section sums them (node --test runs
    // files in parallel processes).
    const dir = path.join(ROOT, '.stack', 'reliability', 'leaks.node')
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, `${file}.json`), JSON.stringify({ sources, secrets: secrets.size, leaks: total, probe_detected: probe }))
    const all = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
    const sum = { processes: all.length, sources: {}, leaks: 0, probe_detected: all.every((a) => a.probe_detected) }
    for (const a of all) {
      sum.leaks += a.leaks
      for (const [s, r] of Object.entries(a.sources)) {
        sum.sources[s] ??= { scanned: 0, leaks: 0 }
        sum.sources[s].scanned += r.scanned
        sum.sources[s].leaks += r.leaks
      }
    }
    const out = path.join(ROOT, '.stack', 'reliability', 'leaks.json')
    let doc = {}
    try {
      doc = JSON.parse(fs.readFileSync(out, 'utf8'))
    } catch {}
    doc.node = sum
    fs.writeFileSync(out, JSON.stringify(doc, null, 1))
  } catch {}
  if (total || !probe) process.exitCode = 1
})
// This process's Redis session-cache key (base64 of 32 random bytes): every Redis config of the
// tests uses it, so the Iam instances of one process share entries.
const REDIS_KEY = crypto.randomBytes(32).toString('base64')
registerSecret(REDIS_KEY)
/** `session_cache` for the Redis at `url` (default: the stack's), with this process's key. */
const redisCache = (url = stack().redis.url) => ({ redis: { url, keys: [REDIS_KEY] } })

const uniqueEmail = (tag) => {
  const e = `${tag}-${crypto.randomUUID().replace(/-/g, '')}@example.test`
  registerSecret(e)
  return e
}
const scenarios = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'scenarios', `${name}.json`), 'utf8'))

// snake_case method names of the shared scenarios → this binding's camelCase.
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

// The password of every identity the tests register.
const PASSWORD = 'a-Long-and-unique-passphrase-42'

// A loopback port nothing listens on (for outage tests).
async function closedPort() {
  const srv = require('node:net').createServer()
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const port = srv.address().port
  await new Promise((r) => srv.close(r))
  return port
}

// A native registration in `tenant` (the session hook logs it in): a real session token.
// `traits`: more traits the user submits (e.g. the `roles` trait the customer schema has).
async function registerUser(iam, tenant, tag, traits = {}) {
  const flows = iam.flow.forTenant(tenant)
  const flow = await flows.initiateRegistration()
  const res = await flows.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email: uniqueEmail(tag), ...traits } })
  if (res.kind !== 'success') throw new Error(`registration did not succeed: ${res.kind}`)
  return { id: res.identity.id, token: res.sessionToken.expose(), tenant }
}

/** A client_credentials OAuth2 client of the customer tenant with `scope`, and an access token of it for `tokenScope`. */
async function machineClient(iam, scope = 'read write', tokenScope = 'read') {
  const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope })
  const cfg = iamConfig()
  cfg.tenants.customer.hydra.client_id = client.clientId
  cfg.tenants.customer.hydra.client_secret = client.clientSecret.expose()
  const machine = pkg.Iam.fromConfig(cfg)
  try {
    return { client, token: (await machine.token.clientCredentials(tokenScope)).accessToken.expose() }
  } finally {
    await machine.close()
  }
}

module.exports = { machineClient, stack, iamConfig, uniqueEmail, scenarios, camel, scanRecord, registerSecret, closedPort, registerUser, PASSWORD, ROOT, redisCache }

// One cloud tenant pointed at the stack's spec-checking fake console.
function cloudConfig() {
  const s = stack()
  return {
    tenants: {
      cloud: {
        mode: 'cloud',
        cloud: { projectSlug: 'ory-iam-test', apiKey: 'ory_pat_ory_iam_test_project_key' },
        console: { url: s.console.url, workspaceApiKey: s.console.workspace_api_key },
        http: { timeoutMs: 5000, retries: 2, backoffBaseMs: 10 },
      },
    },
    audit: { sink: 'log' },
  }
}

async function consoleCall(path, body) {
  const r = await fetch(stack().console.url + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
  return r.json()
}

module.exports.cloudConfig = cloudConfig
module.exports.consoleCall = consoleCall
