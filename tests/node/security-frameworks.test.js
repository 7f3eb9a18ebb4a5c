'use strict'
// The framework attack suite (issue 27) against an Express app over ory-iam/express, a NestJS app
// over ory-iam/nestjs and examples/express-app: every attack of tests/security/framework_attacks.json
// whose `frameworks` names the app, over real HTTP (loopback) against the real stack. The same file
// drives the FastAPI app in tests/python/test_security_frameworks.py; see its `about` for the format
// and the rules checked.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const http = require('node:http')
const fs = require('node:fs')
const path = require('node:path')
require('reflect-metadata')
const express = require('express')
const { Controller, Get, Req, UseGuards } = require('@nestjs/common')
const { NestFactory } = require('@nestjs/core')
const { Iam } = require('../../bindings-node/ory-iam.js')
const { iamExpress } = require('../../bindings-node/express.js')
const nest = require('../../bindings-node/nestjs.js')
const { createApp: exampleApp } = require('../../examples/express-app/server.js')
const { FaultProxy } = require('../reliability/proxy.js')
const { iamConfig, closedPort, registerSecret, PASSWORD, ROOT } = require('./helpers.js')

const SUITE = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'security', 'framework_attacks.json'), 'utf8'))
const ALL = ['fastapi', 'express', 'nestjs']
const FRAMEWORKS = ['express', 'nestjs', 'express-example']
const ERROR_OF = { 401: 'unauthorized', 403: 'forbidden', 503: 'upstream_unavailable' }
// One attempt, a short timeout and no circuit breaker: the outage routes answer within about a
// second, and every outage attack reaches the fault it arms (an open breaker would answer first).
const FAST_FAIL = { timeout_ms: 1000, retries: 0, breaker_threshold: 0 }

/** The suite's placeholders ({A.token}, {doc}, ...) replaced, in strings, arrays and objects. */
function expand(v, values) {
  if (typeof v === 'string') return Object.entries(values).reduce((s, [k, x]) => s.split(`{${k}}`).join(x), v)
  if (Array.isArray(v)) return v.map((x) => expand(x, values))
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [expand(k, values), expand(x, values)]))
  return v
}

const cookieName = (tenant) => iamConfig().tenants[tenant].kratos.session_cookie_name

async function register(iam, user, roles) {
  const flows = iam.flow.forTenant(user.tenant)
  const flow = await flows.initiateRegistration()
  const traits = { email: user.email, ...(user.traitsRoles ? { roles: user.traitsRoles } : {}) }
  const reg = await flows.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits })
  assert.equal(reg.kind, 'success')
  user.id = reg.identity.id
  // `metadata_roles: false`: the admin never set metadata_public.roles (traits still never count).
  if (roles.length || (user.traitsRoles && user.metadataRoles !== false)) await iam.identity.forTenant(user.tenant).patch(user.id, [{ op: 'add', path: '/metadata_public', value: { roles } }])
}

/** A native session (its token) and a browser session (its cookie) of `user`. */
async function login(iam, user) {
  const flows = iam.flow.forTenant(user.tenant)
  const body = { method: 'password', identifier: user.email, password: PASSWORD }
  const native = await flows.submitLogin((await flows.initiateLogin()).id, body)
  assert.equal(native.kind, 'success')
  user.token = native.sessionToken.expose()
  const jar = new Map()
  const keep = (setCookie) => {
    for (const sc of setCookie || []) {
      const pair = sc.expose().split(';')[0]
      const i = pair.indexOf('=')
      jar.set(pair.slice(0, i), pair.slice(i + 1))
    }
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  }
  const browser = await flows.initiateLogin({ kind: 'browser' })
  const ok = await flows.submitLogin(browser.id, body, { cookie: keep(browser.setCookie), csrfToken: browser.csrfToken })
  assert.equal(ok.kind, 'success')
  keep(ok.setCookie)
  const name = cookieName(user.tenant)
  user.cookieValue = jar.get(name)
  assert.ok(user.cookieValue, 'the browser login set the session cookie')
  user.cookie = `${name}=${user.cookieValue}`
}

const valuesOf = (u) => ({ [`${u.name}.id`]: u.id, [`${u.name}.token`]: u.token, [`${u.name}.cookie`]: u.cookie, [`${u.name}.cookie_value`]: u.cookieValue })

// --- the apps: the same routes as the FastAPI driver's (see the suite's `routes`)

