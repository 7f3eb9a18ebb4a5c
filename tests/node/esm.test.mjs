// The package as an ES module (issue 20): `import { … } from 'ory-iam'` and every subpath give the
// same objects as `require()` (one module instance, so `instanceof` holds across both), the
// `.mjs` name lists (bindings-node/*.mjs) cover every CommonJS export, and a real call through
// the ESM entry reaches the stack and fails with the right class.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import { Iam, IamError, IamNotFoundError } from 'ory-iam'
import helpers from './helpers.js'

const require = createRequire(import.meta.url)
const SUBPATHS = ['ory-iam', 'ory-iam/express', 'ory-iam/nestjs', 'ory-iam/testing', 'ory-iam/otel']
// Not API: enumerable only in test builds (the debug panic hooks).
const publicNames = (o) => Object.keys(o).filter((k) => !k.startsWith('_') && k !== 'default').sort()

for (const spec of SUBPATHS) {
  test(`import('${spec}') has the CommonJS exports as named exports`, async () => {
    const esm = await import(spec)
    const cjs = require(spec)
    assert.deepEqual(publicNames(esm), publicNames(cjs))
    for (const name of publicNames(cjs)) assert.equal(esm[name], cjs[name], name)
    assert.equal(esm.default, cjs)
  })
}

test('an ESM import talks to the stack and throws the classes it exported', async () => {
  assert.equal(Iam, require('ory-iam').Iam)
  const iam = await Iam.fromConfig(helpers.iamConfig())
  try {
    await assert.rejects(iam.identity.get(crypto.randomUUID()), (e) => {
      assert.ok(e instanceof IamNotFoundError)
      assert.ok(e instanceof IamError)
      assert.equal(e.code, 'not_found')
      return true
    })
  } finally {
    await iam.close()
  }
})
