// Typed configuration literals: `tsc` checks them against the `IamConfig` typings
// (tests/node/tsconfig.json), and tests/node/config-types.test.js compiles and runs this file to
// build an Iam from each. Together they set every key the config reader accepts: `snakeConfig`
// and `clusterConfig` in the reference's snake_case, `camelConfig` and `sentinelConfig` in
// camelCase (one Redis topology per config: they exclude each other).
import type { IamConfig, SnakeOrCamel, TenantConfig } from '../../bindings-node/ory-iam'

// ca.pem, client.pem and client.key, read when an Iam is built (config-types.test.js writes them).
const tls = process.env.ORY_IAM_TYPED_TLS_DIR ?? '/etc/ory-iam/tls'

const tenant: TenantConfig = {
  mode: 'cloud',
  transport: 'oathkeeper',
  trust_proxy: true,
  kratos: { public_url: 'http://127.0.0.1:4433', admin_url: process.env.KRATOS_ADMIN_URL, admin_token: 'kratos-token', session_cookie_name: 'ory_kratos_session' },
  keto: { read_url: 'http://127.0.0.1:4466', write_url: 'http://127.0.0.1:4467', api_key: 'keto-key', batch_size: 10, opl_url: 'http://127.0.0.1:4469' },
  hydra: {
    public_url: 'http://127.0.0.1:4444',
    admin_url: 'http://127.0.0.1:4445',
    admin_token: 'hydra-token',
    issuer: 'http://127.0.0.1:4444/',
    client_id: 'billing-service',
    client_secret: 'client-secret',
    audience: 'https://api.example.com',
    bearer_mode: 'introspect',
    leeway_ms: 5000,
  },
  cloud: { project_slug: 'happy-cat-123', api_key: 'ory_pat_x' },
  console: { url: 'https://api.console.ory.sh', workspace_api_key: 'ory_wak_x' },
  oathkeeper: {
    verifier: 'jwt',
    identity_header: 'Authorization',
    signature_header: 'X-User-Signature',
    signer_keys: ['k1', 'k2'],
    replay_max_entries: 1000,
    jwks: { url: 'http://127.0.0.1:4456/.well-known/jwks.json', keys: { keys: [] }, algorithms: ['RS256', 'ES256'] },
    audience: ['my-app'],
    issuer: 'http://127.0.0.1:4455/',
    clock_skew_ms: 2000,
    replay_protection: { enabled: false, ttl_ms: 60000 },
  },
  cache: {
    session_ttl_ms: 60000,
    permission_ttl_ms: 5000,
    permission_max_entries: 1000,
    jwks_ttl_ms: 600000,
    jwks_stale_ms: 3600000,
    introspection_ttl_ms: 1000,
    introspection_max_entries: 1000,
  },
  http: {
    timeout_ms: 5000,
    connect_timeout_ms: 2000,
    retries: 2,
    backoff_base_ms: 50,
    backoff_max_ms: 2000,
    max_body_bytes: 8 * 1024 * 1024,
    breaker_threshold: 5,
    breaker_open_ms: 10000,
    rate_limit_per_sec: 100,
    rate_limit_burst: 10,
    ca_file: `${tls}/ca.pem`,
    client_cert_file: `${tls}/client.pem`,
    client_key_file: `${tls}/client.key`,
  },
}

export const snakeConfig: IamConfig = {
  tenants: { customer: tenant },
  default_tenant: 'customer',
  session_cache: {
    redis: {
      url: 'rediss://127.0.0.1:6380/0',
      keys: ['MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='],
      key_prefix: 'my-app',
      ca_file: `${tls}/ca.pem`,
      client_cert_file: `${tls}/client.pem`,
      client_key_file: `${tls}/client.key`,
    },
  },
  audit: { sink: 'none', redact_patterns: ['acct-[0-9]+'] },
}

export const camelConfig: SnakeOrCamel<IamConfig> = {
  tenants: {
    customer: {
      mode: 'cloud',
      transport: 'oathkeeper',
      trustProxy: true,
      kratos: { publicUrl: 'http://127.0.0.1:4433', adminUrl: 'http://127.0.0.1:4434', adminToken: 'kratos-token', sessionCookieName: 'ory_kratos_session' },
      keto: { readUrl: 'http://127.0.0.1:4466', writeUrl: 'http://127.0.0.1:4467', apiKey: 'keto-key', batchSize: 10 },
      hydra: {
        publicUrl: 'http://127.0.0.1:4444',
        adminUrl: 'http://127.0.0.1:4445',
        adminToken: 'hydra-token',
        issuer: 'http://127.0.0.1:4444/',
        clientId: 'billing-service',
        clientSecret: 'client-secret',
        audience: 'https://api.example.com',
        bearerMode: 'jwt',
        leewayMs: 5000,
      },
      cloud: { projectSlug: 'happy-cat-123', apiKey: 'ory_pat_x' },
      console: { url: 'https://api.console.ory.sh', workspaceApiKey: 'ory_wak_x' },
      oathkeeper: { identityHeader: 'X-User', signatureHeader: 'X-User-Signature', signerKeys: ['k1'], replayMaxEntries: 1000 },
      cache: {
        sessionTtlMs: 60000,
        permissionTtlMs: 5000,
        permissionMaxEntries: 1000,
        jwksTtlMs: 600000,
        jwksStaleMs: 3600000,
        introspectionTtlMs: 1000,
        introspectionMaxEntries: 1000,
      },
      http: {
        timeoutMs: 5000,
        connectTimeoutMs: 2000,
        retries: 2,
        backoffBaseMs: 50,
        backoffMaxMs: 2000,
        maxBodyBytes: 8 * 1024 * 1024,
        breakerThreshold: 5,
        breakerOpenMs: 10000,
        rateLimitPerSec: 100,
        rateLimitBurst: 10,
      },
    },
  },
  defaultTenant: 'customer',
  sessionCache: { memory: { maxEntries: 1000 } },
  audit: { sink: 'none', redactPatterns: ['acct-[0-9]+'] },
}

export const clusterConfig: IamConfig = {
  tenants: { customer: { kratos: { public_url: 'http://127.0.0.1:4433' } } },
  session_cache: {
    redis: {
      cluster: ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001'],
      keys: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
      wait_replicas: 1,
      wait_timeout_ms: 1000,
    },
  },
}

export const sentinelConfig: SnakeOrCamel<IamConfig> = {
  tenants: { customer: { kratos: { publicUrl: 'http://127.0.0.1:4433' } } },
  sessionCache: {
    redis: {
      sentinel: {
        urls: ['redis://127.0.0.1:26379', 'redis://127.0.0.1:26380'],
        masterName: 'main',
        masterUsername: 'app',
        masterPassword: 'sentinel-master-password-7f3a9c',
        db: 2,
      },
      keys: ['MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='],
      waitReplicas: 0,
    },
  },
}
