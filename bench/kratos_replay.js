'use strict'
// Memory workload only: caching 100,000 sessions needs 100,000 distinct session credentials
// that whoami accepts, and logging in 100,000 times against the shared SQLite Kratos would take
// far longer than the whole suite. This loopback server answers `GET /sessions/whoami` with a
// session body captured from the real Kratos (one GET with a real bench session token at start),
// giving each token its own session id, so every cached entry has the real shape and size.
// The cache_bounds workload also needs 200,000 distinct *active* access tokens for introspection:
// `POST /admin/oauth2/introspect` answers with an introspection captured from the real Hydra (a
// client-credentials token of a client created at start), with each token's own `sub`.
// It is not used by any other workload; everything else talks to the real servers.
//
//   node bench/kratos_replay.js   → prints the URL on stdout, serves until stdin closes

const http = require('node:http')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const stack = JSON.parse(fs.readFileSync(path.join(ROOT, '.stack', 'stack.json'), 'utf8'))
const fx = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', '.work', 'fixtures.json'), 'utf8'))

async function main() {
  const base = stack.kratos.customer.public_url.replace(/\/+$/, '')
  const r = await fetch(`${base}/sessions/whoami`, { headers: { 'X-Session-Token': fx.tokens[0] } })
  if (r.status !== 200) throw new Error(`capture: kratos answered ${r.status}`)
  const template = await r.json()
  const introspection = await captureIntrospection()
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url.startsWith('/admin/oauth2/introspect')) {
      let raw = ''
      req.on('data', (c) => (raw += c))
      req.on('end', () => {
        const token = new URLSearchParams(raw).get('token') || ''
        const sub = crypto.createHash('sha256').update(token).digest('hex').slice(0, 32)
        const body = JSON.stringify({ ...introspection, sub })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      })
      return
    }
    const token = req.headers['x-session-token']
    if (!req.url.startsWith('/sessions/whoami') || typeof token !== 'string') {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":{"code":401,"status":"Unauthorized"}}')
      return
    }
    const h = crypto.createHash('sha256').update(token).digest('hex')
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
    const body = JSON.stringify({ ...template, id })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  server.keepAliveTimeout = 60000
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`http://127.0.0.1:${server.address().port}/\n`)
  })
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}

// A real introspection answer (active, an hour left) of a real Hydra token; the client is
// deleted again once captured.
async function captureIntrospection() {
  const admin = stack.hydra.admin_url.replace(/\/+$/, '')
  const pub = stack.hydra.public_url.replace(/\/+$/, '')
  const c = await fetch(`${admin}/admin/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_types: ['client_credentials'], scope: 'read', access_token_strategy: 'opaque' }),
  })
  if (c.status !== 201) throw new Error(`capture: hydra answered ${c.status} to create client`)
  const client = await c.json()
  try {
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')
    const t = await fetch(`${pub}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: 'grant_type=client_credentials&scope=read',
    })
    if (t.status !== 200) throw new Error(`capture: hydra answered ${t.status} to the token request`)
    const { access_token: token } = await t.json()
    const i = await fetch(`${admin}/admin/oauth2/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${encodeURIComponent(token)}`,
    })
    const body = await i.json()
    if (!body.active) throw new Error('capture: the fresh token is not active')
    return body
  } finally {
    await fetch(`${admin}/admin/clients/${encodeURIComponent(client.client_id)}`, { method: 'DELETE' })
  }
}

main().catch((e) => {
  console.error(`kratos_replay: ${e.message}`)
  process.exit(1)
})
