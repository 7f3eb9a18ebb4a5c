// The NestJS app tests/node/nestjs.test.js serves: written as a user of `ory-iam/nestjs` writes
// it (TypeScript, legacy decorators). The test compiles it with the repo's TypeScript, type
// errors included; `tsc -p tests/node/tsconfig.json` checks it too.
import 'reflect-metadata'
import { Controller, Get, Inject, Injectable, Module, Param, Query, Req, UseFilters, UseGuards, type DynamicModule } from '@nestjs/common'
import { APP_GUARD } from '@nestjs/core'
import { Test, type TestingModuleBuilder } from '@nestjs/testing'
import type { FakeOry } from '../../bindings-node/testing'
import type { Iam, IamConfig, IamMachinePrincipal, Identity, Session } from '../../bindings-node/ory-iam'
import {
  Anonymous,
  CurrentPrincipal,
  CurrentSession,
  CurrentUser,
  IAM,
  IamExceptionFilter,
  IamModule,
  IamService,
  IamTestingModule,
  OAuth2Guard,
  OptionalSessionGuard,
  PermissionGuard,
  Public,
  RequirePermission,
  RequireRole,
  RequireScope,
  RoleGuard,
  SessionGuard,
  Tenant,
  type IamHttpRequest,
  type IamModuleOptions,
  type IamOptionsFactory,
} from '../../bindings-node/nestjs'

@Controller('me')
@UseGuards(SessionGuard)
class MeController {
  @Get()
  me(@CurrentSession() session: Session) {
    return { id: session.identity.id, tenant: session.tenant }
  }

  @Get('identity-id')
  identityId(@CurrentSession('identity') identity: Session['identity']) {
    return { id: identity.id }
  }

  @Public()
  @Get('public')
  open(@CurrentSession() session: Session | null) {
    return { ok: true, session: session === null ? null : session.id }
  }
}

@Controller('maybe')
@UseGuards(OptionalSessionGuard)
class MaybeController {
  @Get()
  maybe(@CurrentUser() user: Identity | null) {
    return { id: user ? user.id : null }
  }
}

@Controller('staff')
@UseGuards(SessionGuard, RoleGuard)
class StaffController {
  @Get()
  @RequireRole('admin', 'editor')
  staff(@CurrentUser('id') id: string) {
    return { id }
  }

  @Get('all')
  @RequireRole('admin', 'editor', { match: 'all' })
  all() {
    return { ok: true }
  }

  @Get('anyone')
  anyone() {
    return { ok: true }
  }
}

// Issue 27, item 2: requirements of class and handler combine (all must hold); a class-level
// @Public() opens only handlers that ask for nothing themselves.
@Controller('compose')
@UseGuards(SessionGuard, RoleGuard, PermissionGuard)
@RequireRole('admin')
class ComposeController {
  @Get('editor')
  @RequireRole('editor')
  editor() {
    return { ok: true }
  }

  @Get('two/:a/:b')
  @RequireRole('editor')
  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => req.params.a })
  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => req.params.b })
  two() {
    return { ok: true }
  }
}

@Controller('open-class')
@UseGuards(SessionGuard, RoleGuard)
@Public()
class OpenClassController {
  @Get()
  open() {
    return { ok: true }
  }

  @Get('admin')
  @RequireRole('admin')
  admin() {
    return { ok: true }
  }
}

@Controller('docs')
class DocsController {
  constructor(@Inject(IAM) private readonly iam: Iam) {}

  // PermissionGuard alone: it resolves the session itself.
  @Get(':id')
  @UseGuards(PermissionGuard)
  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => req.params.id })
  edit(@Param('id') id: string) {
    return { edited: id }
  }

  // A check in the handler: an outage reaches IamExceptionFilter, which answers 503.
  @Get(':id/check')
  @UseGuards(SessionGuard)
  @UseFilters(IamExceptionFilter)
  async check(@Param('id') id: string, @CurrentUser() user: Identity) {
    return { allowed: await this.iam.permission.check({ namespace: 'documents', object: id, relation: 'edit', subject: user.id }) }
  }
}

@Controller('admin')
@Tenant('admin')
@UseGuards(SessionGuard)
class AdminController {
  @Get('me')
  me(@CurrentSession() session: Session) {
    return { id: session.identity.id, tenant: session.tenant }
  }
}

