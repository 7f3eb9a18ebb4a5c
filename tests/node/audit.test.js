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

test('mutations emit the catalogue names (docs/audit.md)', async () => {
  const events = []
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback' }
  const iam = Iam.fromConfig(cfg, (e) => events.push(e))
  const email = uniqueEmail('trail')
  const created = await iam.identity.create({ schemaId: 'customer', traits: { email, name: { first: 'Grace' } } })
  await iam.identity.updateTraits(created.id, { email, name: { first: 'Hopper' } })
  await iam.identity.patch(created.id, [{ op: 'replace', path: '/metadata_public', value: { plan: 'pro' } }])
  await assert.rejects(iam.identity.create({ schemaId: 'customer', traits: { email: 42 } }), (e) => e.code === 'validation')
  await iam.identity.delete(created.id)
  const client = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read' })
  await iam.oauth2Client.delete(client.clientId)
  const tuple = { namespace: 'documents', object: `doc-${Date.now()}-${Math.random()}`, relation: 'viewer', subject: 'user-audit' }
  await iam.permission.grant(tuple)
  await iam.permission.revoke(tuple)
  const expected = [
    ['identity.create', 'success'],
    ['identity.update', 'success'],
    ['identity.patch', 'success'],
    ['identity.create', 'failure'],
    ['identity.delete', 'success'],
    ['oauth2_client.create', 'success'],
    ['oauth2_client.delete', 'success'],
    ['authz.permission.grant', 'success'],
    ['authz.permission.revoke', 'success'],
  ]
  assert.ok(await until(() => events.length >= expected.length))
  assert.deepEqual(events.map((e) => [e.name, e.result]), expected)
  assert.equal(events[0].targetId, created.id)
  assert.equal(events[3].attributes.error, 'validation')
  assert.equal(events[5].targetId, client.clientId)
  assert.ok(events.every((e) => e.requestId), 'each event carries the Ory request id')
  const text = JSON.stringify(events)
  assert.ok(!text.includes(email) && !text.includes('Grace') && !text.includes('Hopper'))
})

test('audit.redact_patterns redact matches; a bad pattern names its index', async () => {
  const events = []
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback', redactPatterns: ['^doc-secret-[0-9]+$'] }
  const iam = Iam.fromConfig(cfg, (e) => events.push(e))
  const tuple = { namespace: 'documents', object: `doc-secret-${Date.now()}`, relation: 'viewer', subject: 'u' }
  await iam.permission.grant(tuple)
  await iam.permission.revoke(tuple)
  assert.ok(await until(() => events.length >= 2))
  assert.deepEqual(events.map((e) => e.targetId), ['***', '***'])
  assert.equal(events[0].attributes.namespace, 'documents')
  const bad = iamConfig()
  bad.audit = { redact_patterns: ['ok', 'secret-(unclosed'] }
  assert.throws(
    () => Iam.fromConfig(bad),
    (e) => e.code === 'configuration' && e.fields.some((f) => f.path === 'audit.redact_patterns[1]') && !e.message.includes('secret-(unclosed'),
  )
})
