"""ory-iam: one async client for the whole Ory identity stack, with a Rust core.

Every method is a coroutine: ``await iam.identity.get(id)`` inside a running loop. Code without
an event loop (Django, Flask, Celery, scripts) uses the blocking twin of this API,
:mod:`ory_iam.sync` (``from ory_iam.sync import Iam``; ``iam.identity.get(id)``).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import os
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, List, Literal, Mapping, NamedTuple, Optional, Sequence, Union, cast

from . import _ory_iam as _native
from .config import IamConfigDict, TenantConfigDict, Transport
from .inputs import (
    ClientLifespansInput,
    ListConsentSessionsInput,
    LogoutUrlInput,
    RevokeConsentSessionsInput,
    RevokeLoginSessionsInput,
    AcceptConsentInput,
    AcceptLoginInput,
    AuthorizationCodeGrantInput,
    CreateApiKeyInput,
    CreateIdentityInput,
    CreateJwkSetInput,
    CreateProjectInput,
    DeleteMatchingInput,
    EventStreamInput,
    ExpandQueryInput,
    InitiateFlowInput,
    JsonPatchOperation,
    JsonWebKeyInput,
    JwtBearerGrantInput,
    ListCourierMessagesInput,
    ListIdentitiesInput,
    ListOAuth2ClientsInput,
    ListMySessionsInput,
    ListSessionsInput,
    ListTrustedIssuersInput,
    ListWorkspacesInput,
    OAuth2ClientInput,
    PermissionPatchInput,
    PermissionQueryInput,
    PermissionTupleInput,
    ProjectInput,
    RecoveryOptionsInput,
    RefreshGrantInput,
    RejectRequestInput,
    RevokeTokenInput,
    SubmitFlowInput,
    TrustIssuerInput,
    WorkspaceInput,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack
from ._dto import (
    ConsentSession,
    OidcConfiguration,
    UserInfo,
    ApiKey,
    EventStream,
    Project,
    ProjectMetadata,
    Workspace,
    Credential,
    IamMachinePrincipal,
    ChallengeRequest,
    Introspection,
    JsonWebKeySet,
    OAuth2Client,
    RedirectTo,
    TokenSet,
    TrustedIssuer,
    CheckResult,
    BatchCreateResult,
    IamPermissionTuple,
    PermissionTuple,
    SubjectSet,
    SubjectTree,
    CourierMessage,
    IdentitySchema,
    Flow,
    FlowError,
    FlowResult,
    Health,
    OplPosition,
    OplSyntaxError,
    HealthProbe,
    Staleness,
    Identity,
    LogoutFlow,
    Page,
    Recovery,
    RecoveryAddress,
    Secret,
    ServerVersions,
    UnknownVersion,
    Session,
    Ui,
    UiNode,
    UiText,
    VerifiableAddress,
)
from .errors import (
    IamConfigurationError,
    IamConflictError,
    IamError,
    IamForbiddenError,
    IamNotFoundError,
    IamUnauthorizedError,
    IamUpstreamUnavailableError,
    IamValidationError,
)

__version__: str = _native.__version__

# Before the interpreter finalizes, stop the Rust threads from calling into Python (see
# bindings-python/src/runtime.rs).
atexit.register(_native._shutdown)

__all__ = [
    "Iam",
    "IdentityService",
    "MetadataService",
    "ProjectAdminService",
    "WorkspaceAdminService",
    "EventsService",
    "Project",
    "ProjectMetadata",
    "Workspace",
    "ApiKey",
    "EventStream",
    "TokenService",
    "OAuth2ClientService",
    "ConsentService",
    "JwkService",
    "TrustedIssuerService",
    "OAuth2Client",
    "IamMachinePrincipal",
    "TokenSet",
    "Introspection",
    "RedirectTo",
    "ChallengeRequest",
    "JsonWebKeySet",
    "TrustedIssuer",
    "PermissionService",
    "IamPermissionTuple",
    "PermissionTuple",
    "SubjectSet",
    "SubjectTree",
    "CheckResult",
    "BatchCreateResult",
    "SchemaService",
    "CourierService",
    "IdentitySchema",
    "CourierMessage",
    "FlowService",
    "Flow",
    "FlowResult",
    "FlowError",
    "ConsentSession",
    "OidcConfiguration",
    "UserInfo",
    "OplSyntaxError",
    "OplPosition",
    "LogoutFlow",
    "Ui",
    "UiNode",
    "UiText",
    "Secret",
    "SessionService",
    "Session",
    "Request",
    "Identity",
    "Credential",
    "VerifiableAddress",
    "RecoveryAddress",
    "Recovery",
    "Page",
    "ServerVersions",
    "UnknownVersion",
    "Health",
    "HealthProbe",
    "Staleness",
    "IamError",
    "IamConfigurationError",
    "IamUnauthorizedError",
    "IamForbiddenError",
    "IamNotFoundError",
    "IamConflictError",
    "IamValidationError",
    "IamUpstreamUnavailableError",
    "Transport",
    "IamConfigDict",
    "TenantConfigDict",
    "HttpAnswer",
    "http_answer",
    "request_id_for",
    "request_id_scope",
    "roles_of",
    "current_request_id",
]

AuditCallback = Callable[[dict[str, Any]], None]



class HttpAnswer(NamedTuple):
    """What to answer for an :class:`IamError`: ``status``, ``headers`` (lower-case names) and the
    JSON ``body`` ``{"statusCode", "error", "requestId"?, "fields"?}``."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any]


def http_answer(
    error: IamError,
    *,
    transport: Optional[Transport] = None,
    realm: Optional[str] = None,
    bearer_presented: bool = False,
    required_scopes: Sequence[str] = (),
    retry_after_fallback: Optional[float] = None,
) -> HttpAnswer:
    """The HTTP answer for ``error``, the same in every framework adapter and in Node (the
    policy lives in the Rust core, ``ory_iam::answer``).

    Status: ``unauthorized`` 401, ``forbidden`` 403, ``validation`` 400, ``not_found`` 404,
    ``conflict`` 409, ``upstream_unavailable`` 503, anything else 500. A 401 carries the
    ``WWW-Authenticate`` challenge of ``transport`` (default ``cookie-or-bearer``: ``Bearer``
    and ``Cookie``), realm ``realm`` or the error's tenant, ``error="invalid_token"`` when
    ``bearer_presented``; a 403 with ``required_scopes`` is a Bearer ``insufficient_scope``.
    A 503 carries ``Retry-After`` when the error knows the wait, else ``retry_after_fallback``
    if given. The body never holds the message, upstream text or a credential."""
    status, headers, body = _native.http_answer(
        error.code,
        request_id=error.request_id,
        retry_after=error.retry_after,
        fields=error.fields,
        tenant=error.tenant,
        transport=transport,
        realm=realm,
        bearer_presented=bearer_presented,
        required_scopes=list(required_scopes),
        retry_after_fallback=retry_after_fallback,
    )
    return HttpAnswer(status, headers, body)

