'use strict'
// `ory-iam/nestjs`: a NestJS module, guards and decorators over a wrapped `Iam`.
//
//   @Module({ imports: [IamModule.forRoot({ config, tenant: 'customer' })] })  // every route needs a session
//   @Controller('docs')
//   class Docs { @Get(':id') @RequirePermission({ namespace: 'documents', relation: 'view', object: (req) => req.params.id })
//                get(@CurrentUser() user: Identity, @CurrentSession() session: Session) { … }
//                @Public() @Get() list() { … } }
//
// Protected by default: the module registers OAuth2Guard, SessionGuard, RoleGuard and
// PermissionGuard as global guards (APP_GUARD) unless `global: false`; `@Public()` opens a route,
// `@Anonymous()` makes its session optional. Plain JavaScript, decorators applied by hand, so the
// package needs no build step; the types are in nestjs.d.ts. Guards store what they resolved on
// `req.iam` ({ tenant, session, principal }) and show it as `req.user` (the identity, or the
// machine principal) and `req.session`, like the Express middleware, and turn IamErrors into
// HttpExceptions with the same status, headers and body (framework.js). Nothing is allowed on an
// error.

const { Injectable, Inject, Optional, Module, SetMetadata, HttpException, Catch, Logger, createParamDecorator } = require('@nestjs/common')
const { Reflector, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule, DiscoveryService, MetadataScanner } = require('@nestjs/core')
const { Iam, IamError, IamForbiddenError } = require('./ory-iam.js')
const fw = require('./framework.js')
const { checkSubject, subjectOf, requestState, peekState, httpErrorOf, withChallenge, isIamError, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope, loginAs, bearerFor, roleSpec, rolesSatisfied, checkTransport } = fw

/** Injection token of the `Iam` instance. */
const IAM = 'ORY_IAM'
/** Injection token of the resolved module options. */
const IAM_MODULE_OPTIONS = 'ORY_IAM_MODULE_OPTIONS'

const META = {
  public: 'ory-iam:public',
  anonymous: 'ory-iam:anonymous',
  tenant: 'ory-iam:tenant',
  roles: 'ory-iam:roles',
  permission: 'ory-iam:permission',
  scope: 'ory-iam:scope',
}

// ------------------------------------------------------------------------------ decorators

/** Skip SessionGuard, RoleGuard, PermissionGuard and OAuth2Guard on this route or controller. */
const Public = () => SetMetadata(META.public, true)
/**
 * SessionGuard resolves the session when there is one and never answers 401 (`@CurrentUser()` is
 * then null); an outage is still a 503. Requirements declared on the route (`@RequireRole`,
 * `@RequirePermission`) still need a session.
 */
const Anonymous = () => SetMetadata(META.anonymous, true)
/** The tenant the guards use on this route or controller (default: the module's `tenant`). */
const Tenant = (name) => {
  if (typeof name !== 'string' || !name) throw new TypeError('@Tenant(name) needs a tenant name')
  return SetMetadata(META.tenant, name)
}
/** RoleGuard: the caller needs any of these roles (`{ match: 'all' }` as the last argument: every one). */
const RequireRole = (...roles) => SetMetadata(META.roles, roleSpec(roles))
/** PermissionGuard: `{ namespace, relation, object: string | (req) => string, subject?: string | SubjectSet | (session) => … }` (the subject never from the request). */
const RequirePermission = (permission) => {
  if (!permission || !permission.namespace || !permission.relation || permission.object === undefined) {
    throw new TypeError('@RequirePermission({ namespace, relation, object }) needs all three')
  }
  checkSubject(permission.subject, '@RequirePermission')
  // Appended, not set: stacked @RequirePermission decorators all apply (ANDed).
  return (target, key, descriptor) => {
    const where = descriptor ? descriptor.value : target
    const prev = Reflect.getMetadata(META.permission, where) || []
    Reflect.defineMetadata(META.permission, [...prev, permission], where)
    return descriptor ?? target
  }
}
/** OAuth2Guard: the route takes an OAuth2 access token (Hydra) with every one of these scopes. */
const RequireScope = (...scopes) => SetMetadata(META.scope, normalizeScope(scopes.flat()))

