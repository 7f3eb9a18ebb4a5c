'use strict'
// Memory workload only: caching 100,000 sessions needs 100,000 distinct session credentials
// that whoami accepts, and logging in 100,000 times against the shared SQLite Kratos would take
// far longer than the whole suite. This loopback server answers `GET /sessions/whoami` with a
// session body captured from the real Kratos (one GET with a real bench session token at start),
// giving each token its own session id, so every cached entry has the real shape and size.
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
  const server = http.createServer((req, res) => {
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

main().catch((e) => {
  console.error(`kratos_replay: ${e.message}`)
  process.exit(1)
})
