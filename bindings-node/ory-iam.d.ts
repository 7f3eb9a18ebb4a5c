// Public types of the `ory-iam` package: the generated native declarations (index.d.ts)
// plus the error classes added by ory-iam.js.
import type { AuditEvent, Iam as NativeIam, LogRecord } from './index'
export { Secret, httpAnswer, rolesOf, requestIdFor } from './index'

/** A log record's level; a logger gets the records at its level and more severe ones. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace'
/** Receives the library's log records (`setLogger`). */
export type IamLogger = (record: LogRecord) => void
/**
 * Where the library's log records go (audit events of the `log` sink — failures and denials at
 * `warn` —, cache and TLS warnings, a `debug` record per Ory operation). Default since the
 * package loads: `consoleLogger()` at `info`. `null` drops them. A logger that throws loses the
 * record, never the call.
 */
export declare function setLogger(logger: IamLogger | null, options?: { level?: LogLevel }): void
/** One line per record on `target` (default `console`): its error/warn/info/debug methods. */
export declare function consoleLogger(target?: Pick<Console, 'error' | 'warn' | 'info' | 'debug' | 'log'>): IamLogger
/** Over a pino logger: `logger[level]({ target, ...fields }, message)`. */
export declare function pinoLogger(logger: { info(obj: object, msg?: string): void; [level: string]: any }): IamLogger
/** Over NestJS's `Logger` / a `LoggerService`: warn → warn, info → log, trace → verbose, … */
export declare function nestLogger(logger: { log(message: any, ...rest: any[]): any; [method: string]: any }): IamLogger
/** The raw hook: every record at `level` (default `trace`) and above; replaces the logger. */
export declare function setLogCallback(callback: ((record: LogRecord) => void) | null, level?: LogLevel): void
/**
 * Run `fn(requestId)` so that every Ory call it makes (through any ory-iam handle, across awaits)
 * carries `X-Request-Id: <requestId>`, where `requestId` is `requestIdFor(incoming)` (the incoming
 * id when it is 1–200 visible ASCII characters, else a new UUID v4). Returns what `fn` returns.
 */
export declare function runWithRequestId<T>(incoming: string | string[] | undefined | null, fn: (requestId: string) => T): T
/** The id of the innermost `runWithRequestId` around the caller, or `undefined`. */
export declare function currentRequestId(): string | undefined
export type {
  AuditEvent,
  HttpAnswer,
  HttpAnswerContext,
  HttpAnswerFacts,
  HttpErrorBody,
  HttpFieldError,
  ApiKey,
  CreateApiKeyInput,
  CreateProjectInput,
  EventStream,
  EventStreamInputJs,
  EventsService,
  Project,
  ProjectAdminService,
  ProjectMetadata,
  Workspace,
  WorkspaceAdminService,
  WorkspacePage,
  Credential,
  AuthenticateOptions,
  IamMachinePrincipal,
  AuthorizationCodeGrant,
  ChallengeRequest,
  ClientLifespans,
  ConsentService,
  ConsentSession,
  ConsentSessionPage,
  ListConsentSessionsOptions,
  LogoutUrlOptions,
  OidcConfiguration,
  RevokeConsentSessionsOptions,
  RevokeLoginSessionsOptions,
  UserInfo,
  CreateJwkSetOptions,
  Introspection,
  JsonWebKeySet,
  JwkService,
  JwtBearerGrant,
  ListOAuth2ClientsOptions,
  ListTrustedIssuersOptions,
  OAuth2Client,
  OAuth2ClientPage,
  OAuth2ClientService,
  RedirectTo,
  RefreshGrant,
  RevokeTokenOptions,
  TokenService,
  TokenSet,
  TrustedIssuer,
  TrustedIssuerPage,
  TrustedIssuerService,
  TrustIssuerInput,
  CheckOptions,
  BatchCreateResult,
  CheckResult,
  ExpandQuery,
  DeleteMatchingQuery,
  OplSyntaxError,
  OplPosition,
  PermissionPatch,
  PermissionQuery,
  PermissionService,
  PermissionTuple,
  PermissionTuplePage,
  SubjectSet,
  SubjectTree,
  LogRecord,
  CourierMessage,
  CourierMessagePage,
  CourierService,
  IdentitySchema,
  ListCourierMessagesOptions,
  SchemaService,
  AddressInput,
  CourierGetOptions,
  WorkspaceInput,
  CreateIdentityInput,
  Flow,
  FlowKindName,
  FlowResult,
  FlowError,
  FlowService,
  InitiateFlowOptions,
  LogoutFlow,
  SubmitFlowOptions,
  Ui,
  UiNode,
  UiText,
  Health,
  HealthProbe,
  Staleness,
  Identity,
  IdentityPage,
  IdentityService,
  JsonPatchOperation,
  ListIdentitiesOptions,
  ListSessionsOptions,
  ListMySessionsOptions,
  MetadataService,
  RecoveryAddress,
  Recovery,
  RecoveryOptions,
  ServerVersions,
  UnknownVersion,
  Session,
  SessionPage,
  SessionService,
  VerifiableAddress,
} from './index'

