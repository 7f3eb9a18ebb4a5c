'use strict'
// The differential suite of issue 26: tests/scenarios/differential.json run once on
// `ory-iam/testing` FakeOry and once on the real stack (tests/stack), comparing per step the
// outcome, the error class/code/status and the DTO shape. Any difference must be listed, with
// its reason, in the allow-list of docs/testing-fake.md; a listed step that agrees fails too (the
// list stays honest). The coverage table of the same page (emulated / 501 per method) is checked
// against what the fake answered. Same rules as core/tests/differential.rs and
// tests/python/test_differential.py; the records go to .stack/differential/node.json.
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const { stack, iamConfig, camel, registerSecret, ROOT } = require('./helpers.js')
const { Iam, IamError, Secret } = require('../../bindings-node/ory-iam.js')
const { FakeOry } = require('../../bindings-node/testing.js')

const SCENARIO = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'scenarios', 'differential.json'), 'utf8'))
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'testing-fake.md'), 'utf8')
const KEEP = new Set(SCENARIO.keep)
const PASSWORD = SCENARIO.password
const LANG = 'node'
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const snake = (s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

function allowList() {
  const m = /<!-- differential-allow-list -->\s*```json\n([\s\S]*?)```/.exec(DOC)
  assert.ok(m, 'docs/testing-fake.md has no allow-list block')
  const out = new Map()
  for (const e of JSON.parse(m[1])) {
    assert.ok(['step', 'differs', 'kind', 'reason'].every((k) => k in e), JSON.stringify(e))
    assert.ok(['fake-bug', 'simplification'].includes(e.kind), JSON.stringify(e))
    assert.ok(['outcome', 'error', 'shape'].includes(e.differs), JSON.stringify(e))
    out.set(e.step, e)
  }
  return out
}

function coverageTable() {
  const part = DOC.split('<!-- fake-coverage -->')
  assert.equal(part.length, 2, 'docs/testing-fake.md has no coverage table')
  const out = {}
  for (const m of part[1].matchAll(/^\| `([a-z0-9_]+\.[a-z0-9_]+)` \| ([^|]+)\|/gm)) out[m[1]] = m[2].trim()
  return out
}

// ----------------------------------------------------------------------------- normalizer

// A result as plain JSON data with snake_case keys: Secrets exposed (for `save`) or masked.
function plain(v, expose) {
  if (v instanceof Secret) return expose ? v.expose() : '<secret>'
  if (Array.isArray(v)) return v.map((x) => plain(x, expose))
  if (v !== null && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[snake(k)] = plain(x, expose)
    return out
  }
  return v
}

// Keys and value types: strings masked unless their key is in `keep` (and they are no UUID or
// URL), numbers masked except a top-level count, booleans and null kept, list lengths kept.
function shape(v, key = '', top = true) {
  if (v === null || v === undefined) return null
  if (typeof v === 'boolean') return v
  if (typeof v === 'number' || typeof v === 'bigint') return top ? Number(v) : '<number>'
  if (typeof v === 'string') {
    if (v === '<secret>') return v
    return KEEP.has(key) && !UUID_RE.test(v) && !v.includes('://') ? v : '<string>'
  }
  if (Array.isArray(v)) return v.map((x) => shape(x, key, false))
  const out = {}
  for (const k of Object.keys(v).sort()) out[k] = shape(v[k], k, false)
  return out
}

// Every list sorted (by its elements' JSON): for lists whose order the servers vary.
function unordered(v) {
  if (Array.isArray(v)) {
    return v.map(unordered).map((x) => [JSON.stringify(x), x]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x)
  }
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unordered(x)]))
  return v
}

// ----------------------------------------------------------------------------- backends

