'use strict'
// End to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
// browser is ever downloaded): the FastAPI example app (examples/fastapi-app) as a BFF over the
// real Kratos and Keto of tests/stack. The browser registers, logs out, logs in, sees the
// protected page, is denied the Keto-protected action until the test grants
// documents:<doc>#edit to the user through the Node library (`iam.permission.grant`), then logs
// out. On failure a screenshot of the page goes to .stack/e2e/.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { chromium } = require('playwright-core')
const { Iam } = require('../../bindings-node/ory-iam.js')
const { iamConfig, uniqueEmail, ROOT } = require('./helpers.js')

const CHROMIUM = process.env.ORY_IAM_CHROMIUM || '/usr/bin/chromium'
// No outside network on this machine: nothing may phone home or wait for it.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const PASSWORD = 'a-Long-and-unique-passphrase-42'
const SHOTS = path.join(ROOT, '.stack', 'e2e')

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

async function startApp() {
  const port = await freePort()
  const stackJson = process.env.ORY_IAM_STACK || path.join(ROOT, '.stack', 'stack.json')
  const child = spawn(path.join(ROOT, '.venv', 'bin', 'python'),
    ['-m', 'uvicorn', 'app:app', '--app-dir', path.join(ROOT, 'examples', 'fastapi-app'), '--host', '127.0.0.1', '--port', String(port)],
    { cwd: ROOT, env: { ...process.env, ORY_IAM_STACK: stackJson }, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout.on('data', (d) => { log += d })
  child.stderr.on('data', (d) => { log += d })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the example app exited (${child.exitCode}):\n${log}`)
    try {
      if ((await fetch(`${base}/healthz`)).ok) break
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`the example app did not start:\n${log}`) }
    await new Promise((r) => setTimeout(r, 100))
  }
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })
  return { base, stop, log: () => log }
}

test('register, log in, protected page, Keto-protected action, log out — in headless Chromium', { timeout: 180_000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh (installs Debian's chromium)`)
  const iam = Iam.fromConfig(iamConfig())
  const app = await startApp()
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ory-iam-e2e-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  const page = context.pages()[0] || await context.newPage()
  const email = uniqueEmail('e2e')
  const doc = `handbook-${crypto.randomUUID()}`
  let identityId = null
  let granted = null
  let step = 'start'

  // Each step's name goes into the screenshot file name when it fails.
  const at = async (name, fn) => { step = name; await fn() }
  const url = () => new URL(page.url()).pathname
  const editDocument = async () => {
    await page.goto(`${app.base}/documents/${doc}`)
    const [resp] = await Promise.all([page.waitForNavigation(), page.click('[data-testid=edit]')])
    return resp.status()
  }
  const logOut = async () => {
    await page.goto(`${app.base}/protected`)
    await page.click('text=Log out')
    await page.click('[data-testid=logout]')
    await page.waitForURL(`${app.base}/`)
    const cookies = await context.cookies(app.base)
    assert.ok(!cookies.some((c) => c.name.startsWith('ory_kratos_session')), 'the session cookie is cleared')
    // The protected page sends a browser without a session to the login form.
    await page.goto(`${app.base}/protected`)
    assert.equal(url(), '/login')
  }

  try {
    await at('register', async () => {
      await page.goto(`${app.base}/registration`)
      await page.fill('input[name="traits.email"]', email)
      await page.fill('input[name="password"]', PASSWORD)
      await page.click('button[name="method"][value="password"]')
      await page.waitForURL(`${app.base}/protected`)
      assert.equal(await page.textContent('[data-testid=email]'), email)
      identityId = (await page.textContent('[data-testid=identity-id]')).trim()
      assert.equal((await iam.identity.getWithTraits(identityId)).traits.email, email)
    })
    await at('log out after registration', logOut)
    await at('wrong password is refused', async () => {
      await page.goto(`${app.base}/login`)
      await page.fill('input[name="identifier"]', email)
      await page.fill('input[name="password"]', 'not-the-password-123')
      await page.click('button[name="method"][value="password"]')
      await page.waitForSelector('[data-testid=flow-message]')
      assert.match(url(), /^\/login$/)
      await page.goto(`${app.base}/protected`)
      assert.equal(url(), '/login')
    })
    await at('log in and see the protected page', async () => {
      await page.goto(`${app.base}/login`)
      await page.fill('input[name="identifier"]', email)
      await page.fill('input[name="password"]', PASSWORD)
      await page.click('button[name="method"][value="password"]')
      await page.waitForURL(`${app.base}/protected`)
      assert.equal(await page.textContent('[data-testid=email]'), email)
      assert.equal((await page.textContent('[data-testid=identity-id]')).trim(), identityId)
    })
    await at('Keto-protected action denied before the grant', async () => {
      assert.equal(await editDocument(), 403)
      assert.ok(await page.isVisible('[data-testid=denied]'))
    })
    await at('allowed after the grant', async () => {
      granted = { namespace: 'documents', object: doc, relation: 'edit', subject: identityId }
      await iam.permission.grant(granted)
      assert.equal(await editDocument(), 200)
      assert.match(await page.textContent('[data-testid=edited]'), new RegExp(doc))
    })
    await at('denied again after the revoke', async () => {
      await iam.permission.revoke(granted)
      granted = null
      assert.equal(await editDocument(), 403)
    })
    await at('log out', logOut)
  } catch (err) {
    fs.mkdirSync(SHOTS, { recursive: true })
    const shot = path.join(SHOTS, `fastapi-${step.replace(/\W+/g, '-')}-${Date.now()}.png`)
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {})
    console.log(`e2e failed at "${step}": screenshot ${shot}\nexample app log:\n${app.log()}`)
    throw err
  } finally {
    await context.close().catch(() => {})
    fs.rmSync(profile, { recursive: true, force: true })
    await app.stop()
    if (granted) await iam.permission.revoke(granted).catch(() => {})
    if (identityId) await iam.identity.delete(identityId).catch(() => {})
    await iam.close()
  }
})
