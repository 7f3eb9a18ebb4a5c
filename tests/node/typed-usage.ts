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
  type SessionPage,
  type Recovery,
  type ConsentSessionPage,
  type OidcConfiguration,
  type UserInfo,
  type FlowError,
  type BatchCreateResult,
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
  await iam.permission.patch([{ action: 'delete', tuple: t }, { action: 'insert', tuple: { ...t, relation: 'edit' } }])
  await iam.permission.deleteMatching({ namespace: 'documents', object: 'd1' })
  const names: string[] = await iam.permission.namespaces()
  const rec: Recovery = await iam.identity.createRecoveryLink('i', { expiresIn: '15m' })
  const link: Secret = rec.link
  await iam.identity.revokeSessions('i')
  const made: BatchCreateResult[] = await iam.identity.createMany([{ schemaId: 'customer', traits: {} }])
  console.log(made.map((r) => r.identityId ?? r.error))
  const sessions: SessionPage = await iam.session.list({ active: true, pageSize: 10 })
  const one: Session = await iam.session.get('s')
  const mine: SessionPage = await iam.session.listMine({ headers: { cookie: 'c' } }, { pageSize: 5 })
  const count: number = await iam.session.revokeMyOtherSessions(new Headers({ cookie: 'c' }))
  await iam.session.revokeMine({ cookie: 'c' }, 's')
  const fe: FlowError = await iam.flow.getError('e')
  const native = await iam.flow.initiateRegistration({ returnTo: 'myapp://done', returnSessionTokenExchangeCode: true })
  const exchanged: FlowResult = await iam.flow.exchangeSessionToken(native.sessionTokenExchangeCode ?? '', 'code')
  const appToken: Secret | null | undefined = exchanged.sessionToken
  console.log(names, link, sessions, one, mine, count, fe.error)
  const apps: ConsentSessionPage = await iam.consent.listConsentSessions({ subject: 'u', pageSize: 10 })
  await iam.consent.revokeConsentSessions({ subject: 'u', client: 'c' })
  await iam.consent.revokeLoginSessions({ sid: 's' })
  const logout: Secret = iam.consent.logoutUrl({ idTokenHint: 'a.b.c', state: 's' })
  await iam.token.deleteAccessTokens('c')
  const info: UserInfo = await iam.token.userinfo(link)
  const disco: OidcConfiguration = await iam.token.discover()
  await iam.oauth2Client.setLifespans('c', { clientCredentialsGrantAccessTokenLifespan: '1h' })
  const reg = await iam.oauth2Client.register({ client_name: 'dyn' })
  if (reg.registrationAccessToken) await iam.oauth2Client.deleteRegistered(reg.clientId, reg.registrationAccessToken)
  console.log(apps.items.map((a) => a.clientId), logout, info.sub, disco.issuer)

  const p: IamMachinePrincipal = await iam.token.authenticate({ headers: { authorization: 'Bearer x' } }, { requiredScope: ['read'] })
  console.log(p.clientId, p.scope)
  const h = await iam.health()
  console.log(h.healthy, h.warnings)
}

main().catch((e: unknown) => {
  if (e instanceof IamUnauthorizedError) console.log(e.code, e.status)
  else if (e instanceof IamError) console.log(e.code, e.requestId, e.retryAfter)
})

// ory-iam/express and ory-iam/nestjs (the NestJS decorators are checked in nestjs-app.ts).
import express from 'express'
import { iamExpress, type IamExpress } from '../../bindings-node/express'
import { IamModule, IamService, SessionGuard, toHttpException, type IamModuleOptions } from '../../bindings-node/nestjs'