#: What ``whoami`` accepts: a framework request (anything with ``.headers``: Starlette/FastAPI,
#: Django, Flask, aiohttp), a headers mapping, or a list of ``(name, value)`` pairs.
Request = Any


def _options(opts: Optional[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``f({"a": 1})`` ≡ ``f(a=1)``; keyword arguments win over the dict."""
    if opts is not None and not isinstance(opts, Mapping):
        raise IamValidationError("options must be a dict", code="validation", fields=[{"path": "options", "reason": "must be a dict"}])
    merged = dict(opts or {})
    merged.update(kwargs)
    return merged


def _plain(v: Any) -> Any:
    """Mappings (and lists of them) as plain dicts for the native side; anything else is passed
    as is, so the core reports a wrong type as ``IamValidationError`` naming the argument."""
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


#: The application request being served (see :func:`request_id_scope`).
_REQUEST_ID: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar("ory_iam_request_id", default=None)


def request_id_for(incoming: Optional[str] = None) -> str:
    """The request id to serve one application request under: ``incoming`` (the request's
    ``X-Request-Id``) when it is 1–200 visible ASCII characters, else a new UUID v4."""
    return str(_native.request_id_for(incoming))


@contextlib.contextmanager
def request_id_scope(request_id: Optional[str] = None) -> Iterator[str]:
    """Every Ory call made inside (by any service of any ``Iam``, async or blocking, in this
    context: the task or thread and what it awaits) carries ``X-Request-Id: <id>``, where the id
    is :func:`request_id_for` of ``request_id``; yields that id. The framework integrations open
    one per request with the incoming ``X-Request-Id``::

        with ory_iam.request_id_scope(headers.get("x-request-id")) as rid:
            ...
    """
    rid = request_id_for(request_id)
    token = _REQUEST_ID.set(rid)
    try:
        yield rid
    finally:
        _REQUEST_ID.reset(token)


def roles_of(metadata_public: Any, traits: Any = None) -> List[str]:
    """The roles of an identity: the strings of ``metadata_public["roles"]``; with ``traits``,
    the ory-nestjs rule: ``metadata_public["roles"]`` when that key is set (even to ``[]``), else
    ``traits["roles"]``. The framework integrations' default reads metadata only (users write
    their own traits); ``roles=lambda s: roles_of(s.identity.metadata_public, s.identity.traits)``
    opts into the ory-nestjs rule (docs/api/frameworks.md)."""
    return list(_native.roles_of(metadata_public, traits))


def current_request_id() -> Optional[str]:
    """The id of the innermost :func:`request_id_scope` around this code, or ``None``."""
    return _REQUEST_ID.get()


class _Service:
    __slots__ = ("_raw",)

    def __init__(self, native: Any) -> None:
        self._raw = native

    @property
    def _n(self) -> Any:
        # The native handle for one call: correlated with the request being served, if any.
        rid = _REQUEST_ID.get()
        return self._raw if rid is None else self._raw._correlated(rid)

    @property
    def tenant(self) -> str:
        """The tenant this handle is bound to."""
        return str(self._raw.tenant)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Service) and type(other) is type(self) and bool(self._raw == other._raw)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._raw.tenant))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant={self.tenant!r})"


class IdentityService(_Service):
    """Kratos identities (admin API) of one tenant."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "IdentityService":
        """The same service for another tenant; unknown names raise ``IamConfigurationError``."""
        return IdentityService(self._raw.for_tenant(name))

    async def get(self, id: str) -> Identity:
        """The identity without traits, admin metadata or addresses."""
        return Identity._from(await self._n.get(id))

    async def get_with_traits(self, id: str) -> Identity:
        """The whole identity, traits included."""
        return Identity._from(await self._n.get_with_traits(id))

    async def create(
        self, input: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[CreateIdentityInput]
    ) -> Identity:
        """Create an identity: ``create(schema_id=..., traits={...}, verified_addresses=[...])``;
        addresses may also be Kratos's objects: ``verifiable_addresses=[{"value", "via", "verified",
        "status"}]``, ``recovery_addresses=[{"value", "via"}]``."""
        return Identity._from(await self._n.create(_options(input, kwargs)))

    async def create_many(self, inputs: Sequence[CreateIdentityInput]) -> List[BatchCreateResult]:
        """Create many identities in one request (bulk import, at most 1000): one result per
        input, in order, with the new ``identity_id`` or the ``error`` code; one failing identity
        does not stop the others (but see docs/api/identity.md about conflicts in Kratos v1.3.1).
        Each is audited ``identity.create`` (``via: "batch"``)."""
        return [BatchCreateResult(**r) for r in await self._n.create_many(list(inputs))]

    async def list(
        self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListIdentitiesInput]
    ) -> Page[Identity]:
        """One page (``page_size``, ``page_token``, or ``page`` from 0 with ``per_page``), filtered by
        ``credentials_identifier``, ``ids`` or ``preview_credentials_identifier_similar``;
        identities are sanitized like ``get``."""
        d = await self._n.list(_options(options, kwargs))
        return Page(items=[Identity._from(i) for i in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, page_size: Optional[int] = None) -> AsyncIterator[Identity]:
        """Every identity, following page tokens: ``async for i in iam.identity.list_all()``."""
        pager = self._n.list_all(page_size)
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield Identity._from(item)

    async def update_traits(self, id: str, traits: Mapping[str, Any]) -> Identity:
        """Replace all traits; metadata and state are kept."""
        return Identity._from(await self._n.update_traits(id, traits))

    async def patch(self, id: str, ops: Sequence[Union[JsonPatchOperation, Mapping[str, Any]]]) -> Identity:
        """RFC 6902 JSON Patch limited to ``/traits``, ``/metadata_public``, ``/metadata_admin``
        (and below) and ``/state``; other paths raise ``IamValidationError`` before any request."""
        return Identity._from(await self._n.patch(id, ops))

    async def list_sessions(self, id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListSessionsInput]) -> Page[Session]:
        """One page of the identity's sessions (``page_size``, ``page_token``, ``active``)."""
        d = await self._n.list_sessions(id, _options(options, kwargs))
        return Page(items=[Session._from(s) for s in d["items"]], next_page_token=d["next_page_token"])

    async def list_sessions_all(self, id: str, active: Optional[bool] = None) -> AsyncIterator[Session]:
        """Every session of the identity, following page tokens."""
        pager = self._n.list_sessions_all(id, active)
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield Session._from(item)

    async def revoke_session(self, session_id: str) -> None:
        """Revoke one session and evict it from the session cache (audited)."""
        await self._n.revoke_session(session_id)

    async def revoke_sessions(self, id: str) -> None:
        """Revoke every session of the identity ("log out everywhere") and evict them all from
        the session cache. Audited ``authz.session.revoke_all``."""
        await self._n.revoke_sessions(id)

    async def create_recovery_link(self, id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RecoveryOptionsInput]) -> Recovery:
        """A recovery link for the identity (support desk); opening it signs the owner in and
        starts a settings flow. ``expires_in`` (``"15m"``). Audited ``identity.recovery.create``."""
        return Recovery._from(await self._n.create_recovery_link(id, _options(options, kwargs)))

    async def create_recovery_code(self, id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RecoveryOptionsInput]) -> Recovery:
        """A recovery code and the link of the recovery flow to enter it in. ``expires_in``
        (``"15m"``). Audited ``identity.recovery.create``."""
        return Recovery._from(await self._n.create_recovery_code(id, _options(options, kwargs)))

    async def extend_session(self, session_id: str) -> Session:
        """Extend a session by the configured lifespan."""
        return Session._from(await self._n.extend_session(session_id))

    async def get_credentials(self, id: str) -> List[Credential]:
        """The identity's credentials, public metadata only (no hash, secret or seed)."""
        return [Credential(**c) for c in await self._n.get_credentials(id)]

    async def delete_credential(self, id: str, credential_type: str, identifier: Optional[str] = None) -> None:
        """Delete one credential (``identifier`` picks the OIDC link). Types the server refuses
        (Kratos v1.3.1: ``password``, ``code``) raise ``IamValidationError`` on ``type``."""
        await self._n.delete_credential(id, credential_type, identifier)

    async def delete(self, id: str) -> None:
        """Delete an identity (audited as ``identity.delete``)."""
        await self._n.delete(id)


