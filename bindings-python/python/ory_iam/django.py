"""Django (and Django REST framework) integration for ory-iam over the blocking API
(:mod:`ory_iam.sync`). Install with ``pip install ory-iam[django]``.

.. code-block:: python

    # settings.py
    ORY_IAM = {...}                       # the config of docs/config.md (else ORY_IAM__* / file)
    ORY_IAM_TENANT = "customer"           # optional: the tenant (default: the config's default)
    ORY_IAM_TRANSPORT = None              # optional: narrow the tenant's transport ("bearer", ...)
    ORY_IAM_RETRY_AFTER = None            # optional: Retry-After (s) for outages of unknown length
    ORY_IAM_SUBJECT = None                # optional: Keto subject of a user, f(identity_id) or its
                                          # dotted path; None: the bare id (ory-nestjs: "user:<id>")
    ORY_IAM_MACHINE_SUBJECT = None        # optional: the same for an OAuth2 client's id
    MIDDLEWARE = [..., "ory_iam.django.IamMiddleware"]

    # views.py
    from ory_iam.django import login_required, require_permission

    @login_required
    def me(request):
        return JsonResponse({"id": request.iam.session.identity.id})

    @require_permission("documents", "edit", object=lambda r: r.resolver_match.kwargs["id"])
    def edit(request, id): ...

``request.iam`` (a :class:`~ory_iam._web.RequestIam`, set by the middleware) resolves the caller on
first use: ``.user`` (the session or ``None``), ``.session`` (else a 401), ``.identity``,
``.tenant``, ``.iam`` (the process's blocking :class:`~ory_iam.sync.Iam`, also
:func:`get_iam`). Class-based views use :class:`IamLoginRequiredMixin`,
:class:`IamRoleRequiredMixin`, :class:`IamPermissionRequiredMixin` (they compose: all must hold).
DRF: ``authentication_classes = [IamSessionAuthentication, IamTokenAuthentication]``,
``permission_classes = [IamPermission]`` (see :class:`IamPermission`); these need
``djangorestframework`` and load only when used.

Refusals, and every :class:`~ory_iam.IamError` a view lets escape (with the middleware), are
answered with the core's HTTP answer (:func:`ory_iam.http_answer`): 401 with
``WWW-Authenticate``, 403, 503 with ``Retry-After`` when known, JSON body
``{"statusCode", "error", "requestId"?, "fields"?}``. An outage is a 503, never anonymous; the
Keto subject is the caller (or computed from the session), never taken from the request.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Sequence, TypeVar, Union, cast

from django.conf import settings  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped]

from . import HttpAnswer, IamMachinePrincipal, Session, Transport, request_id_scope
from ._web import (
    Guard,
    IamAnswer,
    ObjectSource,
    RequestIam,
    RolesOf,
    SubjectSource,
    answer_for,
    scopes_of,
)
from ._rules import IdSubject, Principal, check_principal, check_subject_source, default_roles
from .errors import IamError
from .sync import Iam

if TYPE_CHECKING:
    from ._drf import IamMachineUser, IamPermission, IamSessionAuthentication, IamTokenAuthentication, IamUser

__all__ = [
    "IamMiddleware",
    "IamDjango",
    "IamAnswer",
    "RequestIam",
    "IamLoginRequiredMixin",
    "IamRoleRequiredMixin",
    "IamPermissionRequiredMixin",
    "IamSessionAuthentication",
    "IamTokenAuthentication",
    "IamPermission",
    "IamUser",
    "IamMachineUser",
    "default_roles",
    "get_iam",
    "guard",
    "health_view",
    "login_required",
    "require_permission",
    "require_role",
    "require_scope",
    "response_for",
]

V = TypeVar("V", bound=Callable[..., HttpResponse])
_lock = threading.Lock()
_guard: Optional[Guard] = None


def guard() -> Guard:
    """The process's :class:`~ory_iam._web.Guard`, built from the settings on first use."""
    global _guard
    g = _guard
    if g is not None:
        return g
    with _lock:
        if _guard is None:
            config = getattr(settings, "ORY_IAM", None)
            iam = Iam.from_config(config) if config is not None else Iam.from_env()
            _guard = Guard(
                iam,
                getattr(settings, "ORY_IAM_TENANT", None),
                transport=getattr(settings, "ORY_IAM_TRANSPORT", None),
                roles=getattr(settings, "ORY_IAM_ROLES", None),
                retry_after=getattr(settings, "ORY_IAM_RETRY_AFTER", None),
                subject=_callable_setting("ORY_IAM_SUBJECT"),
                machine_subject=_callable_setting("ORY_IAM_MACHINE_SUBJECT"),
            )
        return _guard


