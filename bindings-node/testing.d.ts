// Types of `ory-iam/testing`: in-memory Ory servers behind an ordinary `Iam`.
import type { Iam, Secret } from './ory-iam'

/** The client configured as every fake tenant's `hydra.clientId` (any scope allowed unless `clientScope` is given). */
export declare const DEFAULT_CLIENT_ID: 'ory-iam-fake-client'
/** Keto's namespaces when `ketoNamespaces` is not given. */
export declare const DEFAULT_KETO_NAMESPACES: readonly string[]

/** Where the fake Hydra sends the browser for login (`?login_challenge=`), consent (`?consent_challenge=`) and errors. */
export declare const LOGIN_URL: 'http://app.fake.ory-iam.invalid/login'
export declare const CONSENT_URL: 'http://app.fake.ory-iam.invalid/consent'
export declare const ERROR_URL: 'http://app.fake.ory-iam.invalid/error'

/** A namespace as Keto's `namespaces` configuration lists it. */
export interface KetoNamespace {
  id?: number
  name: string
}

export interface FakeOryOptions {
  /** Tenant names; the first is the default tenant. Default `['customer']`. */
  tenants?: string[]
  /**
   * Kratos's identity schemas: schema id → JSON Schema; traits are validated against them.
   * Default: the built-in schema (`email`, `name.first`/`name.last`, `roles`) under `default`
   * and each tenant's name.
   */
  identitySchemas?: Record<string, Record<string, unknown>>
  /** Per tenant (each tenant is its own Kratos): tenant → schema id → JSON Schema; replaces `identitySchemas` for that tenant. */
  tenantIdentitySchemas?: Record<string, Record<string, Record<string, unknown>>>
  /** The schema of a create that names none. Default: the first schema (or the tenant's name). */
  defaultSchemaId?: string
  /** Keto's declared namespaces; others are `IamNotFoundError` (and never allowed). Default `DEFAULT_KETO_NAMESPACES`. */
  ketoNamespaces?: Array<string | KetoNamespace>
  /** The scopes `DEFAULT_CLIENT_ID` is registered with (space-separated or a list). Default: any scope. */
  clientScope?: string | string[]
}

export interface TenantOption {
  /** Default: the fake's default tenant. */
  tenant?: string
}

/** A session made by `createSession`. */
export interface FakeSessionCredential {
  sessionId: string
  /** A Kratos session token: `X-Session-Token` or `Authorization: Bearer` (not a cookie, as with Kratos). */
  token: Secret
  /** The `ory_kratos_session` cookie's value of the same session. */
  cookie: Secret
}

export interface FakeOAuth2Client extends TenantOption {
  clientId: string
  /** Omit for a public client. */
  clientSecret?: string | Secret
  /** Scopes the client may ask for (space-separated or a list). */
  scope?: string | string[]
}

export interface IssueTokenOptions extends TenantOption {
  clientId: string
  scope?: string | string[]
}

/** An authorization request as a browser would start it (`GET /oauth2/auth`). */
export interface AuthorizeRequest extends TenantOption {
  clientId: string
  redirectUri: string
  /** Space-separated or a list. */
  scope?: string | string[]
  /** At least 8 characters, as Hydra requires. */
  state: string
  /** PKCE (RFC 7636). */
  codeChallenge?: string
  /** `S256` or `plain` (Hydra's default when a challenge is given without it). */
  codeChallengeMethod?: 'S256' | 'plain'
  /** The requested access-token audience (space-separated or a list). */
  audience?: string | string[]
  nonce?: string
  /** Default `code`. */
  responseType?: string
}

export type FakeCredentialKind = 'bearer' | 'cookie' | 'sessionToken'

/** In-memory Kratos, Keto and Hydra. Unemulated endpoints answer 501 (`IamUpstreamUnavailableError`). */
export declare class FakeOry {
  constructor(options?: FakeOryOptions)
  /** An ordinary `Iam` talking to this fake (the same instance every time). */
  readonly iam: Iam
  readonly tenants: string[]
  readonly defaultTenant: string
  /** Log the identity in (an active 24 h session). Rejects with `IamNotFoundError` for an unknown identity. */
  createSession(identityId: string, options?: TenantOption): Promise<FakeSessionCredential>
  /** Make the session expire now (and drop it from the session cache). */
  expireSession(sessionId: string, options?: TenantOption): Promise<void>
  /** Register a client allowed the `client_credentials` grant for `scope`. */
  addOAuth2Client(client: FakeOAuth2Client): void
  /** An access token as Hydra would issue it to `clientId` (active for an hour, or until revoked). */
  issueToken(options: IssueTokenOptions): Promise<Secret>
  /** Start an authorization request as a browser would: the URL the fake Hydra redirects to (`LOGIN_URL?login_challenge=…`, or the client's `redirectUri` / `ERROR_URL` with `error`). */
  authorize(request: AuthorizeRequest): string
  /** Follow a login or consent `redirectTo` as the browser would: the next `Location` (`CONSENT_URL?consent_challenge=…`, or the client's `redirectUri` with `code` or `error`). */
  follow(url: string, options?: TenantOption): string
  /** Request headers carrying a session or access token. */
  headersFor(credential: FakeSessionCredential | Secret | string, options?: { kind?: FakeCredentialKind }): Record<string, string>
  /** Requests per emulated endpoint, e.g. `{ 'kratos-public GET sessions/whoami': 2 }`. */
  requests(): Record<string, number>
}
