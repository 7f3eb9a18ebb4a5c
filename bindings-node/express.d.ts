// Types of `ory-iam/express` (express.js).
import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import type { Iam, IamMachinePrincipal, Identity, Session, SubjectSet } from './ory-iam'

/** What the middleware resolved for this request, on `req.iam`. */
export interface IamRequestState {
  /** The tenant the session (or token) was resolved for. */
  tenant?: string
  /** `currentUser`: the session; `optionalUser`: the session or null; undefined when not asked. */
  session?: Session | null
  /** `requireToken`: the OAuth2 client or subject behind the bearer token. */
  principal?: IamMachinePrincipal
}

/**
 * What the middleware shows as `req.user`: the session's identity without `metadataAdmin`, or
 * (after `requireToken()`) the machine principal. Not declared on Express's `Request` (Passport
 * and express-session declare `user` and `session`; when they own them, ory-iam leaves them
 * alone): cast, or read the typed `req.iam`.
 */
export type IamUser = Omit<Identity, 'metadataAdmin'> | IamMachinePrincipal
/** `req` with what the middleware attached (no express-session / Passport on the route). */
export type IamRequest = Request & { user?: IamUser; session?: Session }

/** The rule turning a caller's id into its Keto subject (`(id) => \`user:${id}\`` for ory-nestjs's data). */
export type SubjectRule = (id: string, caller: { kind: 'identity' | 'machine'; tenant?: string }) => string | SubjectSet | Promise<string | SubjectSet>

/** What a health route answers (200 when `up`, else 503). Names only. */
export interface IamHealthReport {
  status: 'up' | 'down'
  /** tenant → product (`kratos-public`, `keto-read`, …) → up | down */
  tenants: Record<string, Record<string, 'up' | 'down'>>
}

declare global {
  namespace Express {
    interface Request {
      /** Set by `ory-iam/express` middleware. */
      iam?: IamRequestState
    }
  }
}

export interface IamExpressOptions {
  /** The tenant, fixed or per request; default: the Iam's default tenant. */
  tenant?: string | ((req: Request) => string | Promise<string>)
  /** The roles of a session; default `identity.metadataPublic.roles` when set, else `identity.traits.roles`. */
  roles?: (session: Session, req: Request) => string[] | Promise<string[]>
  /**
   * The Keto subject of a caller whose requirement names none: default the bare id (identity
   * id, or the OAuth2 client id after `requireToken()`); `(id) => \`user:${id}\`` for ory-nestjs's data.
   */
  subject?: SubjectRule
  /**
   * Narrows the tenant's configured `transport` (`iam.transportOf(tenant)`): the credentials
   * accepted and the 401 challenge (`'bearer'` for an API next to a cookie UI: a cookie is then
   * not accepted). Widening it throws `IamConfigurationError`.
   */
  transport?: IamTransport
  /** `Retry-After` seconds on a 503 when the library has no hint (default: no header). */
  retryAfter?: number
}

/** The last argument of `requireRole` / `@RequireRole`: any (default) or all of the roles. */
export interface RoleMatch {
  match: 'any' | 'all'
}

export type IamTransport = 'cookie' | 'bearer' | 'cookie-or-bearer' | 'oathkeeper'

export interface RequirePermissionOptions {
  /** The Keto object, or how to find it in the request (e.g. `(req) => req.params.id`); nothing (undefined, null, '') → 400. */
  object: string | ((req: Request) => string | undefined | null | Promise<string | undefined | null>)
  /**
   * Default: `options.subject` over the caller's id, else that id. Else a fixed id or subject set, or computed from the
   * caller's session only — the callback never receives the request (a subject named in a URL,
   * header or body would pick whose permission is checked); a two-parameter callback throws.
   */
  subject?: string | SubjectSet | ((session: Session) => string | SubjectSet | Promise<string | SubjectSet>)
  /** Bypass the permission decision cache. */
  fresh?: boolean
}

export interface RequireTokenOptions {
  /** Every one of these scopes is required (a space-separated string or a list). */
  scope?: string | string[]
  /** auto | jwt | introspect; default: the tenant's `hydra.bearer_mode` (auto) */
  mode?: string
  /** The audience the token must carry; default: the tenant's `hydra.audience` */
  audience?: string
}