function buildExpress(iams, doc) {
  const app = express()
  const auth = iamExpress(iams.main, { tenant: 'customer' })
  const bearerOnly = iamExpress(iams.main, { tenant: 'customer', transport: 'bearer' })
  const who = (req, res) => {
    const s = req.iam.session
    res.json({ id: s ? s.identity.id : null, tenant: s ? s.tenant : null })
  }
  const byId = { object: (req) => req.params.id }
  app.get('/me', auth.currentUser(), who)
  app.get('/maybe', auth.optionalUser(), who)
  app.get('/bearer/me', bearerOnly.currentUser(), who)
  app.get('/admin-tenant/me', auth.forTenant('admin').currentUser(), who)
  app.get('/docs/:id', auth.requirePermission('documents', 'view', byId), who)
  // The URL names objects only; the subject of both checks is the caller.
  app.get('/groups/:group/folders/:id', auth.requirePermission('groups', 'member', { object: (req) => req.params.group }), auth.requirePermission('folders', 'view', byId), who)
  const compose = express.Router()
  compose.use(auth.requireRole('admin'))
  compose.get('/editor', auth.requireRole('editor'), who)
  compose.get('/open', who)
  compose.get('/maybe', auth.optionalUser(), who)
  app.use('/compose', compose)
  const perm = express.Router()
  perm.use(auth.requirePermission('documents', 'view', { object: `${doc}-b` }))
  perm.get('/docs/:id', auth.requirePermission('documents', 'view', byId), who)
  app.use('/perm', perm)
  for (const kind of ['down', 'outage']) {
    const kratos = iamExpress(iams[`${kind}Kratos`], { tenant: 'customer' })
    const keto = iamExpress(iams[`${kind}Keto`], { tenant: 'customer' })
    app.get(`/${kind}/kratos/me`, kratos.currentUser(), who)
    app.get(`/${kind}/kratos/maybe`, kratos.optionalUser(), who)
    app.get(`/${kind}/keto/docs/:id`, keto.requirePermission('documents', 'view', byId), who)
  }
  // The same answers from req.user / req.session, as an ory-nestjs app reads them.
  const fromReq = (req, res) => res.json({ id: req.user ? req.user.id : null, tenant: req.session ? req.session.tenant : null })
  app.get('/shape/me', auth.currentUser(), fromReq)
  app.get('/shape/maybe', auth.optionalUser(), fromReq)
  app.get('/shape/admin', auth.requireRole('admin'), fromReq)
  app.use(auth.errorHandler())
  return app
}

// NestJS controllers written without a compiler: decorators applied as TypeScript would. The
// handlers answer from @CurrentSession(), or (`fromReq`) from req.user / req.session as an
// ory-nestjs app reads them.
function controller(prefix, classDecorators, routes, { fromReq = false } = {}) {
  const C = class {}
  for (const [name, route, decorators] of routes) {
    if (fromReq) {
      C.prototype[name] = (req) => ({ id: req.user ? req.user.id : null, tenant: req.session ? req.session.tenant : null })
      Req()(C.prototype, name, 0)
    } else {
      C.prototype[name] = (s) => ({ id: s ? s.identity.id : null, tenant: s ? s.tenant : null })
      nest.CurrentSession()(C.prototype, name, 0)
    }
    const d = Reflect.decorate([Get(route), ...decorators], C.prototype, name, Object.getOwnPropertyDescriptor(C.prototype, name))
    Object.defineProperty(C.prototype, name, d)
  }
  return Reflect.decorate([Controller(prefix), ...classDecorators], C)
}

