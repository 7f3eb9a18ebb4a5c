'use strict'
// Transport security (issue 19 item 9), the Node side of core/tests/tls.rs: Kratos behind a
// TLS-terminating proxy (tests/security/tls_proxy.py) with certificates from a private CA made
// here with the openssl CLI; `http.ca_file`, mutual TLS, a `rediss://` session cache on a real TLS
// redis-server, IPv6 literal URLs, unusable TLS files refused at construction under their key, and
// the warning for credentials sent over plain http:// to a host that is not loopback.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const readline = require('node:readline')
const { spawn, execFileSync } = require('node:child_process')
const { Iam, setLogCallback, IamConfigurationError, IamUpstreamUnavailableError } = require('../../bindings-node/ory-iam.js')
const { stack, iamConfig, registerUser, scanRecord, ROOT, redisCache } = require('./helpers.js')

const PROXY = path.join(ROOT, 'tests', 'security', 'tls_proxy.py')
let dir
const pem = (name) => path.join(dir, name)

// ca.pem; server.pem/.key for 127.0.0.1, ::1 and localhost; client.pem/.key.
function makePki() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ory-iam-tls-'))
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  ssl('req', '-x509', ...ec, '-keyout', pem('ca.key'), '-out', pem('ca.pem'), '-days', '2', '-subj', '/CN=ory-iam test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,digitalSignature')
  const leaf = (stem, ext) => {
    fs.writeFileSync(pem(`${stem}.ext`), ext)
    ssl('req', ...ec, '-keyout', pem(`${stem}.key`), '-out', pem(`${stem}.csr`), '-subj', `/CN=${stem}`)
    ssl('x509', '-req', '-in', pem(`${stem}.csr`), '-CA', pem('ca.pem'), '-CAkey', pem('ca.key'), '-CAcreateserial',
      '-days', '2', '-out', pem(`${stem}.pem`), '-extfile', pem(`${stem}.ext`))
  }
  leaf('server', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'subjectAltName=DNS:client.ory-iam.test\nextendedKeyUsage=clientAuth\n')
}

before(makePki)
after(() => fs.rmSync(dir, { recursive: true, force: true }))

// tests/security/tls_proxy.py in front of a stack URL.
async function proxy(upstream, { listen = '127.0.0.1', tls = false, mutual = false } = {}) {
  const args = [PROXY, '--upstream', upstream.replace('http://', '').replace(/\/$/, ''), '--listen', listen]
  if (tls) args.push('--cert', pem('server.pem'), '--key', pem('server.key'))
  if (mutual) args.push('--client-ca', pem('ca.pem'))
  const child = spawn(process.env.PYTHON || 'python3', args, { stdio: ['ignore', 'pipe', 'ignore'] })
  const [line] = await readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value])
  return { port: JSON.parse(line).port, stop: () => child.kill() }
}

const kratos = (which) => stack().kratos.customer[which]

// One tenant `customer` at the given Kratos URLs; failures come back at once.
function config(pub, admin, http = {}) {
  return {
    tenants: {
      customer: {
        kratos: { public_url: pub, admin_url: admin, session_cookie_name: stack().kratos.customer.session_cookie_name },
        http: { timeout_ms: 5000, connect_timeout_ms: 2000, retries: 0, breaker_threshold: 0, ...http },
      },
    },
    audit: { sink: 'none' },
  }
}

async function session() {
  const u = await registerUser(Iam.fromConfig(iamConfig()), 'customer', 'tls')
  return { id: u.id, headers: { authorization: `Bearer ${u.token}` } }
}

test('https to a private CA works with http.ca_file and fails without', async () => {
  const { id, headers } = await session()
  const pub = await proxy(kratos('public_url'), { tls: true })
  const adm = await proxy(kratos('admin_url'), { tls: true })
  try {
    const [p, a] = [`https://127.0.0.1:${pub.port}/`, `https://localhost:${adm.port}/`]
    const iam = Iam.fromConfig(config(p, a, { ca_file: pem('ca.pem') }))
    assert.equal((await iam.session.whoami(headers)).identity.id, id)
    assert.equal((await iam.identity.get(id)).id, id)

    const plain = Iam.fromConfig(config(p, a))
    await assert.rejects(plain.session.whoami(headers), (e) => e instanceof IamUpstreamUnavailableError && e.code === 'upstream_unavailable')
    await assert.rejects(plain.identity.get(id), (e) => e.code === 'upstream_unavailable')
  } finally {
    pub.stop()
    adm.stop()
  }
})

