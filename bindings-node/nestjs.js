'use strict'
// `ory-iam/nestjs`: a NestJS module, guards and decorators over a wrapped `Iam`.
//
//   @Module({ imports: [IamModule.forRoot({ config, tenant: 'customer' })] })
//   @Controller('docs') @UseGuards(SessionGuard, PermissionGuard)
//   class Docs { @Get(':id') @RequirePermission({ namespace: 'documents', relation: 'view', object: (req) => req.params.id })
//                get(@CurrentUser() session: Session) { … } }
//
// Plain JavaScript, decorators applied by hand, so the package needs no build step; the types
// are in nestjs.d.ts. Guards store what they resolved on `req.iam` ({ tenant, session,
// principal }), like the Express middleware, and turn IamErrors into HttpExceptions with the
// same status, headers and body (framework.js). Nothing is allowed on an error.

const { Injectable, Inject, Optional, Module, SetMetadata, HttpException, Catch, createParamDecorator } = require('@nestjs/common')
const { Reflector } = require('@nestjs/core')
const { Iam, IamError, IamForbiddenError } = require('./ory-iam.js')
const { checkSubject, subjectOf, requestState, peekState, httpErrorOf, withChallenge, isIamError, defaultRoles, bearerPresented, hasAuthorization, handles, normalizeScope, loginAs, bearerFor, roleSpec, rolesSatisfied, checkTransport } = require('./framework.js')

/** Injection token of the `Iam` instance. */
const IAM = 'ORY_IAM'
/** Injection token of the resolved module options. */
const IAM_MODULE_OPTIONS = 'ORY_IAM_MODULE_OPTIONS'

const META = {
  public: 'ory-iam:public',
  tenant: 'ory-iam:tenant',
  roles: 'ory-iam:roles',
  permission: 'ory-iam:permission',
  scope: 'ory-iam:scope',
}

// ------------------------------------------------------------------------------ decorators

/** Skip SessionGuard, RoleGuard, PermissionGuard and OAuth2Guard on this route or controller. */
const Public = () => SetMetadata(META.public, true)
/** The tenant the guards use on this route or controller (default: the module's `tenant`). */
const Tenant = (name) => {
  if (typeof name !== 'string' || !name) throw new TypeError('@Tenant(name) needs a tenant name')
  return SetMetadata(META.tenant, name)
}
/** RoleGuard: the session needs any of these roles (`{ match: 'all' }` as the last argument: every one). */
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
/** OAuth2Guard: the token needs every one of these scopes. */
const RequireScope = (...scopes) => SetMetadata(META.scope, normalizeScope(scopes.flat()))

const requestOf = (ctx) => ctx.switchToHttp().getRequest()
/** The session the guards resolved (`null` under OptionalSessionGuard without one); `@CurrentUser('identity')` picks a field. */
const CurrentUser = createParamDecorator((field, ctx) => {
  const s = peekState(requestOf(ctx))?.session ?? null
  return field && s ? s[field] : s
})
/** The OAuth2 principal OAuth2Guard resolved. */
const CurrentPrincipal = createParamDecorator((field, ctx) => {
  const p = peekState(requestOf(ctx))?.principal ?? null
  return field && p ? p[field] : p
})

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