function nestModules(iams, doc) {
  const { SessionGuard, OptionalSessionGuard, RoleGuard, PermissionGuard, RequireRole, RequirePermission, Public, Tenant, IamModule } = nest
  const byId = (namespace) => RequirePermission({ namespace, relation: 'view', object: (req) => req.params.id })
  const main = [
    controller('', [], [
      ['me', 'me', [UseGuards(SessionGuard)]],
      ['maybe', 'maybe', [UseGuards(OptionalSessionGuard)]],
      ['docs', 'docs/:id', [UseGuards(PermissionGuard), byId('documents')]],
      // The URL names objects only; the subject of both checks is the caller.
      ['folder', 'groups/:group/folders/:id', [UseGuards(PermissionGuard), RequirePermission({ namespace: 'groups', relation: 'member', object: (req) => req.params.group }), byId('folders')]],
    ]),
    controller('admin-tenant', [Tenant('admin'), UseGuards(SessionGuard)], [['me', 'me', []]]),
    controller('compose', [UseGuards(SessionGuard, RoleGuard, PermissionGuard), RequireRole('admin')], [
      ['editor', 'editor', [RequireRole('editor')]],
      ['open', 'open', []],
      ['maybe', 'maybe', [UseGuards(OptionalSessionGuard)]],
      ['pub', 'public', [Public()]],
    ]),
    controller('open-class', [UseGuards(SessionGuard, RoleGuard), Public()], [
      ['admin', 'admin', [RequireRole('admin')]],
      ['plain', 'plain', []],
    ]),
    controller('perm', [UseGuards(SessionGuard, PermissionGuard), RequirePermission({ namespace: 'documents', relation: 'view', object: `${doc}-b` })], [['docs', 'docs/:id', [byId('documents')]]]),
  ]
  // Protected by default (issue 23): no @UseGuards; the module's global guards.
  const { Anonymous } = nest
  const defaults = [
    controller('default', [], [
      ['plain', 'plain', []],
      ['maybe', 'maybe', [Anonymous()]],
      ['open', 'open', [Public()]],
      ['admin', 'admin', [RequireRole('admin')]],
      ['docs', 'docs/:id', [byId('documents')]],
    ], { fromReq: true }),
  ]
  const outage = (prefix, iam) => [
    iam,
    [controller(`${prefix}/kratos`, [], [['me', 'me', [UseGuards(SessionGuard)]], ['maybe', 'maybe', [UseGuards(OptionalSessionGuard)]]]), controller(`${prefix}/keto`, [], [['docs', 'docs/:id', [UseGuards(PermissionGuard), byId('documents')]]])],
  ]
  // One app per Iam (and per module-wide transport); the driver routes each path to its app.
  const apps = {
    main: [iams.main, main],
    bearer: [iams.main, [controller('bearer', [UseGuards(SessionGuard)], [['me', 'me', []]])], { transport: 'bearer' }],
    down: outage('down', iams.downKratos),
    downKeto: outage('down', iams.downKeto),
    outage: outage('outage', iams.outageKratos),
    outageKeto: outage('outage', iams.outageKeto),
    // Protected by default, over the main Iam and over the outage Iams.
    defaults: [iams.main, defaults, { global: true }],
    outageDefault: [iams.outageKratos, [controller('outage/default', [], [['maybe', 'maybe', [Anonymous()]], ['plain', 'plain', []]], { fromReq: true })], { global: true }],
  }
  const modules = {}
  for (const [key, [iam, controllers, extra]] of Object.entries(apps)) {
    const M = class {}
    modules[key] = { module: M, imports: [IamModule.forRoot({ iam, tenant: 'customer', global: false, ...extra })], controllers }
  }
  return modules
}
const NEST_APP_OF = [
  ['/default/', 'defaults'],
  ['/outage/default/', 'outageDefault'],
  ['/bearer/', 'bearer'],
  ['/down/keto/', 'downKeto'],
  ['/down/', 'down'],
  ['/outage/keto/', 'outageKeto'],
  ['/outage/', 'outage'],
]

async function listen(handler) {
  const server = http.createServer(handler)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }
}

/** One request with headers exactly as given: [name, value] pairs in order, values as UTF-8. */
function send(base, req) {
  const u = new URL(base)
  const raw = []
  for (const [k, v] of req.headers) raw.push(k, Buffer.from(v, 'utf8').toString('latin1'))
  let body
  if (req.form) {
    body = new URLSearchParams(req.form).toString()
    raw.push('content-type', 'application/x-www-form-urlencoded', 'content-length', String(Buffer.byteLength(body)))
  }
  if (!raw.some((x, i) => i % 2 === 0 && x.toLowerCase() === 'host')) raw.push('host', u.host)
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, method: req.method, path: req.path, headers: raw, agent: false, setHost: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
    })
    r.on('error', reject)
    r.end(body)
  })
}

// --- the run

const users = {}
const values = {}
const proxies = {}
const servers = {}
const nestApps = []
const grants = []
let iams

