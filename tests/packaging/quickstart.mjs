// The ESM side of the install tests (tests/packaging/install.sh, foreign.sh), run from a fresh
// npm project with the installed tarballs: the package and each subpath imported by name, a
// real call against the stack surfacing as the library's own error class.
import crypto from 'node:crypto'
import { Iam, IamError, IamNotFoundError } from 'ory-iam'
import { IamModule } from 'ory-iam/nestjs'
import { iamExpress } from 'ory-iam/express'
import { FakeOry } from 'ory-iam/testing'
import { instrument, uninstrument } from 'ory-iam/otel'

const iam = Iam.fromEnv()
try {
  await iam.identity.get(crypto.randomUUID())
} catch (e) {
  console.log('esm not found:', e instanceof IamNotFoundError, e instanceof IamError, e.code)
}
const subject = crypto.randomUUID()
console.log('esm may view:', await iam.permission.check({ namespace: 'documents', object: 'readme', relation: 'view', subject }))
instrument()
uninstrument()
console.log('esm subpaths:', typeof IamModule.forRoot, typeof iamExpress, typeof FakeOry)
await iam.close()