/** One offending input or config path and why. */
export interface IamFieldError {
  /** The input or config path (`traits.email`, `ids[1]`, `tenants.x.kratos.admin_url`). */
  path: string
  /** Why; for a field Ory rejected, Ory's message with any quoted submitted value masked (`"***"`). */
  reason: string
  /** For a field Ory rejected: its JSON Pointer in the submitted document (`/traits/email`). */
  pointer?: string
  /** For a field Ory rejected: Kratos's message id, when Kratos gives one. */
  messageId?: number
}

/** Base of every error thrown by ory-iam. Compare `code`, never the message. */
export declare class IamError extends Error {
  readonly code: string
  readonly status?: number
  readonly tenant?: string
  readonly requestId?: string
  /** Seconds, for `upstream_unavailable` after 429/503 with Retry-After. */
  readonly retryAfter?: number
  readonly fields: IamFieldError[]
}
export declare class IamConfigurationError extends IamError { readonly code: 'configuration' }
export declare class IamUnauthorizedError extends IamError { readonly code: 'unauthorized' }
export declare class IamForbiddenError extends IamError { readonly code: 'forbidden' }
export declare class IamNotFoundError extends IamError { readonly code: 'not_found' }
export declare class IamConflictError extends IamError { readonly code: 'conflict' }
export declare class IamValidationError extends IamError { readonly code: 'validation' }
export declare class IamUpstreamUnavailableError extends IamError { readonly code: 'upstream_unavailable' }

// Typed configuration: the shape `Iam.fromConfig` reads, key for key as docs/config.md writes it
// (tests/node/config-types.test.js checks that these name exactly the keys the reader accepts).
// Keys are declared in snake_case; `SnakeOrCamel` lets every object be written in camelCase too.
// Secrets (tokens, API keys, the Redis URL, signer keys) are plain strings: the core keeps them
// in a `Secret`. Integer keys are numbers (the reader also takes digit strings, as environment
// variables give them).

/** `public_url` → `publicUrl`: how the config reader converts a snake_case key. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S
/** `T` with every key in camelCase (values unchanged). */
export type CamelCased<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] }
/** A config object written with the snake_case keys of the reference or their camelCase forms. */
export type SnakeOrCamel<T> = T | CamelCased<T>

/** Where a tenant's session credentials are looked for (`tenants.<name>.transport`). */
export type IamTransport = 'cookie' | 'bearer' | 'cookie-or-bearer' | 'oathkeeper'

/** `tenants.<name>.kratos`: Ory Kratos. */
export interface KratosConfig {
  public_url: string
  /** Default: none (cloud mode: `public_url`). */
  admin_url?: string
  /** Secret. Default: none (cloud mode: `cloud.api_key`). */
  admin_token?: string
  /** Default `ory_kratos_session`. */
  session_cookie_name?: string
}

/** `tenants.<name>.keto`: Ory Keto. */
export interface KetoConfig {
  read_url: string
  write_url: string
  /** Secret. Default: none (cloud mode: `cloud.api_key`). */
  api_key?: string
  /** Tuples per batch-check request, 1–65535; default 10. */
  batch_size?: number
  /** Keto's OPL server (`serve.opl`, port 4469), for `permission.checkOplSyntax`. */
  opl_url?: string
}

