// Types of `ory-iam/nestjs` (nestjs.js).
import type { Observable } from 'rxjs'
import type { ArgumentsHost, CallHandler, NestInterceptor, CanActivate, CustomDecorator, DynamicModule, ExceptionFilter, ExecutionContext, HttpException, InjectionToken, ModuleMetadata, OptionalFactoryDependency, OnModuleDestroy, Type } from '@nestjs/common'
import type { Reflector } from '@nestjs/core'
import type { AuditEvent, Iam, IamConfig, IamError, IamMachinePrincipal, Identity, Session, SnakeOrCamel, SubjectSet } from './ory-iam'
import type { IamHealthReport, IamUser, SubjectRule } from './express'
export type { IamHealthReport, IamUser, SubjectRule } from './express'

/** What the guards resolved for this request, on `req.iam` (shared with `ory-iam/express`). */
export interface IamRequestState {
  tenant?: string
  session?: Session | null
  principal?: import('./ory-iam').IamMachinePrincipal
}

/** The request object the guards and option callbacks see (Express or Fastify). */
export interface IamHttpRequest {
  headers: Record<string, string | string[] | undefined>
  params?: Record<string, string>
  query?: Record<string, unknown>
  iam?: IamRequestState
  /** The identity (without `metadataAdmin`) or machine principal, unless another middleware owns `user`. */
  user?: IamUser | unknown
  /** The session, unless another middleware (express-session) owns `session`. */
  session?: Session | unknown
  [key: string]: unknown
}

export interface IamModuleOptions {
  /** An Iam config object (the module builds the Iam and closes it on shutdown)… */
  config?: SnakeOrCamel<IamConfig>
  /** …or an Iam you built (you close it). */
  iam?: Iam
  /** With `config` and `audit: { sink: 'callback' }`. */
  onAudit?: (event: AuditEvent) => void
  /** Default tenant of the guards (`@Tenant()` overrides); default: the Iam's default tenant. */
  tenant?: string
  /** The roles of a session; default `identity.metadataPublic.roles` when set, else `identity.traits.roles`. Machine principals: their scopes. */
  roles?: (session: Session, req: IamHttpRequest) => string[] | Promise<string[]>
  /**
   * The Keto subject of a caller whose `@RequirePermission` names none: default the bare id
   * (identity id, or the OAuth2 client id on a token route); `(id) => \`user:${id}\`` matches
   * data written for ory-nestjs.
   */
  subject?: SubjectRule
  /**
   * Narrows the tenants' configured `transport` (`iam.transportOf(tenant)`): the credentials
   * accepted and the 401 challenge (`'bearer'` for an API next to a cookie UI: a cookie is then
   * not accepted). Widening it throws `IamConfigurationError`.
   */
  transport?: IamTransport
  /** `Retry-After` seconds on a 503 when the library has no hint (default: no header). */
  retryAfter?: number
  /**
   * Protected by default (true): OAuth2Guard, SessionGuard, RoleGuard and PermissionGuard guard
   * every route (APP_GUARD); `@Public()` / `@Anonymous()` opt out. `false`: only `@UseGuards`.
   */
  global?: boolean
  /** The module's providers visible app-wide (default true). */
  isGlobal?: boolean
}

/** What `useClass` / `useExisting` provide. */
export interface IamOptionsFactory {
  createIamOptions(): Omit<IamModuleOptions, 'isGlobal'> | Promise<Omit<IamModuleOptions, 'isGlobal'>>
}

export interface IamModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Exactly one of useFactory, useClass, useExisting. */
  useFactory?: (...args: any[]) => Omit<IamModuleOptions, 'isGlobal'> | Promise<Omit<IamModuleOptions, 'isGlobal'>>
  inject?: Array<InjectionToken | OptionalFactoryDependency>
  /** A class the module instantiates (its own dependencies from `imports`). */
  useClass?: Type<IamOptionsFactory>
  /** A provider your `imports` export. */
  useExisting?: InjectionToken
  /** Fixes the guards statically; else the options' `global` decides (default true). */
  global?: boolean
  isGlobal?: boolean
}

/** The options once resolved (what `IAM_MODULE_OPTIONS` injects). */
export interface IamResolvedOptions {
  iam: Iam
  ownsIam: boolean
  tenant?: string
  roles: (session: Session, req: IamHttpRequest) => string[] | Promise<string[]>
  retryAfter?: number
  /** The override, when given. */
  transport?: IamTransport
  subject: SubjectRule | null
  /** Whether the global guards act. */
  global: boolean
}

export type IamTransport = 'cookie' | 'bearer' | 'cookie-or-bearer' | 'oathkeeper'

export declare class IamModule {
  static forRoot(options: IamModuleOptions): DynamicModule
  static forRootAsync(options: IamModuleAsyncOptions): DynamicModule
}

/** Injection token of the `Iam`: `constructor(@Inject(IAM) iam: Iam)`. */
export declare const IAM: 'ORY_IAM'
/** Injection token of the resolved options. */
export declare const IAM_MODULE_OPTIONS: 'ORY_IAM_MODULE_OPTIONS'

export declare class IamService implements OnModuleDestroy {
  constructor(options: IamResolvedOptions)
  readonly iam: Iam
  /** The module's default tenant. */
  readonly tenant: string
  onModuleDestroy(): Promise<void>
}

