"""FastAPI dependencies for ory-iam: who is calling, which roles they hold, what Keto lets
them do, and which OAuth2 client sent a bearer token. Install with ``pip install ory-iam[fastapi]``.

.. code-block:: python

    from fastapi import APIRouter, Depends, FastAPI
    from ory_iam import Iam, Session
    from ory_iam.fastapi import IamAuth

    iam = Iam.from_env()
    auth = IamAuth(iam, tenant="customer")
    app = FastAPI()
    auth.install(app)                      # IamError anywhere → 401/403/404/409/400/503

    @app.get("/me")
    async def me(user: Session = Depends(auth.current_user)) -> dict[str, str]:
        return {"id": user.identity.id}

    @app.post("/documents/{id}/edit")
    async def edit(user: Session = Depends(
        auth.require_permission("documents", "edit", object=lambda r: r.path_params["id"]))) -> None: ...

    admin = IamAuth(iam, tenant="admin")   # one IamAuth per tenant, e.g. one per router
    admin_router = APIRouter(dependencies=[Depends(admin.require_role("admin"))])

Failures never let a request through: a Kratos or Keto outage is a 503, never "anonymous" or
"allowed". Every dependency raises :class:`~ory_iam.starlette.IamHTTPException` (an
``HTTPException``), so FastAPI answers it even without :meth:`IamAuth.install`, though then in
its own ``{"detail": <code>}`` shape; with ``install`` every error gets the body Node's adapters
answer too: ``{"statusCode", "error", "requestId"?, "fields"?}`` (see :func:`ory_iam.http_answer`).
"""

import contextlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Iterator, Literal, Mapping, Optional, Sequence, Union, cast, overload

from starlette.applications import Starlette
from starlette.requests import Request

from . import Iam, IamMachinePrincipal, Identity, Secret, Session, SubjectSet, Transport
from .errors import IamError, IamForbiddenError
from ._rules import IdSubject, Principal, audit_role_denied, check_id_subject, check_principal, checked_object, holds, machine_id, mapped_subject
from ._rules import check_subject_source as _check_subject_source
from ._rules import default_roles
from ._rules import subject_set as _subject_set
from .starlette import IamHTTPException, RequestIdMiddleware, _check_transport, _install, _transport_from, health_endpoint, http_exception

if TYPE_CHECKING:
    from fastapi import APIRouter

    from .testing import FakeOry

__all__ = ["IamAuth", "IamHTTPException", "RequestIdMiddleware", "Transport", "default_roles", "health_endpoint", "health_router", "FakeUser", "FakeUsers"]

#: ``object=`` of :meth:`IamAuth.require_permission`: a fixed object or one taken from the request.
ObjectSource = Union[str, Callable[[Request], Union[str, Awaitable[str]]]]
#: ``subject=`` of :meth:`IamAuth.require_permission`: a fixed subject (an id or a
#: :class:`~ory_iam.SubjectSet`) or one computed from the caller's session only — never from the
#: request (whoever could name the subject in a URL, header or body would pick whose permission
#: is checked).
SubjectValue = Union[str, SubjectSet, Mapping[str, str]]
SubjectSource = Union[SubjectValue, Callable[[Any], Union[SubjectValue, Awaitable[SubjectValue]]]]
RolesOf = Callable[[Session], Iterable[str]]


async def _resolve(v: Any, request: Request, tenant: str) -> str:
    out = v(request) if callable(v) else v
    if inspect.isawaitable(out):
        out = await out
    return checked_object(out, tenant)


async def _resolve_subject(subject: Any, who: Any) -> Union[str, dict[str, str]]:
    out = subject(who) if callable(subject) else subject
    if inspect.isawaitable(out):
        out = await out
    return _subject_set(out)


class _SessionMemo(dict[str, Union["Session", "IamError", "IamMachinePrincipal"]]):
    """What ``_whoami`` resolved for one request, per tenant. Held in the ASGI scope under a key
    only this module has (an object, like a JS ``Symbol``), and accepted only as an instance of
    this private class: nothing the app or another middleware writes (``request.state``, a scope
    entry with a guessable name) can plant a session."""


_MEMO_KEY = object()


