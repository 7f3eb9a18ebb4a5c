"""Flask extension for ory-iam over the blocking API (:mod:`ory_iam.sync`). Install with
``pip install ory-iam[flask]``.

.. code-block:: python

    from flask import Flask, g, request
    from ory_iam.flask import IamFlask, login_required, require_permission, require_role

    app = Flask(__name__)
    app.config["ORY_IAM"] = {...}            # the config of docs/config.md (else ORY_IAM__* / file)
    IamFlask(app, tenant="customer")         # or: ext = IamFlask(tenant=...); ext.init_app(app)

    @app.get("/me")
    @login_required
    def me():
        return {"id": g.iam.session.identity.id}

    @app.post("/documents/<id>/edit")
    @require_permission("documents", "edit", object=lambda r: r.view_args["id"])
    def edit(id):
        ...

``g.iam`` (a :class:`~ory_iam._web.RequestIam`) resolves the caller on first use: ``g.iam.user``
(the session or ``None``), ``g.iam.session`` (else a 401), ``g.iam.identity``, ``g.iam.iam`` (the
blocking :class:`~ory_iam.sync.Iam`). Refusals and every :class:`~ory_iam.IamError` a view lets
escape are answered with the core's HTTP answer (:func:`ory_iam.http_answer`): 401 with
``WWW-Authenticate``, 403, 503 with ``Retry-After`` when known, and the JSON body
``{"statusCode", "error", "requestId"?, "fields"?}``. An outage is a 503, never anonymous; the
Keto subject is the caller (or computed from the session), never taken from the request.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Literal, Optional, Sequence, TypeVar, Union, cast

from flask import Blueprint, Flask, Response, current_app, g, request

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

__all__ = [
    "IamFlask",
    "IamAnswer",
    "RequestIam",
    "default_roles",
    "health_blueprint",
    "login_required",
    "require_permission",
    "require_role",
    "require_scope",
    "response_for",
]

F = TypeVar("F", bound=Callable[..., Any])
_EXT = "ory_iam"


def response_for(answer: HttpAnswer) -> Response:
    """A Flask response carrying ``answer`` (status, headers, JSON body)."""
    return Response(json.dumps(answer.body), status=answer.status, headers=answer.headers, mimetype="application/json")


class IamFlask:
    """The extension: one blocking :class:`~ory_iam.sync.Iam` and the checks of one tenant.

    ``iam``: the :class:`~ory_iam.sync.Iam` to use; by default one is built from
    ``app.config["ORY_IAM"]`` (a config dict) when set, else from the environment
    (``ORY_IAM_CONFIG_FILE`` / ``ORY_IAM__*``). ``tenant``, ``transport``, ``roles``,
    ``retry_after``, ``subject``, ``machine_subject`` as in :class:`ory_iam.fastapi.IamAuth`
    (an unknown tenant raises ``IamConfigurationError`` in ``init_app``, not on the first
    request).

    The first ``IamFlask`` of an app is its default: ``g.iam``, the module-level decorators and
    the error handlers use it. It also serves each request inside
    :func:`ory_iam.request_id_scope` of its ``X-Request-Id`` (or a new UUID): every Ory call made
    while serving it carries that id, echoed as the response's ``X-Request-Id``
    (``request_id=False``: not). More (another tenant, a bearer-only API) share its ``iam`` unless
    given one, and check through their own methods: ``admin.login_required``,
    ``admin.require_role(...)``, ``admin.current_user()``."""

    def __init__(
        self,
        app: Optional[Flask] = None,
        *,
        iam: Optional[Iam] = None,
        tenant: Optional[str] = None,
        transport: Optional[Transport] = None,
        roles: Optional[RolesOf] = None,
        retry_after: Optional[float] = None,
        subject: Optional[IdSubject] = None,
        machine_subject: Optional[IdSubject] = None,
        request_id: bool = True,
    ) -> None:
        self._iam = iam
        self._request_id = request_id
        self._options: dict[str, Any] = {
            "tenant": tenant,
            "transport": transport,
            "roles": roles,
            "retry_after": retry_after,
            "subject": subject,
            "machine_subject": machine_subject,
        }
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        iam = self._iam
        default: Optional[Guard] = app.extensions.get(_EXT)
        if iam is None:
            config = app.config.get("ORY_IAM")
            iam = default.iam if default is not None else Iam.from_config(config) if config is not None else Iam.from_env()
        guard = Guard(iam, **self._options)
        app.extensions.setdefault(_GUARDS, {})[self] = guard
        if default is not None:
            return
        app.extensions[_EXT] = guard
        if self._request_id:
            app.wsgi_app = _RequestIdWsgi(app.wsgi_app)  # type: ignore[method-assign]

        @app.before_request
        def attach() -> None:
            g.iam = RequestIam(guard, request._get_current_object(), request.headers)  # type: ignore[attr-defined]

        def on_answer(e: IamAnswer) -> Response:
            return response_for(e.answer)

        def on_iam_error(e: IamError) -> Response:
            return response_for(answer_for(guard.iam, e, request.headers, guard.retry_after))

        app.register_error_handler(IamAnswer, on_answer)
        app.register_error_handler(IamError, on_iam_error)

    @staticmethod
    def guard(app: Optional[Flask] = None) -> Guard:
        """The default :class:`~ory_iam._web.Guard` of ``app`` (default: the current app)."""
        a = app if app is not None else current_app
        try:
            return cast(Guard, a.extensions[_EXT])
        except KeyError:
            raise RuntimeError("ory_iam.flask: IamFlask(app) / init_app(app) was not called") from None

    def _own(self) -> Guard:
        try:
            return cast(Guard, current_app.extensions[_GUARDS][self])
        except KeyError:
            raise RuntimeError("ory_iam.flask: this IamFlask was not initialized for the current app") from None

    def current_user(self) -> Session:
        """This extension's tenant's session of the current request (else a 401)."""
        return self._own().current_user(request._get_current_object(), request.headers)  # type: ignore[attr-defined]

    def optional_user(self) -> Optional[Session]:
        """The session or ``None``; an outage is still a 503."""
        return self._own().optional_user(request._get_current_object(), request.headers)  # type: ignore[attr-defined]

    def login_required(self, view: F) -> F:
        return _login_required(self._own)(view)

    def require_role(self, *roles: str, match: Literal["any", "all"] = "any", principal: Principal = "user") -> Callable[[F], F]:
        return _require_role(self._own, roles, match, principal)

    def require_permission(
        self, namespace: str, relation: str, *, object: ObjectSource, subject: Optional[SubjectSource] = None, principal: Principal = "user"
    ) -> Callable[[F], F]:
        return _require_permission(self._own, namespace, relation, object, subject, principal)

    def require_scope(
        self, scope: Union[str, Sequence[str]] = (), *, mode: Optional[Literal["auto", "jwt", "introspect"]] = None, audience: Optional[str] = None
    ) -> Callable[[F], F]:
        return _require_scope(self._own, scope, mode, audience)


class _RequestIdWsgi:
    """WSGI wrapper: the request is served inside :func:`ory_iam.request_id_scope` of its
    ``X-Request-Id``; the response echoes the id."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with request_id_scope(environ.get("HTTP_X_REQUEST_ID")) as rid:

            def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"] + [("X-Request-Id", rid)]
                return start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)

            return self.app(environ, start)


