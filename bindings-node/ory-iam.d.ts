// Public types of the `ory-iam` package: the generated native declarations (index.d.ts)
// plus the error classes added by ory-iam.js.
import type { AuditEvent, Iam as NativeIam } from './index'
export { Secret, setLogCallback, httpAnswer, rolesOf } from './index'
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
  ConsentService,
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
  CheckResult,
  ExpandQuery,
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
  CreateIdentityInput,
  Flow,
  FlowKindName,
  FlowResult,
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
  MetadataService,
  RecoveryAddress,
  ServerVersions,
  Session,
  SessionPage,
  SessionService,
  VerifiableAddress,
} from './index'

/** One offending input or config path and why. */
export interface IamFieldError {
  path: string
  reason: string
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

export type Iam = NativeIam
export declare const Iam: {
  /** From an object of the API.md config shape (camelCase or snake_case keys). With
   * `audit: { sink: 'callback' }`, `onAudit` receives the (redacted) audit events. */
  fromConfig(config: Record<string, unknown>, onAudit?: (event: AuditEvent) => void): Iam
  /** From a YAML or JSON file. */
  fromFile(path: string): Iam
  /** From `ORY_IAM_CONFIG_FILE` and/or `ORY_IAM__<PATH>` environment variables. */
  fromEnv(): Iam
}