/** The module's options once resolved: the Iam, who owns it, the default tenant, roles. */
function resolveOptions(o) {
  if (!o || typeof o !== 'object') throw new TypeError('IamModule options must be an object')
  if (!o.iam === !o.config) throw new TypeError('IamModule needs exactly one of { iam } or { config }')
  const iam = o.iam || Iam.fromConfig(o.config, o.onAudit)
  // `transport` narrows the tenants' configured transports: accepted credentials and challenge.
  const resolved = { iam, ownsIam: !o.iam, tenant: o.tenant, roles: o.roles || defaultRoles, retryAfter: o.retryAfter, transport: checkTransport(o.transport ?? undefined) }
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

class BaseGuard {
  constructor(options, reflector) {
    this.options = options
    this.reflector = reflector
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
    if (slot.session !== undefined && slot.tenant === h.name && (optional || slot.session !== null)) return { h, req, session: slot.session }
    let s
    try {
      s = optional ? await h.session.whoamiOrNull(req) : await h.session.whoami(req)
    } catch (e) {
      throw this.fail(e, ctx, this.challenge(h, req))
    }
    slot.tenant = h.name
    slot.session = s
    return { h, req, session: s }
  }
  challenge(h, req) {
    return { transport: this.options.transport ?? h.transport, tenant: h.name, presented: bearerPresented(req) }
  }
  forbidden(h, ctx, what) {
    return this.fail(new IamForbiddenError(what, { code: 'forbidden', tenant: h.name }), ctx, this.challenge(h, requestOf(ctx)))
  }
  // A handler's @Public() opens it. A class's @Public() opens the handlers that ask for nothing
  // themselves: an explicit @RequireRole / @RequirePermission / @RequireScope on a handler wins.
  isPublic(ctx) {
    const h = ctx.getHandler()
    if (this.reflector.get(META.public, h) === true) return true
    if (this.reflector.get(META.public, ctx.getClass()) !== true) return false
    return ![META.roles, META.permission, META.scope].some((k) => this.reflector.get(k, h) !== undefined)
  }
}

/** 401 unless the request has a valid session of the route's tenant. */
class SessionGuard extends BaseGuard {
  async canActivate(ctx) {
    if (this.isPublic(ctx)) return true
    await this.session(ctx, false)
    return true
  }
}

/** Resolves the session when there is one (`@CurrentUser()` is then null or the session). */
class OptionalSessionGuard extends BaseGuard {
  async canActivate(ctx) {
    await this.session(ctx, true)
    return true
  }
}

/** 403 unless the session has one of the `@RequireRole(...)` roles (none declared: allowed). */
class RoleGuard extends BaseGuard {
  async canActivate(ctx) {
    if (this.isPublic(ctx)) return true
    const specs = this.requirements(META.roles, ctx)
    if (specs.length === 0) return true
    const { h, req, session } = await this.session(ctx, false)
    const have = await this.options.roles(session, req)
    if (!specs.every((spec) => rolesSatisfied(spec, have))) throw this.forbidden(h, ctx, 'missing role')
    return true
  }
}

/** 403 unless Keto allows the `@RequirePermission(...)` check (none declared: allowed). */
class PermissionGuard extends BaseGuard {
  async canActivate(ctx) {
    if (this.isPublic(ctx)) return true
    // Stacked and class-level @RequirePermission specs are ANDed.
    const specs = this.requirements(META.permission, ctx)
    if (specs.length === 0) return true
    const { h, req, session } = await this.session(ctx, false)
    for (const p of specs) {
      const tuple = {
        namespace: p.namespace,
        relation: p.relation,
        object: typeof p.object === 'function' ? await p.object(req) : p.object,
        subject: await subjectOf(p.subject, session),
      }
      let allowed
      try {
        allowed = await h.permission.check(tuple, p.fresh === undefined ? undefined : { fresh: p.fresh })
      } catch (e) {
        throw this.fail(e, ctx, this.challenge(h, req))
      }
      if (allowed !== true) throw this.forbidden(h, ctx, 'permission denied')
    }
    return true
  }
}

/** An OAuth2 bearer token (Hydra) with the `@RequireScope(...)` scopes; sets `req.iam.principal`. */
class OAuth2Guard extends BaseGuard {
  async canActivate(ctx) {
    if (this.isPublic(ctx)) return true
    const req = requestOf(ctx)
    const h = this.handles(ctx)
    const scope = [...new Set(this.requirements(META.scope, ctx).flat())]
    try {
      const principal = await h.token.authenticate(req, scope.length ? { requiredScope: scope } : undefined)
      const slot = requestState(req)
      slot.principal = principal
      if (slot.tenant === undefined) slot.tenant = h.name
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

class IamModule {
  /** `{ config | iam, tenant?, transport?, roles?, retryAfter?, global? (true) }`. */
  static forRoot(options) {
    const resolved = resolveOptions(options)
    return IamModule.build([{ provide: IAM_MODULE_OPTIONS, useValue: resolved }], [], options.global ?? options.isGlobal)
  }

  /** `{ imports?, inject?, useFactory: (...deps) => options | Promise<options>, global? }`. */
  static forRootAsync(options) {
    if (!options || typeof options.useFactory !== 'function') throw new TypeError('IamModule.forRootAsync needs useFactory')
    const provider = {
      provide: IAM_MODULE_OPTIONS,
      useFactory: async (...deps) => resolveOptions(await options.useFactory(...deps)),
      inject: options.inject || [],
    }
    return IamModule.build([provider], options.imports || [], options.global ?? options.isGlobal)
  }

  static build(optionProviders, imports, global) {
    const providers = [...optionProviders, { provide: IAM, useFactory: (o) => o.iam, inject: [IAM_MODULE_OPTIONS] }, IamService, ...GUARDS]
    return {
      module: IamModule,
      global: global ?? true,
      imports,
      providers,
      exports: [IAM_MODULE_OPTIONS, IAM, IamService, ...GUARDS],
    }
  }
}
Module({})(IamModule)

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
  Tenant,
  RequireRole,
  RequirePermission,
  RequireScope,
  CurrentUser,
  CurrentPrincipal,
  IamExceptionFilter,
  toHttpException,
  isIamError,
  META,
  IamTestingModule,
  FAKE_ORY,
  loginAs,
  bearerFor,
}