class SessionService(_Service):
    """Who is calling? Resolves a request's session through the tenant's transport, the session
    cache and Kratos."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "SessionService":
        return SessionService(self._raw.for_tenant(name))

    def with_transport(self, transport: "Transport") -> "SessionService":
        """The same service accepting only ``transport``'s credentials: the tenant's own
        transport or narrower (``cookie`` or ``bearer`` of a ``cookie-or-bearer`` tenant), e.g.
        for an API router that takes bearer tokens only next to a cookie UI. Anything else
        raises ``IamConfigurationError`` (an unknown name ``IamValidationError``)."""
        return SessionService(self._raw.with_transport(transport))

    async def whoami(self, req: Request) -> Session:
        """The request's session; ``IamUnauthorizedError`` when the credential is missing,
        malformed, invalid or expired; ``IamUpstreamUnavailableError`` when Kratos is down."""
        s: Session = await self._n.whoami(req)  # built as a Session by the binding
        return s

    async def whoami_or_null(self, req: Request) -> Optional[Session]:
        """``None`` only when the credential is missing or rejected; outages still raise."""
        s: Optional[Session] = await self._n.whoami_or_null(req)
        return s

    async def revoke(self, session_id: str) -> None:
        """Revoke a session (admin), evict it from the cache, audit ``authz.session.revoke``."""
        await self._n.revoke(session_id)

    async def list(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListSessionsInput]) -> Page[Session]:
        """One page of all sessions of the tenant (admin; ``page_size``, ``page_token``,
        ``active``), each with its identity (no traits)."""
        d = await self._n.list(_options(options, kwargs))
        return Page(items=[Session._from(s) for s in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, active: Optional[bool] = None) -> AsyncIterator[Session]:
        """Every session of the tenant, following page tokens."""
        pager = self._n.list_all(active)
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield Session._from(item)

    async def get(self, session_id: str) -> Session:
        """One session by id (admin), active or not, with its identity (no traits)."""
        return Session._from(await self._n.get(session_id))

    async def list_mine(self, req: Request, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListMySessionsInput]) -> Page[Session]:
        """The caller's other active sessions ("your devices"), with the request's credential
        as ``whoami`` reads it; the session making the request is not listed."""
        d = await self._n.list_mine(req, _options(options, kwargs))
        return Page(items=[Session._from(s) for s in d["items"]], next_page_token=d["next_page_token"])

    async def list_mine_all(self, req: Request) -> AsyncIterator[Session]:
        """Every other active session of the caller, following page tokens."""
        pager = self._n.list_mine_all(req)
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield Session._from(item)

    async def revoke_my_other_sessions(self, req: Request) -> int:
        """Sign the caller out everywhere else; returns Kratos' count (v1.3.1: also the caller's
        sessions that were already revoked).
        Audited ``authz.session.revoke_all`` (``scope: "others"``)."""
        return int(await self._n.revoke_my_other_sessions(req))

    async def revoke_mine(self, req: Request, session_id: str) -> None:
        """Revoke one of the caller's other sessions. The current one raises
        ``IamValidationError`` (log out instead); someone else's is left untouched."""
        await self._n.revoke_mine(req, session_id)


def _jsonable(v: Any) -> Any:
    """Secrets in grant inputs are passed as their value."""
    if isinstance(v, Secret):
        return v.expose()
    if isinstance(v, Mapping):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