const requestOf = (ctx) => ctx.switchToHttp().getRequest()
const pick = (v, field) => (field && v !== null && v !== undefined ? v[field] : v)
/**
 * The caller: the session's identity (as `req.user` shows it, without admin metadata), or the
 * machine principal on a token route, else null; `@CurrentUser('id')` picks a field.
 */
const CurrentUser = createParamDecorator((field, ctx) => {
  const st = peekState(requestOf(ctx))
  return pick(st?.session ? fw.userOf(st.session) : st?.principal ?? null, field)
})
/** The session the guards resolved (null without one); `@CurrentSession('id')` picks a field. */
const CurrentSession = createParamDecorator((field, ctx) => pick(peekState(requestOf(ctx))?.session ?? null, field))
/** The OAuth2 principal OAuth2Guard resolved. */
const CurrentPrincipal = createParamDecorator((field, ctx) => pick(peekState(requestOf(ctx))?.principal ?? null, field))

// ------------------------------------------------------------------------------ errors

function setHeaders(res, headers) {
  for (const [k, v] of Object.entries(headers)) {
    if (typeof res.setHeader === 'function') res.setHeader(k, v)
    else if (typeof res.header === 'function') res.header(k, v) // Fastify reply
  }
}

/** An HttpException for an IamError (headers go straight onto the response); other errors unchanged. */
function toHttpException(err, res, options = {}) {
  const answer = httpErrorOf(err, options)
  if (!answer) return err
  if (res) setHeaders(res, answer.headers)
  return new HttpException(answer.body, answer.status, { cause: err })
}

/**
 * Answers IamErrors thrown by your own handlers (`await iam.permission.check(...)` during a
 * Keto outage → 503 + Retry-After): `@UseFilters(IamExceptionFilter)` or
 * `app.useGlobalFilters(new IamExceptionFilter({ retryAfter, transport }))`.
 */
class IamExceptionFilter {
  constructor(options) {
    this.options = options || {}
    checkTransport(this.options.transport ?? undefined)
  }
  catch(exception, host) {
    const http = host.switchToHttp()
    const res = http.getResponse()
    const answer = httpErrorOf(exception, { ...this.options, req: http.getRequest() })
    if (!answer) throw exception
    setHeaders(res, answer.headers)
    if (typeof res.status === 'function' && typeof res.json === 'function') return res.status(answer.status).json(answer.body)
    if (typeof res.code === 'function') return res.code(answer.status).send(answer.body) // Fastify
    res.statusCode = answer.status
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(answer.body))
  }
}
Catch(IamError)(IamExceptionFilter)
// `@UseFilters(IamExceptionFilter)` (the class) gets the module's options; `new` takes them as an argument.
Injectable()(IamExceptionFilter)
Optional()(IamExceptionFilter, undefined, 0)
Inject(IAM_MODULE_OPTIONS)(IamExceptionFilter, undefined, 0)

// ------------------------------------------------------------------------------ module

/** The module's options once resolved: the Iam, who owns it, the default tenant, roles, subject. */
function resolveOptions(o) {
  if (!o || typeof o !== 'object') throw new TypeError('IamModule options must be an object')
  if (!o.iam === !o.config) throw new TypeError('IamModule needs exactly one of { iam } or { config }')
  if (o.roles !== undefined && o.roles !== null && typeof o.roles !== 'function') throw new TypeError('IamModule: roles must be (session, req) => string[]')
  const subject = fw.checkSubjectRule(o.subject, 'IamModule')
  const iam = o.iam || Iam.fromConfig(o.config, o.onAudit)
  // `transport` narrows the tenants' configured transports: accepted credentials and challenge.
  const resolved = {
    iam,
    ownsIam: !o.iam,
    tenant: o.tenant,
    roles: o.roles || defaultRoles,
    subject,
    retryAfter: o.retryAfter,
    transport: checkTransport(o.transport ?? undefined),
    global: o.global ?? true,
  }
  if (resolved.tenant !== undefined) iam.session.forTenant(resolved.tenant) // unknown → IamConfigurationError at boot
  resolved.handles = handles(iam, resolved.transport)
  return resolved
}

