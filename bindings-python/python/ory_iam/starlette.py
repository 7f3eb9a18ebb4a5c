"""Starlette glue: turn ory-iam errors into HTTP responses. Needs only Starlette, so plain
Starlette apps can use it; :mod:`ory_iam.fastapi` builds its dependencies on top of it.

The answer comes from the Rust core (:func:`ory_iam.http_answer`), so Python and Node apps
answer alike: ``unauthorized`` → 401 (with ``WWW-Authenticate``), ``forbidden`` → 403,
``not_found`` → 404, ``conflict`` → 409, ``validation`` → 400, ``upstream_unavailable`` → 503
(with ``Retry-After`` when the library knows how long to wait), anything else → 500. The body is
``{"statusCode": <status>, "error": <code>, "requestId": <id, when known>, "fields": [{"path",
"reason"}] (400 only)}``: the stable error code, never the message, so nothing from upstream
(or a credential) reaches the client.
"""

from typing import Any, Awaitable, Callable, Optional, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import HttpAnswer, Iam, Transport, http_answer, request_id_scope
from .errors import IamError

__all__ = [
    "Transport",
    "HttpAnswer",
    "IamHTTPException",
    "RequestIdMiddleware",
    "http_answer",
    "health_endpoint",
    "http_exception",
    "install_error_handlers",
]


class IamHTTPException(HTTPException):
    """An ory-iam error on its way to the client: ``status_code``, ``headers``, ``body`` (the
    JSON answer), ``detail`` (the error ``code``) and ``error``, the original
    :class:`~ory_iam.IamError`. The handlers of :func:`install_error_handlers` answer ``body``;
    without them, Starlette/FastAPI's own handler answers ``{"detail": <code>}``."""

    def __init__(
        self,
        error: IamError,
        status_code: int,
        headers: Optional[dict[str, str]] = None,
        body: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=error.code, headers=headers)
        self.error = error
        self.code = error.code
        self.body: dict[str, Any] = body if body is not None else http_answer(error).body


def http_exception(
    error: IamError,
    *,
    transport: Optional[Transport] = None,
    realm: Optional[str] = None,
    token_presented: bool = False,
    retry_after: Optional[float] = None,
    required_scopes: Sequence[str] = (),
) -> IamHTTPException:
    """The :class:`IamHTTPException` for ``error`` (see :func:`ory_iam.http_answer`; here
    ``token_presented`` is its ``bearer_presented`` and ``retry_after`` its fallback)."""
    a = http_answer(
        error,
        transport=transport,
        realm=realm,
        bearer_presented=token_presented,
        required_scopes=required_scopes,
        retry_after_fallback=retry_after,
    )
    return IamHTTPException(error, a.status, a.headers or None, a.body)


class RequestIdMiddleware:
    """ASGI middleware: each HTTP request is served inside
    :func:`ory_iam.request_id_scope` of its ``X-Request-Id`` (kept when it is 1–200 visible ASCII
    characters, else a new UUID), so every Ory call made while serving it — ``whoami``, a
    permission check, an admin call in the route — carries that id; the response echoes it as
    ``X-Request-Id``. :meth:`ory_iam.fastapi.IamAuth.install` adds it; plain Starlette:
    ``Starlette(middleware=[Middleware(RequestIdMiddleware)])``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming: Optional[str] = None
        for k, v in scope.get("headers", ()):
            if k.lower() == b"x-request-id":
                incoming = v.decode("latin-1")
                break
        with request_id_scope(incoming) as rid:

            async def send_with_id(message: Any) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                    headers.append((b"x-request-id", rid.encode("latin-1")))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_id)


def _check_transport(transport: Optional[Transport]) -> Optional[Transport]:
    """Raises :class:`~ory_iam.IamValidationError` unless the core knows ``transport``."""
    if transport is not None:
        http_answer(IamError("check"), transport=transport)
    return transport


def _bearer_presented(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("bearer ")


def _transport_from(iam: Optional[Iam]) -> Callable[[IamError], Optional[Transport]]:
    def transport_of(error: IamError) -> Optional[Transport]:
        if iam is None or error.tenant is None:
            return None
        try:
            return iam.transport_of(error.tenant)
        except IamError:  # a tenant of another Iam: the default challenge
            return None

    return transport_of


def _install(app: Starlette, transport_of: Callable[[IamError], Optional[Transport]], retry_after: Optional[float]) -> None:
    async def on_iam_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IamError)
        a = http_answer(
            exc,
            transport=transport_of(exc),
            bearer_presented=_bearer_presented(request),
            retry_after_fallback=retry_after,
        )
        return JSONResponse(a.body, status_code=a.status, headers=a.headers or None)

    async def on_iam_http_exception(request: Request, exc: Exception) -> Response:
        # Starlette's own handler would answer in plain text and FastAPI's {"detail": …}.
        assert isinstance(exc, IamHTTPException)
        return JSONResponse(exc.body, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(IamError, on_iam_error)
    app.add_exception_handler(IamHTTPException, on_iam_http_exception)


def install_error_handlers(
    app: Starlette,
    *,
    transport: Optional[Transport] = None,
    retry_after: Optional[float] = None,
    iam: Optional[Iam] = None,
) -> None:
    """Answer every :class:`~ory_iam.IamError` that escapes a route, and every
    :class:`IamHTTPException`, with the status, headers and body of :func:`ory_iam.http_answer`.
    The realm is the error's tenant; its challenge follows ``transport`` when given, else the
    transport that tenant is configured with in ``iam`` (when given), else
    ``cookie-or-bearer``. ``retry_after`` is the fallback for an outage of unknown length."""
    from_iam = _transport_from(iam)
    _install(app, (lambda _e: transport) if _check_transport(transport) is not None else from_iam, retry_after)


def health_endpoint(iam: Iam) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint over ``iam.health()`` for Starlette (``Route("/health", health_endpoint(iam))``)
    and FastAPI (``app.get("/health")(health_endpoint(iam))``, or
    :func:`ory_iam.fastapi.health_router`): 200 when every Ory server answers ready, else 503;
    the JSON body names tenants, products and states, never a URL or credential
    (:func:`ory_iam._rules.health_answer`). It needs no session: protect it at the network level
    if it must be."""
    from ._rules import health_answer

    async def health(request: Request) -> Response:
        status, body = health_answer(await iam.health())
        return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

    return health
