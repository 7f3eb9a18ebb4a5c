// The NestJS app tests/node/nestjs.test.js serves: written as a user of `ory-iam/nestjs` writes
// it (TypeScript, legacy decorators). The test compiles it with the repo's TypeScript, type
// errors included; `tsc -p tests/node/tsconfig.json` checks it too.
import 'reflect-metadata'
import { Controller, Get, Inject, Injectable, Module, Param, Req, UseFilters, UseGuards, type DynamicModule } from '@nestjs/common'
import { APP_GUARD } from '@nestjs/core'
import { Test, type TestingModuleBuilder } from '@nestjs/testing'
import type { FakeOry } from '../../bindings-node/testing'
import type { Iam, IamConfig, Session } from '../../bindings-node/ory-iam'
import {
  CurrentPrincipal,
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
} from '../../bindings-node/nestjs'

@Controller('me')
@UseGuards(SessionGuard)
class MeController {
  @Get()
  me(@CurrentUser() session: Session) {
    return { id: session.identity.id, tenant: session.tenant }
  }

  @Get('identity-id')
  identityId(@CurrentUser('identity') identity: Session['identity']) {
    return { id: identity.id }
  }

  @Public()
  @Get('public')
  open(@CurrentUser() session: Session | null) {
    return { ok: true, session: session === null ? null : session.id }
  }
}

@Controller('maybe')
@UseGuards(OptionalSessionGuard)
class MaybeController {
  @Get()
  maybe(@CurrentUser() session: Session | null) {
    return { id: session ? session.identity.id : null }
  }
}

@Controller('staff')
@UseGuards(SessionGuard, RoleGuard)
class StaffController {
  @Get()
  @RequireRole('admin', 'editor')
  staff(@CurrentUser() session: Session) {
    return { id: session.identity.id }
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
  async check(@Param('id') id: string, @CurrentUser() session: Session) {
    return { allowed: await this.iam.permission.check({ namespace: 'documents', object: id, relation: 'edit', subject: session.identity.id }) }
  }
}

@Controller('admin')
@Tenant('admin')
@UseGuards(SessionGuard)
class AdminController {
  @Get('me')
  me(@CurrentUser() session: Session) {
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
export function testingModule(fake: FakeOry): TestingModuleBuilder {
  return Test.createTestingModule({ imports: [IamTestingModule.forRoot({ fake, tenant: 'customer' })], controllers, providers: [TenantReport] })
}

/** The app module with `IamModule.forRoot(options)`. */
export function appModule(options: IamModuleOptions): DynamicModule {
  @Module({})
  class AppModule {}
  return { module: AppModule, imports: [IamModule.forRoot(options)], controllers, providers: [TenantReport] }
}

const STACK_CONFIG = 'STACK_CONFIG'
@Module({})
class ConfigModule {
  static register(config: IamConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: STACK_CONFIG, useValue: config }], exports: [STACK_CONFIG] }
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