/** Injectable access to the Iam and the module's default tenant. */
class IamService {
  constructor(options) {
    this.options = options
  }
  get iam() {
    return this.options.iam
  }
  get tenant() {
    return this.options.tenant ?? this.options.iam.defaultTenant
  }
  async onModuleDestroy() {
    // Only an Iam the module built is closed; one handed in belongs to the caller.
    if (this.options.ownsIam && typeof this.options.iam.close === 'function') await this.options.iam.close()
  }
}
Injectable()(IamService)
Inject(IAM_MODULE_OPTIONS)(IamService, undefined, 0)

// ------------------------------------------------------------------------------ guards

const GLOBAL = Symbol('ory-iam.global-guard')

class BaseGuard {
  constructor(options, reflector) {
    this.options = options
    this.reflector = reflector
  }
  // Every guard works inside the request's correlation scope (its X-Request-Id, else a new
  // UUID, echoed on the response): its Ory calls carry the id; IamRequestIdInterceptor extends
  // the scope over the handler.
  canActivate(ctx) {
    if (ctx.getType() !== 'http') return this.activate(ctx)
    const req = requestOf(ctx)
    fw.echoRequestId(ctx.switchToHttp().getResponse(), fw.requestIdOf(req))
    return fw.withRequestId(req, () => this.activate(ctx))
  }
  // A guard the module registered as APP_GUARD: inert under `global: false` (forRootAsync whose
  // factory says so).
  inert() {
    return this[GLOBAL] === true && this.options.global === false
  }
  // Where one value applies (the tenant): the handler's overrides the class's.
  meta(key, ctx) {
    return this.reflector.getAllAndOverride(key, [ctx.getHandler(), ctx.getClass()])
  }
  // Requirements combine: the class's and the handler's must all hold (a handler's
  // @RequireRole('viewer') does not replace its class's @RequireRole('admin')).
  requirements(key, ctx) {
    return [this.reflector.get(key, ctx.getClass()), this.reflector.get(key, ctx.getHandler())].flatMap((v) =>
      v === undefined || v === null ? [] : Array.isArray(v) && key === META.permission ? v : [v],
    )
  }
  handles(ctx) {
    return this.options.handles(this.meta(META.tenant, ctx) ?? this.options.tenant)
  }
  fail(err, ctx, challenge) {
    withChallenge(err, challenge)
    return toHttpException(err, ctx.switchToHttp().getResponse(), this.options)
  }
  // The session of this request for the route's tenant, resolved at most once per request.
  async session(ctx, optional) {
    const req = requestOf(ctx)
    const h = this.handles(ctx)
    const slot = requestState(req)
    if (slot.session !== undefined && slot.tenant === h.name && (optional || slot.session !== null)) {
      fw.exposeSession(req, slot.session)
      return { h, req, session: slot.session }
    }
    let s
    try {
      s = optional ? await h.session.whoamiOrNull(req) : await h.session.whoami(req)
    } catch (e) {
      throw this.fail(e, ctx, this.challenge(h, req))
    }
    slot.tenant = h.name
    slot.session = s
    fw.exposeSession(req, s)
    return { h, req, session: s }
  }
  // A token route (@RequireScope) whose token OAuth2Guard accepted: the machine principal.
  principal(ctx) {
    if (!this.isTokenRoute(ctx)) return null
    return peekState(requestOf(ctx))?.principal ?? null
  }
  // Who the route's requirements are checked for: the principal on a token route, else the
  // session (resolved here when needed).
  async caller(ctx) {
    const principal = this.principal(ctx)
    if (principal) return { h: this.handles(ctx), req: requestOf(ctx), session: null, principal }
    return { ...(await this.session(ctx, false)), principal: null }
  }
  challenge(h, req) {
    return { transport: this.options.transport ?? h.transport, tenant: h.name, presented: bearerPresented(req) }
  }
  forbidden(h, ctx, what) {
    return this.fail(new IamForbiddenError(what, { code: 'forbidden', tenant: h.name }), ctx, this.challenge(h, requestOf(ctx)))
  }
  isTokenRoute(ctx) {
    return this.requirements(META.scope, ctx).length > 0
  }
  // A handler's @Public() opens it. A class's @Public() opens the handlers that ask for nothing
  // themselves: an explicit @RequireRole / @RequirePermission / @RequireScope on a handler wins.
  isPublic(ctx) {
    return this.flag(META.public, ctx)
  }
  isAnonymous(ctx) {
    return this.flag(META.anonymous, ctx)
  }
  flag(key, ctx) {
    const h = ctx.getHandler()
    if (this.reflector.get(key, h) === true) return true
    if (this.reflector.get(key, ctx.getClass()) !== true) return false
    return ![META.roles, META.permission, META.scope].some((k) => this.reflector.get(k, h) !== undefined)
  }
}