def _callable_setting(name: str) -> Any:
    """A setting holding a callable or its dotted path (``"myapp.iam.keto_subject"``)."""
    v = getattr(settings, name, None)
    if isinstance(v, str):
        from django.utils.module_loading import import_string  # type: ignore[import-untyped]

        v = import_string(v)
    return v


def get_iam() -> Iam:
    """The process's blocking :class:`~ory_iam.sync.Iam` (from ``settings.ORY_IAM``)."""
    return guard().iam


def _settings_changed(setting: str = "", **_: Any) -> None:
    # override_settings(ORY_IAM=...) in tests: the next request builds from the new settings.
    global _guard
    if setting.startswith("ORY_IAM"):
        with _lock:
            _guard = None


setting_changed.connect(_settings_changed)


def response_for(answer: HttpAnswer) -> HttpResponse:
    """A Django response carrying ``answer`` (status, headers, JSON body)."""
    r = JsonResponse(answer.body, status=answer.status)
    for k, v in answer.headers.items():
        r[k] = v
    return r


class IamMiddleware:
    """Sets ``request.iam`` (nothing is asked until it is used) and answers every
    :class:`IamAnswer` and :class:`~ory_iam.IamError` a view raises. Builds the ``Iam`` when the
    app loads, so a bad config fails at start-up (and, under ``gunicorn --preload``, in the
    master: the workers it forks use it safely). Serves each request inside
    :func:`ory_iam.request_id_scope` of its ``X-Request-Id`` (or a new UUID): every Ory call made
    while serving it carries that id, echoed as the response's ``X-Request-Id``
    (``request.iam_request_id``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        guard()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.iam = RequestIam(guard(), request, request.headers)
        with request_id_scope(request.headers.get("x-request-id")) as rid:
            request.iam_request_id = rid
            response = self.get_response(request)
        response["X-Request-Id"] = rid
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Optional[HttpResponse]:
        if isinstance(exception, IamAnswer):
            return response_for(exception.answer)
        if isinstance(exception, IamError):
            g = guard()
            return response_for(answer_for(g.iam, exception, request.headers, g.retry_after))
        return None


GetGuard = Callable[[], Guard]


def _guarded(get: GetGuard, check: Callable[[Guard, HttpRequest], object]) -> Callable[[V], V]:
    def decorate(view: V) -> V:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                check(get(), request)
            except IamAnswer as e:
                return response_for(e.answer)
            return view(request, *args, **kwargs)

        return cast(V, wrapped)

    return decorate


def _login_required(get: GetGuard) -> Callable[[V], V]:
    return _guarded(get, lambda g, r: g.current_user(r, r.headers))


def _keep_principal(r: HttpRequest, who: Any) -> None:
    if isinstance(who, IamMachinePrincipal):
        r.iam_principal = who


def _require_role(get: GetGuard, roles: Sequence[str], match: Literal["any", "all"], principal: Principal = "user") -> Callable[[V], V]:
    if not roles:
        raise ValueError("require_role needs at least one role")
    check_principal(principal)
    return _guarded(get, lambda g, r: _keep_principal(r, g.require_role(r, r.headers, roles, match, principal)))


def _require_permission(
    get: GetGuard, namespace: str, relation: str, object: ObjectSource, subject: Optional[SubjectSource], principal: Principal = "user"
) -> Callable[[V], V]:
    check_subject_source(subject)
    check_principal(principal)
    return _guarded(get, lambda g, r: _keep_principal(r, g.require_permission(r, r.headers, namespace, relation, object, subject, principal)))


def _require_scope(
    get: GetGuard, scope: Union[str, Sequence[str]], mode: Optional[Literal["auto", "jwt", "introspect"]], audience: Optional[str]
) -> Callable[[V], V]:
    needed = scopes_of(scope)

    def check(g: Guard, r: HttpRequest) -> None:
        r.iam_principal = g.require_scope(r.headers, needed, mode, audience)

    return _guarded(get, check)


def login_required(view: V) -> V:
    """The view runs only for a caller with a valid session (401 otherwise, 503 on an outage)."""
    return _login_required(guard)(view)


def require_role(*roles: str, match: Literal["any", "all"] = "any", principal: Principal = "user") -> Callable[[V], V]:
    """The view runs only when the caller holds any (``match="all"``: every) of ``roles``
    (``settings.ORY_IAM_ROLES``, default :func:`default_roles`); 401 / 403 (audited
    ``authz.role.deny``). ``principal="machine"``: the OAuth2 client behind the bearer token,
    whose scopes are its roles (``request.iam_principal``)."""
    return _require_role(guard, roles, match, principal)


def require_permission(
    namespace: str, relation: str, *, object: ObjectSource, subject: Optional[SubjectSource] = None, principal: Principal = "user"
) -> Callable[[V], V]:
    """The view runs only when Keto says the caller (or ``subject``: a fixed id or
    :class:`~ory_iam.SubjectSet`, or ``f(session)``; never the request) has ``relation`` on
    ``namespace:object``; ``object`` is a string or ``f(request)``. By default the subject is
    ``settings.ORY_IAM_SUBJECT`` of the caller's identity id (default: the id). Stacked
    decorators must all hold. ``principal="machine"``: the OAuth2 client behind the bearer token
    (subject: ``settings.ORY_IAM_MACHINE_SUBJECT`` of its client id; ``request.iam_principal``).
    401 / 400 (``object`` resolved to nothing) / 403 / 503 (Keto down). A ``subject`` callback
    that wants the request raises ``TypeError`` here."""
    return _require_permission(guard, namespace, relation, object, subject, principal)


def health_view(request: HttpRequest) -> HttpResponse:
    """A view over ``get_iam().health()``: 200 when every Ory server answers ready, else 503;
    the JSON body names tenants, products and states, never a URL or credential
    (``path("health", health_view)``). It needs no session: protect it at the network level if
    it must be."""
    status, body = guard().health()
    r = JsonResponse(body, status=status)
    r["Cache-Control"] = "no-store"
    return r


def require_scope(
    scope: Union[str, Sequence[str]] = (),
    *,
    mode: Optional[Literal["auto", "jwt", "introspect"]] = None,
    audience: Optional[str] = None,
) -> Callable[[V], V]:
    """The view runs only for an OAuth2 client whose bearer access token holds every scope in
    ``scope``; its :class:`~ory_iam.IamMachinePrincipal` is ``request.iam_principal``. 401
    ``invalid_token``, 403 ``insufficient_scope``."""
    return _require_scope(guard, scope, mode, audience)


class IamDjango:
    """The checks of another tenant (or a narrower transport) next to the settings' default:
    ``admin = IamDjango(tenant="admin")``, then ``@admin.login_required``,
    ``@admin.require_role(...)``, ``admin.optional_user(request)``. ``iam`` defaults to the
    process's (:func:`get_iam`); options as in :class:`ory_iam.fastapi.IamAuth`. Built lazily,
    on first use."""

    def __init__(
        self,
        tenant: Optional[str] = None,
        *,
        iam: Optional[Iam] = None,
        transport: Optional[Transport] = None,
        roles: Optional[RolesOf] = None,
        retry_after: Optional[float] = None,
        subject: Optional[IdSubject] = None,
        machine_subject: Optional[IdSubject] = None,
    ) -> None:
        self._iam = iam
        self._options: dict[str, Any] = {
            "transport": transport,
            "roles": roles,
            "retry_after": retry_after,
            "subject": subject,
            "machine_subject": machine_subject,
        }
        self._tenant = tenant
        self._guard: Optional[Guard] = None

    def guard(self) -> Guard:
        if self._guard is None:
            self._guard = Guard(self._iam or get_iam(), self._tenant, **self._options)
        return self._guard

    def current_user(self, request: HttpRequest) -> Session:
        """The session (raises :class:`IamAnswer` 401/503, answered by the middleware)."""
        return self.guard().current_user(request, request.headers)

    def optional_user(self, request: HttpRequest) -> Optional[Session]:
        """The session or ``None``; an outage raises :class:`IamAnswer` (503)."""
        return self.guard().optional_user(request, request.headers)

    def login_required(self, view: V) -> V:
        return _login_required(self.guard)(view)

    def require_role(self, *roles: str, match: Literal["any", "all"] = "any", principal: Principal = "user") -> Callable[[V], V]:
        return _require_role(self.guard, roles, match, principal)

    def require_permission(
        self, namespace: str, relation: str, *, object: ObjectSource, subject: Optional[SubjectSource] = None, principal: Principal = "user"
    ) -> Callable[[V], V]:
        return _require_permission(self.guard, namespace, relation, object, subject, principal)

    def require_scope(
        self, scope: Union[str, Sequence[str]] = (), *, mode: Optional[Literal["auto", "jwt", "introspect"]] = None, audience: Optional[str] = None
    ) -> Callable[[V], V]:
        return _require_scope(self.guard, scope, mode, audience)


class _Mixin:
    def _iam_check(self, g: Guard, request: HttpRequest) -> None:
        pass

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self._iam_check(guard(), request)
        except IamAnswer as e:
            return response_for(e.answer)
        return cast(HttpResponse, super().dispatch(request, *args, **kwargs))  # type: ignore[misc]


class IamLoginRequiredMixin(_Mixin):
    """A class-based view for callers with a valid session only."""

    def _iam_check(self, g: Guard, request: HttpRequest) -> None:
        g.current_user(request, request.headers)
        super()._iam_check(g, request)


class IamRoleRequiredMixin(_Mixin):
    """``iam_roles`` (any of them; ``iam_roles_match = "all"``: every one)."""

    iam_roles: Sequence[str] = ()
    iam_roles_match: Literal["any", "all"] = "any"

    def _iam_check(self, g: Guard, request: HttpRequest) -> None:
        if not self.iam_roles:
            raise ValueError(f"{type(self).__name__}.iam_roles is empty")
        g.require_role(request, request.headers, self.iam_roles, self.iam_roles_match)
        super()._iam_check(g, request)


class IamPermissionRequiredMixin(_Mixin):
    """``iam_permission = (namespace, relation)`` on the object :meth:`get_iam_object` names
    (default: the URL keyword argument ``iam_object_kwarg``, ``"pk"``) for the caller. A list of
    them must all hold; an entry ``(namespace, relation, object)`` names its own object (a str,
    or ``f(request)``)."""

    iam_permission: Union[PermissionSpec, Sequence[PermissionSpec]]
    iam_object_kwarg: str = "pk"
    kwargs: dict[str, Any]

    def get_iam_object(self, request: HttpRequest) -> Optional[str]:
        v = self.kwargs.get(self.iam_object_kwarg)
        return None if v is None else str(v)

    def _iam_check(self, g: Guard, request: HttpRequest) -> None:
        for namespace, relation, obj in permission_specs(self.iam_permission):
            target: ObjectSource = obj if obj is not None else self.get_iam_object  # type: ignore[assignment]
            g.require_permission(request, request.headers, namespace, relation, target)
        super()._iam_check(g, request)


#: ``iam_permission`` of the mixin and of DRF's :class:`IamPermission`: ``(namespace,
#: relation)`` on the view's object, or ``(namespace, relation, object)`` with its own object
#: (a str or ``f(request)``).
PermissionSpec = Union[tuple[str, str], tuple[str, str, ObjectSource]]


def permission_specs(v: Any) -> list[tuple[str, str, Optional[ObjectSource]]]:
    """``iam_permission`` as a list of ``(namespace, relation, object or None)``: one spec or a
    list of them (all must hold)."""
    if isinstance(v, tuple) and v and isinstance(v[0], str):
        v = [v]
    out: list[tuple[str, str, Optional[ObjectSource]]] = []
    for spec in v:
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise TypeError("iam_permission: (namespace, relation) or (namespace, relation, object), or a list of them")
        out.append((spec[0], spec[1], spec[2] if len(spec) == 3 else None))
    return out


_DRF = {"IamSessionAuthentication", "IamTokenAuthentication", "IamPermission", "IamUser", "IamMachineUser"}


def __getattr__(name: str) -> Any:
    # The DRF classes subclass DRF's: load them (and DRF) only when asked for.
    if name in _DRF:
        from . import _drf

        return getattr(_drf, name)
    raise AttributeError(name)