class OAuth2ClientService(_Service):
    """Hydra OAuth2 clients. Client fields are Hydra's (``client_name``, ``grant_types``, …)."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "OAuth2ClientService":
        return OAuth2ClientService(self._raw.for_tenant(name))

    async def create(self, client: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[OAuth2ClientInput]) -> OAuth2Client:
        """The returned ``client_secret`` is shown this once."""
        return OAuth2Client._from(await self._n.create(_options(client, kwargs)))

    async def get(self, id: str) -> OAuth2Client:
        return OAuth2Client._from(await self._n.get(id))

    async def list(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListOAuth2ClientsInput]) -> Page[OAuth2Client]:
        d = await self._n.list(_options(options, kwargs))
        return Page(items=[OAuth2Client._from(c) for c in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListOAuth2ClientsInput]) -> AsyncIterator[OAuth2Client]:
        pager = self._n.list_all(_options(options, kwargs))
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield OAuth2Client._from(item)

    async def set(self, id: str, client: Union[OAuth2ClientInput, Mapping[str, Any]]) -> OAuth2Client:
        """Replace the client (an omitted ``client_secret`` keeps the current one)."""
        return OAuth2Client._from(await self._n.set(id, _plain(client)))

    async def patch(self, id: str, ops: Sequence[Union[JsonPatchOperation, Mapping[str, Any]]]) -> OAuth2Client:
        return OAuth2Client._from(await self._n.patch(id, _plain(ops)))

    async def delete(self, id: str) -> None:
        """Audited ``oauth2_client.delete``."""
        await self._n.delete(id)

    async def set_lifespans(self, id: str, lifespans: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ClientLifespansInput]) -> OAuth2Client:
        """Set the client's token lifespans (Go durations, ``"1h"``); the whole set is replaced,
        an unset one falls back to Hydra's default. Audited ``oauth2_client.lifespans.set``."""
        return OAuth2Client._from(await self._n.set_lifespans(id, _options(lifespans, kwargs)))

    async def register(self, client: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[OAuth2ClientInput]) -> OAuth2Client:
        """OpenID Connect dynamic client registration (Hydra's public ``/oauth2/register``). The
        result's ``client_secret`` and ``registration_access_token`` are shown this once. Not
        retried. Audited ``oauth2_client.register``."""
        return OAuth2Client._from(await self._n.register(_options(client, kwargs)))

    async def get_registered(self, id: str, registration_access_token: Union[str, Secret]) -> OAuth2Client:
        """A dynamically registered client, read with its registration access token (a wrong
        token raises ``IamUnauthorizedError``)."""
        return OAuth2Client._from(await self._n.get_registered(id, registration_access_token))

    async def set_registered(self, id: str, registration_access_token: Union[str, Secret], client: Union[OAuth2ClientInput, Mapping[str, Any]]) -> OAuth2Client:
        """Replace a dynamically registered client. Hydra rotates the registration access
        token: the result carries the new one. Audited ``oauth2_client.registered.set``."""
        return OAuth2Client._from(await self._n.set_registered(id, registration_access_token, _plain(client)))

    async def delete_registered(self, id: str, registration_access_token: Union[str, Secret]) -> None:
        """Delete a dynamically registered client. Audited ``oauth2_client.registered.delete``."""
        await self._n.delete_registered(id, registration_access_token)


