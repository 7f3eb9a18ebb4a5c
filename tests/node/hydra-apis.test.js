'use strict'
// Issue 25, the Hydra part, from Node against the real Hydra: connected apps (consent sessions
// listed after a real authorization-code flow, revoked, then the refresh token refused), login
// sessions revoked, a client's access tokens deleted through the introspection cache, client
// lifespans, discovery (and health()'s issuer check), userinfo, OIDC dynamic client registration
// and the logout URL.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Iam, Secret, IamNotFoundError, IamUnauthorizedError, IamValidationError } = require('../../bindings-node/ory-iam.js')
const { iamConfig, stack } = require('./helpers.js')
const { step, param, codeFlowAs } = require('./hydra-flow.js')

function make(events) {
  const cfg = iamConfig()
  cfg.audit = { sink: 'callback' }
  cfg.tenants.customer.cache = { introspection_ttl_ms: 600000 }
  return Iam.fromConfig(cfg, (e) => events.push(e))
}
const subject = () => `user-${crypto.randomUUID()}`
const named = (events, name) => events.filter((e) => e.name === name)

test('connected apps are listed, revoked, and the refresh token is refused', async () => {
  const events = []
  const iam = make(events)
  const who = subject()
  const f = await codeFlowAs(iam, who, true)
  const other = await codeFlowAs(iam, who, true)
  const listed = []
  for await (const c of iam.consent.listConsentSessionsAll({ subject: who, pageSize: 1 })) listed.push(c)
  assert.deepEqual(listed.map((c) => c.clientId).sort(), [f.clientId, other.clientId].sort())
  const mine = listed.find((c) => c.clientId === f.clientId)
  assert.equal(mine.subject, who)
  assert.equal(mine.remember, true)
  assert.ok(mine.grantScope.includes('offline_access'))
  const bySid = await iam.consent.listConsentSessions({ subject: who, loginSessionId: f.loginSessionId })
  assert.deepEqual(bySid.items.map((c) => c.clientId), [f.clientId])

  assert.equal((await iam.token.introspect(f.tokens.accessToken)).active, true, 'cached as active')
  await iam.consent.revokeConsentSessions({ subject: who, client: f.clientId })
  assert.equal((await iam.token.introspect(f.tokens.accessToken)).active, false)
  await assert.rejects(
    iam.token.refresh({ refreshToken: f.tokens.refreshToken, clientId: f.clientId, clientSecret: f.clientSecret }),
    IamValidationError,
  )
  const left = await iam.consent.listConsentSessions({ subject: who })
  assert.deepEqual(left.items.map((c) => c.clientId), [other.clientId])
  await iam.consent.revokeConsentSessions({ subject: who, all: true })
  assert.deepEqual((await iam.consent.listConsentSessions({ subject: who })).items, [])
  const revokes = named(events, 'oauth2.consent.revoke')
  assert.deepEqual(revokes.map((e) => [e.targetId, e.result]), [[who, 'success'], [who, 'success']])
  assert.equal(revokes[0].attributes.client, f.clientId)
  assert.equal(revokes[1].attributes.all, true)
  await assert.rejects(iam.consent.revokeConsentSessions({ subject: who }), IamValidationError)
  for (const id of [f.clientId, other.clientId]) await iam.oauth2Client.delete(id)
})

test('revoked login sessions make Hydra ask for the login again', async () => {
  const events = []
  const iam = make(events)
  const skipped = async (f) => {
    const challenge = param(await step(f.authUrl, new Map(f.jar)), 'login_challenge')
    const skip = (await iam.consent.getLoginRequest(challenge)).skip
    await iam.consent.rejectLoginRequest(challenge, { error: 'access_denied' })
    return skip
  }
  const who = subject()
  const f = await codeFlowAs(iam, who, true)
  assert.equal(await skipped(f), true)
  await iam.consent.revokeLoginSessions({ subject: who })
  assert.equal(await skipped(f), false)
  const g = await codeFlowAs(iam, subject(), true)
  await iam.consent.revokeLoginSessions({ sid: g.loginSessionId })
  assert.equal(await skipped(g), false)
  assert.deepEqual(
    named(events, 'oauth2.login_session.revoke').map((e) => [e.targetId, e.attributes.by]),
    [[who, 'subject'], [g.loginSessionId, 'sid']],
  )
  await assert.rejects(iam.consent.revokeLoginSessions({}), IamValidationError)
  for (const id of [f.clientId, g.clientId]) await iam.oauth2Client.delete(id)
})

test("deleting a client's access tokens reaches the introspection cache", async () => {
  const events = []
  const iam = make(events)
  const f = await codeFlowAs(iam, subject(), false)
  assert.equal((await iam.token.introspect(f.tokens.accessToken)).active, true)
  await iam.token.deleteAccessTokens(f.clientId)
  assert.equal((await iam.token.introspect(f.tokens.accessToken)).active, false)
  // Hydra v2.3.0 deletes access tokens only: the refresh token still works.
  const renewed = await iam.token.refresh({ refreshToken: f.tokens.refreshToken, clientId: f.clientId, clientSecret: f.clientSecret })
  assert.equal((await iam.token.introspect(renewed.accessToken)).active, true)
  const [e] = named(events, 'oauth2_client.access_tokens.delete')
  assert.deepEqual([e.targetId, e.result], [f.clientId, 'success'])
  await iam.oauth2Client.delete(f.clientId)
})

