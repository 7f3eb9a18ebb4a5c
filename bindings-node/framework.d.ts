// Types of the testing helpers shared by `ory-iam/express` and `ory-iam/nestjs` (framework.js is
// internal; both entries re-export these).
import type { Secret } from './ory-iam'
import type { FakeCredentialKind, FakeOry } from './testing'

/** What to log in: an existing identity id, or an identity to create first. */
export type FakeUser = string | { traits?: Record<string, unknown>; schemaId?: string; metadataPublic?: unknown; metadataAdmin?: unknown }

export interface FakeLogin {
  identityId: string
  sessionId: string
  token: Secret
  /** Ready for fetch/supertest. */
  headers: Record<string, string>
}

export interface FakeLoginOptions {
  tenant?: string
  /** How the request carries the session token (default bearer). */
  kind?: FakeCredentialKind
}

/** Log a user into the fake (creating the identity when given one). */
export declare function loginAs(fake: FakeOry, user: FakeUser, options?: FakeLoginOptions): Promise<FakeLogin>
/** An access token of the fake's Hydra (default client: `DEFAULT_CLIENT_ID`). */
export declare function bearerFor(fake: FakeOry, options?: { clientId?: string; scope?: string | string[]; tenant?: string }): Promise<{ token: Secret; headers: Record<string, string> }>