test('mutual TLS works with a client certificate and fails without', async () => {
  const { id, headers } = await session()
  const pub = await proxy(kratos('public_url'), { tls: true, mutual: true })
  try {
    const url = `https://127.0.0.1:${pub.port}/`
    // camelCase keys are accepted as everywhere else.
    const iam = Iam.fromConfig(config(url, url, { caFile: pem('ca.pem'), clientCertFile: pem('client.pem'), clientKeyFile: pem('client.key') }))
    assert.equal((await iam.session.whoami(headers)).identity.id, id)
    const without = Iam.fromConfig(config(url, url, { ca_file: pem('ca.pem') }))
    await assert.rejects(without.session.whoami(headers), (e) => e.code === 'upstream_unavailable')
  } finally {
    pub.stop()
  }
})

test('unusable TLS files fail construction under their key', () => {
  // The cases of tests/security/tls_files.json.
  const url = 'https://127.0.0.1:1/'
  fs.writeFileSync(pem('junk.pem'), 'ory_pat_not_a_certificate_but_a_secret\n')
  const cases = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'security', 'tls_files.json'), 'utf8'))
  const named = { $junk: pem('junk.pem'), $missing: pem('missing.pem') }
  const fill = (section) =>
    Object.fromEntries(Object.entries(section).map(([k, v]) => [k, named[v] ?? (v.startsWith('$pki/') ? pem(v.slice(5)) : v)]))
  const check = (cfg, want) => {
    if (want.length === 0) return Iam.fromConfig(cfg)
    assert.throws(
      () => Iam.fromConfig(cfg),
      (e) => e instanceof IamConfigurationError && JSON.stringify(e.fields.map((f) => f.path)) === JSON.stringify(want) &&
        !JSON.stringify([e.message, e.fields]).includes('ory_pat_not_a_certificate'),
      JSON.stringify(cfg),
    )
  }
  for (const c of cases.http) check(config(url, url, fill(c.http)), c.paths)
  for (const c of cases.redis) {
    const cfg = config(url, url)
    cfg.session_cache = { redis: { ...fill(c.redis), keys: redisCache().redis.keys } }
    check(cfg, c.paths)
  }
})

async function freePort() {
  const s = net.createServer()
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address()
  await new Promise((r) => s.close(r))
  return port
}

async function tlsRedis() {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', '0', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--tls-port', String(port), '--tls-cert-file', pem('server.pem'), '--tls-key-file', pem('server.key'),
    '--tls-ca-cert-file', pem('ca.pem'), '--tls-auth-clients', 'optional'], { stdio: 'ignore' })
  const t0 = Date.now()
  for (;;) {
    const up = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true) }).on('error', () => r(false))
    })
    if (up) break
    assert.ok(Date.now() - t0 < 10000, 'redis-server did not listen on its TLS port')
    await new Promise((r) => setTimeout(r, 20))
  }
  return { port, stop: () => child.kill() }
}

async function secondWhoamiHits(redis) {
  const cfg = config(kratos('public_url'), kratos('admin_url'))
  cfg.tenants.customer.cache = { session_ttl_ms: 60000 }
  cfg.session_cache = { redis: { ...redis, keys: redisCache().redis.keys } }
  const iam = Iam.fromConfig(cfg)
  const { headers } = await session()
  assert.equal((await iam.session.whoami(headers)).cacheHit, false)
  return (await iam.session.whoami(headers)).cacheHit
}

test('rediss:// session cache on a TLS redis-server', async () => {
  const redis = await tlsRedis()
  try {
    const url = `rediss://127.0.0.1:${redis.port}/0`
    assert.equal(await secondWhoamiHits({ url, ca_file: pem('ca.pem') }), true)
    assert.equal(await secondWhoamiHits({ url, ca_file: pem('ca.pem'), client_cert_file: pem('client.pem'), client_key_file: pem('client.key') }), true)
    // Redis's certificate is checked: without the CA the cache is unreachable (Kratos answers).
    assert.equal(await secondWhoamiHits({ url }), false)
  } finally {
    redis.stop()
  }
})