@Controller('api')
@UseGuards(OAuth2Guard)
class ApiController {
  @Get('read')
  @RequireScope('read')
  read(@CurrentPrincipal('clientId') clientId: string, @Req() req: IamHttpRequest) {
    return { clientId, scope: req.iam?.principal?.scope }
  }

  @Get('write')
  @RequireScope('write')
  write() {
    return { ok: true }
  }
}

@Injectable()
class TenantReport {
  constructor(private readonly service: IamService) {}
  report() {
    return { tenant: this.service.tenant, tenants: this.service.iam.tenants }
  }
}

@Controller('service')
class ServiceController {
  constructor(private readonly reportService: TenantReport) {}
  @Get()
  get() {
    return this.reportService.report()
  }
}

export const controllers = [MeController, MaybeController, StaffController, ComposeController, OpenClassController, DocsController, AdminController, ApiController, ServiceController]

/** The same controllers over a FakeOry, as a user's unit test builds them (no servers). */
export function testingModule(fake: FakeOry, global = false): TestingModuleBuilder {
  return Test.createTestingModule({ imports: [IamTestingModule.forRoot({ fake, tenant: 'customer', global })], controllers: global ? defaultControllers : controllers, providers: [TenantReport] })
}

/** The app module with `IamModule.forRoot(options)`, guards as each controller declares them (`global: false`). */
export function appModule(options: IamModuleOptions): DynamicModule {
  @Module({})
  class AppModule {}
  return { module: AppModule, imports: [IamModule.forRoot({ global: false, ...options })], controllers, providers: [TenantReport] }
}

const STACK_CONFIG = 'STACK_CONFIG'
const STACK_CONFIG_TOKEN = STACK_CONFIG

// --- protected by default (issue 23): no @UseGuards anywhere; the module's global guards apply.

const shape = (req: IamHttpRequest) => {
  const user = req.user as (Identity & { metadataAdmin?: unknown }) | IamMachinePrincipal | null | undefined
  const session = req.session as Session | null | undefined
  return {
    id: user && 'id' in user ? user.id : null,
    clientId: user && 'clientId' in user ? user.clientId : null,
    session: session ? session.id : null,
    tenant: session ? session.tenant : null,
    adminMetadataShown: !!user && 'metadataAdmin' in user,
  }
}

@Controller('d')
class DefaultController {
  constructor(@Inject(IAM) private readonly iam: Iam) {}

  @Get('plain')
  plain(@Req() req: IamHttpRequest, @CurrentUser() user: Identity, @CurrentSession() session: Session) {
    return { ...shape(req), user: user.id, sessionOfDecorator: session.id, sameSession: req.session === session }
  }

  @Public()
  @Get('open')
  open(@Req() req: IamHttpRequest) {
    return shape(req)
  }

  @Anonymous()
  @Get('maybe')
  maybe(@Req() req: IamHttpRequest, @CurrentUser() user: Identity | null) {
    return { ...shape(req), user: user ? user.id : null }
  }

  @Anonymous()
  @RequireRole('admin')
  @Get('maybe-admin')
  maybeAdmin(@Req() req: IamHttpRequest) {
    return shape(req)
  }

  @RequireRole('admin')
  @Get('admin')
  admin(@Req() req: IamHttpRequest) {
    return shape(req)
  }