class TokenService(_Service):
    """Hydra tokens: grants, introspection (``active=False`` is normal), revocation."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "TokenService":
        return TokenService(self._raw.for_tenant(name))

    async def client_credentials(self, scope: Union[str, Sequence[str], None] = None) -> TokenSet:
        """With the tenant's ``hydra.client_id``/``client_secret``; cached, renewed ahead of expiry.
        ``scope``: space-separated (``"read write"``) or a list (``["read", "write"]``)."""
        return TokenSet._from(await self._n.client_credentials(scope))

    async def authorization_code(self, grant: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[AuthorizationCodeGrantInput]) -> TokenSet:
        """``code``, ``redirect_uri``, ``client_id?``, ``client_secret?``, ``code_verifier?``."""
        return TokenSet._from(await self._n.authorization_code(_jsonable(_options(grant, kwargs))))

    async def refresh(self, grant: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RefreshGrantInput]) -> TokenSet:
        """``refresh_token``, ``client_id?``, ``client_secret?``, ``scope?``."""
        return TokenSet._from(await self._n.refresh(_jsonable(_options(grant, kwargs))))

    async def jwt_bearer(self, grant: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[JwtBearerGrantInput]) -> TokenSet:
        """``assertion``, ``scope?``, ``client_id?``, ``client_secret?`` (the client must authenticate)."""
        return TokenSet._from(await self._n.jwt_bearer(_jsonable(_options(grant, kwargs))))

    async def introspect(self, token: Union[str, Secret]) -> Introspection:
        return Introspection(**await self._n.introspect(token))

    async def authenticate(
        self,
        req: Request,
        *,
        mode: Optional[Literal["auto", "jwt", "introspect"]] = None,
        required_scope: Sequence[str] = (),
        required_audience: Optional[str] = None,
    ) -> IamMachinePrincipal:
        """Resource-server check of the request's ``Authorization: Bearer`` token; only access
        tokens pass (ID tokens and refresh tokens are refused). ``mode``: ``auto`` (JWTs
        verified locally, which cannot see a revocation before they expire; others
        introspected), ``jwt`` or ``introspect``; default: the tenant's ``hydra.bearer_mode``.
        ``required_audience`` (default: the tenant's ``hydra.audience``) must be in the token's
        ``aud``. Raises ``IamUnauthorizedError`` (missing/inactive/forged/another kind of token
        or audience), ``IamForbiddenError`` (a ``required_scope`` is missing) or
        ``IamUpstreamUnavailableError``; never a principal on failure."""
        opts: dict[str, Any] = {"required_scope": list(required_scope)}
        if mode is not None:
            opts["mode"] = mode
        if required_audience is not None:
            opts["required_audience"] = required_audience
        d = await self._n.authenticate(req, opts)
        return IamMachinePrincipal(**d)

    async def revoke(self, token: Union[str, Secret], options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RevokeTokenInput]) -> None:
        """``token_type_hint?``, ``client_id?``, ``client_secret?``."""
        await self._n.revoke(token, _jsonable(_options(options, kwargs)))

    async def delete_access_tokens(self, client_id: str) -> None:
        """Delete every access token of a client (Hydra keeps its refresh tokens: revoke the
        consents or delete the client to end those); cached introspections are dropped (here
        and, over Redis, in every instance). Audited ``oauth2_client.access_tokens.delete``."""
        await self._n.delete_access_tokens(client_id)

    async def userinfo(self, access_token: Union[str, Secret]) -> UserInfo:
        """OpenID Connect userinfo of an access token; a revoked, expired or unknown token
        raises ``IamUnauthorizedError``."""
        d = await self._n.userinfo(access_token)
        return UserInfo(tenant=d["tenant"], sub=d["sub"], claims=d["claims"])

    async def discover(self) -> OidcConfiguration:
        """Hydra's OpenID Connect discovery document."""
        return OidcConfiguration(**await self._n.discover())


class ConsentService(_Service):
    """Hydra login, consent and logout requests: read them, accept or reject them."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "ConsentService":
        return ConsentService(self._raw.for_tenant(name))

    async def _req(self, kind: str, challenge: str) -> ChallengeRequest:
        return ChallengeRequest(**await self._n.call(kind, "get", challenge))

    async def _decide(self, kind: str, verb: str, challenge: str, body: Optional[Mapping[str, Any]]) -> RedirectTo:
        return RedirectTo(**await self._n.call(kind, verb, challenge, _plain(body or {})))

    async def get_login_request(self, challenge: str) -> ChallengeRequest:
        return await self._req("login", challenge)

    async def accept_login_request(self, challenge: str, body: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[AcceptLoginInput]) -> RedirectTo:
        """``subject`` (required), ``remember?``, ``remember_for?``, ``acr?``, ``context?``."""
        return await self._decide("login", "accept", challenge, _options(body, kwargs))

    async def reject_login_request(self, challenge: str, body: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RejectRequestInput]) -> RedirectTo:
        return await self._decide("login", "reject", challenge, _options(body, kwargs))

    async def get_consent_request(self, challenge: str) -> ChallengeRequest:
        return await self._req("consent", challenge)

    async def accept_consent_request(self, challenge: str, body: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[AcceptConsentInput]) -> RedirectTo:
        """``grant_scope``, ``grant_access_token_audience?``, ``remember?``, ``session?``."""
        return await self._decide("consent", "accept", challenge, _options(body, kwargs))

    async def reject_consent_request(self, challenge: str, body: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RejectRequestInput]) -> RedirectTo:
        return await self._decide("consent", "reject", challenge, _options(body, kwargs))

    async def get_logout_request(self, challenge: str) -> ChallengeRequest:
        return await self._req("logout", challenge)

    async def accept_logout_request(self, challenge: str) -> RedirectTo:
        return await self._decide("logout", "accept", challenge, None)

    async def reject_logout_request(self, challenge: str) -> RedirectTo:
        """Hydra answers 204: ``redirect_to`` is empty."""
        return await self._decide("logout", "reject", challenge, None)

    async def list_consent_sessions(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListConsentSessionsInput]) -> Page[ConsentSession]:
        """One page of the consents ``subject`` gave and Hydra remembers ("connected apps"),
        optionally of one login session (``login_session_id``); ``page_size``, ``page_token``."""
        d = await self._n.list_consent_sessions(_options(options, kwargs))
        return Page(items=[ConsentSession(**c) for c in d["items"]], next_page_token=d["next_page_token"])

    async def list_consent_sessions_all(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListConsentSessionsInput]) -> AsyncIterator[ConsentSession]:
        """Every remembered consent of ``subject``, following page tokens."""
        pager = self._n.list_consent_sessions_all(_options(options, kwargs))
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield ConsentSession(**item)

    async def revoke_consent_sessions(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RevokeConsentSessionsInput]) -> None:
        """Revoke ``subject``'s consent to one ``client`` or to every client (``all=True``);
        Hydra revokes the tokens issued under it, cached introspections are dropped. Audited
        ``oauth2.consent.revoke``."""
        await self._n.revoke_consent_sessions(_options(options, kwargs))

    async def revoke_login_sessions(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[RevokeLoginSessionsInput]) -> None:
        """End Hydra login sessions: every one of ``subject``, or the one ``sid``. Tokens
        already issued stay valid. Audited ``oauth2.login_session.revoke``."""
        await self._n.revoke_login_sessions(_options(options, kwargs))

    def logout_url(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[LogoutUrlInput]) -> Secret:
        """The URL to redirect the browser to for OpenID Connect RP-initiated logout (Hydra's
        ``/oauth2/sessions/logout``): ``id_token_hint?``, ``post_logout_redirect_uri?`` (needs
        the hint), ``state?``. A secret: it carries the ID token. No request is made."""
        return Secret(self._n.logout_url(_jsonable(_options(options, kwargs))))


class JwkService(_Service):
    """Hydra JSON Web Key sets."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "JwkService":
        return JwkService(self._raw.for_tenant(name))

    async def create_set(self, set: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[CreateJwkSetInput]) -> JsonWebKeySet:
        """``alg`` (RS256, ES256, …), ``use`` (sig|enc), ``kid?``."""
        return JsonWebKeySet(**await self._n.create_set(set, _options(options, kwargs)))

    async def get_set(self, set: str) -> JsonWebKeySet:
        return JsonWebKeySet(**await self._n.get_set(set))

    async def update_set(self, set: str, keys: Union[JsonWebKeySet, Mapping[str, Any]]) -> JsonWebKeySet:
        body = {"keys": keys.keys} if isinstance(keys, JsonWebKeySet) else _plain(keys)
        return JsonWebKeySet(**await self._n.update_set(set, body))

    async def delete_set(self, set: str) -> None:
        await self._n.delete_set(set)

    async def get_key(self, set: str, kid: str) -> JsonWebKeySet:
        return JsonWebKeySet(**await self._n.get_key(set, kid))

    async def update_key(self, set: str, kid: str, key: Union[JsonWebKeyInput, Mapping[str, Any]]) -> dict[str, Any]:
        return dict(await self._n.update_key(set, kid, _plain(key)))

    async def delete_key(self, set: str, kid: str) -> None:
        await self._n.delete_key(set, kid)


class TrustedIssuerService(_Service):
    """Issuers whose JWTs Hydra accepts for the JWT-bearer grant."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "TrustedIssuerService":
        return TrustedIssuerService(self._raw.for_tenant(name))

    async def trust(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[TrustIssuerInput]) -> TrustedIssuer:
        """``issuer``, ``subject`` or ``allow_any_subject``, ``scope``, ``expires_at``, ``public_key``."""
        return TrustedIssuer(**await self._n.trust(_options(options, kwargs)))

    async def get(self, id: str) -> TrustedIssuer:
        return TrustedIssuer(**await self._n.get(id))

    async def list(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListTrustedIssuersInput]) -> Page[TrustedIssuer]:
        d = await self._n.list(_options(options, kwargs))
        return Page(items=[TrustedIssuer(**t) for t in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListTrustedIssuersInput]) -> AsyncIterator[TrustedIssuer]:
        pager = self._n.list_all(_options(options, kwargs))
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield TrustedIssuer(**item)

    async def delete(self, id: str) -> None:
        await self._n.delete(id)


class _ApiKeys(_Service):
    """The API-key methods projects and workspaces share (``id`` names the project or the
    workspace)."""

    __slots__ = ()

    async def create_api_key(self, id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[CreateApiKeyInput]) -> ApiKey:
        """``name``, ``expires_at?``; the key's ``value`` is returned this once."""
        return ApiKey._from(await self._n.create_api_key(id, _options(options, kwargs)))

    async def list_api_keys(self, id: str) -> List[ApiKey]:
        return [ApiKey._from(k) for k in await self._n.list_api_keys(id)]

    async def delete_api_key(self, id: str, key_id: str) -> None:
        """Audited ``project.api_key.delete`` / ``workspace.api_key.delete``."""
        await self._n.delete_api_key(id, key_id)


class ProjectAdminService(_ApiKeys):
    """Ory Network projects (needs ``mode: cloud`` and ``console.workspace_api_key``)."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "ProjectAdminService":
        return ProjectAdminService(self._raw.for_tenant(name))

    async def create(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[CreateProjectInput]) -> Project:
        """``name``, ``workspace_id?``, ``environment?`` (prod|stage|dev), ``home_region?``."""
        return Project(**await self._n.create(_options(options, kwargs)))

    async def list(self) -> List[ProjectMetadata]:
        return [ProjectMetadata(**p) for p in await self._n.list()]

    async def get(self, id: str) -> Project:
        return Project(**await self._n.get(id))

    async def set(self, id: str, project: Union[ProjectInput, Mapping[str, Any]]) -> Project:
        """Replace ``name``, ``services``, ``cors_admin``, ``cors_public``, ``organizations``."""
        return Project(**await self._n.set(id, _plain(project)))

    async def purge(self, id: str) -> None:
        """Delete the project for good (audited ``project.purge``)."""
        await self._n.purge(id)

    async def list_members(self, id: str) -> List[dict[str, Any]]:
        return [dict(m) for m in await self._n.list_members(id)]



class WorkspaceAdminService(_ApiKeys):
    """Ory Network workspaces (needs ``mode: cloud`` and ``console.workspace_api_key``)."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "WorkspaceAdminService":
        return WorkspaceAdminService(self._raw.for_tenant(name))

    async def create(self, name: Union[str, WorkspaceInput, Mapping[str, Any]]) -> Workspace:
        """``create("Team")`` or ``create({"name": "Team"})``."""
        return Workspace(**await self._n.create(name))

    async def list(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListWorkspacesInput]) -> Page[Workspace]:
        d = await self._n.list(_options(options, kwargs))
        return Page(items=[Workspace(**w) for w in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, page_size: Optional[int] = None) -> AsyncIterator[Workspace]:
        pager = self._n.list_all(page_size)
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield Workspace(**item)

    async def get(self, id: str) -> Workspace:
        return Workspace(**await self._n.get(id))

    async def update(self, id: str, name: Union[str, WorkspaceInput, Mapping[str, Any]]) -> Workspace:
        """``update(id, "Team")`` or ``update(id, {"name": "Team"})``."""
        return Workspace(**await self._n.update(id, name))

    async def list_projects(self, id: str) -> List[ProjectMetadata]:
        return [ProjectMetadata(**p) for p in await self._n.list_projects(id)]



class EventsService(_Service):
    """Event streams of Ory Network projects."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "EventsService":
        return EventsService(self._raw.for_tenant(name))

    async def create(self, project_id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[EventStreamInput]) -> EventStream:
        """``type`` (sns|https), ``topic_arn``/``role_arn`` or ``https_endpoint``, ``status?``."""
        return EventStream(**await self._n.create(project_id, _options(options, kwargs)))

    async def list(self, project_id: str) -> List[EventStream]:
        return [EventStream(**e) for e in await self._n.list(project_id)]

    async def set(self, project_id: str, stream_id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[EventStreamInput]) -> EventStream:
        """Omitted fields keep their value."""
        return EventStream(**await self._n.set(project_id, stream_id, _options(options, kwargs)))

    async def delete(self, project_id: str, stream_id: str) -> None:
        """Audited ``event_stream.delete``."""
        await self._n.delete(project_id, stream_id)


TupleLike = Union[IamPermissionTuple, PermissionTupleInput, Mapping[str, Any]]


class PermissionService(_Service):
    """Keto permissions. Tuples are ``{namespace, object, relation, subject}`` dicts or
    :class:`IamPermissionTuple`. Fails closed: an outage raises, never reads as allowed."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "PermissionService":
        return PermissionService(self._raw.for_tenant(name))

    async def check(self, tuple: TupleLike, *, fresh: bool = False, max_depth: Optional[int] = None) -> bool:
        """``fresh=True`` bypasses the decision cache for this call."""
        opts: dict[str, Any] = {"fresh": fresh}
        if max_depth is not None:
            opts["max_depth"] = max_depth
        return bool(await self._n.check(tuple, opts))

    async def check_batch(self, tuples: Sequence[TupleLike]) -> List[CheckResult]:
        """Results in input order; a failing tuple comes back ``allowed=False`` with ``error``."""
        return [CheckResult(**r) for r in await self._n.check_batch(list(tuples))]

    async def grant(self, tuple: TupleLike) -> None:
        """Create the tuple (an existing one is fine). Audited ``authz.permission.grant``."""
        await self._n.grant(tuple)

    async def revoke(self, tuple: TupleLike) -> None:
        """Delete exactly this tuple (a missing one is fine). Audited ``authz.permission.revoke``."""
        await self._n.revoke(tuple)

    async def patch(self, entries: Sequence[PermissionPatchInput]) -> None:
        """Insert and delete many tuples in one Keto transaction: every entry applies or none
        does. Each entry is ``{"action": "insert"|"delete", "tuple": ...}``; audited per entry
        (``authz.permission.grant``/``revoke`` with ``via: "patch"``)."""
        await self._n.patch(list(entries))

    async def delete_matching(self, query: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[DeleteMatchingInput]) -> None:
        """Delete every tuple matching ``namespace`` and at least one of ``object``,
        ``relation``, ``subject`` (a namespace alone raises ``IamValidationError``). Audited
        ``authz.permission.delete_matching``."""
        await self._n.delete_matching(_options(query, kwargs))

    async def check_opl_syntax(self, opl: str) -> List[OplSyntaxError]:
        """The syntax errors of an OPL (Ory Permission Language) file, none when valid. Needs
        ``keto.opl_url`` (Keto's OPL server); nothing is stored or applied."""
        return [OplSyntaxError._from(e) for e in await self._n.check_opl_syntax(opl)]

    async def namespaces(self) -> List[str]:
        """The namespaces Keto knows, sorted."""
        return list(await self._n.namespaces())

    async def list(self, query: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[PermissionQueryInput]) -> Page[IamPermissionTuple]:
        """``namespace`` and any of ``object``, ``relation``, ``subject``; ``page_size``, ``page_token``."""
        d = await self._n.list(_options(query, kwargs))
        return Page(items=[IamPermissionTuple._from(t) for t in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, query: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[PermissionQueryInput]) -> AsyncIterator[IamPermissionTuple]:
        pager = self._n.list_all(_options(query, kwargs))
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield IamPermissionTuple._from(item)

    async def expand(self, query: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ExpandQueryInput]) -> SubjectTree:
        """``namespace``, ``object``, ``relation``, ``max_depth``."""
        return SubjectTree._from(await self._n.expand(_options(query, kwargs)))


class SchemaService(_Service):
    """Identity schemas of one tenant."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "SchemaService":
        return SchemaService(self._raw.for_tenant(name))

    async def list(self) -> List[IdentitySchema]:
        return [IdentitySchema(**d) for d in await self._n.list()]

    async def get(self, id: str) -> IdentitySchema:
        return IdentitySchema(**await self._n.get(id))


class CourierService(_Service):
    """Messages Kratos queued (recovery codes, verification links). Bodies only when asked."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "CourierService":
        return CourierService(self._raw.for_tenant(name))

    async def list(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListCourierMessagesInput]) -> Page[CourierMessage]:
        """``status``, ``recipient``, ``page_size``, ``page_token``, ``include_body``."""
        d = await self._n.list(_options(options, kwargs))
        return Page(items=[CourierMessage._from(m) for m in d["items"]], next_page_token=d["next_page_token"])

    async def list_all(self, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[ListCourierMessagesInput]) -> AsyncIterator[CourierMessage]:
        pager = self._n.list_all(_options(options, kwargs))
        while True:
            item = await pager.next_item()
            if item is None:
                return
            yield CourierMessage._from(item)

    async def get(self, id: str, include_body: bool = False) -> CourierMessage:
        return CourierMessage._from(await self._n.get(id, include_body))


