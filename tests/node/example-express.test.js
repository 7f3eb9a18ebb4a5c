'use strict'
// examples/express-app driven like a browser over real HTTP: its own process, a cookie jar,
// Kratos browser flows through the app, Keto deciding the protected action.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { Iam } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail, ROOT } = require('./helpers.js')

const PASSWORD = 'a-Long-and-unique-passphrase-42'
let child, base, output = ''

before(async () => {
  const env = { ...process.env, PORT: '0', ORY_IAM_STACK: process.env.ORY_IAM_STACK || path.join(ROOT, '.stack', 'stack.json') }
  child = spawn(process.execPath, [path.join(ROOT, 'examples', 'express-app', 'server.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stderr.on('data', (d) => (output += d))
  base = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      output += d
      const m = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
      if (m) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`the example exited (${code}): ${output}`)))
  })
})

after(async () => {
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
})

// What a browser keeps between requests.
class Browser {
  constructor() {
    this.cookies = new Map()
  }
  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
  async request(method, p, form) {
    const headers = { cookie: this.cookieHeader(), accept: 'text/html' }
    let body
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(form).toString()
    }
    const res = await fetch(base + p, { method, headers, body, redirect: 'manual' })
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim())
      const i = pair.indexOf('=')
      const [k, v] = [pair.slice(0, i), pair.slice(i + 1)]
      const expired = attrs.some((a) => /^max-age=(0|-)/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()))
      if (!v || expired) this.cookies.delete(k)
      else this.cookies.set(k, v)
    }
    return { status: res.status, location: res.headers.get('location'), headers: res.headers, html: await res.text() }
  }
  get(p) {
    return this.request('GET', p)
  }
  post(p, form = {}) {
    return this.request('POST', p, form)
  }
}

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
const attrs = (tag) => Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], unescape(m[2])]))
// The page's form as the browser would submit it: its action and its fields (hidden ones filled).
function formOf(html) {
  const action = attrs(/<form [^>]*>/.exec(html)?.[0] ?? '').action
  const fields = {}
  for (const [tag] of html.matchAll(/<input [^>]*>/g)) {
    const a = attrs(tag)
    fields[a.name] = a.value ?? ''
  }
  const submit = /<button type="submit" name="[^"]*" value="[^"]*"/.exec(html)
  if (submit) {
    const a = attrs(submit[0])
    fields[a.name] = a.value
  }
  return { action, fields }
}

async function fill(browser, pagePath, values) {
  const page = await browser.get(pagePath)
  assert.equal(page.status, 200, `${pagePath}: ${page.html.slice(0, 200)}`)
  const { action, fields } = formOf(page.html)
  assert.ok(fields.csrf_token, 'the page carries the CSRF token')
  for (const k of Object.keys(values)) assert.ok(k in fields, `${pagePath} has a "${k}" field (fields: ${Object.keys(fields)})`)
  assert.ok(!('traits.roles' in fields), 'roles are never self-service')
  return browser.post(action, { ...fields, ...values })
}

const testid = (html, id) => {
  const m = new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)
  return m ? unescape(m[1]) : undefined
}
async function logout(browser) {
  const page = await browser.get('/logout')
  assert.equal(page.status, 200)
  const { action, fields } = formOf(page.html)
  return browser.post(action, fields)
}

