'use strict'
// OpenTelemetry for ory-iam (`require('ory-iam/otel')`): one CLIENT span per service call,
// named `ory_iam <service>.<operation>` (e.g. `ory_iam identity.get_with_traits`, the same names
// as in Python), a child of the active span; the core sends that span's context as the W3C
// `traceparent` header on the Ory requests it makes for the call. Attributes: ory_iam.tenant,
// ory_iam.service, ory_iam.operation, ory_iam.cache_hit, ory_iam.requests, ory_iam.retries,
// http.response.status_code, ory_iam.request_id, ory_iam.error.code (never arguments, results,
// tokens, cookies, traits or messages). Auto-paging iterators are not wrapped.
// Needs `@opentelemetry/api` (an optional peer dependency); the SDK is the application's choice.

const api = require('@opentelemetry/api')
const { _internal } = require('./ory-iam.js')

const snake = (s) => s.replace(/(?<=[a-z0-9])(?=[A-Z])/g, '_').toLowerCase()
const serviceName = (cls) => snake(cls.replace(/Service$/, ''))
let active = false

function traceparentOf(span) {
  const c = span.spanContext()
  if (!api.isSpanContextValid(c)) return null
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/** Trace every service call from now on. `tracerProvider` defaults to the global provider. */
function instrument({ tracerProvider } = {}) {
  const tracer = (tracerProvider || api.trace.getTracerProvider()).getTracer('ory_iam')
  active = true
  _internal.setTracing((target, method, call) => {
    const service = serviceName(target.constructor.name)
    const operation = snake(method)
    const attributes = { 'ory_iam.tenant': target.tenant, 'ory_iam.service': service, 'ory_iam.operation': operation }
    return tracer.startActiveSpan(`ory_iam ${service}.${operation}`, { kind: api.SpanKind.CLIENT, attributes }, async (span) => {
      const handle = target._traced(traceparentOf(span))
      try {
        return await call(handle)
      } catch (e) {
        const code = e && typeof e.code === 'string' ? e.code : 'internal'
        span.setAttribute('ory_iam.error.code', code)
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: code })
        throw e
      } finally {
        const r = handle._opReport()
        if (r) {
          span.setAttribute('ory_iam.cache_hit', r.cacheHit)
          span.setAttribute('ory_iam.requests', r.requests)
          span.setAttribute('ory_iam.retries', r.retries)
          if (r.status != null) span.setAttribute('http.response.status_code', r.status)
          if (r.requestId) span.setAttribute('ory_iam.request_id', r.requestId)
        }
        span.end()
      }
    })
  })
}

/** Stop tracing. */
function uninstrument() {
  active = false
  _internal.setTracing(null)
}

const isInstrumented = () => active

module.exports = { instrument, uninstrument, isInstrumented }