class Fake {
  constructor() {
    this.name = 'fake'
    // Configured like tests/stack: each tenant's Kratos has its own identity schema.
    const stackDir = require('node:path').join(__dirname, '..', 'stack')
    const schema = (t) => JSON.parse(require('node:fs').readFileSync(require('node:path').join(stackDir, `identity.${t}.schema.json`), 'utf8'))
    this.fake = new FakeOry({ tenants: ['customer', 'admin'], tenantIdentitySchemas: { customer: { customer: schema('customer') }, admin: { admin: schema('admin') } }, clientScope: 'read write' })
    this.iam = this.fake.iam
  }
  cookie() {
    return 'ory_kratos_session'
  }
  async browse(tenant, kind, step) {
    return location(kind === 'authorize' ? this.fake.authorize({ ...authQuery(step), tenant }) : this.fake.follow(step.url, { tenant }))
  }
  async session(tenant, of) {
    const cred = await this.fake.createSession(of.identity_id, { tenant })
    return { ...of, session_id: cred.sessionId, token: cred.token instanceof Secret ? cred.token.expose() : cred.token }
  }
}

// The browser's part of a code flow (fixtures `authorize` / `follow`): the PKCE verifier of the
// scenario's authorization requests (S256), and a redirect's Location with its query parameters.
const CODE_VERIFIER = 'differential-code-verifier-0123456789-0123456789-0123456789'
function location(url) {
  return { url, code_verifier: CODE_VERIFIER, ...Object.fromEntries(new URL(url).searchParams) }
}
function authQuery(step) {
  const codeChallenge = crypto.createHash('sha256').update(CODE_VERIFIER).digest('base64url')
  return { clientId: step.client, redirectUri: 'https://app.example.test/callback', scope: step.scope, state: 'differential-state', codeChallenge, codeChallengeMethod: 'S256' }
}

class Real {
  constructor(cfg) {
    this.name = 'real'
    this.cfg = cfg
    this.iam = Iam.fromConfig(cfg)
    this.jar = new Map()
  }
  // A GET on Hydra that does not follow the redirect, Hydra's cookies kept.
  async browse(tenant, kind, step) {
    let url = step.url
    if (kind === 'authorize') {
      const q = authQuery(step)
      const u = new URL('oauth2/auth', this.cfg.tenants[tenant].hydra.public_url)
      for (const [k, v] of Object.entries({ client_id: q.clientId, response_type: 'code', redirect_uri: q.redirectUri, scope: q.scope, state: q.state, code_challenge: q.codeChallenge, code_challenge_method: 'S256' })) u.searchParams.set(k, v)
      url = u.toString()
    }
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const r = await fetch(url, { redirect: 'manual', headers: { cookie } })
    for (const sc of r.headers.getSetCookie()) {
      const first = sc.split(';')[0]
      const i = first.indexOf('=')
      this.jar.set(first.slice(0, i), first.slice(i + 1))
    }
    assert.ok(r.status >= 300 && r.status < 400, `${url} answered ${r.status}`)
    return location(r.headers.get('location'))
  }
  cookie(tenant) {
    return this.cfg.tenants[tenant].kratos.session_cookie_name ?? 'ory_kratos_session'
  }
  async session(tenant, of) {
    const flows = this.iam.flow.forTenant(tenant)
    const flow = await flows.initiateLogin()
    const res = await flows.submitLogin(flow.id, { method: 'password', identifier: of.email, password: PASSWORD })
    assert.ok(res.session && res.sessionToken, `fixture: ${res.kind}`)
    return { ...of, session_id: res.session.id, token: res.sessionToken.expose() }
  }
}

// The stack's config plus an OAuth2 client (scope `read write`) as the tenants' Hydra client.
async function realBackend() {
  const cfg = iamConfig()
  // The session cache as FakeOry configures it, so `cacheHit` compares.
  cfg.session_cache = 'memory'
  for (const t of Object.values(cfg.tenants)) t.cache = { session_ttl_ms: 60000 }
  const base = Iam.fromConfig(cfg)
  const client = await base.oauth2Client.create({
    client_name: 'differential',
    grant_types: ['client_credentials'],
    scope: 'read write',
    token_endpoint_auth_method: 'client_secret_basic',
  })
  await base.close()
  registerSecret(client.clientSecret.expose())
  for (const t of Object.values(cfg.tenants)) {
    t.hydra.client_id = client.clientId
    t.hydra.client_secret = client.clientSecret.expose()
  }
  return new Real(cfg)
}