test('register → login → protected page → denied action → grant → allowed → logout', async () => {
  const iam = Iam.fromConfig(iamConfig())
  const email = uniqueEmail('example-express')
  const doc = `doc-${crypto.randomUUID()}`
  const browser = new Browser()
  let identityId
  try {
    // Anonymous: the protected page sends the browser to the login page.
    assert.match((await browser.get('/')).html, /href="\/registration"/)
    const anon = await browser.get('/protected')
    assert.equal(anon.status, 303)
    assert.equal(anon.location, '/login')

    // Register: the app relays Kratos's CSRF cookie, then the session cookie.
    const reg = await fill(browser, '/registration', { 'traits.email': email, password: PASSWORD })
    assert.equal(reg.status, 303, reg.html.slice(0, 300))
    assert.equal(reg.location, '/protected')
    assert.ok([...browser.cookies.keys()].includes('ory_kratos_session_customer'))
    const afterReg = await browser.get('/protected')
    assert.equal(afterReg.status, 200)
    identityId = testid(afterReg.html, 'identity-id')
    assert.equal((await iam.identity.getWithTraits(identityId)).traits.email, email)

    // Log out, then log in again (a wrong password first).
    const out = await logout(browser)
    assert.equal(out.status, 303)
    assert.equal(out.location, '/')
    assert.ok(!browser.cookies.has('ory_kratos_session_customer'), 'the session cookie is cleared')
    assert.equal((await browser.get('/protected')).status, 303)
    const wrong = await fill(browser, '/login', { identifier: email, password: 'not-the-password-123' })
    assert.equal(wrong.status, 400)
    assert.match(wrong.html, /class="error" data-testid="flow-message"/)
    const login = await fill(browser, '/login', { identifier: email, password: PASSWORD })
    assert.equal(login.status, 303, login.html.slice(0, 300))
    const prot = await browser.get('/protected')
    assert.equal(prot.status, 200)
    assert.equal(testid(prot.html, 'identity-id'), identityId)
    assert.equal(testid(prot.html, 'email'), email)

    // Keto: denied until the grant, allowed after it.
    const docPage = await browser.get(`/documents/${doc}`)
    assert.equal(docPage.status, 200)
    const edit = formOf(docPage.html).action
    const denied = await browser.post(edit)
    assert.equal(denied.status, 403)
    assert.notEqual(testid(denied.html, 'denied'), undefined)
    await iam.permission.grant({ namespace: 'documents', object: doc, relation: 'edit', subject: identityId })
    const allowed = await browser.post(edit)
    assert.equal(allowed.status, 200)
    assert.equal(testid(allowed.html, 'edited'), `Edited ${doc}.`)

    // Log out: the session is gone in Kratos too, not only in the jar.
    const sessionCookie = browser.cookieHeader()
    assert.equal((await logout(browser)).location, '/')
    assert.equal((await browser.get('/protected')).status, 303)
    // An API client (no text/html) gets ory-iam's JSON answer and challenge.
    const gone = await fetch(base + edit, { method: 'POST', headers: { cookie: sessionCookie } })
    assert.equal(gone.status, 401)
    assert.equal((await gone.json()).error, 'unauthorized')
    assert.equal(gone.headers.get('www-authenticate'), 'Bearer realm="customer", Cookie realm="customer"')
    assert.equal(await iam.session.whoamiOrNull({ headers: { cookie: sessionCookie } }), null)
  } finally {
    await iam.permission.revoke({ namespace: 'documents', object: doc, relation: 'edit', subject: identityId || 'none' })
    if (identityId) await iam.identity.delete(identityId)
  }
  assert.ok(!output.includes(PASSWORD), 'the app never logs the password')
})

// Issue 27, item 1: the attack as it was found — one anonymous form post whose field names walk
// `__proto__` — must change nothing: the next anonymous request to /protected is still refused.
test('a form post naming __proto__ cannot make later requests someone else', async () => {
  const victim = crypto.randomUUID()
  const form = {
    '__proto__.iam.tenant': 'customer',
    '__proto__.iam.session.identity.id': victim,
    'constructor.prototype.iam.session.identity.id': victim,
    'traits.email': uniqueEmail('pollute'),
    password: PASSWORD,
  }
  const post = await fetch(`${base}/registration?flow=x`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  })
  assert.ok(post.status < 500, `the post answered ${post.status}`)
  const after = await fetch(`${base}/protected`, { headers: { accept: 'text/html' }, redirect: 'manual' })
  assert.notEqual(after.status, 200, 'an anonymous request reached /protected after the pollution attempt')
  assert.ok(!(await after.text()).includes(victim))
})