/**
 * 401 unless the request has a valid session of the route's tenant. `@Anonymous()`: the session
 * when there is one, never a 401. On a token route (`@RequireScope`) whose token OAuth2Guard
 * already accepted, the token is the credential.
 */
class SessionGuard extends BaseGuard {
  async activate(ctx) {
    if (this.inert()) return true
    if (this.isPublic(ctx)) {
      fw.exposeNone(requestOf(ctx))
      return true
    }
    if (this.principal(ctx)) return true
    await this.session(ctx, this.isAnonymous(ctx))
    return true
  }
}

/** Resolves the session when there is one (`@CurrentUser()` is then null or the identity). */
class OptionalSessionGuard extends BaseGuard {
  async activate(ctx) {
    await this.session(ctx, true)
    return true
  }
}

/**
 * 403 unless the caller has the `@RequireRole(...)` roles (none declared: allowed). Roles of a
 * session: the module's `roles` (default `metadataPublic.roles`, else `traits.roles`); of a
 * machine principal on a token route: its scopes. A refusal is audited (`authz.role.deny`).
 */
class RoleGuard extends BaseGuard {
  async activate(ctx) {
    if (this.inert() || this.isPublic(ctx)) return true
    const specs = this.requirements(META.roles, ctx)
    if (specs.length === 0) return true
    const { h, req, session, principal } = await this.caller(ctx)
    const have = principal ? fw.principalRoles(principal) : await this.options.roles(session, req)
    if (!specs.every((spec) => rolesSatisfied(spec, have))) {
      fw.auditRoleDenial(this.options.iam, h.name, {
        actor: principal ? principal.clientId || principal.subject : session.identity.id,
        specs,
        route: `${ctx.getClass().name}.${ctx.getHandler().name}`,
      })
      throw this.forbidden(h, ctx, 'missing role')
    }
    return true
  }
}

/**
 * 403 unless Keto allows every `@RequirePermission(...)` check (stacked and class-level specs are
 * ANDed; none declared: allowed). The subject: the spec's, else the module's `subject(id,
 * caller)` rule over the identity id (or the OAuth2 client id on a token route), else that id.
 * An object resolver that yields nothing: 400. A Keto outage: 503.
 */
class PermissionGuard extends BaseGuard {
  async activate(ctx) {
    if (this.inert() || this.isPublic(ctx)) return true
    const specs = this.requirements(META.permission, ctx)
    if (specs.length === 0) return true
    const { h, req, session, principal } = await this.caller(ctx)
    const who = fw.callerOf(session, principal)
    for (const p of specs) {
      let allowed
      try {
        const tuple = {
          namespace: p.namespace,
          relation: p.relation,
          object: await fw.objectOf(p.object, req, h.name),
          subject: await subjectOf(p.subject, who, this.options.subject),
        }
        allowed = await h.permission.check(tuple, p.fresh === undefined ? undefined : { fresh: p.fresh })
      } catch (e) {
        throw this.fail(e, ctx, this.challenge(h, req))
      }
      if (allowed !== true) throw this.forbidden(h, ctx, 'permission denied')
    }
    return true
  }
}

