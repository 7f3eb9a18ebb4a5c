// Typings of the ESM entry `ory-iam` (ory-iam.mjs): the same as the CommonJS typings.
export * from './ory-iam.js'
import * as cjs from './ory-iam.js'
export default cjs
