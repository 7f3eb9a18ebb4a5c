'use strict'
// A real authorization-code flow against the stack's Hydra, for the Node tests (hydra.test.js,
// security-trust.test.js).
const crypto = require('node:crypto')
const http = require('node:http')
const { stack } = require('./helpers.js')

const b64 = (b) => Buffer.from(b).toString('base64url')

// GET with cookies, no redirect following; returns the Location.
function step(url, jar) {
  return new Promise((resolve, reject) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    http
      .get(url, { headers: { cookie } }, (res) => {
        for (const sc of res.headers['set-cookie'] || []) {
          const [pair] = sc.split(';')
          const i = pair.indexOf('=')
          jar.set(pair.slice(0, i), pair.slice(i + 1))
        }
        res.resume()
        if (res.statusCode < 300 || res.statusCode >= 400) return reject(new Error(`${url} answered ${res.statusCode}`))
        resolve(res.headers.location)
      })
      .on('error', reject)
  })
}
const param = (u, name) => new URL(u).searchParams.get(name)

// A real authorization-code flow (PKCE) for a new client (with `strategy` and `audience`, if
// given), login and consent accepted for `subject`. With `remember` set, Hydra remembers (or
// not) login and consent, and the ID token carries an email claim. Also returns the browser's
// cookie jar, the authorization URL and the Hydra login session id.
async function flow(iam, { subject = 'user-1', remember, strategy, audience = [] } = {}) {
  const s = stack()
  const redirect = `${s.helper.base_url}callback`
  const client = await iam.oauth2Client.create({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code', 'id_token'],
    redirect_uris: [redirect],
    scope: 'openid offline_access read',
    ...(strategy ? { audience, access_token_strategy: strategy } : {}),
  })
  const verifier = b64(crypto.randomBytes(32))
  const auth = new URL(`${s.hydra.public_url}oauth2/auth`)
  for (const [k, v] of Object.entries({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'openid offline_access read',
    state: 'state-123456789',
    code_challenge: b64(crypto.createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }))
    auth.searchParams.set(k, v)
  if (audience.length) auth.searchParams.set('audience', audience.join(' '))
  const jar = new Map()
  const remembered = remember === undefined ? {} : { remember, remember_for: 0 }
  const loginChallenge = param(await step(auth.href, jar), 'login_challenge')
  const login = await iam.consent.getLoginRequest(loginChallenge)
  let next = await iam.consent.acceptLoginRequest(loginChallenge, { subject, ...remembered })
  const consentChallenge = param(await step(next.redirectTo, jar), 'consent_challenge')
  const c = await iam.consent.getConsentRequest(consentChallenge)
  next = await iam.consent.acceptConsentRequest(consentChallenge, {
    grant_scope: c.requestedScope,
    grant_access_token_audience: c.requestedAccessTokenAudience,
    ...remembered,
    ...(remember === undefined ? {} : { session: { id_token: { email: `${subject}@example.test` } } }),
  })
  const code = param(await step(next.redirectTo, jar), 'code')
  const tokens = await iam.token.authorizationCode({ code, redirectUri: redirect, clientId: client.clientId, clientSecret: client.clientSecret, codeVerifier: verifier })
  return { tokens, clientId: client.clientId, clientSecret: client.clientSecret, jar, authUrl: auth.href, loginSessionId: login.sessionId || c.sessionId }
}

// The flow for user-1 with the given access-token strategy.
const codeFlow = (iam, strategy, audience = []) => flow(iam, { strategy, audience })

// The flow for `subject`, login and consent remembered by Hydra when `remember`.
const codeFlowAs = (iam, subject, remember) => flow(iam, { subject, remember })

module.exports = { step, param, codeFlow, codeFlowAs, b64 }