FlowKind = str  # "login" | "registration" | "recovery" | "settings" | "verification"


def _reveal(v: Union[str, Secret, None]) -> Optional[str]:
    return v.expose() if isinstance(v, Secret) else v


class FlowService(_Service):
    """Kratos self-service flows, browser or native.

    ``initiate_*(kind="browser"|"native", return_to=..., cookie=..., session_token=...)`` starts
    a flow; ``submit_*(flow_id, body, cookie=..., csrf_token=..., session_token=...)`` returns a
    :class:`FlowResult`. Browser flows: pass the incoming ``Cookie`` header and relay
    ``set_cookie`` back to the browser.
    """

    __slots__ = ()

    def for_tenant(self, name: str) -> "FlowService":
        return FlowService(self._raw.for_tenant(name))

    @staticmethod
    def _opts(options: Optional[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        d = _options(options, kwargs)
        for k in ("cookie", "session_token"):
            if k in d:
                d[k] = _reveal(d[k])
        return d

    async def initiate(self, flow_kind: FlowKind, options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[InitiateFlowInput]) -> Flow:
        """Start a flow of ``flow_kind``; the option ``kind`` is ``"browser"`` or ``"native"``."""
        return Flow._from(await self._n.initiate(flow_kind, self._opts(options, kwargs)))

    async def initiate_login(self, options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[InitiateFlowInput]) -> Flow:
        return await self.initiate("login", options, **kwargs)

    async def initiate_registration(self, options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[InitiateFlowInput]) -> Flow:
        return await self.initiate("registration", options, **kwargs)

    async def initiate_recovery(self, options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[InitiateFlowInput]) -> Flow:
        return await self.initiate("recovery", options, **kwargs)

    async def initiate_settings(self, options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[InitiateFlowInput]) -> Flow:
        return await self.initiate("settings", options, **kwargs)

    async def initiate_verification(self, options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[InitiateFlowInput]) -> Flow:
        return await self.initiate("verification", options, **kwargs)

    async def submit(self, flow_kind: FlowKind, flow_id: str, body: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[SubmitFlowInput]) -> FlowResult:
        return FlowResult._from(await self._n.submit(flow_kind, flow_id, body, self._opts(options, kwargs)))

    async def submit_login(self, flow_id: str, body: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[SubmitFlowInput]) -> FlowResult:
        return await self.submit("login", flow_id, body, options, **kwargs)

    async def submit_registration(self, flow_id: str, body: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[SubmitFlowInput]) -> FlowResult:
        return await self.submit("registration", flow_id, body, options, **kwargs)

    async def submit_recovery(self, flow_id: str, body: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[SubmitFlowInput]) -> FlowResult:
        return await self.submit("recovery", flow_id, body, options, **kwargs)

    async def submit_settings(self, flow_id: str, body: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[SubmitFlowInput]) -> FlowResult:
        return await self.submit("settings", flow_id, body, options, **kwargs)

    async def submit_verification(self, flow_id: str, body: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None, /, **kwargs: Unpack[SubmitFlowInput]) -> FlowResult:
        return await self.submit("verification", flow_id, body, options, **kwargs)

    async def get_error(self, id: str) -> FlowError:
        """The self-service error ``id`` (the ``?id=`` of Kratos' redirect to the error UI)."""
        d = await self._n.get_error(id)
        return FlowError(tenant=d["tenant"], id=d["id"], error=d["error"], created_at=d.get("created_at"))

    async def fetch_flow(self, kind: FlowKind, flow_id: str, options: Optional[Mapping[str, Any]] = None, **kwargs: Unpack[SubmitFlowInput]) -> Flow:
        return Flow._from(await self._n.fetch_flow(kind, flow_id, self._opts(options, kwargs)))

    async def initiate_browser_logout(self, cookie: Union[str, Secret], return_to: Optional[str] = None) -> LogoutFlow:
        d = await self._n.initiate_browser_logout(cookie, return_to)
        return LogoutFlow(tenant=d["tenant"], logout_url=Secret(d["logout_url"]), logout_token=Secret(d["logout_token"]))

    async def submit_browser_logout(self, logout_token: Union[str, Secret], cookie: Union[str, Secret, None] = None) -> List[Secret]:
        """End the session; returns the ``Set-Cookie`` headers to relay (clearing the cookie).
        Kratos checks the token against the session cookie: pass the browser's ``Cookie``."""
        return [Secret(c) for c in await self._n.submit_browser_logout(logout_token, cookie)]

    async def perform_native_logout(self, session_token: Union[str, Secret]) -> None:
        await self._n.perform_native_logout(session_token)

    async def exchange_session_token(self, init_code: Union[str, Secret], return_to_code: Union[str, Secret]) -> FlowResult:
        """Finish a native sign-in that continued in a browser (social sign-in): ``init_code`` is
        the ``session_token_exchange_code`` of the flow started with
        ``return_session_token_exchange_code=True``, ``return_to_code`` the ``code`` Kratos put
        on ``return_to``. A ``"success"`` :class:`FlowResult` with the session and its
        ``session_token``, like a native login; codes Kratos does not know (or not yet) raise
        :class:`IamNotFoundError`."""
        return FlowResult._from(await self._n.exchange_session_token(init_code, return_to_code))


class MetadataService(_Service):
    """Diagnostics about the Ory servers of one tenant."""

    __slots__ = ()

    def for_tenant(self, name: str) -> "MetadataService":
        return MetadataService(self._raw.for_tenant(name))

    async def version(self) -> ServerVersions:
        """The version each configured server reports."""
        return ServerVersions._from(await self._n.version())

    async def discover_jwks(self) -> JsonWebKeySet:
        """Hydra's published (public) signing keys."""
        return JsonWebKeySet(**await self._n.discover_jwks())


class Iam:
    """The entry point. Build once per process and share; services are cheap handles."""

    __slots__ = ("_n",)

    def __init__(self, native: Any) -> None:
        self._n = native

    @classmethod
    def from_config(
        cls, config: Union[IamConfigDict, Mapping[str, Any]], *, audit_callback: Optional[AuditCallback] = None
    ) -> "Iam":
        """From a dict of the docs/config.md shape (annotate it as :class:`ory_iam.config.IamConfigDict`
        to have its keys and types checked). Every problem is reported at once."""
        return cls(_native.Iam.from_config(config, audit_callback))

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"], *, audit_callback: Optional[AuditCallback] = None) -> "Iam":
        """From a YAML or JSON file."""
        return cls(_native.Iam.from_file(os.fspath(path), audit_callback))

    @classmethod
    def from_env(cls, *, audit_callback: Optional[AuditCallback] = None) -> "Iam":
        """From ``ORY_IAM_CONFIG_FILE`` and/or ``ORY_IAM__<PATH>`` variables."""
        return cls(_native.Iam.from_env(audit_callback))

    @property
    def identity(self) -> IdentityService:
        return IdentityService(self._n.identity)

    @property
    def project_admin(self) -> ProjectAdminService:
        return ProjectAdminService(self._n.project_admin)

    @property
    def workspace_admin(self) -> WorkspaceAdminService:
        return WorkspaceAdminService(self._n.workspace_admin)

    @property
    def events(self) -> EventsService:
        return EventsService(self._n.events)

    @property
    def token(self) -> TokenService:
        return TokenService(self._n.token)

    @property
    def oauth2_client(self) -> OAuth2ClientService:
        return OAuth2ClientService(self._n.oauth2_client)

    @property
    def consent(self) -> ConsentService:
        return ConsentService(self._n.consent)

    @property
    def jwk(self) -> JwkService:
        return JwkService(self._n.jwk)

    @property
    def trusted_issuer(self) -> TrustedIssuerService:
        return TrustedIssuerService(self._n.trusted_issuer)

    @property
    def permission(self) -> PermissionService:
        return PermissionService(self._n.permission)

    @property
    def schema(self) -> SchemaService:
        return SchemaService(self._n.schema)

    @property
    def courier(self) -> CourierService:
        return CourierService(self._n.courier)

    @property
    def flow(self) -> FlowService:
        return FlowService(self._n.flow)

    @property
    def session(self) -> SessionService:
        return SessionService(self._n.session)

    @property
    def metadata(self) -> MetadataService:
        return MetadataService(self._n.metadata)

    @property
    def tenants(self) -> List[str]:
        return list(self._n.tenants)

    @property
    def default_tenant(self) -> str:
        return str(self._n.default_tenant)

    def transport_of(self, tenant: Optional[str] = None) -> Transport:
        """The ``transport`` ``tenant`` is configured with (default: the default tenant's).
        Unknown tenants raise :class:`IamConfigurationError`."""
        return cast(Transport, self._n.transport_of(tenant))

    def audit_role_denial(
        self,
        tenant: Optional[str] = None,
        *,
        required_roles: List[str],
        actor: Optional[str] = None,
        route: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> None:
        """Audit a framework adapter's role refusal: ``authz.role.deny`` (``denied``) through the
        tenant's sink (default: the default tenant), redacted like every event. ``actor`` is the
        caller (identity id or OAuth2 client id), ``route`` the handler. Unknown tenants raise
        :class:`IamConfigurationError`."""
        self._n.audit_role_denial(tenant, required_roles=list(required_roles), actor=actor, route=route, request_id=request_id)

    async def health(self) -> Health:
        """Probe every tenant × product readiness endpoint (names only, no URLs)."""
        return Health._from(await self._n.health())

    async def close(self) -> None:
        """Shut down this ``Iam`` (every handle taken from it): connection pools emptied (calls
        under way finish first, then their connections close), the session cache's Redis
        connection dropped and its memory entries cleared. Every later call raises
        :class:`IamConfigurationError`, cached answers included. Idempotent; ``async with``
        calls it."""
        await self._n.close()

    async def __aenter__(self) -> "Iam":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Iam(tenants={self.tenants!r}, default_tenant={self.default_tenant!r})"
