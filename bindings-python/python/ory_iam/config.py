"""Typed configuration: ``TypedDict``s of the shape ``Iam.from_config`` reads (docs/config.md).

Annotate a config literal to have mypy/pyright check its keys and value types::

    from ory_iam import Iam
    from ory_iam.config import IamConfigDict

    config: IamConfigDict = {
        "tenants": {"customer": {"kratos": {"public_url": "http://127.0.0.1:4433"}}},
        "session_cache": "memory",
    }
    iam = Iam.from_config(config)

Keys are written in snake_case, as in the reference (the reader also takes camelCase, untyped).
``None`` means "not set" (the default applies), so ``os.environ.get(...)`` fits any optional key.
Secrets (tokens, API keys, the Redis URL, signer keys) are plain ``str``; the core keeps them in a
``Secret`` that never prints. Integer keys are ``int`` (the reader also takes digit strings, which
is what environment variables give). ``tests/python/test_config_types.py`` checks that these
types name exactly the keys the reader accepts.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

__all__ = [
    "IamConfigDict",
    "TenantConfigDict",
    "KratosConfigDict",
    "KetoConfigDict",
    "HydraConfigDict",
    "CloudConfigDict",
    "ConsoleConfigDict",
    "OathkeeperConfigDict",
    "CacheConfigDict",
    "HttpConfigDict",
    "SessionCacheConfigDict",
    "MemorySessionCacheConfigDict",
    "RedisSentinelConfigDict",
    "RedisSessionCacheConfigDict",
    "AuditConfigDict",
    "Mode",
    "Transport",
    "BearerMode",
    "AuditSink",
]

#: A tenant's ``mode``.
Mode = Literal["self-hosted", "self_hosted", "cloud"]
#: A tenant's ``transport`` setting: where its session credentials are looked for, and so which
#: ``WWW-Authenticate`` challenge its 401s carry.
Transport = Literal["cookie", "bearer", "cookie-or-bearer", "oathkeeper"]
#: ``hydra.bearer_mode``: how ``token.authenticate`` verifies a bearer token by default.
BearerMode = Literal["auto", "jwt", "introspect"]
#: ``audit.sink``.
AuditSink = Literal["log", "none", "callback"]

# Required keys sit in a base class, optional ones in a `total=False` subclass (Python 3.10 has no
# `typing.Required`).


class _KratosRequired(TypedDict):
    public_url: str


class KratosConfigDict(_KratosRequired, total=False):
    """``tenants.<name>.kratos``: Ory Kratos."""

    admin_url: Optional[str]
    admin_token: Optional[str]
    session_cookie_name: Optional[str]


class _KetoRequired(TypedDict):
    read_url: str
    write_url: str


class KetoConfigDict(_KetoRequired, total=False):
    """``tenants.<name>.keto``: Ory Keto."""

    api_key: Optional[str]
    batch_size: Optional[int]
    opl_url: Optional[str]


class _HydraRequired(TypedDict):
    public_url: str
    admin_url: str


class HydraConfigDict(_HydraRequired, total=False):
    """``tenants.<name>.hydra``: Ory Hydra."""

    admin_token: Optional[str]
    issuer: Optional[str]
    client_id: Optional[str]
    client_secret: Optional[str]
    audience: Optional[str]
    bearer_mode: Optional[BearerMode]
    leeway_ms: Optional[int]


class CloudConfigDict(TypedDict):
    """``tenants.<name>.cloud``: the Ory Network project of a ``cloud`` tenant (both keys are
    required in cloud mode; the section is ignored in self-hosted mode)."""

    project_slug: str
    api_key: str


class ConsoleConfigDict(TypedDict, total=False):
    """``tenants.<name>.console``: the Ory Network console API."""

    url: Optional[str]
    workspace_api_key: Optional[str]


class OathkeeperJwksConfigDict(TypedDict, total=False):
    """``tenants.<name>.oathkeeper.jwks``: Oathkeeper's keys (``verifier: jwt``)."""

    url: Optional[str]
    #: A JWK set given inline: ``{"keys": [...]}``.
    keys: Optional[Dict[str, Any]]
    algorithms: Union[List[str], str, None]


class OathkeeperReplayConfigDict(TypedDict, total=False):
    """``tenants.<name>.oathkeeper.replay_protection``."""

    enabled: Optional[bool]
    #: Remember an id at most this long (default: until its ``exp``).
    ttl_ms: Optional[int]


class OathkeeperConfigDict(TypedDict, total=False):
    """``tenants.<name>.oathkeeper``: the HMAC envelope (``verifier: hmac``) or Oathkeeper's
    ``id_token`` JWTs (``verifier: jwt``)."""

    verifier: Optional[Literal["hmac", "jwt"]]
    identity_header: Optional[str]
    signature_header: Optional[str]
    signer_keys: Optional[List[str]]
    replay_max_entries: Optional[int]
    jwks: Optional[OathkeeperJwksConfigDict]
    audience: Union[List[str], str, None]
    issuer: Optional[str]
    clock_skew_ms: Optional[int]
    replay_protection: Optional[OathkeeperReplayConfigDict]


