'use strict'
// The HTTP answer for an ory-iam error (issue 18): the shared cases of
// tests/scenarios/http_answers.json (also run by core/tests/http_answers.rs and
// tests/python/test_http_answers.py) through the native function, through httpErrorOf with
// real error objects, through an Express app and NestJS's exception filter; plus the tenant's
// transport read from the config. No stack needed.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const express = require('express')
const pkg = require('../../bindings-node/ory-iam.js')
const { Iam, httpAnswer, rolesOf, IamError, IamValidationError, IamConfigurationError } = pkg
const { httpErrorOf, iamErrorHandler, iamExpress } = require('../../bindings-node/express.js')
const { IamExceptionFilter } = require('../../bindings-node/nestjs.js')
const { withChallenge } = require('../../bindings-node/framework.js')
const { scenarios, camel } = require('./helpers.js')

const CASES = scenarios('http_answers').cases
const camelKeys = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]))
// A message no answer may carry (not a secret's shape: the suite's leak scan reads every error).
const SECRET_MESSAGE = 'upstream-said-do-not-echo'

const CLASSES = Object.fromEntries(Object.values(pkg).filter((c) => typeof c === 'function' && c.prototype instanceof IamError).map((c) => [c.code, c]))
function errorOf(facts) {
  const C = CLASSES[facts.code] || IamError
  return new C(SECRET_MESSAGE, { code: facts.code, tenant: facts.tenant, requestId: facts.request_id, retryAfter: facts.retry_after, fields: facts.fields })
}
const expected = (c) => ({ status: c.status, headers: c.headers, body: c.body })

test('shared scenarios: the native httpAnswer', () => {
  assert.ok(CASES.length >= 30)
  for (const c of CASES) {
    assert.deepEqual({ ...httpAnswer(camelKeys(c.facts), camelKeys(c.context)) }, expected(c), c.name)
  }
})

test('shared scenarios: httpErrorOf on error objects (challenge recorded by the middleware)', () => {
  for (const c of CASES) {
    const ctx = c.context
    const err = withChallenge(errorOf(c.facts), { transport: ctx.transport, tenant: ctx.realm, presented: ctx.bearer_presented ?? false, scope: ctx.required_scopes })
    const a = httpErrorOf(err, { retryAfter: ctx.retry_after_fallback })
    assert.deepEqual({ ...a }, expected(c), c.name)
    assert.ok(!JSON.stringify(a).includes(SECRET_MESSAGE), c.name)
    assert.equal(err.statusCode, c.status, `${c.name}: statusCode for Express's default handler`)
  }
  assert.equal(httpErrorOf(new Error('not ours')), null)
})

// Through an app: the cases a request can express (the realm is the error's tenant, scopes
// belong to requireToken).
const HTTP_CASES = CASES.filter((c) => !('realm' in c.context) && !('required_scopes' in c.context))

test('shared scenarios: Express errorHandler and NestJS IamExceptionFilter answer the same', async () => {
  const app = express()
  let current
  app.get('/boom', () => {
    throw errorOf(current.facts)
  })
  app.use((err, req, res, next) => iamErrorHandler({ transport: current.context.transport, retryAfter: current.context.retry_after_fallback })(err, req, res, next))
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const url = `http://127.0.0.1:${server.address().port}/boom`
  try {
    for (const c of HTTP_CASES) {
      current = c
      const headers = c.context.bearer_presented ? { authorization: 'Bearer not-a-real-token' } : {}
      const r = await fetch(url, { headers })
      assert.equal(r.status, c.status, c.name)
      const text = await r.text()
      assert.deepEqual(JSON.parse(text), c.body, c.name)
      assert.ok(!text.includes(SECRET_MESSAGE), c.name)
      for (const h of ['www-authenticate', 'retry-after']) assert.equal(r.headers.get(h), c.headers[h] ?? null, `${c.name}: ${h}`)

      // NestJS's filter, over a minimal Express-like response.
      const sent = { headers: {} }
      const res = {
        setHeader: (k, v) => (sent.headers[k] = v),
        status(s) {
          sent.status = s
          return this
        },
        json: (b) => (sent.body = b),
      }
      const host = { switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({ headers }) }) }
      new IamExceptionFilter({ transport: c.context.transport, retryAfter: c.context.retry_after_fallback }).catch(errorOf(c.facts), host)
      assert.deepEqual(sent, { headers: c.headers, status: c.status, body: c.body }, `${c.name} (nestjs)`)
    }
  } finally {
    await new Promise((r) => server.close(r))
  }
})

