'use strict'
// Shared by the Node tests: the real Ory stack from tests/stack (run `tests/stack/up`).
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const ROOT = path.resolve(__dirname, '..', '..')

function stack() {
  const p = process.env.ORY_IAM_STACK || path.join(ROOT, '.stack', 'stack.json')
  if (!fs.existsSync(p)) throw new Error(`the tests need the local Ory stack: run tests/stack/up first (${p} missing)`)
  return JSON.parse(fs.readFileSync(p, 'utf8'))
}

const iamConfig = () => structuredClone(stack().iam_config)
const uniqueEmail = (tag) => `${tag}-${crypto.randomUUID().replace(/-/g, '')}@example.test`
const scenarios = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'scenarios', `${name}.json`), 'utf8'))

// snake_case method names of the shared scenarios → this binding's camelCase.
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

module.exports = { stack, iamConfig, uniqueEmail, scenarios, camel, ROOT }
