'use strict'
// The runtime promises run on: one worker thread named `ory-iam-runtime` by default (napi's own
// default is one per CPU, which mostly adds cross-thread wake-ups), `ORY_IAM_RUNTIME_THREADS=N`
// for more, as in the Python binding. Checked in a child process, from its /proc/self/task.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { iamConfig, ROOT } = require('./helpers.js')

const linux = process.platform === 'linux' ? false : 'thread names are read from /proc'

function runtimeThreads(env) {
  const code = `
    const fs = require('node:fs')
    const crypto = require('node:crypto')
    const { Iam, IamNotFoundError } = require(${JSON.stringify(path.join(ROOT, 'bindings-node', 'ory-iam.js'))})
    const iam = Iam.fromConfig(${JSON.stringify(iamConfig())})
    const names = () => fs.readdirSync('/proc/self/task').map((t) => {
      try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() } catch { return '' }
    })
    Promise.all([0, 1, 2, 3].map(() => iam.identity.get(crypto.randomUUID()).then(() => 'found', (e) => e instanceof IamNotFoundError ? 'not_found' : String(e))))
      .then((outcomes) => {
        const n = names()
        console.log(JSON.stringify({ outcomes, runtime: n.filter((x) => x === 'ory-iam-runtime').length, tokio: n.filter((x) => x.startsWith('tokio-rt')).length }))
      })`
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env } })
  assert.equal(r.status, 0, r.stderr.slice(-2000))
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

test('promises run on one ory-iam-runtime thread by default', { skip: linux }, () => {
  const got = runtimeThreads({ ORY_IAM_RUNTIME_THREADS: '' })
  assert.deepEqual(got.outcomes, ['not_found', 'not_found', 'not_found', 'not_found'])
  assert.equal(got.runtime, 1)
  assert.equal(got.tokio, 0, "napi's default runtime was not started")
})

test('ORY_IAM_RUNTIME_THREADS sets the number of runtime threads', { skip: linux }, () => {
  const got = runtimeThreads({ ORY_IAM_RUNTIME_THREADS: '3' })
  assert.deepEqual(got.outcomes, ['not_found', 'not_found', 'not_found', 'not_found'])
  assert.equal(got.runtime, 3)
  assert.equal(got.tokio, 0)
  // Not a positive number: the default.
  assert.equal(runtimeThreads({ ORY_IAM_RUNTIME_THREADS: '0' }).runtime, 1)
  assert.equal(runtimeThreads({ ORY_IAM_RUNTIME_THREADS: 'many' }).runtime, 1)
})