test('lifespans, discovery, the issuer check and userinfo', async () => {
  const events = []
  const iam = make(events)
  const c = await iam.oauth2Client.create({ grant_types: ['client_credentials'], scope: 'read' })
  await iam.oauth2Client.setLifespans(c.clientId, { clientCredentialsGrantAccessTokenLifespan: '90s' })
  const cfg = iamConfig()
  cfg.tenants.customer.hydra.client_id = c.clientId
  cfg.tenants.customer.hydra.client_secret = c.clientSecret.expose()
  const t = await Iam.fromConfig(cfg).token.clientCredentials('read')
  assert.ok(t.expiresIn <= 90, `${t.expiresIn}`)
  await assert.rejects(
    iam.oauth2Client.setLifespans(c.clientId, { implicit_grant_id_token_lifespan: '' }),
    (e) => e instanceof IamValidationError && e.fields[0].path === 'lifespans.implicit_grant_id_token_lifespan',
  )
  await assert.rejects(iam.oauth2Client.setLifespans('no-such-client', {}), IamNotFoundError)
  assert.equal(named(events, 'oauth2_client.lifespans.set')[0].targetId, c.clientId)
  await iam.oauth2Client.delete(c.clientId)

  const d = await iam.token.discover()
  assert.equal(d.issuer.replace(/\/$/, ''), stack().hydra.public_url.replace(/\/$/, ''))
  assert.equal(d.registrationEndpoint ?? null, null, 'Hydra v2.3.0: only with webfinger.oidc_discovery.client_registration_url')
  assert.ok(d.grantTypesSupported.includes('authorization_code'))
  assert.ok(!(await Iam.fromConfig(iamConfig()).health()).warnings.some((w) => w.includes('hydra.issuer')))
  const wrong = iamConfig()
  wrong.tenants.customer.hydra.issuer = 'https://issuer.example.test/'
  assert.ok((await Iam.fromConfig(wrong).health()).warnings.some((w) => w.includes('tenants.customer.hydra.issuer')))

  const who = subject()
  const f = await codeFlowAs(iam, who, false)
  const info = await iam.token.userinfo(f.tokens.accessToken)
  assert.equal(info.sub, who)
  assert.equal(info.claims.email, `${who}@example.test`)
  await iam.token.deleteAccessTokens(f.clientId)
  await assert.rejects(iam.token.userinfo(f.tokens.accessToken), IamUnauthorizedError)
  await iam.oauth2Client.delete(f.clientId)
})

test('OIDC dynamic client registration', async () => {
  const events = []
  const iam = make(events)
  const redirect = `${stack().helper.base_url}callback`
  const c = await iam.oauth2Client.register({ client_name: 'dyn', redirect_uris: [redirect] })
  const rat = c.registrationAccessToken
  assert.ok(rat instanceof Secret && c.clientSecret instanceof Secret)
  assert.ok(!JSON.stringify(c).includes(rat.expose()))
  assert.equal((await iam.oauth2Client.getRegistered(c.clientId, rat)).clientName, 'dyn')
  await assert.rejects(iam.oauth2Client.getRegistered(c.clientId, 'wrong-token'), IamUnauthorizedError)
  const s = await iam.oauth2Client.setRegistered(c.clientId, rat, { client_name: 'renamed', redirect_uris: [redirect] })
  assert.equal(s.clientName, 'renamed')
  await assert.rejects(iam.oauth2Client.getRegistered(c.clientId, rat), IamUnauthorizedError, 'rotated by the update')
  await iam.oauth2Client.deleteRegistered(c.clientId, s.registrationAccessToken)
  await assert.rejects(iam.oauth2Client.get(c.clientId), IamNotFoundError)
  for (const name of ['oauth2_client.register', 'oauth2_client.registered.set', 'oauth2_client.registered.delete']) {
    const [e] = named(events, name)
    assert.deepEqual([e.targetId, e.result], [c.clientId, 'success'], name)
  }
  assert.ok(!JSON.stringify(events).includes(rat.expose()))
})

test('the logout URL starts Hydra logout flow', async () => {
  const iam = make([])
  const who = subject()
  const f = await codeFlowAs(iam, who, true)
  const url = iam.consent.logoutUrl({ idTokenHint: f.tokens.idToken })
  assert.ok(url instanceof Secret)
  assert.ok(url.expose().startsWith(`${stack().hydra.public_url}oauth2/sessions/logout?id_token_hint=`))
  const challenge = param(await step(url.expose(), new Map(f.jar)), 'logout_challenge')
  assert.equal((await iam.consent.getLogoutRequest(challenge)).subject, who)
  await iam.consent.acceptLogoutRequest(challenge)
  assert.throws(() => iam.consent.logoutUrl({ postLogoutRedirectUri: 'https://app.example.test/' }), IamValidationError)
  assert.equal(iam.consent.logoutUrl().expose(), `${stack().hydra.public_url}oauth2/sessions/logout`)
  await iam.oauth2Client.delete(f.clientId)
})
