'use strict'
// The `oathkeeper` transport behind the stack's real Ory Oathkeeper (issue 22): a real Kratos
// session goes through Oathkeeper, whose id_token mutator hands the echo upstream
// `Authorization: Bearer <JWT>`; `whoami` with `verifier: 'jwt'` (keys from Oathkeeper's JWKS)
// resolves the identity. Tokens Oathkeeper did not issue for this app are refused with the audit
// event naming why; ory-iam/express works behind it.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const express = require('express')
const { Iam, IamUnauthorizedError } = require('../../bindings-node/ory-iam.js')
const { iamExpress } = require('../../bindings-node/express.js')
const { stack, iamConfig, registerUser } = require('./helpers.js')

const iam = Iam.fromConfig(iamConfig())

async function through(rule, headers) {
  const r = await fetch(`${stack().oathkeeper.proxy_url}${rule}/anything`, { headers })
  assert.equal(r.status, 200)
  return r.json()
}

function edgeConfig(edit = {}) {
  const ok = stack().oathkeeper
  const cfg = iamConfig()
  cfg.tenants.customer.transport = 'oathkeeper'
  cfg.tenants.customer.oathkeeper = { verifier: 'jwt', jwks: { url: ok.jwks_url }, audience: ok.audience, issuer: ok.issuer, ...edit }
  return cfg
}

function edge(edit) {
  const events = []
  const cfg = edgeConfig(edit)
  cfg.audit = { sink: 'callback' }
  return { iam: Iam.fromConfig(cfg, (e) => events.push(e.name)), events }
}

// Audit callbacks reach JS through the event loop: wait until `n` events arrived.
async function events(list, n) {
  const t0 = Date.now()
  while (list.length < n && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10))
  return list
}

async function jwt() {
  const user = await registerUser(iam, 'customer', 'oathkeeper')
  const echo = await through('bearer', { authorization: `Bearer ${user.token}` })
  return { user, auth: echo.headers.authorization }
}

test('a session through Oathkeeper is the identity; the same JWT is accepted again', async () => {
  const { user, auth } = await jwt()
  const { iam: e, events: seen } = edge()
  const s = await e.session.whoami({ authorization: auth })
  assert.equal(s.identity.id, user.id)
  assert.ok(s.identity.traits.email.endsWith('@example.test'))
  assert.equal((await e.session.whoami({ authorization: auth })).identity.id, user.id)
  assert.deepEqual(await events(seen, 2), ['auth.success', 'auth.success'])
  await e.close()
  await iam.identity.delete(user.id)
})

test('tokens for another app, tampered or replayed are refused with their audit event', async () => {
  const { user, auth } = await jwt()
  const [h, c, s] = auth.split(' ')[1].split('.')
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString())
  const tampered = `Bearer ${h}.${Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url')}.${s}`
  const cases = [
    [{ audience: 'another-app' }, auth, 'auth.failure.audience_mismatch'],
    [{}, tampered, 'auth.failure.invalid_signature'],
    [{ replay_protection: { enabled: true } }, auth, 'auth.failure.replay'],
  ]
  for (const [editCfg, header, event] of cases) {
    const { iam: e, events: seen } = edge(editCfg)
    const before = event === 'auth.failure.replay' ? 1 : 0
    if (before) await e.session.whoami({ authorization: header })
    await assert.rejects(e.session.whoami({ authorization: header }), IamUnauthorizedError, event)
    assert.equal((await events(seen, before + 1)).at(-1), event)
    await e.close()
  }
  await iam.identity.delete(user.id)
})

test('ory-iam/express behind Oathkeeper', async () => {
  const { user, auth } = await jwt()
  const e = Iam.fromConfig(edgeConfig())
  const app = express()
  const guard = iamExpress(e, { tenant: 'customer' })
  app.get('/me', guard.currentUser(), (req, res) => res.json({ id: req.iam.session.identity.id }))
  app.use(guard.errorHandler())
  const server = await new Promise((resolve) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv))
  })
  const url = `http://127.0.0.1:${server.address().port}/me`
  try {
    const ok = await fetch(url, { headers: { authorization: auth } })
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { id: user.id })
    assert.equal((await fetch(url)).status, 401)
  } finally {
    await new Promise((r) => server.close(r))
    await e.close()
  }
  await iam.identity.delete(user.id)
})

