'use strict'
// An Express app that uses ory-iam as a backend-for-frontend (BFF) for Kratos; the twin of
// examples/fastapi-app (same routes, same pages).
//
// The browser only ever talks to this app. The app runs Kratos's self-service *browser* flows
// (registration, login, logout) through `iam.flow`, renders the forms itself and relays the
// cookies Kratos sets (CSRF cookie, session cookie) to the browser. Pages are protected with
// `ory-iam/express`: a session for /protected, a Keto permission (`documents:<id>#edit`) for
// POST /documents/<id>/edit.
//
// Configuration (see README.md): ORY_IAM_STACK = path of the local stack's stack.json (its
// `iam_config` is used), otherwise ORY_IAM_CONFIG_FILE / ORY_IAM__... (`Iam.fromEnv()`).
// EXAMPLE_TENANT picks the tenant (default: the config's default tenant); PORT (default 3000,
// 0 = any free port) and HOST (default 127.0.0.1) where to listen.
const fs = require('node:fs')
const express = require('express')
const { Iam } = require('ory-iam')
const { iamExpress, httpErrorOf } = require('ory-iam/express')

function loadIam() {
  const stack = process.env.ORY_IAM_STACK
  if (stack) return Iam.fromConfig(JSON.parse(fs.readFileSync(stack, 'utf8')).iam_config)
  return Iam.fromEnv()
}

// ------------------------------------------------------------------------------ pages

const STYLE = 'body{font-family:sans-serif;max-width:40em;margin:2em auto}label{display:block;margin:.5em 0}.error{color:#b00}'
const e = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

/** Hand Kratos's cookies to the browser: that keeps the flow's CSRF cookie and, after login, the session cookie on the browser's side. */
function relay(res, setCookie) {
  for (const c of setCookie || []) res.append('Set-Cookie', c.expose())
  return res
}
function page(res, title, body, { status = 200, setCookie } = {}) {
  relay(res, setCookie)
    .status(status)
    .type('html')
    .send(`<!doctype html><html><head><meta charset=utf-8><title>${e(title)}</title><style>${STYLE}</style></head><body><h1>${e(title)}</h1>${body}</body></html>`)
}
const redirect = (res, to, setCookie) => relay(res, setCookie).redirect(303, to)

// Kratos also offers "code", "link" and passkey methods; this example renders the password form.
const SHOWN_GROUPS = new Set(['default', 'password'])
// The stack's test schema has a `roles` trait. Roles are read from metadata_public (only the admin
// API writes it) and from traits only for identities whose metadata names no roles, so the form
// neither shows nor sends it; hiding it is cosmetic (a client can post it), which is why an app
// that grants roles sets metadata_public.roles (even []) on every identity (docs/api/frameworks.md).
const HIDDEN_FIELDS = new Set(['traits.roles'])

function renderFlow(flow, action) {
  const msgs = flow.ui.messages.map((m) => `<p class="${e(m.type)}" data-testid="flow-message">${e(m.text)}</p>`).join('')
  // The library hands the CSRF token over as `flow.csrfToken`; the form carries it back.
  const fields = [`<input type="hidden" name="csrf_token" value="${e(flow.csrfToken ?? '')}">`]
  for (const n of flow.ui.nodes) {
    const a = n.attributes || {}
    if (n.nodeType !== 'input' || !SHOWN_GROUPS.has(n.group) || HIDDEN_FIELDS.has(a.name)) continue
    const name = a.name ?? ''
    const type = a.type ?? 'text'
    const nodeMsgs = n.messages.map((m) => `<span class="${e(m.type)}" data-testid="flow-message">${e(m.text)}</span>`).join('')
    if (type === 'hidden') fields.push(`<input type="hidden" name="${e(name)}" value="${e(a.value ?? '')}">`)
    else if (type === 'submit' || type === 'button') fields.push(`<button type="submit" name="${e(name)}" value="${e(a.value ?? '')}">${e(n.label ? n.label.text : 'Submit')}</button>`)
    else {
      const value = typeof a.value === 'string' && type !== 'password' ? ` value="${e(a.value)}"` : ''
      const required = a.required ? ' required' : ''
      const autocomplete = a.autocomplete ? ` autocomplete="${e(a.autocomplete)}"` : ''
      fields.push(`<label>${e(n.label ? n.label.text : name)} <input type="${e(type)}" name="${e(name)}"${value}${required}${autocomplete}></label>${nodeMsgs}`)
    }
  }
  return `${msgs}<form method="post" action="${e(action)}">${fields.join('')}</form>`
}

