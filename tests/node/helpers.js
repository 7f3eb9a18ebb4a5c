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

// Audit events go to the log callback, where the leak scan below reads every one of them.
const iamConfig = () => ({ ...structuredClone(stack().iam_config), audit: { sink: 'log' } })

// Leak scan: every log record the library emits in this test process must be free of session
// tokens, cookies, logout tokens, the test password and trait values; a hit fails the process.
const LEAK_PATTERNS = [/ory_st_[A-Za-z0-9]+/, /ory_kratos_session_\w+=[^;\s"]+/, /ory_lo_[A-Za-z0-9]+/, /a-Long-and-unique-passphrase-42/, /[\w.+-]+@example\.test/]
const scan = { count: 0, leaks: [] }
const { setLogCallback } = require('../../bindings-node/ory-iam.js')
function scanRecord(r) {
  scan.count++
  const text = r.message + JSON.stringify(r.fields)
  for (const p of LEAK_PATTERNS) if (p.test(text)) scan.leaks.push(`${r.target}: ${p}`)
}
setLogCallback(scanRecord)
process.on('exit', () => {
  console.log(`leak scan (${path.basename(process.argv[1] || '')}): ${scan.count} log records, ${scan.leaks.length} leaks`)
  for (const l of scan.leaks.slice(0, 20)) console.log(`  LEAK ${l}`)
  if (scan.leaks.length) process.exitCode = 1
})
const uniqueEmail = (tag) => `${tag}-${crypto.randomUUID().replace(/-/g, '')}@example.test`
const scenarios = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'scenarios', `${name}.json`), 'utf8'))

// snake_case method names of the shared scenarios → this binding's camelCase.
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

module.exports = { stack, iamConfig, uniqueEmail, scenarios, camel, scanRecord, ROOT }

// One cloud tenant pointed at the stack's spec-checking fake console.
function cloudConfig() {
  const s = stack()
  return {
    tenants: {
      cloud: {
        mode: 'cloud',
        cloud: { projectSlug: 'ory-iam-test', apiKey: 'ory_pat_ory_iam_test_project_key' },
        console: { url: s.console.url, workspaceApiKey: s.console.workspace_api_key },
        http: { timeoutMs: 5000, retries: 2, backoffBaseMs: 10 },
      },
    },
    audit: { sink: 'log' },
  }
}

async function consoleCall(path, body) {
  const r = await fetch(stack().console.url + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
  return r.json()
}

module.exports.cloudConfig = cloudConfig
module.exports.consoleCall = consoleCall