test("an ory-nestjs envelope (its header names, plain JSON or base64, hex or base64 signature) is accepted", async () => {
  const crypto = require('node:crypto')
  const key = 'nest-signer-key-0123456789'
  const cfg = iamConfig()
  cfg.tenants.customer.transport = 'oathkeeper'
  cfg.tenants.customer.oathkeeper = { identity_header: 'X-Ory-Identity', signature_header: 'X-Ory-Signature', signer_keys: ['new-key-0123456789', key] }
  const e = Iam.fromConfig(cfg)
  const envelope = {
    id: '9f425a8d-7efc-4768-8f23-7647a74fdf13', schemaId: 'customer', state: 'active', sessionId: 'nest-session',
    expiresAt: new Date(Date.now() + 600000).toISOString(), metadataPublic: { roles: ['seller'] },
    verifiedAddressesFlags: { email: true, phone: false },
  }
  const sign = (raw, enc) => crypto.createHmac('sha256', key).update(raw).digest(enc)
  const plain = JSON.stringify(envelope)
  const b64 = Buffer.from(JSON.stringify({ ...envelope, sessionId: 'nest-session-2' })).toString('base64')
  for (const [raw, sig, sid] of [[plain, sign(plain, 'hex'), 'nest-session'], [b64, sign(b64, 'base64'), 'nest-session-2']]) {
    const s = await e.session.whoami({ 'x-ory-identity': raw, 'x-ory-signature': sig })
    assert.equal(s.identity.id, envelope.id)
    assert.equal(s.id, sid)
    assert.deepEqual(s.identity.metadataPublic, { roles: ['seller'] })
  }
  await assert.rejects(e.session.whoami({ 'x-ory-identity': plain, 'x-ory-signature': crypto.createHmac('sha256', 'wrong').update(plain).digest('hex') }), IamUnauthorizedError)
  const forever = JSON.stringify({ ...envelope, expiresAt: undefined })
  await assert.rejects(e.session.whoami({ 'x-ory-identity': forever, 'x-ory-signature': sign(forever, 'hex') }), IamUnauthorizedError)
  await e.close()
})

test('expired tokens and tokens signed by another key are refused with their audit event', async () => {
  const fs = require('node:fs')
  const crypto = require('node:crypto')
  const { user, auth } = await jwt()
  const ok = stack().oathkeeper
  const [, c] = auth.split(' ')[1].split('.')
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString())
  const sign = (header, body, key) => {
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`
    const alg = header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key
    return `Bearer ${input}.${crypto.sign('sha256', Buffer.from(input), alg).toString('base64url')}`
  }
  // Oathkeeper's own key (the stack generated it) signs an expired token; a key of our own signs
  // a token under Oathkeeper's kid.
  const jwk = JSON.parse(fs.readFileSync(ok.jwks_file, 'utf8')).keys.at(-1)
  const oathkeeperKey = crypto.createPrivateKey({ key: jwk, format: 'jwk' })
  const now = Math.floor(Date.now() / 1000)
  const expired = sign({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }, { ...claims, iat: now - 180, nbf: now - 180, exp: now - 120 }, oathkeeperKey)
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const otherKey = sign({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' }, claims, privateKey)
  for (const [header, event] of [[expired, 'auth.failure.expired'], [otherKey, 'auth.failure.invalid_signature']]) {
    const { iam: e, events: seen } = edge()
    await assert.rejects(e.session.whoami({ authorization: header }), IamUnauthorizedError, event)
    assert.equal((await events(seen, 1)).at(-1), event)
    await e.close()
  }
  await iam.identity.delete(user.id)
})
