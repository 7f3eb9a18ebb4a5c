'use strict'
// Start and drive `fault_proxy.py` from Node tests and scripts.
//
//   const p = await FaultProxy.start('http://127.0.0.1:4433/')
//   await p.fault('status', { status: 503 })
//   ...                      // point ory-iam at p.url
//   (await p.stats()).requests
//   await p.stop()

const { spawn } = require('node:child_process')
const http = require('node:http')
const path = require('node:path')
const readline = require('node:readline')

const SCRIPT = path.join(__dirname, 'fault_proxy.py')

class FaultProxy {
  constructor(proc, port, upstream) {
    this.proc = proc
    this.port = port
    this.upstream = upstream
    this.url = `http://127.0.0.1:${port}/`
    this.exitCode = null
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null) resolve(proc.exitCode)
      proc.once('exit', (code) => {
        this.exitCode = code
        resolve(code)
      })
    })
  }

  static start(upstream, { port = 0 } = {}) {
    const python = process.env.PYTHON || 'python3'
    const proc = spawn(python, [SCRIPT, '--upstream', upstream.replace(/\/$/, ''), '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return new Promise((resolve, reject) => {
      const rl = readline.createInterface({ input: proc.stdout })
      rl.once('line', (line) => {
        rl.close()
        resolve(new FaultProxy(proc, JSON.parse(line).port, upstream))
      })
      proc.once('error', reject)
      proc.once('exit', (code) => reject(new Error(`fault_proxy.py exited (${code}) before listening`)))
    })
  }

  // node:http without an agent: one connection per control call, closed afterwards, so the
  // control traffic never shows up as pooled sockets in a test's fd or handle counts.
  call(method, action, body) {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, path: `/__proxy/${action}`, method, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} },
        (res) => {
          const chunks = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`fault proxy ${action}: ${res.statusCode}`))
            else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(data)
    })
  }

  fault(mode, options = {}) {
    return this.call('POST', 'fault', { mode, ...options })
  }

  reset() {
    return this.call('POST', 'reset', {})
  }

  stats() {
    return this.call('GET', 'stats')
  }

  // Requests forwarded whose path contains `fragment` (all when empty), as the Rust helper.
  async requests(fragment = '') {
    const st = await this.stats()
    if (!fragment) return st.requests
    return Object.entries(st.by_path).reduce((n, [p, k]) => (p.includes(fragment) ? n + k : n), 0)
  }

  get alive() {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  async stop() {
    if (this.alive) {
      this.proc.kill('SIGTERM')
      await this.exited
    }
  }
}

/** Resolves with the ms it took until `pred()` (maybe async) was true, or null on timeout. */
async function waitFor(pred, timeoutMs = 5000, stepMs = 20) {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    if (await pred()) return Date.now() - t0
    await new Promise((r) => setTimeout(r, stepMs))
  }
  return null
}

module.exports = { FaultProxy, waitFor }
