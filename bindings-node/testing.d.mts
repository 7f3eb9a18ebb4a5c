// Typings of the ESM entry `ory-iam/testing` (testing.mjs): the same as the CommonJS typings.
export * from './testing.js'
import * as cjs from './testing.js'
export default cjs
