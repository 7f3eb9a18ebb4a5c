'use strict'
// Node logging (issue 23, item 7): the library's records reach the console by default (audit
// failures and denials at warn), `setLogger` routes them to pino or Nest's Logger at a level,
// and no secret reaches any line. Against the real stack.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { Logger, ConsoleLogger } = require('@nestjs/common')
const pkg = require('../../bindings-node/ory-iam.js')
const { Iam, setLogger, setLogCallback, pinoLogger, nestLogger, consoleLogger } = pkg
const { iamConfig, uniqueEmail, scanRecord, ROOT } = require('./helpers.js')

// helpers.js points the log hook at its leak scan; the tests below replace it, then restore it.
after(() => setLogCallback(scanRecord))

const until = async (f) => {
  for (let i = 0; i < 200; i++) {
    if (f()) return true
    await new Promise((r) => setImmediate(r))
  }
  return f()
}

test('by default (no setup at all) audit records reach the console on stderr (never stdout): successes at info, failures and denials at warn, no secret', async () => {
  const email = uniqueEmail('console-log')
  const token = `ory_st_${'x'.repeat(32)}`
  // A fresh process: nothing but `require('ory-iam')`, as an application starts.
  const script = `
    const { Iam } = require(${JSON.stringify(path.join(ROOT, 'bindings-node', 'ory-iam.js'))})
    const cfg = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(path.join(ROOT, '.stack', 'stack.json'))}, 'utf8')).iam_config
    cfg.audit = { sink: 'log' }
    // Observed only, to know when both lines are out (the records cross threads).
    const seen = new Set()
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = (chunk, ...rest) => (seen.add(String(chunk).match(/"name":"([a-z._]+)"/)?.[1]), write(chunk, ...rest))
    ;(async () => {
      const iam = Iam.fromConfig(cfg)
      const created = await iam.identity.create({ schemaId: 'customer', traits: { email: ${JSON.stringify(email)} } })
      await iam.identity.delete(created.id)
      await iam.session.whoamiOrNull({ authorization: 'Bearer ${token}' })
      for (let i = 0; i < 1000 && !(seen.has('identity.delete') && seen.has('auth.failure.expired')); i++) await new Promise((r) => setImmediate(r))
      await iam.close()
    })()`
  const { stdout, stderr } = await new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' } }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr }))),
  )
  const line = (text, name) => text.split('\n').find((l) => l.includes(`"name":"${name}"`))
  assert.match(line(stderr, 'identity.delete') || '', /^\[ory-iam\] INFO ory_iam::audit /, stderr)
  assert.match(line(stderr, 'auth.failure.expired') || '', /^\[ory-iam\] WARN ory_iam::audit /, stderr)
  assert.ok(!stdout.includes('[ory-iam]'), 'nothing on stdout')
  for (const secret of [email, token, 'xxxxxxxxxxxxxxxx']) assert.ok(!`${stdout}${stderr}`.includes(secret), 'no secret on the console')
  assert.ok(!/ory operation/.test(stdout + stderr), 'debug records stay below the default level')
})

test('pinoLogger: pino-style calls at the record level, warn and up when asked; a throwing logger breaks nothing', async () => {
  const calls = []
  const fakePino = {}
  for (const level of ['error', 'warn', 'info', 'debug', 'trace']) fakePino[level] = (obj, msg) => calls.push({ level, obj, msg })
  setLogger(pinoLogger(fakePino), { level: 'warn' })
  const iam = Iam.fromConfig(iamConfig())
  try {
    await iam.session.whoamiOrNull({ authorization: 'Bearer ory_st_nope_nope_nope' })
    const created = await iam.identity.create({ schemaId: 'customer', traits: { email: uniqueEmail('pino') } })
    await iam.identity.delete(created.id)
    assert.ok(await until(() => calls.some((c) => c.obj.event && c.obj.event.name === 'auth.failure.expired')))
    const fail = calls.find((c) => c.obj.event && c.obj.event.name === 'auth.failure.expired')
    assert.equal(fail.level, 'warn')
    assert.equal(fail.obj.target, 'ory_iam::audit')
    assert.equal(fail.msg, 'auth.failure.expired')
    assert.ok(calls.every((c) => c.level === 'warn' || c.level === 'error'), 'nothing below warn')
    assert.ok(!JSON.stringify(calls).includes('ory_st_nope_nope_nope'))
    // A logger that throws loses the record, never the call.
    setLogger(() => {
      throw new Error('broken logger')
    })
    assert.equal(await iam.session.whoamiOrNull({ authorization: 'Bearer ory_st_nope_nope_nope' }), null)
  } finally {
    await iam.close()
    setLogCallback(scanRecord)
  }
})

test("nestLogger: Nest's Logger, info → log and failures → warn, under the logger's context", async () => {
  const seen = []
  class Capture extends ConsoleLogger {
    log(message, context) {
      seen.push({ method: 'log', message, context })
    }
    warn(message, context) {
      seen.push({ method: 'warn', message, context })
    }
  }
  Logger.overrideLogger(new Capture())
  setLogger(nestLogger(new Logger('ory-iam')))
  const iam = Iam.fromConfig(iamConfig())
  try {
    await iam.session.whoamiOrNull({ authorization: 'Bearer ory_st_nope_nope_nope' })
    const created = await iam.identity.create({ schemaId: 'customer', traits: { email: uniqueEmail('nestlog') } })
    await iam.identity.delete(created.id)
    assert.ok(await until(() => seen.some((s) => s.message.includes('identity.delete'))))
    const del = seen.find((s) => s.message.includes('"name":"identity.delete"'))
    assert.deepEqual([del.method, del.context], ['log', 'ory-iam'])
    const fail = seen.find((s) => s.message.includes('"name":"auth.failure.expired"'))
    assert.deepEqual([fail.method, fail.context], ['warn', 'ory-iam'])
    assert.ok(!JSON.stringify(seen).includes('ory_st_nope_nope_nope'))
  } finally {
    await iam.close()
    Logger.overrideLogger(true)
    setLogCallback(scanRecord)
  }
})

test('setLogger / setLogCallback refuse an unknown level or a non-function; consoleLogger writes to the target given', () => {
  assert.throws(() => setLogger(() => {}, { level: 'loud' }), TypeError)
  assert.throws(() => setLogger('console'), TypeError)
  assert.throws(() => setLogCallback(() => {}, 'loud'), TypeError)
  assert.throws(() => pinoLogger({}), TypeError)
  assert.throws(() => nestLogger({}), TypeError)
  const lines = []
  const target = { error: (l) => lines.push(['error', l]), warn: (l) => lines.push(['warn', l]), info: (l) => lines.push(['info', l]), debug: (l) => lines.push(['debug', l]), log: (l) => lines.push(['log', l]) }
  consoleLogger(target)({ level: 'warn', target: 'ory_iam::cache', message: 'redis unreachable', fields: { tenant: 'customer' } })
  assert.deepEqual(lines, [['warn', '[ory-iam] WARN ory_iam::cache redis unreachable {"tenant":"customer"}']])
  assert.equal(typeof pkg.setLogger, 'function')
})
