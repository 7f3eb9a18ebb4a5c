'use strict'
// No panic crosses the FFI boundary (issue 8): a panic inside the Rust side of a call becomes an
// `IamError` (code `internal`) — never a raw Error carrying the panic text, a promise that never
// settles or an aborted process. Uses the hidden `_debugPanic*` of debug (test) builds. Writes
// .stack/reliability/panic.json.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const pkg = require('../../bindings-node/ory-iam.js')
const { iamConfig, ROOT } = require('./helpers.js')

const { Iam, IamError, IamNotFoundError } = pkg
const skip = typeof pkg._debugPanic !== 'function' && 'release build: no _debugPanic'
const results = {}
function record(key, value) {
  results[key] = value
  const out = path.join(ROOT, '.stack', 'reliability', 'panic.json')
  fs.mkdirSync(path.dirname(out), { recursive: true })
  let doc = {}
  try {
    doc = JSON.parse(fs.readFileSync(out, 'utf8'))
  } catch {}
  doc.node = { ...(doc.node || {}), ...results }
  fs.writeFileSync(out, JSON.stringify(doc, null, 1))
}
const outcome = (e) => `${e.constructor.name}/${e.code}`

test('a panic in a sync function is an IamError', { skip }, () => {
  let err
  try {
    pkg._debugPanic('sync')
  } catch (e) {
    err = e
  }
  assert.ok(err instanceof IamError && err.constructor === IamError, `got ${err}`)
  assert.equal(err.code, 'internal')
  assert.ok(!err.message.includes('deliberate'), 'the panic text (which could quote data) is dropped')
  record('sync', outcome(err))
})

test('a panic in an async function rejects with an IamError; the runtime survives', { skip }, async () => {
  let err
  for (let i = 0; i < 3; i++) {
    err = await pkg._debugPanicAsync('async').then(() => null, (e) => e)
    assert.ok(err instanceof IamError && err.constructor === IamError, `got ${err}`)
    assert.equal(err.code, 'internal')
    assert.ok(!err.message.includes('deliberate'))
  }
  const iam = Iam.fromConfig(iamConfig())
  await assert.rejects(iam.identity.get(crypto.randomUUID()), IamNotFoundError)
  record('async', outcome(err))
  record('runtime_alive_after_panics', true)
})

test('the process survives a panic', { skip }, () => {
  const code = `
    const pkg = require(${JSON.stringify(path.join(ROOT, 'bindings-node', 'ory-iam.js'))})
    try { pkg._debugPanic('sync') } catch (e) { console.log('caught', e.code) }
    pkg._debugPanicAsync('async').catch((e) => console.log('caught', e.code))`
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, r.stderr.slice(-2000))
  assert.deepEqual(r.stdout.trim().split('\n'), ['caught internal', 'caught internal'])
  // The panic hook prints where, never what (a panic message could quote a secret).
  assert.ok(!r.stderr.includes('deliberate') && r.stderr.includes('ory-iam: internal error'), r.stderr)
  record('process_exit_code', r.status)
})
