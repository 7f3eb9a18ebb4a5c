// Typings of the ESM entry `ory-iam/express` (express.mjs): the same as the CommonJS typings.
export * from './express.js'
import * as cjs from './express.js'
export default cjs