test('IPv6 literal URLs work', async () => {
  const { id, headers } = await session()
  const pub = await proxy(kratos('public_url'), { listen: '::1' })
  const adm = await proxy(kratos('admin_url'), { listen: '::1' })
  const tls = await proxy(kratos('public_url'), { listen: '::1', tls: true })
  try {
    const iam = Iam.fromConfig(config(`http://[::1]:${pub.port}/`, `http://[::1]:${adm.port}`))
    assert.equal((await iam.session.whoami(headers)).identity.id, id)
    assert.equal((await iam.identity.get(id)).id, id)
    const url = `https://[::1]:${tls.port}/`
    const overTls = Iam.fromConfig(config(url, url, { ca_file: pem('ca.pem') }))
    assert.equal((await overTls.session.whoami(headers)).identity.id, id)
  } finally {
    pub.stop()
    adm.stop()
    tls.stop()
  }
})

test('credentials over plain http:// to a remote host are warned about', async () => {
  const token = 'ory_pat_plaintext_admin_token_value'
  // 192.0.2.1 is TEST-NET-1 (never routed): the probes fail within the connect timeout.
  const remote = config('http://192.0.2.1:4433/', 'http://192.0.2.1:4434/', { timeout_ms: 300, connect_timeout_ms: 200 })
  remote.tenants.customer.kratos.admin_token = token
  remote.tenants.customer.keto = { read_url: 'http://[::1]:1/', write_url: 'http://127.0.0.1:1/', api_key: token }
  const records = []
  setLogCallback((r) => {
    records.push(r)
    scanRecord(r)
  })
  let iam
  try {
    iam = Iam.fromConfig(remote)
    const t0 = Date.now()
    while (!records.some((r) => r.target === 'ory_iam::config') && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10))
  } finally {
    setLogCallback(scanRecord)
  }
  const warned = records.filter((r) => r.target === 'ory_iam::config' && r.level === 'warn')
  assert.deepEqual(warned.map((r) => r.fields.key), ['tenants.customer.kratos.admin_token'])
  assert.ok(!JSON.stringify(records).includes(token))

  const health = await iam.health()
  const plain = health.warnings.filter((w) => w.includes('http://'))
  assert.equal(plain.length, 1)
  assert.ok(plain[0].includes('tenants.customer.kratos.admin_token'))
  assert.ok(!JSON.stringify(health).includes(token))

  remote.tenants.customer.kratos.admin_url = 'https://192.0.2.1:4434/'
  assert.deepEqual((await Iam.fromConfig(remote).health()).warnings.filter((w) => w.includes('http://')), [])
})

test('the OS trust store is used', async () => {
  // No http.ca_file: the private CA is trusted as an OS root (rustls-native-certs reads
  // SSL_CERT_FILE in place of the system bundle, once per process, hence a child process).
  const { id, headers } = await session()
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' })
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pem('other.key'),
    '-out', pem('other.pem'), '-days', '2', '-subj', '/CN=another CA')
  const pub = await proxy(kratos('public_url'), { tls: true })
  try {
    const url = `https://127.0.0.1:${pub.port}/`
    const script = `
      const { Iam } = require(${JSON.stringify(path.join(ROOT, 'bindings-node', 'ory-iam.js'))})
      const [cfg, headers] = process.argv.slice(1).map((a) => JSON.parse(a))
      Iam.fromConfig(cfg).session.whoami(headers).then(
        (s) => console.log(JSON.stringify(s.identity.id)),
        (e) => { console.error(e.code); process.exit(1) })`
    const run = (certFile) => new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', script, JSON.stringify(config(url, url)), JSON.stringify(headers)],
        { env: { ...process.env, SSL_CERT_FILE: certFile }, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (d) => { out += d })
      child.stderr.on('data', (d) => { err += d })
      child.on('close', (code) => resolve({ code, out, err }))
    })
    const trusted = await run(pem('ca.pem'))
    assert.equal(trusted.code, 0, trusted.err)
    assert.equal(JSON.parse(trusted.out), id)
    const untrusted = await run(pem('other.pem'))
    assert.equal(untrusted.code, 1)
    assert.equal(untrusted.err.trim(), 'upstream_unavailable')
  } finally {
    pub.stop()
  }
})