/**
 * An OAuth2 bearer token (Hydra) with the `@RequireScope(...)` scopes; sets `req.iam.principal`
 * (and `req.user`). Registered globally it acts on token routes (`@RequireScope`) only; in
 * `@UseGuards(OAuth2Guard)` on every route it guards.
 */
class OAuth2Guard extends BaseGuard {
  async activate(ctx) {
    if (this.inert() || this.isPublic(ctx)) return true
    if (this[GLOBAL] === true && !this.isTokenRoute(ctx)) return true
    const req = requestOf(ctx)
    const h = this.handles(ctx)
    const scope = [...new Set(this.requirements(META.scope, ctx).flat())]
    try {
      const principal = await h.token.authenticate(req, scope.length ? { requiredScope: scope } : undefined)
      const slot = requestState(req)
      slot.principal = principal
      if (slot.tenant === undefined) slot.tenant = h.name
      fw.exposePrincipal(req, principal)
    } catch (e) {
      throw this.fail(e, ctx, { transport: 'bearer', tenant: h.name, scope, presented: hasAuthorization(req) })
    }
    return true
  }
}

const GUARDS = [SessionGuard, OptionalSessionGuard, RoleGuard, PermissionGuard, OAuth2Guard]
for (const G of GUARDS) {
  Injectable()(G)
  Inject(IAM_MODULE_OPTIONS)(G, undefined, 0)
  Inject(Reflector)(G, undefined, 1)
}

/**
 * Serves the handler inside the request's correlation scope: every Ory call it makes carries
 * the request's `X-Request-Id` (when valid; else a new UUID), echoed on the response. Registered
 * globally with the guards; `@UseInterceptors(IamRequestIdInterceptor)` under `global: false`.
 */
class IamRequestIdInterceptor {
  intercept(ctx, next) {
    if (ctx.getType() !== 'http') return next.handle()
    const req = requestOf(ctx)
    fw.echoRequestId(ctx.switchToHttp().getResponse(), fw.requestIdOf(req))
    // Subscribed (and so the handler called) inside the scope, whichever Nest version defers it.
    const { Observable } = require('rxjs')
    return new Observable((subscriber) => fw.withRequestId(req, () => next.handle().subscribe(subscriber)))
  }
}
Injectable()(IamRequestIdInterceptor)

// The global set, in order: a token route's token first (so SessionGuard can accept it), then
// the session, roles, permissions.
const APP_GUARDS = [OAuth2Guard, SessionGuard, RoleGuard, PermissionGuard]
const appGuardProviders = () =>
  APP_GUARDS.map((G) => ({
    provide: APP_GUARD,
    useFactory: (options, reflector) => Object.defineProperty(new G(options, reflector), GLOBAL, { value: true }),
    inject: [IAM_MODULE_OPTIONS, Reflector],
  }))

/**
 * Outside production (`NODE_ENV !== 'production'`), lists at start-up the routes `@Public()`
 * opens, as one warning of Nest's Logger (context `IamModule`): a forgotten `@Public()` shows.
 */
class IamPublicRoutesWarner {
  constructor(options, discovery, scanner) {
    this.options = options
    this.discovery = discovery
    this.scanner = scanner
  }
  onApplicationBootstrap() {
    if (process.env.NODE_ENV === 'production' || this.options.global === false) return
    let routes
    try {
      routes = publicRoutes(this.discovery, this.scanner)
    } catch {
      return // a dev aid must never stop the application from starting
    }
    if (routes.length) new Logger('IamModule').warn(`@Public() routes (no authentication): ${routes.join(', ')}`)
  }
}
Injectable()(IamPublicRoutesWarner)
Inject(IAM_MODULE_OPTIONS)(IamPublicRoutesWarner, undefined, 0)
Inject(DiscoveryService)(IamPublicRoutesWarner, undefined, 1)
Inject(MetadataScanner)(IamPublicRoutesWarner, undefined, 2)