_GUARDS = "ory_iam_guards"
GetGuard = Callable[[], Guard]


def _default() -> Guard:
    return IamFlask.guard()


def _guarded(get: GetGuard, check: Callable[[Guard, Any, Any], object]) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            check(get(), request._get_current_object(), request.headers)  # type: ignore[attr-defined]
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def _login_required(get: GetGuard) -> Callable[[F], F]:
    return _guarded(get, lambda guard, req, headers: guard.current_user(req, headers))


def _keep_principal(who: Any) -> None:
    if isinstance(who, IamMachinePrincipal):
        g.iam_principal = who


def _require_role(get: GetGuard, roles: Sequence[str], match: Literal["any", "all"], principal: Principal = "user") -> Callable[[F], F]:
    if not roles:
        raise ValueError("require_role needs at least one role")
    check_principal(principal)
    return _guarded(get, lambda guard, req, headers: _keep_principal(guard.require_role(req, headers, roles, match, principal)))


def _require_permission(
    get: GetGuard, namespace: str, relation: str, object: ObjectSource, subject: Optional[SubjectSource], principal: Principal = "user"
) -> Callable[[F], F]:
    check_subject_source(subject)
    check_principal(principal)
    return _guarded(
        get, lambda guard, req, headers: _keep_principal(guard.require_permission(req, headers, namespace, relation, object, subject, principal))
    )