declare abstract class IamGuard implements CanActivate {
  constructor(options: IamResolvedOptions, reflector: Reflector)
  canActivate(context: ExecutionContext): Promise<boolean>
}
/** 401 (+ WWW-Authenticate) unless the request has a valid session of the route's tenant (`@Anonymous()`: optional). */
export declare class SessionGuard extends IamGuard {}
/** Resolves the session when there is one; never refuses except on an outage (503). */
export declare class OptionalSessionGuard extends IamGuard {}
/** 403 unless the caller has the `@RequireRole(...)` roles (a machine principal: its scopes); audited as `authz.role.deny`. */
export declare class RoleGuard extends IamGuard {}
/** 403 unless Keto allows every `@RequirePermission(...)` check (ANDed); 400 when the object resolves to nothing; 503 when Keto is down. */
export declare class PermissionGuard extends IamGuard {}
/** An OAuth2 bearer token from Hydra with the `@RequireScope(...)` scopes (as a global guard: on `@RequireScope` routes only). */
export declare class OAuth2Guard extends IamGuard {}

/**
 * Serves the handler inside the request's correlation scope (its `X-Request-Id`, else a new UUID,
 * echoed on the response): every Ory call it makes carries the id. Registered globally with the
 * guards; `@UseInterceptors(IamRequestIdInterceptor)` under `global: false`. The guards open the
 * same scope for their own calls.
 */
export declare class IamRequestIdInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown>
}

/** Terminus's `HealthCheckError` shape (thrown as terminus's own class when @nestjs/terminus is installed). */
export declare class IamHealthCheckError extends Error {
  constructor(message: string, causes: Record<string, IamHealthReport>)
  readonly causes: Record<string, IamHealthReport>
  readonly isHealthCheckError: true
}
/** A Terminus health indicator over `iam.health()`; inject it (exported by IamModule). */
export declare class IamHealthIndicator {
  constructor(options: IamResolvedOptions)
  /** `{ [key]: { status: 'up', tenants } }`, or throws HealthCheckError with `status: 'down'` as `causes`. Default key `'ory-iam'`. */
  isHealthy<K extends string = 'ory-iam'>(key?: K): Promise<Record<K, IamHealthReport>>
}

export interface RequirePermissionMetadata {
  namespace: string
  relation: string
  /** The Keto object, or how to find it in the request (e.g. `(req) => req.params.id`); nothing (undefined, null, '') → 400. */
  object: string | ((req: IamHttpRequest & { params: Record<string, string> }) => string | undefined | null | Promise<string | undefined | null>)
  /**
   * Default: the module's `subject` rule over the caller's id, else that id (a machine
   * principal: the callback receives the principal). Else a fixed id or subject set, or computed from the
   * caller's session only — the callback never receives the request (a subject named in a URL,
   * header or body would pick whose permission is checked); a two-parameter callback throws.
   */
  subject?: string | SubjectSet | ((session: Session) => string | SubjectSet | Promise<string | SubjectSet>)
  fresh?: boolean
}

/** Skip SessionGuard, RoleGuard, PermissionGuard and OAuth2Guard on this route or controller. */
export declare function Public(): CustomDecorator<string>
/** The session is optional: resolved when present, never a 401 (an outage is still a 503). */
export declare function Anonymous(): CustomDecorator<string>
/** The tenant of the guards on this route or controller. */
export declare function Tenant(name: string): CustomDecorator<string>
/** RoleGuard: any of these roles; `@RequireRole('a', 'b', { match: 'all' })` needs every one. */
export declare function RequireRole(...roles: [string, ...(string | { match: 'any' | 'all' })[]]): CustomDecorator<string>
export declare function RequirePermission(permission: RequirePermissionMetadata): CustomDecorator<string>
export declare function RequireScope(...scopes: string[]): CustomDecorator<string>
/** The identity (without `metadataAdmin`; the machine principal on a token route; null without either); `@CurrentUser('id')` picks a field. */
export declare function CurrentUser(field?: keyof Identity | keyof IamMachinePrincipal): ParameterDecorator
/** The session (null without one); `@CurrentSession('id')` picks a field. */
export declare function CurrentSession(field?: keyof Session): ParameterDecorator
/** The OAuth2 principal OAuth2Guard resolved. */
export declare function CurrentPrincipal(field?: keyof import('./ory-iam').IamMachinePrincipal): ParameterDecorator

/**
 * Answers IamErrors thrown by your handlers: `@UseFilters(IamExceptionFilter)` (module options
 * injected) or `app.useGlobalFilters(new IamExceptionFilter({ retryAfter, transport }))`.
 */
export declare class IamExceptionFilter implements ExceptionFilter<IamError> {
  constructor(options?: { retryAfter?: number; transport?: IamTransport; iam?: Iam })
  catch(exception: IamError, host: ArgumentsHost): unknown
}
/** The HttpException for an IamError (headers set on `res` when given); other errors unchanged. */
export declare function toHttpException(err: unknown, res?: unknown, options?: { retryAfter?: number; transport?: IamTransport; iam?: Iam }): HttpException | unknown
export declare function isIamError(err: unknown): err is IamError

export declare const META: {
  readonly public: string
  readonly anonymous: string
  readonly tenant: string
  readonly roles: string
  readonly permission: string
  readonly scope: string
}

// --- testing (over `ory-iam/testing`'s FakeOry)

export interface IamTestingModuleOptions extends Omit<IamModuleOptions, 'config' | 'iam' | 'onAudit'> {
  /** The fake to use; default a new `FakeOry({ tenants })`. */
  fake?: import('./testing').FakeOry
  tenants?: string[]
}
/** IamModule over a FakeOry for `Test.createTestingModule`: same guards, no servers. */
export declare class IamTestingModule {
  static forRoot(options?: IamTestingModuleOptions): DynamicModule
}
/** Injection token of the FakeOry under IamTestingModule. */
export declare const FAKE_ORY: 'ORY_IAM_FAKE_ORY'
export { loginAs, bearerFor, type FakeUser, type FakeLogin, type FakeLoginOptions } from './framework'
