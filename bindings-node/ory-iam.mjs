// ESM entry of `ory-iam`: the CommonJS module's exports as named exports. Node's ESM loader
// cannot see names through `module.exports = { ... }` reliably, so they are listed here;
// tests/node/esm.test.mjs fails when this list and the CommonJS exports drift apart.
import cjs from './ory-iam.js'

export const {
  IamError,
  IamConfigurationError,
  IamUnauthorizedError,
  IamForbiddenError,
  IamNotFoundError,
  IamConflictError,
  IamValidationError,
  IamUpstreamUnavailableError,
  Iam,
  Secret,
  setLogCallback,
  setLogger,
  consoleLogger,
  pinoLogger,
  nestLogger,
  httpAnswer,
  rolesOf,
  requestIdFor,
  runWithRequestId,
  currentRequestId,
  native,
} = cjs
export default cjs