export interface IamExpress {
  /** 401 (+ `WWW-Authenticate`) unless the request has a valid session; sets `req.iam.session`. */
  currentUser(): RequestHandler
  /** `req.iam.session` is the session or null; a Kratos outage is still a 503. */
  optionalUser(): RequestHandler
  /**
   * 403 unless the caller has any of `roles`; `requireRole('a', 'b', { match: 'all' })` needs every
   * one. After `requireToken()`, the token's scopes are its roles. Refusals are audited (`authz.role.deny`).
   */
  requireRole(...roles: [string, ...(string | RoleMatch)[]]): RequestHandler
  /** 403 unless Keto allows the subject `relation` on `namespace:object`; 503 when Keto is down. */
  requirePermission(namespace: string, relation: string, options: RequirePermissionOptions): RequestHandler
  /** An OAuth2 bearer token from Hydra; sets `req.iam.principal`. */
  requireToken(options?: RequireTokenOptions): RequestHandler
  /** The correlation scope alone (see `iamRequestId`); every other middleware opens it too. */
  requestId(): RequestHandler
  /** A readiness route over `iam.health()` (see `iamHealth`). */
  health(): RequestHandler
  /** Answers IamErrors: 401 + WWW-Authenticate, 403, 400, 404, 409, 503 + Retry-After; passes others on. */
  errorHandler(): ErrorRequestHandler
  /** The same middleware bound to another tenant (one router per tenant). */
  forTenant(name: string): IamExpress
}

/** The HTTP answer ory-iam gives for an error (`httpAnswer` of the core; headers lower-case). */
export type IamHttpError = import('./ory-iam').HttpAnswer

/** Where `httpErrorOf` takes the challenge from when the middleware recorded none. */
export interface HttpErrorOptions {
  /** `Retry-After` seconds on a 503 when the library has no hint. */
  retryAfter?: number
  /** The 401 challenge's transport; default the error's tenant's transport in `iam`, else both. */
  transport?: IamTransport
  /** Reads the error's tenant's configured transport. */
  iam?: Iam
  /** The request: whether it carried a bearer token. */
  req?: { headers: Record<string, unknown> }
}

export declare function iamExpress(iam: Iam, options?: IamExpressOptions): IamExpress
/**
 * The rest of the request runs inside its correlation scope: every Ory call carries its
 * `X-Request-Id` (when valid, else a new UUID), echoed on the response. `app.use(iamRequestId())`
 * before the routes covers routes without ory-iam middleware; the middleware above does it anyway.
 */
export declare function iamRequestId(): RequestHandler
/** A readiness route over `iam.health()`: 200 `{ status: 'up', tenants }`, else 503 with `status: 'down'`. */
export declare function iamHealth(iam: Iam): RequestHandler
export declare function iamErrorHandler(options?: Omit<HttpErrorOptions, 'req'>): ErrorRequestHandler
/** The HTTP answer for an IamError, or null when it is not one. */
export declare function httpErrorOf(err: unknown, options?: HttpErrorOptions): IamHttpError | null

// --- testing (over `ory-iam/testing`'s FakeOry)

import type { FakeUser, FakeLogin, FakeLoginOptions } from './framework'
export { loginAs, bearerFor, type FakeUser, type FakeLogin, type FakeLoginOptions } from './framework'

export interface IamExpressTesting {
  fake: import('./testing').FakeOry
  iam: Iam
  /** `iamExpress(fake.iam, options)`. */
  auth: IamExpress
  loginAs(user: FakeUser, options?: FakeLoginOptions): Promise<FakeLogin>
  bearerFor(options?: { clientId?: string; scope?: string | string[]; tenant?: string }): Promise<{ token: import('./ory-iam').Secret; headers: Record<string, string> }>
}
/** The middleware over a FakeOry, with helpers that log users in (tenant defaults to `options.tenant`). */
export declare function iamExpressTesting(fake: import('./testing').FakeOry, options?: IamExpressOptions): IamExpressTesting
