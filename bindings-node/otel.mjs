// ESM entry of `ory-iam/otel`: the CommonJS module's exports as named exports. Node's ESM loader
// cannot see names through `module.exports = { ... }` reliably, so they are listed here;
// tests/node/esm.test.mjs fails when this list and the CommonJS exports drift apart.
import cjs from './otel.js'

export const {
  instrument,
  uninstrument,
  isInstrumented,
} = cjs
export default cjs