/** `tenants.<name>.hydra`: Ory Hydra. */
export interface HydraConfig {
  public_url: string
  admin_url: string
  /** Secret. Default: none (cloud mode: `cloud.api_key`). */
  admin_token?: string
  /** The `iss` of Hydra's JWT access tokens; default `public_url`. */
  issuer?: string
  client_id?: string
  /** Secret of `client_id`. */
  client_secret?: string
  /** The audience every bearer token must carry. */
  audience?: string
  /** `token.authenticate`'s default mode; default `auto`. */
  bearer_mode?: 'auto' | 'jwt' | 'introspect'
  /** Clock skew allowed on local JWT checks, at most 300000; default 5000. */
  leeway_ms?: number
}

/** `tenants.<name>.cloud`: the Ory Network project of a `cloud` tenant. */
export interface CloudConfig {
  project_slug: string
  /** Secret: a project API key. */
  api_key: string
}

/** `tenants.<name>.console`: the Ory Network console API. */
export interface ConsoleConfig {
  /** Default `https://api.console.ory.sh`. */
  url?: string
  /** Secret: a workspace API key. */
  workspace_api_key?: string
}

/** `tenants.<name>.oathkeeper`: keys of the Oathkeeper identity envelope. */
export interface OathkeeperConfig {
  /** `hmac` (default: the signed envelope) or `jwt` (Oathkeeper's id_token mutator). */
  verifier?: 'hmac' | 'jwt'
  /** `jwt`: Oathkeeper's keys, from `url` or inline `keys`; `algorithms` default RS256, ES256. */
  jwks?: SnakeOrCamel<OathkeeperJwksConfig>
  /** `jwt`: the token's `aud` must contain one of these. */
  audience?: string | readonly string[]
  /** `jwt`: the token's `iss` must be this. */
  issuer?: string
  /** `jwt`: tolerance for exp/nbf/iat, ms (default 5000). */
  clock_skew_ms?: number
  /** Refuse a `jti` seen before (default: on for hmac, off for jwt). */
  replay_protection?: SnakeOrCamel<OathkeeperReplayConfig>
  /** Default `X-User` (`Authorization` with the jwt verifier). */
  identity_header?: string
  /** Default `X-User-Signature`. */
  signature_header?: string
  /** Secrets: HMAC keys, any of which may sign. */
  signer_keys?: readonly string[]
  /** Envelope ids remembered against replay, 1–100000000; default 100000. */
  replay_max_entries?: number
}

/** `tenants.<name>.oathkeeper.replay_protection`. */
export interface OathkeeperReplayConfig {
  enabled?: boolean
  /** Remember an id at most this long, ms (default: until its `exp`). */
  ttl_ms?: number
}

/** `tenants.<name>.oathkeeper.jwks` (`verifier: 'jwt'`). */
export interface OathkeeperJwksConfig {
  url?: string
  keys?: { keys: readonly Record<string, unknown>[] }
  algorithms?: string | readonly string[]
}

/** `tenants.<name>.cache`: cache lifetimes (ms) and sizes of a tenant. */
export interface CacheConfig {
  session_ttl_ms?: number
  permission_ttl_ms?: number
  permission_max_entries?: number
  jwks_ttl_ms?: number
  jwks_stale_ms?: number
  introspection_ttl_ms?: number
  introspection_max_entries?: number
}

/** `tenants.<name>.http`: HTTP behaviour towards a tenant's servers. */
export interface HttpConfig {
  timeout_ms?: number
  connect_timeout_ms?: number
  retries?: number
  backoff_base_ms?: number
  backoff_max_ms?: number
  max_body_bytes?: number
  breaker_threshold?: number
  breaker_open_ms?: number
  rate_limit_per_sec?: number
  rate_limit_burst?: number
  /** PEM bundle of extra CA certificates (besides the OS trust store and bundled roots). */
  ca_file?: string
  /** PEM client certificate (chain) for mutual TLS; needs `client_key_file`. */
  client_cert_file?: string
  client_key_file?: string
}