before(async () => {
  const base = iamConfig()
  for (const t of Object.values(base.tenants)) {
    t.kratos.admin_token = SUITE.secrets.kratos_admin_token
    t.keto.api_key = SUITE.secrets.keto_api_key
  }
  for (const s of Object.values(SUITE.secrets)) registerSecret(s)
  const customer = base.tenants.customer
  proxies.kratos = await FaultProxy.start(customer.kratos.public_url)
  proxies.keto = await FaultProxy.start(customer.keto.read_url)
  const pointed = (product, key, url) => {
    const cfg = structuredClone(base)
    cfg.tenants.customer[product][key] = url
    cfg.tenants.customer.http = { ...FAST_FAIL }
    return cfg
  }
  iams = {
    main: Iam.fromConfig(base),
    downKratos: Iam.fromConfig(pointed('kratos', 'public_url', `http://127.0.0.1:${await closedPort()}/`)),
    downKeto: Iam.fromConfig(pointed('keto', 'read_url', `http://127.0.0.1:${await closedPort()}/`)),
    outageKratos: Iam.fromConfig(pointed('kratos', 'public_url', proxies.kratos.url)),
    outageKeto: Iam.fromConfig(pointed('keto', 'read_url', proxies.keto.url)),
  }
  const run = crypto.randomUUID().replace(/-/g, '').slice(0, 12)
  Object.assign(values, { doc: `d-${run}`, doc_tail: `-${run}`, group: `g-${run}`, folder: `f-${run}` })
  for (const [name, spec] of Object.entries(SUITE.users)) {
    const u = { name, tenant: spec.tenant, email: `fw-${name.toLowerCase()}-${run}@example.test`, traitsRoles: spec.traits_roles, metadataRoles: spec.metadata_roles }
    registerSecret(u.email)
    await register(iams.main, u, spec.roles)
    await login(iams.main, u)
    users[name] = u
    Object.assign(values, valuesOf(u))
  }
  for (const g of SUITE.grants) {
    const t = expand({ ...g, subject: typeof g.subject === 'string' ? users[g.subject].id : g.subject }, values)
    await iams.main.permission.grant(t)
    grants.push(t)
  }
  const ex = buildExpress(iams, values.doc)
  servers.express = await listen(ex)
  servers['express-example'] = await listen(exampleApp(iams.main, 'customer'))
  for (const [key, mod] of Object.entries(nestModules(iams, values.doc))) {
    const app = await NestFactory.create(mod, { logger: false })
    await app.listen(0, '127.0.0.1')
    nestApps.push(app)
    servers[`nestjs:${key}`] = { url: `http://127.0.0.1:${app.getHttpServer().address().port}` }
  }
})

after(async () => {
  for (const app of nestApps) await app.close()
  for (const s of Object.values(servers)) if (s.close) await s.close()
  for (const t of grants) await iams.main.permission.revoke(t)
  for (const u of Object.values(users)) await iams.main.identity.forTenant(u.tenant).delete(u.id)
  for (const p of Object.values(proxies)) await p.stop()
})

function baseOf(framework, p) {
  if (framework !== 'nestjs') return servers[framework].url
  const hit = NEST_APP_OF.find(([prefix]) => p.startsWith(prefix))
  return servers[`nestjs:${hit ? hit[1] : 'main'}`].url
}

function secretsOf() {
  const out = [...Object.values(SUITE.secrets), PASSWORD]
  for (const u of Object.values(users)) out.push(u.token, u.cookieValue, u.email)
  return out.filter(Boolean)
}

// Object.prototype planted as a prototype-pollution bug elsewhere in the app would (enumerable,
// like an assignment through `__proto__`); removed afterwards.
function pollute(planted) {
  for (const [k, v] of Object.entries(planted)) Object.defineProperty(Object.prototype, k, { value: v, writable: true, configurable: true, enumerable: true })
  return () => {
    for (const k of Object.keys(planted)) delete Object.prototype[k]
  }
}

