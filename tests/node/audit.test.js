'use strict'
// Audit events reach a JS callback (sink `callback`) and log records the log callback.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { Iam, setLogCallback } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail, scanRecord } = require('./helpers.js')

async function until(pred, ms = 2000) {
  const t0 = Date.now()
  while (!pred()) {
    if (Date.now() - t0 > ms) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}

test('audit callback receives redacted events', async () => {
  const events = []
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback' }
  const iam = Iam.fromConfig(cfg, (e) => events.push(e))
  const email = uniqueEmail('audit')
  const created = await iam.identity.create({ schemaId: 'customer', traits: { email } })
  await iam.identity.delete(created.id)
  assert.ok(await until(() => events.some((e) => e.name === 'identity.delete')))
  const del = events.find((e) => e.name === 'identity.delete')
  assert.equal(del.targetId, created.id)
  assert.equal(del.tenant, 'customer')
  assert.equal(del.result, 'success')
  assert.ok(!JSON.stringify(events).includes(email))
})

test('log sink reaches the log callback', async () => {
  const records = []
  setLogCallback((r) => {
    records.push(r)
    scanRecord(r)
  })
  try {
    const cfg = iamConfig()
    cfg.audit = { sink: 'log' }
    const iam = Iam.fromConfig(cfg)
    const created = await iam.identity.create({ schemaId: 'customer', traits: { email: uniqueEmail('log') } })
    await iam.identity.delete(created.id)
    assert.ok(await until(() => records.some((r) => r.target === 'ory_iam::audit' && r.fields.event?.name === 'identity.delete')))
    const rec = records.find((r) => r.fields.event?.name === 'identity.delete')
    assert.equal(rec.level, 'info')
    assert.equal(rec.fields.event.target_id, created.id)
  } finally {
    setLogCallback(scanRecord)
  }
})

test('a callback sink without a callback is a configuration error', () => {
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback' }
  assert.throws(() => Iam.fromConfig(cfg), (e) => e.code === 'configuration' && e.fields.some((f) => f.path === 'audit.sink'))
})