  @RequireRole('admin', 'editor', { match: 'all' })
  @Get('admin-editor')
  adminEditor(@Req() req: IamHttpRequest) {
    return shape(req)
  }

  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => req.params.a })
  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => req.params.b })
  @Get('two/:a/:b')
  two(@Req() req: IamHttpRequest) {
    return shape(req)
  }

  // The object from the query string: missing or empty → 400 before Keto is asked.
  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => (typeof req.query?.doc === 'string' ? req.query.doc : undefined) })
  @Get('doc')
  doc(@Query('doc') doc: string) {
    return { doc }
  }

  @RequireScope('read')
  @Get('machine')
  machine(@Req() req: IamHttpRequest, @CurrentUser() principal: IamMachinePrincipal, @CurrentSession() session: Session | null) {
    return { ...shape(req), principal: principal.clientId, session }
  }

  @RequireScope('read')
  @RequireRole('read')
  @Get('machine-role')
  machineRole(@CurrentUser('clientId') clientId: string) {
    return { clientId }
  }

  @RequireScope('read')
  @RequireRole('admin')
  @Get('machine-admin')
  machineAdmin() {
    return { ok: true }
  }

  @RequireScope('read')
  @RequirePermission({ namespace: 'documents', relation: 'edit', object: (req) => req.params.id })
  @Get('machine-doc/:id')
  machineDoc(@Param('id') id: string) {
    return { id }
  }

  // Ory calls of the handler itself (issue 23, correlation): they carry the request's X-Request-Id.
  @Get('ory-calls')
  async oryCalls(@CurrentUser() user: Identity) {
    await this.iam.identity.get(user.id)
    await this.iam.permission.check({ namespace: 'documents', object: 'correlation', relation: 'edit', subject: user.id })
    return { ok: true }
  }

  @Public()
  @Get('outage-check/:id')
  @UseFilters(IamExceptionFilter)
  async outageCheck(@Param('id') id: string) {
    return { allowed: await this.iam.permission.check({ namespace: 'documents', object: id, relation: 'edit', subject: 'nobody' }) }
  }
}

@Controller('d-open')
@Public()
class OpenDefaultController {
  @Get()
  list() {
    return { ok: true }
  }

  @Get('admin')
  @RequireRole('admin')
  admin() {
    return { ok: true }
  }
}

export const defaultControllers = [DefaultController, OpenDefaultController, ServiceController]

/** Protected by default: `IamModule.forRoot(options)` and controllers without @UseGuards. */
export function defaultModule(options: IamModuleOptions): DynamicModule {
  @Module({})
  class AppModule {}
  return { module: AppModule, imports: [IamModule.forRoot(options)], controllers: defaultControllers, providers: [TenantReport] }
}

@Injectable()
class OptionsFromConfig implements IamOptionsFactory {
  constructor(@Inject(STACK_CONFIG_TOKEN) private readonly config: IamConfig) {}
  createIamOptions() {
    return { config: this.config, tenant: 'customer' }
  }
}

/** `forRootAsync` in each of its three forms, protected by default. */
export function asyncDefaultModule(config: IamConfig, form: 'useFactory' | 'useClass' | 'useExisting', global?: boolean): DynamicModule {
  @Module({})
  class AppModule {}
  const imports = [ConfigModule.register(config)]
  const iamModule =
    form === 'useFactory'
      ? IamModule.forRootAsync({ imports, inject: [STACK_CONFIG_TOKEN], useFactory: async (c: IamConfig) => ({ config: c, tenant: 'customer', global }) })
      : form === 'useClass'
        ? IamModule.forRootAsync({ imports, useClass: OptionsFromConfig, global })
        : IamModule.forRootAsync({ imports: [...imports, OptionsModule.register(config)], useExisting: OptionsFromConfig, global })
  return { module: AppModule, imports: [iamModule], controllers: defaultControllers, providers: [TenantReport] }
}

@Module({})
class ConfigModule {
  static register(config: IamConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: STACK_CONFIG, useValue: config }], exports: [STACK_CONFIG] }
  }
}

/** Provides and exports the options factory, for `useExisting`. */
@Module({})
class OptionsModule {
  static register(config: IamConfig): DynamicModule {
    return { module: OptionsModule, providers: [{ provide: STACK_CONFIG, useValue: config }, OptionsFromConfig], exports: [OptionsFromConfig] }
  }
}

/** `forRootAsync` with an injected config, and SessionGuard as the global guard (`@Public()` opts out). */
export function asyncGlobalGuardModule(config: IamConfig): DynamicModule {
  @Module({})
  class AppModule {}
  return {
    module: AppModule,
    imports: [
      IamModule.forRootAsync({
        imports: [ConfigModule.register(config)],
        inject: [STACK_CONFIG],
        useFactory: (c: IamConfig) => ({ config: c, tenant: 'customer' }),
      }),
    ],
    controllers: [MeController, ServiceController],
    providers: [TenantReport, { provide: APP_GUARD, useClass: SessionGuard }],
  }
}
