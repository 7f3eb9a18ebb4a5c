// Smoke test of the installed npm packages where no Ory stack runs (see smoke.py): ESM named
// imports from the main entry and a subpath, the platform package's addon, a real HTTP call to a
// closed port surfacing as the library's own error class.
import net from 'node:net'
import crypto from 'node:crypto'
import { Iam, IamUpstreamUnavailableError } from 'ory-iam'
import { FakeOry } from 'ory-iam/testing'

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address()
    s.close(() => resolve(port))
  })
})
const url = `http://127.0.0.1:${port}`
const iam = Iam.fromConfig({ tenants: { t: { kratos: { publicUrl: url, adminUrl: url }, http: { retries: 0 } } } })
try {
  await iam.identity.get(crypto.randomUUID())
  throw new Error('smoke: a closed port did not fail')
} catch (e) {
  if (!(e instanceof IamUpstreamUnavailableError)) throw e
  console.log('smoke ok:', e.code, typeof FakeOry)
} finally {
  await iam.close()
}