async function runAttack(framework, attack) {
  const setup = attack.setup || {}
  const text = JSON.stringify(attack)
  for (const [name, spec] of Object.entries(SUITE.users)) {
    if (spec.fresh && text.includes(`{${name}.`)) {
      // (sessions of this tenant are short-lived in the stack: log in right before)
      await login(iams.main, users[name])
      Object.assign(values, valuesOf(users[name]))
    }
  }
  const req = expand(attack.request, values)
  const base = baseOf(framework, req.path)
  for (const b of setup.before || []) await send(base, { headers: [], ...expand(b, values) })
  const fault = setup.fault
  if (fault) {
    const { service, mode, ...options } = fault
    await proxies[service].fault(mode, options)
  }
  const unpollute = setup.pollute ? pollute(expand(SUITE.pollution, values)) : () => {}
  let r
  try {
    r = await send(base, req)
    if (fault) assert.ok((await proxies[fault.service].stats()).requests >= 1, 'the armed fault was never reached')
  } finally {
    unpollute()
    if (fault) await proxies[fault.service].reset()
  }
  const want = attack.expect
  assert.ok(want.status.includes(r.status), `${attack.name}: ${r.status} ${r.text.slice(0, 200)}`)
  if (r.status === 200 && want.identity !== undefined) {
    const body = JSON.parse(r.text)
    const expected = want.identity === 'anonymous' ? null : users[want.identity].id
    assert.equal(body.id, expected, `${attack.name}: the app saw ${body.id}, not ${want.identity}`)
    if (want.tenant !== undefined) assert.equal(body.tenant, want.tenant)
  }
  if (ERROR_OF[r.status] && framework !== 'express-example') {
    const body = JSON.parse(r.text)
    assert.equal(body.error, ERROR_OF[r.status])
    assert.equal(body.statusCode, r.status)
    assert.ok(Object.keys(body).every((k) => ['statusCode', 'error', 'requestId'].includes(k)), `${attack.name}: the body has more than the code`)
  }
  if (r.status >= 400) {
    const seen = `${r.text}\n${JSON.stringify(r.headers)}`
    assert.deepEqual(secretsOf().filter((s) => seen.includes(s)).length, 0, `${attack.name}: a secret in the ${r.status} answer`)
  }
}

for (const framework of FRAMEWORKS) {
  for (const attack of SUITE.attacks.filter((a) => (a.frameworks || ALL).includes(framework))) {
    test(`${framework}: ${attack.name}`, () => runAttack(framework, attack))
  }
}

test('every attack class of the issue runs against Express and NestJS', () => {
  const classes = (fw) => new Set(SUITE.attacks.filter((a) => (a.frameworks || ALL).includes(fw)).map((a) => a.class))
  for (const fw of ['express', 'nestjs']) {
    for (const c of ['credential precedence', 'look-alike cookies', 'foreign cookies', 'transport', 'tenant selection', 'keto injection', 'subject from the URL', 'composition', 'outage', 'prototype pollution']) {
      assert.ok(classes(fw).has(c), `${fw}: ${c}`)
    }
  }
  assert.ok(classes('express-example').has('prototype pollution'))
})

test('a Keto subject taken from the request is refused when the requirement is built (Express, NestJS)', () => {
  const auth = iamExpress(iams.main, { tenant: 'customer' })
  const fromUrl = (req, session) => `groups:${req.params.group}#member`
  assert.throws(() => auth.requirePermission('folders', 'view', { object: 'f', subject: fromUrl }), TypeError)
  assert.throws(() => nest.RequirePermission({ namespace: 'folders', relation: 'view', object: 'f', subject: fromUrl }), TypeError)
  assert.throws(() => auth.requirePermission('folders', 'view', { object: 'f', subject: '' }), TypeError)
  // The forms that stay: a fixed id or subject set, or (session) => subject.
  for (const subject of ['service-account', { namespace: 'groups', object: 'g', relation: 'member' }, (s) => s.identity.id]) {
    auth.requirePermission('folders', 'view', { object: 'f', subject })
    nest.RequirePermission({ namespace: 'folders', relation: 'view', object: 'f', subject })
  }
})

test('a subject computed from the session reaches Keto (Express, NestJS guards share subjectOf)', async () => {
  const app = express()
  const auth = iamExpress(iams.main, { tenant: 'customer' })
  // A per-user staff group as a subject set, derived from the session only.
  const staffOf = (s) => ({ namespace: 'groups', object: `staff-of-${s.identity.id}`, relation: 'member' })
  app.get('/staff-folders/:id', auth.requirePermission('folders', 'view', { object: (req) => req.params.id, subject: staffOf }), (req, res) => res.json({ ok: true }))
  app.use(auth.errorHandler())
  const srv = await listen(app)
  const a = users.A
  const folder = `f-${crypto.randomUUID()}`
  const t = { namespace: 'folders', object: folder, relation: 'view', subject: staffOf({ identity: { id: a.id } }) }
  const m = { namespace: 'groups', object: `staff-of-${a.id}`, relation: 'member', subject: a.id }
  try {
    const get = () => send(srv.url, { method: 'GET', path: `/staff-folders/${folder}`, headers: [['authorization', `Bearer ${a.token}`]] })
    assert.equal((await get()).status, 403)
    await iams.main.permission.grant(t)
    await iams.main.permission.grant(m)
    assert.equal((await get()).status, 200)
  } finally {
    await iams.main.permission.revoke(m)
    await iams.main.permission.revoke(t)
    await srv.close()
  }
})