/** `tenants.<name>`: one tenant (self-hosted: at least one of kratos, keto, hydra, console). */
export interface TenantConfig {
  /** Default `self-hosted`. */
  mode?: 'self-hosted' | 'self_hosted' | 'cloud'
  /** Default `cookie-or-bearer`. */
  transport?: IamTransport
  /** Take the incoming `X-Request-Id`; default false. */
  trust_proxy?: boolean
  kratos?: SnakeOrCamel<KratosConfig>
  keto?: SnakeOrCamel<KetoConfig>
  hydra?: SnakeOrCamel<HydraConfig>
  cloud?: SnakeOrCamel<CloudConfig>
  console?: SnakeOrCamel<ConsoleConfig>
  oathkeeper?: SnakeOrCamel<OathkeeperConfig>
  cache?: SnakeOrCamel<CacheConfig>
  http?: SnakeOrCamel<HttpConfig>
}

/** `session_cache.memory`: the in-process session cache. */
export interface MemorySessionCacheConfig {
  /** Default 100000. */
  max_entries?: number
}

/** `session_cache.redis.sentinel`: a master found through Redis Sentinel. */
export interface RedisSentinelConfig {
  /** Secrets: Sentinel URLs (`redis://[:password@]host:26379`); a list or one comma-separated string. */
  urls: readonly string[] | string
  /** The master's name in the Sentinels' configuration. */
  master_name: string
  master_username?: string
  /** Secret. */
  master_password?: string
  db?: number
}

/**
 * `session_cache.redis`: a Redis session cache. Exactly one of `url` (one node), `cluster`
 * (seed nodes of a Redis Cluster) and `sentinel`.
 */
export interface RedisSessionCacheConfig {
  /** Secret: a `redis://` or `rediss://` URL of one node. */
  url?: string
  /** Secrets: seed node URLs of a Redis Cluster; a list or one comma-separated string. */
  cluster?: readonly string[] | string
  sentinel?: SnakeOrCamel<RedisSentinelConfig>
  /**
   * Secrets, required: base64 of 32 random bytes each; the first seals new entries, all open
   * them (rotation). A list, or one comma-separated string.
   */
  keys: readonly string[] | string
  /** Namespace of every Redis name (default `ory-iam`). */
  key_prefix?: string
  /**
   * Replicas that must acknowledge an eviction (Redis `WAIT`) before a revoke, logout or
   * identity change reports success, else `upstream_unavailable`; 0 to not wait. Default 1
   * with `cluster` and `sentinel`, 0 with `url`; at most 16.
   */
  wait_replicas?: number
  /** How long an eviction waits for those replicas (the `WAIT` timeout), in ms; default 1000, between 10 and 10000. */
  wait_timeout_ms?: number
  /** `rediss://` only: PEM CA bundle instead of the OS trust store, and a client certificate. */
  ca_file?: string
  client_cert_file?: string
  client_key_file?: string
}

/** `session_cache` as an object: `{ memory: {...} }` or `{ redis: {...} }`. */
export interface SessionCacheConfig {
  memory?: SnakeOrCamel<MemorySessionCacheConfig>
  redis?: SnakeOrCamel<RedisSessionCacheConfig>
}

/** `audit`: where audit events go (`callback`: to `onAudit`). */
export interface AuditConfig {
  /** Default `log`. */
  sink?: 'log' | 'none' | 'callback'
  /** Regular expressions (Rust `regex` syntax); their matches in any string of an event become `***`. */
  redact_patterns?: string | string[]
}

/** The whole configuration (docs/config.md). Write it as `SnakeOrCamel<IamConfig>` to use
 * camelCase at the top level too (nested objects accept both already). */
export interface IamConfig {
  /** Tenant name → tenant (names are never case-converted). */
  tenants: Record<string, SnakeOrCamel<TenantConfig>>
  /** Required with several tenants. */
  default_tenant?: string
  /** Default `'none'`. */
  session_cache?: 'none' | 'memory' | SnakeOrCamel<SessionCacheConfig>
  /** Default `{ sink: 'log' }`. */
  audit?: SnakeOrCamel<AuditConfig>
}

export type Iam = NativeIam
export declare const Iam: {
  /** From a config object (docs/config.md; each object in snake_case or camelCase keys). With
   * `audit: { sink: 'callback' }`, `onAudit` receives the (redacted) audit events. */
  fromConfig(config: SnakeOrCamel<IamConfig>, onAudit?: (event: AuditEvent) => void): Iam
  /** From a YAML or JSON file. */
  fromFile(path: string): Iam
  /** From `ORY_IAM_CONFIG_FILE` and/or `ORY_IAM__<PATH>` environment variables. */
  fromEnv(): Iam
}