function expressApp(iam: Iam): express.Express {
  const app = express()
  const auth: IamExpress = iamExpress(iam, { tenant: 'customer', roles: (s: Session) => (s.identity.metadataPublic?.roles as string[]) ?? [], retryAfter: 3 })
  app.get('/me', auth.currentUser(), (req, res) => {
    const s: Session | null | undefined = req.iam?.session
    res.json({ id: s?.identity.id, tenant: req.iam?.tenant })
  })
  app.get('/docs/:id', auth.requireRole('editor'), auth.requirePermission('documents', 'edit', { object: (req) => req.params.id, fresh: true }), (_req, res) => res.end())
  // The subject never comes from the request: a fixed one, or computed from the session.
  app.get('/folders/:id', auth.requirePermission('folders', 'view', { object: (req) => req.params.id, subject: (s) => ({ namespace: 'groups', object: `staff-of-${s.identity.id}`, relation: 'member' }) }), (_req, res) => res.end())
  // @ts-expect-error the old (req, session) form: a subject taken from the request does not type-check
  auth.requirePermission('folders', 'view', { object: 'f', subject: (req: { params: Record<string, string> }, _s: Session) => req.params.group })
  app.get('/api', auth.requireToken({ scope: ['read'] }), (req, res) => res.json({ client: req.iam?.principal?.clientId }))
  app.use('/admin', express.Router().use(auth.forTenant('admin').optionalUser()))
  app.use(auth.errorHandler())
  return app
}

const nestOptions: IamModuleOptions = { config: { tenants: {} }, tenant: 'customer', global: true }
const modules = [IamModule.forRoot(nestOptions), IamModule.forRootAsync({ inject: [], useFactory: async () => ({ config: { tenants: {} } }) })]
console.log(expressApp, modules, IamService, SessionGuard, toHttpException)

// The HTTP answer policy of the core, and a tenant's configured transport.
import { httpAnswer, rolesOf, type HttpAnswer } from '../../bindings-node/ory-iam'
import { httpErrorOf, type IamHttpError, type IamTransport } from '../../bindings-node/express'
function answers(iam: Iam, err: unknown): number {
  const transport: IamTransport = iam.transportOf('customer')
  const a: HttpAnswer = httpAnswer({ code: 'unauthorized', tenant: 'customer', retryAfter: 2 }, { transport, bearerPresented: true, requiredScopes: ['read'] })
  const b: IamHttpError | null = httpErrorOf(err, { iam, transport: 'bearer', retryAfter: 5 })
  const roles: string[] = rolesOf({ roles: ['admin'] })
  return a.status + a.body.statusCode + (b?.body.requestId?.length ?? 0) + Object.keys(a.headers).length + roles.length
}
console.log(answers)

// Testing helpers over ory-iam/testing's FakeOry.
import { FakeOry, DEFAULT_KETO_NAMESPACES, LOGIN_URL, type AuthorizeRequest } from '../../bindings-node/testing'
import { iamExpressTesting, type FakeLogin } from '../../bindings-node/express'
import { FAKE_ORY, IamTestingModule, bearerFor } from '../../bindings-node/nestjs'

async function withFakes(): Promise<void> {
  const fake = new FakeOry({ tenants: ['customer'] })
  const t = iamExpressTesting(fake, { tenant: 'customer' })
  const login: FakeLogin = await t.loginAs({ traits: { email: 'a@example.com' }, metadataPublic: { roles: ['admin'] } }, { kind: 'cookie' })
  const token = await bearerFor(fake, { scope: ['read'] })
  console.log(login.headers, login.identityId, token.headers, IamTestingModule.forRoot({ fake, tenant: 'customer' }), FAKE_ORY, t.auth.currentUser())
  // The fake configured as production's servers: identity schemas, Keto namespaces, client scopes.
  const strict = new FakeOry({
    tenants: ['customer'],
    identitySchemas: { customer: { type: 'object', properties: { traits: { type: 'object' } } } },
    defaultSchemaId: 'customer',
    ketoNamespaces: ['documents', { id: 1, name: 'groups' }],
    clientScope: 'invoices.read',
  })
  const cred = await strict.createSession(login.identityId)
  const cookie: Secret = cred.cookie
  console.log(cookie, DEFAULT_KETO_NAMESPACES.length)
  // The browser's part of a code flow, for testing a login/consent app.
  const request: AuthorizeRequest = { clientId: 'web', redirectUri: 'https://app.example.test/cb', scope: ['openid'], state: 'state-123456789', codeChallengeMethod: 'S256' }
  const toLogin: string = fake.authorize(request)
  const next: string = fake.follow(toLogin, { tenant: 'customer' })
  // @ts-expect-error the PKCE method is S256 or plain
  fake.authorize({ ...request, codeChallengeMethod: 'S512' })
  console.log(toLogin.startsWith(LOGIN_URL), next)
}
console.log(withFakes)

