"""What the blocking framework adapters (:mod:`ory_iam.flask`, :mod:`ory_iam.django`) share: one
:class:`Guard` per tenant over an :class:`ory_iam.sync.Iam`, the per-request memo of the
caller's session, and the HTTP answer of every refusal (computed by the core,
:func:`ory_iam.http_answer`). The frameworks only turn an :class:`IamAnswer` into their response.

The rules are FastAPI's (:mod:`ory_iam.fastapi`): an outage is a 503, never anonymous or allowed;
the Keto subject is the caller's identity (or computed from the session), never taken from the
request; the session a guard uses is one it resolved itself, kept where no other code can plant
one (a module-private weak map keyed by the request object).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Iterable, Literal, Mapping, Optional, Sequence, Union, cast

from . import HttpAnswer, IamMachinePrincipal, Identity, Session, SubjectSet, Transport, http_answer
from ._rules import (
    IdSubject,
    Principal,
    audit_role_denied,
    check_id_subject,
    check_principal,
    check_subject_source,
    checked_object,
    default_roles,
    health_answer,
    holds,
    machine_id,
    mapped_subject,
    subject_set,
)
from .errors import IamError, IamForbiddenError
from .sync import Iam

#: ``object=``: a fixed object or one taken from the request (``f(request)``).
ObjectSource = Union[str, Callable[[Any], str]]
SubjectValue = Union[str, SubjectSet, Mapping[str, str]]
#: ``subject=``: a fixed subject or one computed from the caller's session (the machine
#: principal, with ``principal="machine"``) only.
SubjectSource = Union[SubjectValue, Callable[[Any], SubjectValue]]
RolesOf = Callable[[Session], Iterable[str]]


class IamAnswer(Exception):
    """A refusal on its way to the client: ``answer`` (status, headers, body from the core) and
    ``error``, the :class:`~ory_iam.IamError` behind it. The adapters answer it as it is."""

    def __init__(self, answer: HttpAnswer, error: IamError) -> None:
        super().__init__(error.code)
        self.answer = answer
        self.error = error

    @property
    def status(self) -> int:
        return self.answer.status


class _Memo(dict[str, Union[Session, IamError, IamMachinePrincipal]]):
    """What a guard resolved for one request, per tenant (private class: see the module docs)."""


_MEMOS: "weakref.WeakKeyDictionary[Any, _Memo]" = weakref.WeakKeyDictionary()


def _bearer_presented(headers: Any) -> bool:
    return str(headers.get("authorization", "") or "").lower().startswith("bearer ")


def transport_of(iam: Iam, error: IamError) -> Optional[Transport]:
    if error.tenant is None:
        return None
    try:
        return iam.transport_of(error.tenant)
    except IamError:  # a tenant of another Iam: the default challenge
        return None


def answer_for(iam: Iam, error: IamError, headers: Any, retry_after: Optional[float] = None) -> HttpAnswer:
    """The answer for an :class:`~ory_iam.IamError` that escaped a view (the challenge of its
    tenant's transport)."""
    return http_answer(
        error, transport=transport_of(iam, error), bearer_presented=_bearer_presented(headers), retry_after_fallback=retry_after
    )


class Guard:
    """The checks of one tenant over a blocking :class:`~ory_iam.sync.Iam`. ``request`` is the
    framework's request object (it keys the memo); ``headers`` its headers (a mapping)."""

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
        if transport is not None:
            http_answer(IamError("check"), transport=transport)  # an unknown name: IamValidationError
        self.iam = iam
        self.tenant: str = tenant or iam.default_tenant
        self._transport = transport
        self._roles_of: RolesOf = roles or default_roles
        self.retry_after = retry_after
        self._subject = check_id_subject(subject)
        self._machine_subject = check_id_subject(machine_subject, "machine_subject")
        sessions = iam.session.for_tenant(self.tenant)
        self._sessions = sessions.with_transport(transport) if transport is not None else sessions
        self.transport: Transport = transport or iam.transport_of(self.tenant)
        self._permissions = iam.permission.for_tenant(self.tenant)
        self._tokens = iam.token.for_tenant(self.tenant)

    def __repr__(self) -> str:
        return f"Guard(tenant={self.tenant!r}, transport={self.transport!r})"

    def refuse(self, error: IamError, headers: Any, required_scopes: Sequence[str] = (), transport: Optional[Transport] = None) -> IamAnswer:
        a = http_answer(
            error,
            transport=transport or self.transport,
            realm=self.tenant,
            bearer_presented=_bearer_presented(headers),
            required_scopes=required_scopes,
            retry_after_fallback=self.retry_after,
        )
        return IamAnswer(a, error)

    def resolve(self, request: Any, headers: Any) -> Union[Session, IamError]:
        """The session, or the refusal (unauthorized/forbidden) as a value; an outage raises
        its 503. Asked once per request and tenant."""
        memo = _MEMOS.get(request)
        if memo is None:
            memo = _MEMOS[request] = _Memo()
        hit = memo.get(self.tenant)
        if hit is not None:
            return cast(Union[Session, IamError], hit)
        out: Union[Session, IamError]
        try:
            out = self._sessions.whoami(headers)
        except IamError as e:
            if e.code not in ("unauthorized", "forbidden"):
                raise self.refuse(e, headers) from e
            out = e
        memo[self.tenant] = out
        return out

    def current_user(self, request: Any, headers: Any) -> Session:
        s = self.resolve(request, headers)
        if isinstance(s, IamError):
            raise self.refuse(s, headers) from s
        return s

    def optional_user(self, request: Any, headers: Any) -> Optional[Session]:
        s = self.resolve(request, headers)
        return None if isinstance(s, IamError) else s

    def principal(self, request: Any, headers: Any) -> IamMachinePrincipal:
        """The OAuth2 client behind ``Authorization: Bearer`` (no scope required; asked once per
        request); 401 ``invalid_token`` else."""
        memo = _MEMOS.get(request)
        if memo is None:
            memo = _MEMOS[request] = _Memo()
        key = "\0machine\0" + self.tenant
        hit = memo.get(key)
        if isinstance(hit, IamMachinePrincipal):
            return hit
        p = self.require_scope(headers, ())
        memo[key] = p
        return p

    def require_role(
        self, request: Any, headers: Any, roles: Sequence[str], match: Literal["any", "all"] = "any", principal: Principal = "user"
    ) -> Union[Session, IamMachinePrincipal]:
        """The session (``principal="machine"``: the bearer token's client, whose scopes are its
        roles) holding any (``match="all"``: every) of ``roles``; a denial is a 403 audited as
        ``authz.role.deny``."""
        who: Union[Session, IamMachinePrincipal]
        if check_principal(principal) == "machine":
            who = self.principal(request, headers)
            held, actor = list(who.scope), machine_id(who)
        else:
            who = self.current_user(request, headers)
            held, actor = list(self._roles_of(who)), who.identity.id
        if not holds(held, roles, match):
            audit_role_denied(self.iam, self.tenant, actor, roles)
            raise self.refuse(IamForbiddenError("missing role", tenant=self.tenant), headers)
        return who

    def require_permission(
        self,
        request: Any,
        headers: Any,
        namespace: str,
        relation: str,
        object: ObjectSource,
        subject: Optional[SubjectSource] = None,
        principal: Principal = "user",
    ) -> Union[Session, IamMachinePrincipal]:
        """Keto's ``check`` for the caller (the session, or with ``principal="machine"`` the
        bearer token's client) on ``namespace:object#relation``. The subject is ``subject``
        (fixed, or computed from the session / principal) else the integration's mapper of the
        caller's id. An object resolver yielding nothing is a 400; a denial a 403."""
        who: Union[Session, IamMachinePrincipal]
        if check_principal(principal) == "machine":
            who = self.principal(request, headers)
            caller = machine_id(who)
            if caller is None:
                raise self.refuse(IamForbiddenError("a token without a client id or subject", tenant=self.tenant), headers)
            mapper = self._machine_subject
        else:
            who = self.current_user(request, headers)
            caller, mapper = who.identity.id, self._subject
        try:
            obj = checked_object(object(request) if callable(object) else object, self.tenant)
        except IamError as e:
            raise self.refuse(e, headers) from e
        sub = mapped_subject(mapper, caller) if subject is None else subject_set(subject(who) if callable(subject) else subject)
        try:
            allowed = self._permissions.check({"namespace": namespace, "object": obj, "relation": relation, "subject": sub})
        except IamError as e:
            raise self.refuse(e, headers) from e
        if not allowed:
            raise self.refuse(IamForbiddenError("permission denied", tenant=self.tenant), headers)
        return who

    def require_scope(
        self,
        headers: Any,
        scopes: Sequence[str],
        mode: Optional[Literal["auto", "jwt", "introspect"]] = None,
        audience: Optional[str] = None,
    ) -> IamMachinePrincipal:
        """The OAuth2 client behind ``Authorization: Bearer`` holding every scope; 401
        ``invalid_token`` / 403 ``insufficient_scope`` as :meth:`ory_iam.fastapi.IamAuth.require_token`."""
        try:
            return self._tokens.authenticate(headers, mode=mode, required_scope=list(scopes), required_audience=audience)
        except IamError as e:
            # RFC 6750 §3.1: no error code when the request had no token at all.
            a = http_answer(
                e,
                transport="bearer",
                realm=self.tenant,
                bearer_presented=bool(headers.get("authorization")),
                required_scopes=list(scopes),
                retry_after_fallback=self.retry_after,
            )
            raise IamAnswer(a, e) from e

    def roles_of(self, session: Session) -> list[str]:
        return list(self._roles_of(session))

    def health(self) -> tuple[int, dict[str, Any]]:
        """``(status, body)`` of ``iam.health()`` for a health route (see
        :func:`ory_iam._rules.health_answer`)."""
        return health_answer(self.iam.health())


def scopes_of(scope: Union[str, Sequence[str]]) -> list[str]:
    return scope.split() if isinstance(scope, str) else list(scope)


class RequestIam:
    """The caller of one request, resolved on first use (``g.iam`` in Flask, ``request.iam`` in
    Django): ``user`` (the session or ``None``; an outage raises its 503), ``session`` (the
    session, else a 401), ``identity``, ``tenant``, ``iam`` (the blocking
    :class:`~ory_iam.sync.Iam`)."""

    __slots__ = ("_guard", "_request", "_headers")

    def __init__(self, guard: Guard, request: Any, headers: Any) -> None:
        self._guard = guard
        self._request = request
        self._headers = headers

    @property
    def iam(self) -> Iam:
        return self._guard.iam

    @property
    def tenant(self) -> str:
        return self._guard.tenant

    @property
    def user(self) -> Optional[Session]:
        return self._guard.optional_user(self._request, self._headers)

    @property
    def session(self) -> Session:
        return self._guard.current_user(self._request, self._headers)

    @property
    def identity(self) -> Optional[Identity]:
        s = self.user
        return None if s is None else s.identity

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    def roles(self) -> list[str]:
        s = self.user
        return [] if s is None else self._guard.roles_of(s)

    def __repr__(self) -> str:
        return f"RequestIam(tenant={self.tenant!r})"
