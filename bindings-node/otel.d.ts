import type { TracerProvider } from '@opentelemetry/api'

/**
 * Trace every ory-iam service call from now on: one CLIENT span per call named
 * `ory_iam <service>.<operation>`, a child of the active span, whose context is sent to Ory as
 * `traceparent`. `tracerProvider` defaults to the global provider.
 */
export function instrument(options?: { tracerProvider?: TracerProvider }): void
/** Stop tracing. */
export function uninstrument(): void
export function isInstrumented(): boolean