// OpenTelemetry adapter (ory-iam/otel).
import * as iamOtel from '../../bindings-node/otel'
export function traceOryIam(provider?: import('@opentelemetry/api').TracerProvider): boolean {
  iamOtel.instrument(provider ? { tracerProvider: provider } : undefined)
  const on: boolean = iamOtel.isInstrumented()
  iamOtel.uninstrument()
  return on
}

// Typed configuration (every key, in both spellings: typed-config.ts). A misspelled key or a
// wrong type does not compile (were either accepted, `@ts-expect-error` would fail tsc).
import type { HttpConfig, IamConfig, SnakeOrCamel, TenantConfig } from '../../bindings-node/ory-iam'
function typedConfig(): Iam {
  const customer: TenantConfig = { transport: 'bearer', kratos: { public_url: 'http://127.0.0.1:4433' }, http: { timeoutMs: 2000, retries: 1 } }
  const config: IamConfig = { tenants: { customer }, session_cache: 'memory', audit: { sink: 'callback' } }
  const camel: SnakeOrCamel<IamConfig> = { tenants: { customer }, sessionCache: { redis: { url: 'redis://127.0.0.1:6379', keys: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=' } } }
  // @ts-expect-error misspelled key
  const typo: HttpConfig = { timeout_msec: 5000 }
  // @ts-expect-error wrong type: a number of milliseconds, not a string
  Iam.fromConfig({ tenants: { customer: { kratos: { public_url: 'http://127.0.0.1:4433' }, http: { timeout_ms: '5000' } } } })
  // @ts-expect-error misspelled key deep inside fromConfig's argument
  Iam.fromConfig({ tenants: { customer: { kratos: { publicUrl: 'http://127.0.0.1:4433' }, http: { timeout_msec: 5000 } } } })
  // @ts-expect-error session_cache is 'none', 'memory', { memory } or { redis }
  Iam.fromConfig({ tenants: { customer }, session_cache: 'redis' })
  // @ts-expect-error kratos.public_url is required
  Iam.fromConfig({ tenants: { customer: { kratos: { admin_url: 'http://127.0.0.1:4434' } } } })
  console.log(typo, camel)
  return Iam.fromConfig(config, (event) => console.log(event.name))
}
console.log(typedConfig)

// Issue 23: logging adapters, health routes, the subject rule, req.user, the audit hook.
import { setLogger, consoleLogger, pinoLogger, nestLogger, type LogLevel } from '../../bindings-node/ory-iam'
import { iamHealth, type IamHealthReport, type IamRequest, type SubjectRule } from '../../bindings-node/express'
import { IamHealthIndicator, Anonymous, CurrentSession, type IamOptionsFactory } from '../../bindings-node/nestjs'
export function logging(nest: import('@nestjs/common').Logger, pino: { info(o: object, m?: string): void }): void {
  const level: LogLevel = 'warn'
  setLogger(consoleLogger(), { level })
  setLogger(pinoLogger(pino))
  setLogger(nestLogger(nest), { level: 'info' })
  setLogger(null)
}
export function health(iam: Iam, app: express.Express, indicator: IamHealthIndicator): Promise<IamHealthReport> {
  app.get('/health', iamHealth(iam))
  const subject: SubjectRule = (id, caller) => (caller.kind === 'machine' ? `client:${id}` : `user:${id}`)
  const auth = iamExpress(iam, { subject })
  app.get('/who', auth.currentUser(), (req, res) => res.json({ id: (req as IamRequest).user && 'id' in (req as IamRequest).user! ? 'user' : 'machine' }))
  iam.auditRoleDenial('customer', { actor: 'x', requiredRoles: ['admin'], route: 'GET /x' })
  return indicator.isHealthy('ory').then((r) => r.ory)
}
class Opts implements IamOptionsFactory {
  createIamOptions() {
    return { config: { tenants: {} }, subject: (id: string) => `user:${id}` }
  }
}
export const asyncForms = [IamModule.forRootAsync({ useClass: Opts }), IamModule.forRootAsync({ useExisting: Opts, global: false })]
console.log(Anonymous, CurrentSession)
