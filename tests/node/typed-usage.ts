// A typed usage of the package: `tsc --noEmit --strict` must accept it (checked in CI), so the
// published `.d.ts` files describe what users write.
import {
  Iam,
  IamError,
  IamUnauthorizedError,
  Secret,
  setLogCallback,
  type Identity,
  type FlowResult,
  type IamMachinePrincipal,
  type PermissionTuple,
  type Session,
} from '../../bindings-node/ory-iam'

async function main(): Promise<void> {
  const iam: Iam = Iam.fromConfig({ tenants: { customer: { kratos: { publicUrl: 'http://127.0.0.1:4433', adminUrl: 'http://127.0.0.1:4434' } } } })
  setLogCallback((r) => console.log(r.level, r.target, r.message))
  const customers = iam.identity.forTenant('customer')
  const created: Identity = await customers.create({ schemaId: 'customer', traits: { email: 'a@example.com' } })
  const plain: Identity = await customers.get(created.id)
  const email: unknown = plain.traits?.email
  for await (const i of customers.listAll(50)) console.log(i.id)
  const page = await customers.list({ pageSize: 10 })
  console.log(page.nextPageToken, email)

  const flow = await iam.flow.initiateLogin({ kind: 'browser', returnTo: 'http://127.0.0.1:3000/' })
  const result: FlowResult = await iam.flow.submitLogin(flow.id, { method: 'password', identifier: 'a@example.com', password: 'x' }, { csrfToken: flow.csrfToken ?? undefined })
  if (result.kind === 'success' && result.sessionToken) {
    const token: Secret = result.sessionToken
    const s: Session = await iam.session.whoami({ headers: { authorization: `Bearer ${token.expose()}` } })
    console.log(s.identity.id, s.cacheHit)
  }
  const maybe: Session | null = await iam.session.whoamiOrNull(new Headers({ cookie: 'ory_kratos_session=x' }))
  console.log(maybe?.id)

  const t: PermissionTuple = { namespace: 'documents', object: 'd1', relation: 'view', subject: 'alice' }
  const allowed: boolean = await iam.permission.check(t, { fresh: true })
  const results = await iam.permission.checkBatch([t, { ...t, subject: { namespace: 'groups', object: 'g', relation: 'member' } }])
  console.log(allowed, results.map((r) => r.allowed))

  const p: IamMachinePrincipal = await iam.token.authenticate({ headers: { authorization: 'Bearer x' } }, { requiredScope: ['read'] })
  console.log(p.clientId, p.scope)
  const h = await iam.health()
  console.log(h.healthy, h.warnings)
}

main().catch((e: unknown) => {
  if (e instanceof IamUnauthorizedError) console.log(e.code, e.status)
  else if (e instanceof IamError) console.log(e.code, e.requestId, e.retryAfter)
})
