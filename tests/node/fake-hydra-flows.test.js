'use strict'
// FakeOry's authorization-code flow: a login/consent app's logic run against the fake, with
// `fake.authorize` / `fake.follow` as the browser, ending in an access token that authenticates
// (the Rust tests: core/tests/fake_hydra_flows.rs).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { IamNotFoundError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { FakeOry, LOGIN_URL, CONSENT_URL } = require('../../bindings-node/testing.js')

const REDIRECT = 'https://app.example.test/callback'
const VERIFIER = 'a-verifier-of-more-than-forty-three-characters-0123456789'
const param = (url, name) => new URL(url).searchParams.get(name)

// The user's login endpoint: the user proved to be `user`.
async function loginApp(iam, challenge, user) {
  const login = await iam.consent.getLoginRequest(challenge)
  assert.equal(login.skip, false)
  return (await iam.consent.acceptLoginRequest(challenge, { subject: user })).redirectTo
}

// The user's consent endpoint: grants what was asked, with an email claim.
async function consentApp(iam, challenge) {
  const c = await iam.consent.getConsentRequest(challenge)
  const body = { grant_scope: c.requestedScope, session: { id_token: { email: `${c.subject}@example.test` } } }
  return (await iam.consent.acceptConsentRequest(challenge, body)).redirectTo
}

test('a login and consent app ends in a token that authenticates', async () => {
  const fake = new FakeOry()
  const iam = fake.iam
  const client = await iam.oauth2Client.create({
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT], scope: 'openid offline_access read',
  })
  const codeChallenge = crypto.createHash('sha256').update(VERIFIER).digest('base64url')
  const toLogin = fake.authorize({ clientId: client.clientId, redirectUri: REDIRECT, scope: ['openid', 'offline_access', 'read'], state: 'state-123456789', codeChallenge, codeChallengeMethod: 'S256' })
  assert.ok(toLogin.startsWith(LOGIN_URL))
  const toConsent = fake.follow(await loginApp(iam, param(toLogin, 'login_challenge'), 'user-1'))
  assert.ok(toConsent.startsWith(CONSENT_URL))
  const granted = await consentApp(iam, param(toConsent, 'consent_challenge'))
  const back = fake.follow(granted)
  assert.ok(back.startsWith(REDIRECT))
  assert.equal(param(back, 'state'), 'state-123456789')
  assert.equal(param(fake.follow(granted), 'error'), 'access_denied', 'a verifier works once')
  const grant = { code: param(back, 'code'), redirectUri: REDIRECT, clientId: client.clientId, clientSecret: client.clientSecret, codeVerifier: VERIFIER }
  const tokens = await iam.token.authorizationCode(grant)
  const who = await iam.token.authenticate({ headers: fake.headersFor(tokens.accessToken) }, { requiredScope: ['read'] })
  assert.deepEqual([who.subject, who.clientId], ['user-1', client.clientId])
  assert.equal((await iam.token.userinfo(tokens.accessToken)).sub, 'user-1')
  const sessions = await iam.consent.listConsentSessions({ subject: 'user-1' })
  assert.deepEqual(sessions.items.map((s) => s.clientId), [client.clientId])

  // A code works once; its replay revokes what it gave, as with Hydra.
  await assert.rejects(iam.token.authorizationCode(grant), (e) => e instanceof IamValidationError && e.status === 400)
  assert.equal((await iam.token.introspect(tokens.accessToken)).active, false)

  // Refresh rotation, then consent revocation, on a second flow.
  const toLogin2 = fake.authorize({ clientId: client.clientId, redirectUri: REDIRECT, scope: 'openid offline_access', state: 'state-123456789', codeChallenge, codeChallengeMethod: 'S256' })
  const toConsent2 = fake.follow(await loginApp(iam, param(toLogin2, 'login_challenge'), 'user-2'))
  const code2 = param(fake.follow(await consentApp(iam, param(toConsent2, 'consent_challenge'))), 'code')
  const t2 = await iam.token.authorizationCode({ ...grant, code: code2 })
  const creds = { clientId: client.clientId, clientSecret: client.clientSecret }
  const t3 = await iam.token.refresh({ refreshToken: t2.refreshToken, ...creds })
  await assert.rejects(iam.token.refresh({ refreshToken: t2.refreshToken, ...creds }), IamValidationError)
  assert.equal((await iam.token.introspect(t3.accessToken)).active, false, 'a reused refresh token revokes its family')
  await iam.consent.revokeConsentSessions({ subject: 'user-2', client: client.clientId })
  assert.deepEqual((await iam.consent.listConsentSessions({ subject: 'user-2' })).items, [])

  for (const bad of ['../x', 'bogus-challenge']) await assert.rejects(iam.consent.getLoginRequest(bad), IamNotFoundError)
  assert.throws(() => fake.follow('https://elsewhere.test/oauth2/auth?login_verifier=x'), IamValidationError)
})
