// Typings of the ESM entry `ory-iam/otel` (otel.mjs): the same as the CommonJS typings.
export * from './otel.js'
import * as cjs from './otel.js'
export default cjs
