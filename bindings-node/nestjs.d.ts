// Types of `ory-iam/nestjs` (nestjs.js).
import type { ArgumentsHost, CanActivate, CustomDecorator, DynamicModule, ExceptionFilter, ExecutionContext, HttpException, InjectionToken, ModuleMetadata, OptionalFactoryDependency, OnModuleDestroy } from '@nestjs/common'
import type { Reflector } from '@nestjs/core'
import type { AuditEvent, Iam, IamConfig, IamError, Session, SnakeOrCamel, SubjectSet } from './ory-iam'

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
  /** The roles of a session; default `session.identity.metadataPublic.roles`. */
  roles?: (session: Session, req: IamHttpRequest) => string[] | Promise<string[]>
  /**
   * Narrows the tenants' configured `transport` (`iam.transportOf(tenant)`): the credentials
   * accepted and the 401 challenge (`'bearer'` for an API next to a cookie UI: a cookie is then
   * not accepted). Widening it throws `IamConfigurationError`.
   */
  transport?: IamTransport
  /** `Retry-After` seconds on a 503 when the library has no hint (default: no header). */
  retryAfter?: number
  /** Register the module globally (default true). */
  global?: boolean
  /** Alias of `global`. */
  isGlobal?: boolean
}

export interface IamModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => Omit<IamModuleOptions, 'global' | 'isGlobal'> | Promise<Omit<IamModuleOptions, 'global' | 'isGlobal'>>
  inject?: Array<InjectionToken | OptionalFactoryDependency>
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
/** 401 (+ WWW-Authenticate) unless the request has a valid session of the route's tenant. */
export declare class SessionGuard extends IamGuard {}
/** Resolves the session when there is one; never refuses except on an outage (503). */
export declare class OptionalSessionGuard extends IamGuard {}
/** 403 unless the session has one of the `@RequireRole(...)` roles. */
export declare class RoleGuard extends IamGuard {}
/** 403 unless Keto allows the `@RequirePermission(...)` check; 503 when Keto is down. */
export declare class PermissionGuard extends IamGuard {}
/** An OAuth2 bearer token from Hydra with the `@RequireScope(...)` scopes. */
export declare class OAuth2Guard extends IamGuard {}

export interface RequirePermissionMetadata {
  namespace: string
  relation: string
  /** The Keto object, or how to find it in the request (e.g. `(req) => req.params.id`). */
  object: string | ((req: IamHttpRequest & { params: Record<string, string> }) => string | Promise<string>)
  /**
   * Default: the session's identity id. Else a fixed id or subject set, or computed from the
   * caller's session only — the callback never receives the request (a subject named in a URL,
   * header or body would pick whose permission is checked); a two-parameter callback throws.
   */
  subject?: string | SubjectSet | ((session: Session) => string | SubjectSet | Promise<string | SubjectSet>)
  fresh?: boolean
}

/** Skip SessionGuard, RoleGuard, PermissionGuard and OAuth2Guard on this route or controller. */
export declare function Public(): CustomDecorator<string>
/** The tenant of the guards on this route or controller. */
export declare function Tenant(name: string): CustomDecorator<string>
/** RoleGuard: any of these roles; `@RequireRole('a', 'b', { match: 'all' })` needs every one. */
export declare function RequireRole(...roles: [string, ...(string | { match: 'any' | 'all' })[]]): CustomDecorator<string>
export declare function RequirePermission(permission: RequirePermissionMetadata): CustomDecorator<string>
export declare function RequireScope(...scopes: string[]): CustomDecorator<string>
/** The session (null under OptionalSessionGuard without one); `@CurrentUser('identity')` picks a field. */
export declare function CurrentUser(field?: keyof Session): ParameterDecorator
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
