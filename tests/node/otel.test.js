'use strict'
// OpenTelemetry adapter against the real stack: one CLIENT span per call, parented on the
// active span, with tenant/service/operation/requests/retries/status/cache hit; the same
// per-request `ory_iam.op` records reach setLogCallback.
const test = require('node:test')
const assert = require('node:assert/strict')
const api = require('@opentelemetry/api')
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const { Iam, IamNotFoundError, IamUpstreamUnavailableError, setLogCallback } = require('../../bindings-node/ory-iam.js')
const otel = require('../../bindings-node/otel.js')
const { iamConfig, uniqueEmail, closedPort } = require('./helpers.js')

const MISSING = '9f425a8d-7efc-4768-8f23-7647a74fdf13'
const PASSWORD = 'a-Long-and-unique-passphrase-42'
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

function tracing() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  otel.instrument({ tracerProvider: provider })
  return { exporter, provider }
}

function makeIam() {
  const cfg = iamConfig()
  cfg.session_cache = 'memory'
  cfg.tenants.customer.cache = { session_ttl_ms: 60000 }
  return Iam.fromConfig(cfg)
}

test('one span per call, parented, with the operation report', async (t) => {
  const { exporter, provider } = tracing()
  t.after(() => otel.uninstrument())
  const iam = makeIam()
  const parentTracer = provider.getTracer('app')
  let parent
  await parentTracer.startActiveSpan('request', async (span) => {
    parent = span.spanContext()
    await assert.rejects(iam.identity.get(MISSING), IamNotFoundError)
    span.end()
  })
  const [span] = exporter.getFinishedSpans().filter((s) => s.name.startsWith('ory_iam'))
  assert.equal(span.name, 'ory_iam identity.get')
  assert.equal(span.kind, api.SpanKind.CLIENT)
  assert.equal(span.spanContext().traceId, parent.traceId)
  assert.equal(span.parentSpanContext?.spanId ?? span.parentSpanId, parent.spanId)
  const a = span.attributes
  assert.equal(a['ory_iam.tenant'], 'customer')
  assert.equal(a['ory_iam.service'], 'identity')
  assert.equal(a['ory_iam.operation'], 'get')
  assert.deepEqual([a['ory_iam.requests'], a['ory_iam.retries'], a['http.response.status_code']], [1, 0, 404])
  assert.equal(a['ory_iam.error.code'], 'not_found')
  assert.equal(span.status.code, api.SpanStatusCode.ERROR)
  exporter.reset()

  const email = uniqueEmail('otel')
  const flow = await iam.flow.initiateRegistration()
  const reg = await iam.flow.submitRegistration(flow.id, { method: 'password', password: PASSWORD, traits: { email } })
  const headers = { authorization: `Bearer ${reg.sessionToken.expose()}` }
  await iam.session.whoami(headers)
  await iam.session.forTenant('customer').whoami(headers)
  const who = exporter.getFinishedSpans().filter((s) => s.name === 'ory_iam session.whoami')
  assert.deepEqual(who.map((s) => s.attributes['ory_iam.cache_hit']), [false, true])
  assert.deepEqual(who.map((s) => s.attributes['ory_iam.requests']), [1, 0])
  const camel = exporter.getFinishedSpans().find((s) => s.name === 'ory_iam flow.submit_registration')
  assert.ok(camel, 'operation names are snake_case, as in Python')
  for (const s of exporter.getFinishedSpans()) {
    for (const v of Object.values(s.attributes)) {
      assert.ok(!String(v).includes(reg.sessionToken.expose()) && !String(v).includes(email))
    }
  }
})

test('retries are counted; uninstrument stops tracing', async (t) => {
  const { exporter } = tracing()
  t.after(() => otel.uninstrument())
  const cfg = iamConfig()
  cfg.tenants.customer.kratos.admin_url = `http://127.0.0.1:${await closedPort()}/`
  cfg.tenants.customer.http = { retries: 2, backoff_base_ms: 1, backoff_max_ms: 5, breaker_threshold: 100 }
  const iam = Iam.fromConfig(cfg)
  await assert.rejects(iam.identity.get(MISSING), IamUpstreamUnavailableError)
  const a = exporter.getFinishedSpans()[0].attributes
  assert.deepEqual([a['ory_iam.requests'], a['ory_iam.retries'], a['ory_iam.error.code']], [1, 2, 'upstream_unavailable'])
  otel.uninstrument()
  assert.equal(otel.isInstrumented(), false)
  exporter.reset()
  await assert.rejects(iam.identity.get(MISSING), IamUpstreamUnavailableError)
  assert.equal(exporter.getFinishedSpans().length, 0)
})

test('ory_iam.op records reach setLogCallback', async (t) => {
  const records = []
  setLogCallback((r) => records.push(r))
  t.after(() => setLogCallback(null))
  const iam = makeIam()
  await assert.rejects(iam.identity.get(MISSING), IamNotFoundError)
  await new Promise((r) => setTimeout(r, 50))
  const op = records.filter((r) => r.target === 'ory_iam.op').pop()
  assert.ok(op, 'one record per Ory request')
  assert.equal(op.level, 'debug')
  assert.equal(op.fields.tenant, 'customer')
  assert.equal(op.fields.service, 'kratos-admin')
  assert.equal(op.fields.status, 404)
  assert.equal(op.fields.cache_hit, false)
  assert.match(op.fields.operation, /^GET .*admin\/identities\/\{id\}$/)
})