/** `traits.name.first=Ada` → `{traits: {name: {first: 'Ada'}}}`; empty optional fields are left out (Kratos would validate "" against the schema). */
// Keys a form field may never name: writing them would reach Object.prototype (prototype
// pollution) or a constructor. Every object built here has no prototype, and such a field is
// dropped.
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor'])

function unflatten(form) {
  const out = Object.create(null)
  for (const [key, value] of Object.entries(form)) {
    if (key === 'csrf_token' || HIDDEN_FIELDS.has(key) || typeof value !== 'string' || value === '') continue
    const parts = key.split('.')
    if (parts.some((p) => p === '' || FORBIDDEN_KEYS.has(p))) continue
    let node = out
    for (const p of parts.slice(0, -1)) {
      if (!Object.hasOwn(node, p) || typeof node[p] !== 'object' || node[p] === null) node[p] = Object.create(null)
      node = node[p]
    }
    node[parts[parts.length - 1]] = value
  }
  return out
}

// ------------------------------------------------------------------------------ app

function createApp(iam, tenant = process.env.EXAMPLE_TENANT || undefined) {
  const auth = iamExpress(iam, tenant ? { tenant } : {})
  const flows = tenant ? iam.flow.forTenant(tenant) : iam.flow
  const cookieOf = (req) => req.headers.cookie
  const app = express()
  app.use(express.urlencoded({ extended: false }))

  app.get('/', auth.optionalUser(), (req, res) => {
    if (!req.iam.session) return page(res, 'Welcome', '<p><a href="/login">Log in</a> or <a href="/registration">sign up</a>.</p>')
    page(res, 'Welcome back', '<p><a href="/protected">Your page</a> · <a href="/logout">Log out</a></p>')
  })

  const initiate = { registration: (o) => flows.initiateRegistration(o), login: (o) => flows.initiateLogin(o) }
  const submit = { registration: (...a) => flows.submitRegistration(...a), login: (...a) => flows.submitLogin(...a) }
  const titles = { registration: 'Sign up', login: 'Log in' }
  const footer = { registration: '<p>Have an account? <a href="/login">Log in</a></p>', login: '<p>New here? <a href="/registration">Sign up</a></p>' }

  for (const kind of ['registration', 'login']) {
    // A new flow, or the one in `?flow=` while it is still valid.
    app.get(`/${kind}`, auth.optionalUser(), async (req, res, next) => {
      try {
        if (req.iam.session) return redirect(res, '/protected')
        let flow = null
        if (typeof req.query.flow === 'string') flow = await flows.fetchFlow(kind, req.query.flow, { cookie: cookieOf(req) }).catch(() => null) // expired or unknown: start a new one
        flow = flow || (await initiate[kind]({ kind: 'browser', cookie: cookieOf(req) }))
        page(res, titles[kind], renderFlow(flow, `/${kind}?flow=${encodeURIComponent(flow.id)}`) + footer[kind], { setCookie: flow.setCookie })
      } catch (err) {
        next(err)
      }
    })

    app.post(`/${kind}`, async (req, res, next) => {
      let result
      try {
        result = await submit[kind](String(req.query.flow ?? ''), unflatten(req.body), { cookie: cookieOf(req), csrfToken: req.body.csrf_token })
      } catch (err) {
        // An expired or foreign flow (or a stale CSRF cookie): start over.
        if (err.code === 'validation' || err.code === 'not_found') return redirect(res, `/${kind}`)
        return next(err)
      }
      if (result.kind === 'success') return redirect(res, '/protected', result.setCookie)
      if (result.kind === 'redirect' && result.redirectBrowserTo) return redirect(res, `/${kind}`, result.setCookie)
      // Wrong password, taken e-mail, weak password…: the same flow again, with Kratos's messages.
      page(res, titles[kind], renderFlow(result.flow, `/${kind}?flow=${encodeURIComponent(result.flow.id)}`), { status: 400, setCookie: result.setCookie })
    })
  }

  app.get('/protected', auth.currentUser(), (req, res) => {
    const user = req.iam.session
    page(
      res,
      'Your page',
      `<p>Signed in as <span data-testid="email">${e(user.identity.traits?.email ?? '')}</span></p>` +
        `<p>Identity id: <code data-testid="identity-id">${e(user.identity.id)}</code></p>` +
        '<p><a href="/documents/handbook">The handbook</a> · <a href="/logout">Log out</a></p>',
    )
  })

  app.get('/documents/:id', auth.currentUser(), (req, res) => {
    page(res, `Document ${req.params.id}`, `<form method="post" action="/documents/${e(encodeURIComponent(req.params.id))}/edit"><button type="submit" data-testid="edit">Edit</button></form>`)
  })

  // Keto decides documents:<id>#edit@<identity id>; Keto down is a 503, never a yes.
  app.post('/documents/:id/edit', auth.requirePermission('documents', 'edit', { object: (req) => req.params.id }), (req, res) => {
    page(res, `Document ${req.params.id}`, `<p data-testid="edited">Edited ${e(req.params.id)}.</p><p><a href="/protected">Back</a></p>`)
  })

  app.get('/logout', auth.currentUser(), async (req, res, next) => {
    try {
      // Kratos binds the logout token to this session: a forged cross-site POST cannot end it.
      const lo = await flows.initiateBrowserLogout(cookieOf(req) || '')
      page(
        res,
        'Log out',
        `<form method="post" action="/logout"><input type="hidden" name="logout_token" value="${e(lo.logoutToken.expose())}">` +
          '<button type="submit" data-testid="logout">Log out</button></form>',
      )
    } catch (err) {
      next(err)
    }
  })

  app.post('/logout', async (req, res, next) => {
    try {
      redirect(res, '/', await flows.submitBrowserLogout(String(req.body.logout_token ?? ''), cookieOf(req)))
    } catch (err) {
      next(err)
    }
  })

  app.get('/healthz', (req, res) => res.json({ ok: true }))

  // Errors: a BFF answers browsers with pages, API clients with JSON (status and headers from
  // ory-iam: WWW-Authenticate on 401, Retry-After on 503 when known).
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const answer = httpErrorOf(err, { req })
    if (!answer) {
      console.error('unexpected error:', err && err.name)
      return page(res, 'Error', '<p>Something went wrong.</p>', { status: 500 })
    }
    res.set(answer.headers)
    if (!(req.get('accept') || '').includes('text/html')) return res.status(answer.status).json(answer.body)
    if (answer.status === 401) return redirect(res, '/login')
    if (answer.status === 403) return page(res, 'Forbidden', '<p data-testid="denied">You may not do that.</p><p><a href="/protected">Back</a></p>', { status: 403 })
    if (answer.status === 503) return page(res, 'Try again later', '<p>The identity service is unavailable.</p>', { status: 503 })
    page(res, 'Error', `<p data-testid="error">${e(answer.body.error)}</p>`, { status: answer.status })
  })
  return app
}

module.exports = { createApp }

if (require.main === module) {
  const iam = loadIam()
  const server = createApp(iam).listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
    const a = server.address()
    console.log(`ory-iam Express example on http://${a.address}:${a.port}/`)
  })
  const stop = () => server.close(() => iam.close().finally(() => process.exit(0)))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