// ----------------------------------------------------------------------------- runner

// A session of a new identity with a password (identity.create, the same call on both sides), or
// a second session of the saved fixture `of`.
async function fixture(backend, tenant, of, run, n) {
  if (!of) {
    const email = `fixture${n}-${run}@example.test`
    const credentials = { password: { config: { password: PASSWORD } } }
    const ident = await backend.iam.identity.forTenant(tenant).create({ schema_id: tenant, traits: { email }, credentials })
    of = { identity_id: ident.id, email }
  }
  return backend.session(tenant, of)
}

function resolve(v, saved, run, backend, tenant) {
  if (typeof v === 'string') {
    if (v === '$uuid') return crypto.randomUUID()
    if (v.startsWith('$') && !v.startsWith('${')) {
      const [name, ...rest] = v.slice(1).split('.')
      // A value an earlier step failed to produce resolves to null (the call then fails too).
      return rest.reduce((o, p) => (o === null || o === undefined ? null : o[p]), saved[name]) ?? null
    }
    return v.replaceAll('${run}', run)
  }
  if (Array.isArray(v)) return v.map((x) => resolve(x, saved, run, backend, tenant))
  if (v !== null && typeof v === 'object') {
    if ('$headers' in v) {
      const token = resolve(v.token, saved, run, backend, tenant)
      return {
        bearer: () => ({ authorization: `Bearer ${token}` }),
        session_token: () => ({ 'x-session-token': String(token) }),
        cookie: () => ({ cookie: `${backend.cookie(tenant)}=${token}` }),
        none: () => ({}),
      }[v.$headers]()
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, saved, run, backend, tenant)]))
  }
  return v
}

async function runScenario(backend, run) {
  const saved = {}
  const records = {}
  for (const [n, step] of SCENARIO.steps.entries()) {
    const tenant = step.tenant ?? 'customer'
    if (step.fixture === 'authorize' || step.fixture === 'follow') {
      saved[step.save] = await backend.browse(tenant, step.fixture, resolve(step, saved, run, backend, tenant))
      continue
    }
    if (step.fixture) {
      const of = step.identity ? saved[step.identity.slice(1)] : null
      saved[step.save] = await fixture(backend, tenant, of, run, n)
      registerSecret(saved[step.save].token)
      continue
    }
    const [service, method] = step.call.split('.')
    const svc = backend.iam[camel(service)].forTenant(tenant)
    const args = resolve(step.args ?? [], saved, run, backend, tenant)
    if (step.kwargs) args.push(resolve(step.kwargs, saved, run, backend, tenant))
    try {
      let out
      if (step.iterate) {
        out = []
        for await (const item of svc[camel(method)](...args)) {
          out.push(item)
          if (out.length >= step.iterate) break
        }
      } else {
        out = await svc[camel(method)](...args)
      }
      if (step.save) saved[step.save] = plain(out, true)
      const rec = { outcome: 'ok' }
      if (step.record !== 'outcome') rec.shape = step.unordered ? unordered(shape(plain(out, false))) : shape(plain(out, false))
      records[step.id] = rec
    } catch (e) {
      // Not an IamError: a bug of the scenario or of the binding.
      if (!(e instanceof IamError)) throw new Error(`${backend.name}: step ${step.id} threw ${e?.constructor?.name}`, { cause: e })
      records[step.id] = { outcome: 'error', class: e.constructor.name, code: e.code, status: e.status ?? null }
    }
  }
  return records
}