test('httpAnswer: a bad transport is a validation error; null means unknown', () => {
  assert.throws(() => httpAnswer({ code: 'unauthorized' }, { transport: 'basic' }), (e) => e instanceof IamValidationError && e.fields[0].path === 'transport')
  assert.deepEqual({ ...httpAnswer({ code: 'not_found', requestId: null, tenant: null }, null) }, { status: 404, headers: {}, body: { statusCode: 404, error: 'not_found' } })
  assert.throws(() => iamExpress(Iam.fromConfig(config({ api: 'bearer' })), { transport: 'basic' }), IamValidationError)
  assert.throws(() => iamErrorHandler({ transport: 'basic' }), IamValidationError)
  assert.throws(() => new IamExceptionFilter({ transport: 'basic' }), IamValidationError)
})

test('rolesOf: strings of metadataPublic.roles', () => {
  assert.deepEqual(rolesOf(undefined), [])
  assert.deepEqual(rolesOf({ roles: 'admin' }), [])
  assert.deepEqual(rolesOf({ roles: ['admin', 1, null, { x: 1 }, 'billing'] }), ['admin', 'billing'])
})

test('rolesOf(metadataPublic, traits): metadata first, else traits (tests/scenarios/roles.json, as Python runs it)', () => {
  const { cases } = JSON.parse(require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'scenarios', 'roles.json'), 'utf8'))
  for (const c of cases) assert.deepEqual(rolesOf(c.metadata_public ?? undefined, c.traits ?? undefined), c.roles, c.name)
})

function config(transports) {
  const tenants = {}
  for (const [name, t] of Object.entries(transports)) {
    tenants[name] = { kratos: { public_url: 'http://127.0.0.1:9/' } }
    if (t) tenants[name].transport = t
  }
  return { tenants, default_tenant: Object.keys(transports)[0], audit: { sink: 'none' } }
}

test('transportOf reads the config', () => {
  const iam = Iam.fromConfig(config({ api: 'bearer', web: 'cookie', both: null }))
  assert.equal(iam.transportOf(), 'bearer')
  assert.deepEqual(['api', 'web', 'both'].map((t) => iam.transportOf(t)), ['bearer', 'cookie', 'cookie-or-bearer'])
  assert.throws(() => iam.transportOf('nope'), IamConfigurationError)
})

test("iamExpress: the challenge follows the tenant's transport; `transport` narrows it", async () => {
  // No credential needs no Kratos: every answer here is a 401 without a request to it.
  const iam = Iam.fromConfig(config({ api: 'bearer', web: 'cookie', both: null }))
  const app = express()
  const ok = (req, res) => res.json({})
  app.get('/api', iamExpress(iam, { tenant: 'api' }).currentUser(), ok)
  app.get('/web', iamExpress(iam, { tenant: 'web' }).currentUser(), ok)
  app.get('/forced', iamExpress(iam, { tenant: 'both', transport: 'bearer' }).currentUser(), ok)
  // Switching a cookie tenant to bearer is not narrowing: refused at construction.
  assert.throws(() => iamExpress(iam, { tenant: 'web', transport: 'bearer' }), IamConfigurationError)
  app.get('/raw', async (req, res, next) => {
    try {
      await iam.session.forTenant('web').whoami(req) // thrown in a handler: errorHandler reads web's transport
      res.json({})
    } catch (e) {
      next(e)
    }
  })
  app.use(iamExpress(iam, { tenant: 'api' }).errorHandler())
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const want = { '/api': 'Bearer realm="api"', '/web': 'Cookie realm="web"', '/forced': 'Bearer realm="both"', '/raw': 'Cookie realm="web"' }
    for (const [p, challenge] of Object.entries(want)) {
      const r = await fetch(`http://127.0.0.1:${server.address().port}${p}`)
      assert.equal(r.status, 401, p)
      assert.equal(r.headers.get('www-authenticate'), challenge, p)
      assert.deepEqual(await r.json(), { statusCode: 401, error: 'unauthorized' }, p)
    }
  } finally {
    await new Promise((r) => server.close(r))
  }
})