def _memo(request: Request) -> _SessionMemo:
    memo = request.scope.get(_MEMO_KEY)  # type: ignore[call-overload]
    if not isinstance(memo, _SessionMemo):
        memo = _SessionMemo()
        request.scope[_MEMO_KEY] = memo  # type: ignore[index]
    return memo


class IamAuth:
    """FastAPI dependencies bound to one :class:`~ory_iam.Iam` and one tenant.

    The credentials accepted and the ``WWW-Authenticate`` challenge of a 401 (see
    :func:`ory_iam.http_answer`) follow the tenant's configured ``transport``
    (``iam.transport_of(tenant)``). ``transport`` narrows both (``"bearer"`` for an API router
    next to a cookie UI: a cookie is then not accepted); widening the tenant's transport raises
    ``IamConfigurationError``. ``roles`` maps a
    session to its roles (default: :func:`default_roles`). ``retry_after`` (seconds) is sent
    with a 503 whose outage length the library does not know. An unknown tenant raises
    ``IamConfigurationError`` here, at start-up, not on the first request; an unknown
    ``transport`` raises ``IamValidationError``.

    ``subject`` maps a user's identity id to its Keto subject in :meth:`require_permission`
    (default: the bare id). ory-nestjs sends ``user:<id>``; to keep Keto data written for it:
    ``IamAuth(iam, subject=lambda identity_id: f"user:{identity_id}")``. ``machine_subject``
    does the same for an OAuth2 client's id (``principal="machine"``; default: the bare id).
    """

    def __init__(
        self,
        iam: Iam,
        tenant: Optional[str] = None,
        *,
        transport: Optional[Transport] = None,
        roles: Optional[RolesOf] = None,
        retry_after: Optional[float] = None,
        subject: Optional[IdSubject] = None,
        machine_subject: Optional[IdSubject] = None,
    ) -> None:
        self.tenant: str = tenant or iam.default_tenant
        self._transport: Optional[Transport] = _check_transport(transport)
        self._roles_of: RolesOf = roles or default_roles
        self.retry_after = retry_after
        self._subject = check_id_subject(subject)
        self._machine_subject = check_id_subject(machine_subject, "machine_subject")
        self._bind(iam)

    def __repr__(self) -> str:
        return f"IamAuth(tenant={self.tenant!r}, transport={self.transport!r})"

    def _bind(self, iam: Iam) -> None:
        self.iam: Iam = iam
        self._sessions = iam.session.for_tenant(self.tenant)
        if self._transport is not None:
            # An explicit transport narrows what is accepted (a bearer-only API next to a cookie
            # UI), not only the challenge; widening the tenant's is IamConfigurationError.
            self._sessions = self._sessions.with_transport(self._transport)
        #: The challenge's transport: the override, else the tenant's configured one in ``iam``.
        self.transport: Transport = self._transport or iam.transport_of(self.tenant)
        self._permissions = iam.permission.for_tenant(self.tenant)
        self._tokens = iam.token.for_tenant(self.tenant)

    @contextlib.contextmanager
    def override(self, iam: Iam) -> Iterator["IamAuth"]:
        """For tests: within the block, every dependency of this ``IamAuth`` asks ``iam``
        (e.g. ``FakeOry(...).iam``) instead of the one it was built with; the routes keep
        their ``Depends(auth....)`` as they are. The tenant must exist in ``iam``."""
        previous = self.iam
        self._bind(iam)
        try:
            yield self
        finally:
            self._bind(previous)

    # --- errors

    def http_error(self, error: IamError, request: Optional[Request] = None) -> IamHTTPException:
        """The HTTP answer for ``error`` with this tenant's challenge and ``Retry-After``."""
        presented = request is not None and request.headers.get("authorization", "").lower().startswith("bearer ")
        return http_exception(
            error, transport=self.transport, realm=self.tenant, token_presented=presented, retry_after=self.retry_after
        )

    def install(self, app: Starlette, *, request_id: bool = True) -> None:
        """Map every :class:`~ory_iam.IamError` a route lets escape (e.g. from a direct
        ``await iam.permission.check(...)``) to its status, headers and body. With several
        ``IamAuth`` in one app, install one: the realm and the challenge come from each error's
        tenant (this ``IamAuth``'s ``transport=``, when given, for every error).

        ``request_id`` (default): also add :class:`~ory_iam.starlette.RequestIdMiddleware`, so
        every Ory call made while serving a request carries its ``X-Request-Id`` (or a new
        UUID), echoed on the response. Call ``install`` before the app starts."""

        def transport_of(error: IamError) -> Optional[Transport]:
            return self._transport or _transport_from(self.iam)(error)

        _install(app, transport_of, self.retry_after)
        if request_id:
            app.add_middleware(RequestIdMiddleware)

    # --- sessions

    async def _whoami(self, request: Request) -> Union[Session, IamError]:
        """The session, or the refusal (unauthorized/forbidden) as a value; outages raise 503.
        Memoized on the request: current_user, require_role and require_permission on one
        route ask Kratos once (and audit once)."""
        memo = _memo(request)
        hit = memo.get(self.tenant)
        if hit is not None:
            return cast(Union[Session, IamError], hit)
        out: Union[Session, IamError]
        try:
            out = await self._sessions.whoami(request)
        except IamError as e:
            if e.code not in ("unauthorized", "forbidden"):
                raise self.http_error(e, request) from e
            out = e
        memo[self.tenant] = out
        return out

    async def current_user(self, request: Request) -> Session:
        """Dependency: the caller's session; 401 (with ``WWW-Authenticate``) when the credential
        is missing, invalid or expired; 503 (with ``Retry-After`` when known) when Kratos is down."""
        s = await self._whoami(request)
        if isinstance(s, IamError):
            raise self.http_error(s, request) from s
        return s

    async def optional_user(self, request: Request) -> Optional[Session]:
        """Dependency: the caller's session or ``None`` when there is no valid credential. An
        outage is still a 503, never an anonymous request."""
        s = await self._whoami(request)
        return None if isinstance(s, IamError) else s

    def roles_of(self, session: Session) -> list[str]:
        return list(self._roles_of(session))

    async def principal(self, request: Request) -> IamMachinePrincipal:
        """Dependency: the OAuth2 client behind ``Authorization: Bearer`` (any valid access
        token; see :meth:`require_token` for scopes), asked once per request."""
        memo = _memo(request)
        key = "\0machine\0" + self.tenant
        hit = memo.get(key)
        if isinstance(hit, IamMachinePrincipal):
            return hit
        p = await self.require_token()(request)
        memo[key] = p
        return p

    @overload
    def require_role(self, *roles: str, match: Literal["any", "all"] = ..., principal: Literal["user"] = ...) -> Callable[[Request], Awaitable[Session]]: ...
    @overload
    def require_role(self, *roles: str, match: Literal["any", "all"] = ..., principal: Literal["machine"]) -> Callable[[Request], Awaitable[IamMachinePrincipal]]: ...

    def require_role(self, *roles: str, match: Literal["any", "all"] = "any", principal: Principal = "user") -> Callable[[Request], Awaitable[Any]]:
        """Dependency factory: the session when it holds any (``match="all"``: every) of
        ``roles``; 401 without a session, 403 without the role (audited ``authz.role.deny``).
        ``principal="machine"``: the OAuth2 client behind ``Authorization: Bearer`` instead,
        whose token's scopes are its roles (the dependency yields its
        :class:`~ory_iam.IamMachinePrincipal`; 401 ``invalid_token`` without a valid token)."""
        if not roles:
            raise ValueError("require_role needs at least one role")
        machine = check_principal(principal) == "machine"
        wanted = set(roles)

        async def dependency(request: Request) -> Any:
            who: Union[Session, IamMachinePrincipal]
            if machine:
                who = await self.principal(request)
                held, actor = list(who.scope), machine_id(who)
            else:
                who = await self.current_user(request)
                held, actor = self.roles_of(who), who.identity.id
            if not holds(held, wanted, match):
                audit_role_denied(self.iam, self.tenant, actor, sorted(wanted))
                raise self.http_error(IamForbiddenError("missing role", tenant=self.tenant), request)
            return who

        dependency.__name__ = f"require_role_{'_'.join(sorted(wanted))}"
        return dependency

    @overload
    def require_permission(
        self, namespace: str, relation: str, *, object: ObjectSource, subject: Optional[SubjectSource] = ..., principal: Literal["user"] = ...
    ) -> Callable[[Request], Awaitable[Session]]: ...
    @overload
    def require_permission(
        self, namespace: str, relation: str, *, object: ObjectSource, subject: Optional[SubjectSource] = ..., principal: Literal["machine"]
    ) -> Callable[[Request], Awaitable[IamMachinePrincipal]]: ...

    def require_permission(
        self,
        namespace: str,
        relation: str,
        *,
        object: ObjectSource,
        subject: Optional[SubjectSource] = None,
        principal: Principal = "user",
    ) -> Callable[[Request], Awaitable[Any]]:
        """Dependency factory: the session when Keto says ``subject`` has ``relation`` on
        ``namespace:object``. ``object`` is a string or ``f(request)`` (the request names the
        object; ``None`` or ``""`` is a 400 with field ``object``, Keto is not asked);
        ``subject`` is by default the caller's identity id through this ``IamAuth``'s
        ``subject`` mapper, else a fixed id or :class:`~ory_iam.SubjectSet`, or ``f(session)``
        computed from the caller's session only (a callback that wants the request raises
        ``TypeError`` here: whoever names a subject in the request would pick whose permission
        is checked). Callbacks may be async. Several on one route must all hold (FastAPI runs
        every dependency). ``principal="machine"``: the caller is the OAuth2 client behind
        ``Authorization: Bearer`` (default subject: ``machine_subject`` of its client id; a
        ``subject`` callback gets the :class:`~ory_iam.IamMachinePrincipal`), and the
        dependency yields that principal. 401 without a session, 403 when denied, 503 when Keto
        is unreachable."""
        _check_subject_source(subject)
        machine = check_principal(principal) == "machine"

        async def dependency(request: Request) -> Any:
            who: Union[Session, IamMachinePrincipal]
            if machine:
                who = await self.principal(request)
                caller = machine_id(who)
                if caller is None:
                    raise self.http_error(IamForbiddenError("a token without a client id or subject", tenant=self.tenant), request)
                mapper = self._machine_subject
            else:
                who = await self.current_user(request)
                caller, mapper = who.identity.id, self._subject
            try:
                obj = await _resolve(object, request, self.tenant)
            except IamError as e:
                raise self.http_error(e, request) from e
            sub = mapped_subject(mapper, caller) if subject is None else await _resolve_subject(subject, who)
            try:
                allowed = await self._permissions.check(
                    {"namespace": namespace, "object": obj, "relation": relation, "subject": sub}
                )
            except IamError as e:
                raise self.http_error(e, request) from e
            if not allowed:
                raise self.http_error(IamForbiddenError("permission denied", tenant=self.tenant), request)
            return who

        dependency.__name__ = f"require_permission_{namespace}_{relation}"
        return dependency

    # --- OAuth2 bearer tokens (machine to machine)

    def require_token(
        self,
        scope: Union[str, Sequence[str]] = (),
        *,
        mode: Optional[Literal["auto", "jwt", "introspect"]] = None,
        audience: Optional[str] = None,
    ) -> Callable[[Request], Awaitable[IamMachinePrincipal]]:
        """Dependency factory: the OAuth2 client behind ``Authorization: Bearer`` (Hydra token,
        verified by ``iam.token.authenticate``) holding every scope in ``scope`` (a list or a
        space-separated string). 401 ``Bearer error="invalid_token"`` for a missing, inactive or
        forged token, an ID or refresh token, or one for another ``audience`` (default: the
        tenant's ``hydra.audience``); 403 ``Bearer error="insufficient_scope"`` for a missing
        scope. ``mode`` defaults to the tenant's ``hydra.bearer_mode``."""
        needed = scope.split() if isinstance(scope, str) else list(scope)

        async def dependency(request: Request) -> IamMachinePrincipal:
            try:
                return await self._tokens.authenticate(
                    request, mode=mode, required_scope=needed, required_audience=audience
                )
            except IamError as e:
                # RFC 6750 §3.1: no error code when the request had no token at all.
                raise http_exception(
                    e,
                    transport="bearer",
                    realm=self.tenant,
                    token_presented=bool(request.headers.get("authorization")),
                    retry_after=self.retry_after,
                    required_scopes=needed,
                ) from e

        dependency.__name__ = "require_token"
        return dependency


