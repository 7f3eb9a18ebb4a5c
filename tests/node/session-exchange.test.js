'use strict'
// flow.exchangeSessionToken (issue 25, Kratos exchangeSessionToken): a native app's sign-in that
// continues in a browser — social sign-in with the stack's Hydra as Kratos's OpenID Connect
// provider — ends with a session token for the app, against the real servers.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Iam, IamNotFoundError, IamValidationError, Secret } = require('../../bindings-node/ory-iam.js')
const { iamConfig, stack } = require('./helpers.js')
const { step, param } = require('./hydra-flow.js')

const returnTo = () => `${stack().helper.base_url}app-callback`
const email = () => `social-${crypto.randomUUID().slice(0, 12)}@example.test`

// Follow Kratos's redirect as a browser would, signing in at Hydra as `address`.
async function browserLeg(iam, redirectBrowserTo, address) {
  const jar = new Map()
  const loginChallenge = param(await step(redirectBrowserTo, jar), 'login_challenge')
  let next = await iam.consent.acceptLoginRequest(loginChallenge, { subject: address })
  const consentChallenge = param(await step(next.redirectTo, jar), 'consent_challenge')
  const c = await iam.consent.getConsentRequest(consentChallenge)
  next = await iam.consent.acceptConsentRequest(consentChallenge, { grant_scope: c.requestedScope, session: { id_token: { email: address } } })
  return step(await step(next.redirectTo, jar), jar)
}

async function socialRegistration(iam) {
  const flow = await iam.flow.initiateRegistration({ returnTo: returnTo(), returnSessionTokenExchangeCode: true })
  assert.ok(flow.sessionTokenExchangeCode instanceof Secret)
  const r = await iam.flow.submitRegistration(flow.id, { method: 'oidc', provider: 'hydra' })
  assert.equal(r.kind, 'redirect')
  return { flow, browser: r.redirectBrowserTo }
}

test('a social sign-in ends with a session token for the app', async () => {
  const iam = Iam.fromConfig(iamConfig())
  const { flow, browser } = await socialRegistration(iam)
  const init = flow.sessionTokenExchangeCode
  assert.ok(!JSON.stringify(flow).includes(init.expose()))
  await assert.rejects(iam.flow.exchangeSessionToken(init, 'not-yet-a-code-0123456789'), IamNotFoundError)
  const address = email()
  const back = await browserLeg(iam, browser, address)
  assert.ok(back.startsWith(returnTo()))
  const done = await iam.flow.exchangeSessionToken(init, param(back, 'code'))
  assert.equal(done.kind, 'success')
  assert.equal(done.session.identity.traits.email, address)
  const me = await iam.session.whoami({ 'x-session-token': done.sessionToken })
  assert.equal(me.id, done.session.id)
  assert.ok(!JSON.stringify(done).includes(done.sessionToken.expose()))
  const other = await socialRegistration(iam)
  const otherBack = await browserLeg(iam, other.browser, email())
  await assert.rejects(iam.flow.exchangeSessionToken(init, param(otherBack, 'code')), IamNotFoundError)
  await assert.rejects(iam.flow.exchangeSessionToken(other.flow.sessionTokenExchangeCode, param(back, 'code')), IamNotFoundError)
  await iam.flow.performNativeLogout(done.sessionToken)
  await iam.identity.delete(done.session.identity.id)
  await iam.close()
})

test('bad exchange input is refused before any request', async () => {
  const cfg = iamConfig()
  cfg.tenants.customer.kratos.public_url = 'http://127.0.0.1:9/'
  const iam = Iam.fromConfig(cfg)
  for (const bad of ['', 'has space', 'line\r\nbreak', 'x'.repeat(513)]) {
    await assert.rejects(iam.flow.exchangeSessionToken(bad, 'code-0123456789'), IamValidationError)
    await assert.rejects(iam.flow.exchangeSessionToken('code-0123456789', bad), IamValidationError)
  }
  await assert.rejects(iam.flow.initiateLogin({ kind: 'browser', returnSessionTokenExchangeCode: true }), IamValidationError)
  await assert.rejects(iam.flow.initiateRecovery({ returnSessionTokenExchangeCode: true }), IamValidationError)
  await iam.close()
})