/** `Controller.handler` of every route @Public() opens (a class's opens its handlers that ask for nothing). */
function publicRoutes(discovery, scanner) {
  const out = []
  const asks = (fn) => [META.roles, META.permission, META.scope].some((k) => Reflect.getMetadata(k, fn) !== undefined)
  for (const wrapper of discovery.getControllers()) {
    const cls = wrapper.metatype
    const instance = wrapper.instance
    if (!cls || !instance) continue
    const classPublic = Reflect.getMetadata(META.public, cls) === true
    const proto = Object.getPrototypeOf(instance)
    const names = typeof scanner.getAllMethodNames === 'function' ? scanner.getAllMethodNames(proto) : Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor')
    for (const name of names) {
      const fn = proto[name]
      if (typeof fn !== 'function' || Reflect.getMetadata('path', fn) === undefined) continue
      if (Reflect.getMetadata(META.public, fn) === true || (classPublic && !asks(fn))) out.push(`${cls.name}.${name}`)
    }
  }
  return out
}

// ------------------------------------------------------------------------------ health

/** @nestjs/terminus's HealthCheckError when installed, else one of the same shape. */
function healthCheckErrorClass() {
  try {
    const t = require('@nestjs/terminus')
    if (typeof t.HealthCheckError === 'function') return t.HealthCheckError
  } catch {
    // terminus is optional
  }
  return IamHealthCheckError
}
/** Terminus's error shape: `causes` is the indicator's result, `isHealthCheckError` its mark. */
class IamHealthCheckError extends Error {
  constructor(message, causes) {
    super(message)
    this.name = 'HealthCheckError'
    this.causes = causes
    this.isHealthCheckError = true
  }
}

/**
 * A Terminus health indicator over `iam.health()` (@nestjs/terminus not needed to load it):
 * `isHealthy(key = 'ory-iam')` resolves `{ [key]: { status: 'up', tenants: { [tenant]: {
 * [product]: 'up' | 'down' } } } }` when every probe is up, else throws HealthCheckError with
 * that result (`status: 'down'`) as `causes`. Tenant and product names only: no URL or reason.
 */
class IamHealthIndicator {
  constructor(options) {
    this.options = options
  }
  async isHealthy(key = 'ory-iam') {
    const report = fw.healthReport(await this.options.iam.health())
    const result = { [key]: report }
    if (report.status !== 'up') {
      const E = healthCheckErrorClass()
      throw new E('ory-iam: an Ory server is not ready', result)
    }
    return result
  }
}
Injectable()(IamHealthIndicator)
Inject(IAM_MODULE_OPTIONS)(IamHealthIndicator, undefined, 0)

class IamModule {
  /**
   * `{ config | iam, tenant?, transport?, roles?, subject?, retryAfter?, global? (true: the
   * guards protect every route), isGlobal? (true: the module's providers are visible app-wide) }`.
   */
  static forRoot(options) {
    const resolved = resolveOptions(options)
    return IamModule.build([{ provide: IAM_MODULE_OPTIONS, useValue: resolved }], [], resolved.global, options.isGlobal)
  }