def _require_scope(
    get: GetGuard, scope: Union[str, Sequence[str]], mode: Optional[Literal["auto", "jwt", "introspect"]], audience: Optional[str]
) -> Callable[[F], F]:
    needed = scopes_of(scope)

    def check(guard: Guard, _req: Any, headers: Any) -> None:
        g.iam_principal = guard.require_scope(headers, needed, mode, audience)

    return _guarded(get, check)


def login_required(view: F) -> F:
    """The view runs only for a caller with a valid session (401 otherwise, 503 on an outage)."""
    return _login_required(_default)(view)


def require_role(*roles: str, match: Literal["any", "all"] = "any", principal: Principal = "user") -> Callable[[F], F]:
    """The view runs only when the caller holds any (``match="all"``: every) of ``roles`` (the
    extension's ``roles`` mapping, default :func:`default_roles`); 401 without a session, 403
    without the role (audited ``authz.role.deny``). ``principal="machine"``: the caller is the
    OAuth2 client behind ``Authorization: Bearer`` and its token's scopes are its roles (then
    ``g.iam_principal``)."""
    return _require_role(_default, roles, match, principal)


def require_permission(
    namespace: str, relation: str, *, object: ObjectSource, subject: Optional[SubjectSource] = None, principal: Principal = "user"
) -> Callable[[F], F]:
    """The view runs only when Keto says the caller (or ``subject``: a fixed id or
    :class:`~ory_iam.SubjectSet`, or ``f(session)``; never the request) has ``relation`` on
    ``namespace:object``; ``object`` is a string or ``f(request)``. By default the subject is
    the extension's ``subject`` mapper of the caller's identity id. Stacked decorators must all
    hold. ``principal="machine"``: the caller is the OAuth2 client behind the bearer token
    (subject: ``machine_subject`` of its client id; ``g.iam_principal``). 401 without a session,
    400 when ``object`` resolves to nothing, 403 when denied, 503 when Keto is unreachable. A
    ``subject`` callback that wants the request raises ``TypeError`` here."""
    return _require_permission(_default, namespace, relation, object, subject, principal)


def require_scope(
    scope: Union[str, Sequence[str]] = (),
    *,
    mode: Optional[Literal["auto", "jwt", "introspect"]] = None,
    audience: Optional[str] = None,
) -> Callable[[F], F]:
    """The view runs only for an OAuth2 client whose ``Authorization: Bearer`` access token
    (Hydra; ``iam.token.authenticate``) holds every scope in ``scope``; its
    :class:`~ory_iam.IamMachinePrincipal` is ``g.iam_principal``. 401 ``invalid_token``, 403
    ``insufficient_scope``."""
    return _require_scope(_default, scope, mode, audience)


def health_blueprint(iam: Optional[Iam] = None, *, url: str = "/health", name: str = "ory_iam_health") -> Blueprint:
    """A blueprint serving ``GET <url>`` over ``iam.health()`` (default: the app's
    :class:`IamFlask`'s ``iam``): 200 when every Ory server answers ready, else 503; the body
    (:func:`ory_iam._rules.health_answer`) names tenants, products and states, never a URL or
    credential. The route needs no session: protect it at the network level if it must be.
    ``app.register_blueprint(health_blueprint())``."""
    from ._rules import health_answer

    bp = Blueprint(name, __name__)

    @bp.get(url)
    def health() -> Response:
        status, body = health_answer((iam or IamFlask.guard().iam).health())
        return Response(json.dumps(body), status=status, mimetype="application/json", headers={"cache-control": "no-store"})

    return bp
