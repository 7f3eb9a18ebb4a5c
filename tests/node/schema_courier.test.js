'use strict'
// SchemaService and CourierService from Node against the real Kratos instances.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Iam, Secret, IamNotFoundError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail } = require('./helpers.js')

const iam = Iam.fromConfig(iamConfig())

test('schemas per tenant', async () => {
  assert.deepEqual((await iam.schema.list()).map((s) => s.id), ['customer'])
  const admin = iam.schema.forTenant('admin')
  assert.ok((await admin.get('admin')).schema.properties.traits.properties.department)
  await assert.rejects(admin.get('customer'), IamNotFoundError)
  await assert.rejects(admin.get(''), IamValidationError)
})

test('courier bodies only when asked', async () => {
  const email = uniqueEmail('courier')
  const who = await iam.identity.create({ schemaId: 'customer', traits: { email } })
  const flow = await iam.flow.initiateRecovery()
  const sent = await iam.flow.submitRecovery(flow.id, { method: 'code', email })
  assert.equal(sent.kind, 'continue')
  const page = await iam.courier.list({ recipient: email })
  assert.equal(page.items.length, 1)
  const m = page.items[0]
  assert.equal(m.status, 'queued')
  assert.ok(m.body == null, 'no body by default')
  const withBody = await iam.courier.list({ recipient: email, includeBody: true })
  const body = withBody.items[0].body
  assert.ok(body instanceof Secret)
  assert.ok(body.expose().replace(/\D/g, '').length >= 6)
  assert.ok(!util.inspect(withBody, { depth: 10 }).includes(body.expose()))
  assert.ok(!JSON.stringify(withBody).includes(body.expose()))
  assert.ok((await iam.courier.get(m.id)).body == null)
  assert.ok((await iam.courier.get(m.id, true)).body instanceof Secret)
  assert.ok((await iam.courier.get(m.id, { includeBody: true })).body instanceof Secret, 'the contract shape')
  assert.ok((await iam.courier.get(m.id, { includeBody: false })).body == null)
  const seen = []
  for await (const x of iam.courier.listAll({ recipient: email, pageSize: 1 })) seen.push(x.id)
  assert.deepEqual(seen, [m.id])
  await assert.rejects(iam.courier.forTenant('admin').get(m.id), IamNotFoundError)
  await assert.rejects(iam.courier.list({ status: 'lost' }), IamValidationError)
  await iam.identity.delete(who.id)
})
