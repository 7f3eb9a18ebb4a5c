// ESM entry of `ory-iam/express`: the CommonJS module's exports as named exports. Node's ESM loader
// cannot see names through `module.exports = { ... }` reliably, so they are listed here;
// tests/node/esm.test.mjs fails when this list and the CommonJS exports drift apart.
import cjs from './express.js'

export const {
  iamExpress,
  iamErrorHandler,
  iamHealth,
  iamRequestId,
  httpErrorOf,
  iamExpressTesting,
  loginAs,
  bearerFor,
} = cjs
export default cjs