  /**
   * `{ imports?, inject?, useFactory | useClass | useExisting, global?, isGlobal? }`: the options
   * from a factory, or from `createIamOptions()` of a class the module instantiates (`useClass`)
   * or of a provider your imports export (`useExisting`). `global` here fixes the guards
   * statically; else the options' own `global` decides (default true).
   */
  static forRootAsync(options) {
    if (!options || typeof options !== 'object') throw new TypeError('IamModule.forRootAsync needs options')
    const ways = ['useFactory', 'useClass', 'useExisting'].filter((k) => options[k] !== undefined)
    if (ways.length !== 1) throw new TypeError('IamModule.forRootAsync needs exactly one of useFactory, useClass, useExisting')
    const extra = []
    let provider
    if (options.useFactory) {
      if (typeof options.useFactory !== 'function') throw new TypeError('IamModule.forRootAsync: useFactory must be a function')
      provider = { provide: IAM_MODULE_OPTIONS, useFactory: async (...deps) => resolveOptions(withGlobal(await options.useFactory(...deps), options.global)), inject: options.inject || [] }
    } else {
      const token = options.useClass || options.useExisting
      if (options.useClass) {
        if (typeof options.useClass !== 'function') throw new TypeError('IamModule.forRootAsync: useClass must be a class')
        extra.push({ provide: options.useClass, useClass: options.useClass })
      }
      provider = {
        provide: IAM_MODULE_OPTIONS,
        useFactory: async (factory) => {
          if (!factory || typeof factory.createIamOptions !== 'function') throw new TypeError('IamModule.forRootAsync: the options factory needs createIamOptions()')
          return resolveOptions(withGlobal(await factory.createIamOptions(), options.global))
        },
        inject: [token],
      }
    }
    return IamModule.build([provider, ...extra], options.imports || [], options.global ?? true, options.isGlobal)
  }

  static build(optionProviders, imports, guards, visible) {
    const providers = [
      ...optionProviders,
      { provide: IAM, useFactory: (o) => o.iam, inject: [IAM_MODULE_OPTIONS] },
      IamService,
      IamHealthIndicator,
      IamPublicRoutesWarner,
      ...GUARDS,
      IamRequestIdInterceptor,
      ...(guards === false ? [] : [...appGuardProviders(), { provide: APP_INTERCEPTOR, useExisting: IamRequestIdInterceptor }]),
    ]
    return {
      module: IamModule,
      global: visible ?? true,
      imports: [...imports, DiscoveryModule],
      providers,
      exports: [IAM_MODULE_OPTIONS, IAM, IamService, IamHealthIndicator, IamRequestIdInterceptor, ...GUARDS],
    }
  }
}
Module({})(IamModule)

// A static `global` wins over the factory's (the guards were registered, or not, from it).
const withGlobal = (o, global) => (global === undefined || o === null || typeof o !== 'object' ? o : { ...o, global })

/** Injection token of the FakeOry under IamTestingModule. */
const FAKE_ORY = 'ORY_IAM_FAKE_ORY'

/**
 * IamModule over a FakeOry (`ory-iam/testing`) for `Test.createTestingModule`: the same guards
 * and decorators, no servers. `forRoot({ fake?, tenants?, tenant?, roles?, … })` builds a
 * FakeOry when none is given; inject it with `@Inject(FAKE_ORY)` or `moduleRef.get(FAKE_ORY)`.
 */
class IamTestingModule {
  static forRoot(options = {}) {
    const { fake: given, tenants, ...rest } = options
    const fake = given || new (require('./testing.js').FakeOry)(tenants ? { tenants } : {})
    const base = IamModule.forRoot({ ...rest, iam: fake.iam })
    return {
      ...base,
      module: IamTestingModule,
      providers: [...base.providers, { provide: FAKE_ORY, useValue: fake }],
      exports: [...base.exports, FAKE_ORY],
    }
  }
}
Module({})(IamTestingModule)

module.exports = {
  IamModule,
  IamService,
  IAM,
  IAM_MODULE_OPTIONS,
  SessionGuard,
  OptionalSessionGuard,
  RoleGuard,
  PermissionGuard,
  OAuth2Guard,
  Public,
  Anonymous,
  Tenant,
  RequireRole,
  RequirePermission,
  RequireScope,
  CurrentUser,
  CurrentSession,
  CurrentPrincipal,
  IamHealthIndicator,
  IamHealthCheckError,
  IamRequestIdInterceptor,
  IamExceptionFilter,
  toHttpException,
  isIamError,
  META,
  IamTestingModule,
  FAKE_ORY,
  loginAs,
  bearerFor,
}
