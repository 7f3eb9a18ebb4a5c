// Typings of the ESM entry `ory-iam/nestjs` (nestjs.mjs): the same as the CommonJS typings.
export * from './nestjs.js'
import * as cjs from './nestjs.js'
export default cjs