# --- health -----------------------------------------------------------------------------------------


def health_router(iam: Iam, path: str = "/health", **router_options: Any) -> "APIRouter":
    """An ``APIRouter`` serving ``GET <path>`` with :func:`health_endpoint`:
    ``app.include_router(health_router(iam))``."""
    from fastapi import APIRouter

    router = APIRouter(**router_options)
    router.add_api_route(path, health_endpoint(iam), methods=["GET"])
    return router


# --- testing helpers (over ory_iam.testing.FakeOry: no servers) ------------------------------------


@dataclass(frozen=True, repr=False)
class FakeUser:
    """A logged-in user of a :class:`FakeUsers`. ``headers`` carry the session token: send them
    with your test client; ``repr`` hides them."""

    identity: Identity
    session_id: str
    token: Secret
    headers: dict[str, str]

    def __repr__(self) -> str:
        return f"FakeUser(identity_id={self.identity.id!r}, session_id={self.session_id!r})"


class FakeUsers:
    """Users, grants and machine tokens for testing a FastAPI app against a
    :class:`~ory_iam.testing.FakeOry`, in process and without servers::

        fake = FakeOry(tenants=["customer"])
        users = FakeUsers(fake)
        with auth.override(fake.iam):            # the app's own IamAuth now asks the fake
            ada = await users.login(roles=["admin"])
            await users.grant(ada, "documents", "edit", "d1")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
                assert (await c.post("/documents/d1/edit", headers=ada.headers)).status_code == 200
    """

    def __init__(self, fake: "FakeOry", tenant: Optional[str] = None, *, subject: Optional[IdSubject] = None) -> None:
        self.fake = fake
        self.tenant: str = tenant or fake.default_tenant
        self._subject = check_id_subject(subject)
        self._n = 0

    async def login(
        self,
        *,
        traits: Optional[dict[str, Any]] = None,
        roles: Sequence[str] = (),
        metadata_public: Optional[dict[str, Any]] = None,
        schema_id: Optional[str] = None,
        kind: Literal["bearer", "cookie", "session_token"] = "bearer",
    ) -> FakeUser:
        """Create an identity (``roles`` go to ``metadata_public["roles"]``, where
        :func:`default_roles` reads them), log it in, return it with request headers."""
        self._n += 1
        meta = dict(metadata_public or {})
        if roles:
            meta["roles"] = list(roles)
        ident = await self.fake.iam.identity.for_tenant(self.tenant).create(
            schema_id=schema_id or self.tenant,
            traits=traits if traits is not None else {"email": f"user-{self._n}@example.com"},
            metadata_public=meta or None,
        )
        cred = await self.fake.create_session(ident.id, tenant=self.tenant)
        return FakeUser(ident, cred.session_id, cred.token, self.fake.headers_for(cred, kind))

    def _subject_of(self, who: Union[FakeUser, str]) -> Union[str, dict[str, str]]:
        return mapped_subject(self._subject, who.identity.id) if isinstance(who, FakeUser) else who

    async def grant(self, who: Union[FakeUser, str], namespace: str, relation: str, object: str) -> None:
        """Let ``who`` (a user, whose subject is ``subject(identity_id)`` when ``FakeUsers`` was
        given the app's ``subject=`` mapper, or a subject id) have ``relation`` on
        ``namespace:object``."""
        sub = self._subject_of(who)
        await self.fake.iam.permission.for_tenant(self.tenant).grant(
            {"namespace": namespace, "object": object, "relation": relation, "subject": sub}
        )

    async def revoke(self, who: Union[FakeUser, str], namespace: str, relation: str, object: str) -> None:
        sub = self._subject_of(who)
        await self.fake.iam.permission.for_tenant(self.tenant).revoke(
            {"namespace": namespace, "object": object, "relation": relation, "subject": sub}
        )

    async def machine_headers(self, scope: Union[str, Sequence[str]] = (), client_id: Optional[str] = None) -> dict[str, str]:
        """``Authorization: Bearer`` with an access token of ``client_id`` (default: the fake's
        preconfigured client) for ``scope``, as :meth:`IamAuth.require_token` expects."""
        from .testing import DEFAULT_CLIENT_ID

        token = await self.fake.issue_token(client_id=client_id or DEFAULT_CLIENT_ID, scope=scope, tenant=self.tenant)
        return self.fake.headers_for(token)