function category(fake, real) {
  if (JSON.stringify(fake) === JSON.stringify(real)) return null
  if (fake.outcome !== real.outcome) return 'outcome'
  return fake.outcome === 'error' ? 'error' : 'shape'
}

// Per method: `501` when every call of it answered 501 on the fake, else `emulated`.
function coverage(records) {
  const by = {}
  for (const s of SCENARIO.steps) if (s.call) (by[s.call] ??= []).push(records[s.id])
  return Object.fromEntries(Object.entries(by).map(([m, rs]) => [m, rs.every((r) => r.status === 501) ? '501' : 'emulated']))
}

let results
before(async () => {
  stack()
  const run = crypto.randomBytes(6).toString('hex')
  results = { fake: await runScenario(new Fake(), run) }
  const real = await realBackend()
  try {
    results.real = await runScenario(real, run)
  } finally {
    await real.iam.close()
  }
  const dir = path.join(ROOT, '.stack', 'differential')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, `${LANG}.json`), JSON.stringify(results, null, 1))
})

test('FakeOry and the real stack agree on every step except the allow-list (docs/testing-fake.md)', () => {
  const allowed = allowList()
  const unlisted = []
  const wrong = []
  const stale = []
  let differ = 0
  let compared = 0
  for (const s of SCENARIO.steps) {
    if (!s.call) continue
    compared++
    const cat = category(results.fake[s.id], results.real[s.id])
    let entry = allowed.get(s.id)
    if (entry && entry.languages && !entry.languages.includes(LANG)) entry = undefined
    if (cat) differ++
    if (!cat && entry) stale.push(s.id)
    else if (cat && !entry) unlisted.push(`${s.id} (${cat}): fake ${JSON.stringify(results.fake[s.id])} / real ${JSON.stringify(results.real[s.id])}`)
    else if (cat && entry && entry.differs !== cat) wrong.push(`${s.id}: listed as ${entry.differs}, differs in ${cat}`)
  }
  console.log(`differential (${LANG}): ${compared} steps, ${compared - differ} agree, ${differ} differ`)
  assert.deepEqual(unlisted, [], 'differences not in docs/testing-fake.md')
  assert.deepEqual(wrong, [])
  assert.deepEqual(stale, [], 'allow-list entries that no longer differ (remove them)')
  const ids = new Set(SCENARIO.steps.map((s) => s.id))
  assert.deepEqual([...allowed.keys()].filter((k) => !ids.has(k)), [], 'allow-list entries for no step')
})

test('the coverage table of docs/testing-fake.md matches what the fake answers', () => {
  assert.deepEqual(coverageTable(), coverage(results.fake))
})

test('every public method of the services is in the scenario (or listed as uncovered)', () => {
  const iam = new FakeOry().iam
  const called = new Set(SCENARIO.steps.filter((s) => s.call).map((s) => s.call))
  const uncovered = SCENARIO.uncovered
  const missing = []
  for (const k of Object.getOwnPropertyNames(Object.getPrototypeOf(iam))) {
    const svc = k === 'constructor' ? undefined : iam[k]
    if (!svc || typeof svc !== 'object' || typeof svc.forTenant !== 'function') continue
    const name = snake(k)
    if (`${name}.*` in uncovered) continue
    for (const m of Object.getOwnPropertyNames(Object.getPrototypeOf(svc))) {
      if (m.startsWith('_') || ['constructor', 'equals', 'forTenant', 'tenant'].includes(m) || typeof svc[m] !== 'function') continue
      // The flow service's per-kind shortcuts are `initiate`/`submit` with a kind.
      if (name === 'flow' && /^(initiate|submit)(Login|Registration|Recovery|Settings|Verification)$/.test(m)) continue
      const method = `${name}.${snake(m)}`
      if (!called.has(method) && !(method in uncovered)) missing.push(method)
    }
  }
  assert.deepEqual(missing, [], 'public methods missing from tests/scenarios/differential.json')
})
