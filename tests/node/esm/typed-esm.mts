// ESM users under `"module": "nodenext"` (issue 20): named imports from the package and every
// subpath resolve through the `import` condition of package.json's exports (the .d.mts typings).
// tsc -p tests/node/esm checks it here; tests/packaging/install.sh checks it against the
// installed tarballs.
import { Iam, IamError, IamNotFoundError, type Identity } from 'ory-iam'
import iamDefault from 'ory-iam'
import { iamExpress, iamErrorHandler } from 'ory-iam/express'
import { IamModule, SessionGuard } from 'ory-iam/nestjs'
import { FakeOry } from 'ory-iam/testing'
import { instrument, isInstrumented } from 'ory-iam/otel'

export async function esmUsage(): Promise<string | undefined> {
  const iam: Iam = Iam.fromEnv()
  try {
    const ident: Identity = await iam.identity.get('00000000-0000-0000-0000-000000000000')
    return ident.id
  } catch (e) {
    if (e instanceof IamNotFoundError) return e.code
    if (e instanceof iamDefault.IamError && e instanceof IamError) throw e
    throw e
  } finally {
    await iam.close()
  }
}

export const wiring = [iamExpress, iamErrorHandler, IamModule, SessionGuard, FakeOry, instrument, isInstrumented] as const
