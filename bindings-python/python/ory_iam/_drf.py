"""Django REST framework classes of :mod:`ory_iam.django` (loaded when first asked for)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from rest_framework.authentication import BaseAuthentication  # type: ignore[import-untyped]
from rest_framework.exceptions import APIException  # type: ignore[import-untyped]
from rest_framework.permissions import BasePermission  # type: ignore[import-untyped]
from rest_framework.request import Request  # type: ignore[import-untyped]

from . import IamMachinePrincipal, Session, http_answer
from ._rules import Principal
from ._web import IamAnswer
from .django import guard, permission_specs
from .errors import IamUnauthorizedError


class IamUser:
    """``request.user`` for a caller with an ory-iam session (``request.auth`` is the
    :class:`~ory_iam.Session`)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, session: Session) -> None:
        self.session = session
        self.identity = session.identity
        self.id = self.pk = session.identity.id

    def __str__(self) -> str:
        return self.id

    def __repr__(self) -> str:
        return f"IamUser(id={self.id!r}, tenant={self.session.tenant!r})"


class IamMachineUser:
    """``request.user`` for an OAuth2 client (``request.auth`` is the
    :class:`~ory_iam.IamMachinePrincipal`)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, principal: IamMachinePrincipal) -> None:
        self.principal = principal
        self.id = self.pk = principal.client_id

    def __str__(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"IamMachineUser(client_id={self.id!r})"


class IamAPIException(APIException):  # type: ignore[misc]
    """An :class:`~ory_iam._web.IamAnswer` in DRF's terms: DRF's exception handler answers its
    status, ``WWW-Authenticate`` (``auth_header``), ``Retry-After`` (``wait``) and the core's body
    (``detail``, kept as the dict the core made)."""

    def __init__(self, e: IamAnswer) -> None:
        super().__init__(detail=e.error.code, code=e.error.code)
        self.status_code = e.answer.status
        self.detail = e.answer.body
        self.auth_header = e.answer.headers.get("www-authenticate")
        retry = e.answer.headers.get("retry-after")
        self.wait = int(retry) if retry and retry.isdigit() else None
        self.error = e.error


def _django(request: Request) -> Any:
    return getattr(request, "_request", request)


def _challenge() -> str:
    g = guard()
    a = http_answer(IamUnauthorizedError("unauthorized", tenant=g.tenant), transport=g.transport, realm=g.tenant)
    return a.headers.get("www-authenticate", "")


class IamSessionAuthentication(BaseAuthentication):  # type: ignore[misc]
    """The caller's Kratos session (cookie or token, per the tenant's ``transport``):
    ``request.user`` an :class:`IamUser`, ``request.auth`` the session. No or a rejected
    credential: not authenticated by this class (:class:`IamPermission` answers 401); an outage:
    503, never anonymous."""

    def authenticate(self, request: Request) -> Optional[tuple[IamUser, Session]]:
        dj = _django(request)
        try:
            s = guard().optional_user(dj, dj.headers)
        except IamAnswer as e:
            raise IamAPIException(e) from e
        return None if s is None else (IamUser(s), s)

    def authenticate_header(self, request: Request) -> str:
        return _challenge()


class IamTokenAuthentication(BaseAuthentication):  # type: ignore[misc]
    """An OAuth2 client's Hydra access token (``Authorization: Bearer``, verified by
    ``iam.token.authenticate``): ``request.user`` an :class:`IamMachineUser`, ``request.auth``
    the principal. No bearer token: not authenticated by this class; an invalid one: 401
    ``invalid_token``."""

    def authenticate(self, request: Request) -> Optional[tuple[IamMachineUser, IamMachinePrincipal]]:
        dj = _django(request)
        if not str(dj.headers.get("authorization", "")).lower().startswith("bearer "):
            return None
        try:
            p = guard().require_scope(dj.headers, ())
        except IamAnswer as e:
            raise IamAPIException(e) from e
        return IamMachineUser(p), p

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="' + guard().tenant + '"'


class IamPermission(BasePermission):  # type: ignore[misc]
    """Reads the view's requirements (all must hold):

    - ``iam_scopes = ["read"]``: an OAuth2 client whose bearer token holds every scope (401
      ``invalid_token`` / 403 ``insufficient_scope``); the caller is then that client (``[]``:
      any valid token). Otherwise a session is required (401);
    - ``iam_roles = ["admin"]`` (``iam_roles_match = "all"`` for every one): 403 without
      (audited ``authz.role.deny``); for a client, its token's scopes are its roles;
    - ``iam_permission = (namespace, relation)`` on the object ``view.get_iam_object(request)``
      names, default ``view.kwargs[view.iam_object_kwarg]`` (``"pk"``); or a list of them, all
      of which must hold; an entry ``(namespace, relation, object)`` names its own object (a
      str or ``f(request)``). The subject is the caller (``settings.ORY_IAM_SUBJECT`` of the
      identity id, ``ORY_IAM_MACHINE_SUBJECT`` of a client id), never the request: 400 when the
      object is missing, 403 when Keto denies, 503 when it is down.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        g = guard()
        dj = _django(request)
        try:
            scopes: Optional[Sequence[str]] = getattr(view, "iam_scopes", None)
            principal: Principal = "user"
            if scopes is not None:
                g.require_scope(dj.headers, list(scopes))
                principal = "machine"
            else:
                g.current_user(dj, dj.headers)
            roles: Sequence[str] = getattr(view, "iam_roles", ())
            if roles:
                g.require_role(dj, dj.headers, roles, getattr(view, "iam_roles_match", "any"), principal)
            perm = getattr(view, "iam_permission", None)
            if perm is not None:
                for namespace, relation, obj in permission_specs(perm):
                    target: Any = obj if obj is not None else (lambda _r: _object_of(view, request))
                    g.require_permission(dj, dj.headers, namespace, relation, target, None, principal)
        except IamAnswer as e:
            raise IamAPIException(e) from e
        return True


def _object_of(view: Any, request: Request) -> Optional[str]:
    getter = getattr(view, "get_iam_object", None)
    if getter is not None:
        v = getter(request)
    else:
        v = view.kwargs.get(getattr(view, "iam_object_kwarg", "pk"))
    return None if v is None else str(v)
