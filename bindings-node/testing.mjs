// ESM entry of `ory-iam/testing`: the CommonJS module's exports as named exports. Node's ESM loader
// cannot see names through `module.exports = { ... }` reliably, so they are listed here;
// tests/node/esm.test.mjs fails when this list and the CommonJS exports drift apart.
import cjs from './testing.js'

export const {
  FakeOry,
  DEFAULT_CLIENT_ID,
  DEFAULT_KETO_NAMESPACES,
  LOGIN_URL,
  CONSENT_URL,
  ERROR_URL,
} = cjs
export default cjs