class CacheConfigDict(TypedDict, total=False):
    """``tenants.<name>.cache``: cache lifetimes and sizes of a tenant."""

    session_ttl_ms: Optional[int]
    permission_ttl_ms: Optional[int]
    permission_max_entries: Optional[int]
    jwks_ttl_ms: Optional[int]
    jwks_stale_ms: Optional[int]
    introspection_ttl_ms: Optional[int]
    introspection_max_entries: Optional[int]


class HttpConfigDict(TypedDict, total=False):
    """``tenants.<name>.http``: HTTP behaviour towards a tenant's servers."""

    timeout_ms: Optional[int]
    connect_timeout_ms: Optional[int]
    retries: Optional[int]
    backoff_base_ms: Optional[int]
    backoff_max_ms: Optional[int]
    max_body_bytes: Optional[int]
    breaker_threshold: Optional[int]
    breaker_open_ms: Optional[int]
    rate_limit_per_sec: Optional[int]
    rate_limit_burst: Optional[int]
    #: PEM bundle of extra CA certificates (besides the OS trust store and bundled roots).
    ca_file: Optional[str]
    #: PEM client certificate (chain) for mutual TLS; needs ``client_key_file``.
    client_cert_file: Optional[str]
    client_key_file: Optional[str]


class TenantConfigDict(TypedDict, total=False):
    """``tenants.<name>``: one tenant. A self-hosted tenant needs at least one of ``kratos``,
    ``keto``, ``hydra`` or ``console``."""

    mode: Optional[Mode]
    transport: Optional[Transport]
    trust_proxy: Optional[bool]
    kratos: Optional[KratosConfigDict]
    keto: Optional[KetoConfigDict]
    hydra: Optional[HydraConfigDict]
    cloud: Optional[CloudConfigDict]
    console: Optional[ConsoleConfigDict]
    oathkeeper: Optional[OathkeeperConfigDict]
    cache: Optional[CacheConfigDict]
    http: Optional[HttpConfigDict]


class MemorySessionCacheConfigDict(TypedDict, total=False):
    """``session_cache.memory``: the in-process session cache."""

    max_entries: Optional[int]


class _RedisSentinelRequired(TypedDict):
    #: Secrets: Sentinel URLs (``redis://[:password@]host:26379``); a list or one comma-separated
    #: string.
    urls: Union[List[str], str]
    #: The master's name in the Sentinels' configuration.
    master_name: str


class RedisSentinelConfigDict(_RedisSentinelRequired, total=False):
    """``session_cache.redis.sentinel``: a master found through Redis Sentinel."""

    master_username: Optional[str]
    #: Secret.
    master_password: Optional[str]
    db: Optional[int]


class _RedisRequired(TypedDict):
    keys: Union[List[str], str]


class RedisSessionCacheConfigDict(_RedisRequired, total=False):
    """``session_cache.redis``: a Redis session cache. ``keys`` is required: base64 of 32 random
    bytes each (the first seals new entries, all open them); a list, or one comma-separated
    string (for environment variables). Exactly one of ``url`` (one node), ``cluster`` (seed
    nodes of a Redis Cluster) and ``sentinel``."""

    #: Secret: a ``redis://`` or ``rediss://`` URL of one node.
    url: Optional[str]
    #: Secrets: seed node URLs of a Redis Cluster; a list or one comma-separated string.
    cluster: Union[List[str], str, None]
    sentinel: Optional[RedisSentinelConfigDict]
    #: Namespace of every Redis name (default ``ory-iam``).
    key_prefix: Optional[str]
    #: Replicas that must acknowledge an eviction (Redis ``WAIT``) before a revoke, logout or
    #: identity change reports success, else ``upstream_unavailable``; 0 to not wait. Default 1
    #: with ``cluster`` and ``sentinel``, 0 with ``url``; at most 16.
    wait_replicas: Optional[int]
    #: How long an eviction waits for those replicas (the ``WAIT`` timeout), in ms; default 1000,
    #: between 10 and 10000.
    wait_timeout_ms: Optional[int]
    #: ``rediss://`` only: PEM CA bundle instead of the OS trust store, and a client certificate.
    ca_file: Optional[str]
    client_cert_file: Optional[str]
    client_key_file: Optional[str]


class SessionCacheConfigDict(TypedDict, total=False):
    """``session_cache`` as an object: ``{"memory": {...}}`` or ``{"redis": {...}}``."""

    memory: Optional[MemorySessionCacheConfigDict]
    redis: Optional[RedisSessionCacheConfigDict]


class AuditConfigDict(TypedDict, total=False):
    """``audit``: where audit events go (``callback``: to ``audit_callback=``)."""

    sink: Optional[AuditSink]
    #: Regular expressions (Rust ``regex`` syntax); their matches in any string of an event
    #: become ``***``.
    redact_patterns: Union[str, List[str], None]


class _IamRequired(TypedDict):
    tenants: Dict[str, TenantConfigDict]


class IamConfigDict(_IamRequired, total=False):
    """The whole configuration, as ``Iam.from_config`` reads it."""

    default_tenant: Optional[str]
    session_cache: Union[Literal["none", "memory"], SessionCacheConfigDict, None]
    audit: Optional[AuditConfigDict]
