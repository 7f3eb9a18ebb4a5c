// ESM entry of `ory-iam/nestjs`: the CommonJS module's exports as named exports. Node's ESM loader
// cannot see names through `module.exports = { ... }` reliably, so they are listed here;
// tests/node/esm.test.mjs fails when this list and the CommonJS exports drift apart.
import cjs from './nestjs.js'

export const {
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
  Anonymous,
  Tenant,
  RequireRole,
  RequirePermission,
  RequireScope,
  CurrentUser,
  CurrentSession,
  CurrentPrincipal,
  IamHealthIndicator,
  IamHealthCheckError,
  IamRequestIdInterceptor,
  IamExceptionFilter,
  toHttpException,
  isIamError,
  META,
  IamTestingModule,
  FAKE_ORY,
  loginAs,
  bearerFor,
} = cjs
export default cjs
