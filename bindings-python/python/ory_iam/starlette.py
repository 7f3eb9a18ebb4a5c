"""Starlette glue: turn ory-iam errors into HTTP responses. Needs only Starlette, so plain
Starlette apps can use it; :mod:`ory_iam.fastapi` builds its dependencies on top of it.

Status codes: ``unauthorized`` → 401 (with ``WWW-Authenticate``), ``forbidden`` → 403,
``not_found`` → 404, ``conflict`` → 409, ``validation`` → 400, ``upstream_unavailable`` → 503
(with ``Retry-After`` when the library knows how long to wait), anything else → 500.
The body is ``{"detail": <code>}``: the stable error code, never the message, so nothing from
upstream (or a credential) reaches the client.
"""

import math
from typing import Literal, Optional, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import IamError

__all__ = [
    "Transport",
    "IamHTTPException",
    "STATUS_BY_CODE",
    "error_headers",
    "http_exception",
    "install_error_handlers",
    "retry_after_seconds",
    "www_authenticate",
]

#: The tenant's ``transport`` setting; it decides the ``WWW-Authenticate`` challenge.
Transport = Literal["cookie", "bearer", "cookie-or-bearer", "oathkeeper"]

STATUS_BY_CODE = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "validation": 400,
    "upstream_unavailable": 503,
    "configuration": 500,
}


class IamHTTPException(HTTPException):
    """An ory-iam error on its way to the client: ``status_code``, ``headers``, ``detail`` (the
    error ``code``) and ``error``, the original :class:`~ory_iam.IamError`."""

    def __init__(self, error: IamError, status_code: int, headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(status_code=status_code, detail=error.code, headers=headers)
        self.error = error
        self.code = error.code


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def www_authenticate(
    transport: Transport,
    realm: str,
    *,
    error: Optional[str] = None,
    scope: Sequence[str] = (),
) -> str:
    """The challenge for a 401 (or a bearer 403).

    ``bearer`` → ``Bearer realm="<tenant>"`` (RFC 6750; ``error="invalid_token"`` when a token
    was sent and refused, ``error="insufficient_scope", scope="..."`` for a missing scope).
    ``cookie`` → ``Cookie realm="<tenant>"``: browsers ignore it (no standard scheme exists for
    session cookies) but RFC 9110 requires a challenge on every 401 and it tells API clients
    which credential to bring. ``cookie-or-bearer`` and ``oathkeeper`` (whose proxy in front
    accepts either) → both challenges, ``Bearer`` first.
    """
    bearer = f"Bearer realm={_quote(realm)}"
    if error:
        bearer += f", error={_quote(error)}"
    if scope:
        bearer += f", scope={_quote(' '.join(scope))}"
    cookie = f"Cookie realm={_quote(realm)}"
    if transport == "bearer":
        return bearer
    if transport == "cookie":
        return cookie
    return f"{bearer}, {cookie}"


def retry_after_seconds(error: IamError, fallback: Optional[float] = None) -> Optional[int]:
    """``retry_after`` as whole seconds, rounded up (at least 1). The library knows it for an
    open circuit breaker or an upstream 429/503 that said so; a refused connection says nothing,
    then ``fallback`` is used, if any; else ``None``."""
    for s in (error.retry_after, fallback):
        if s is not None and s > 0:
            return max(1, math.ceil(s))
    return None


def error_headers(
    error: IamError,
    *,
    transport: Transport = "cookie-or-bearer",
    realm: Optional[str] = None,
    token_presented: bool = False,
    retry_after: Optional[float] = None,
) -> dict[str, str]:
    """``WWW-Authenticate`` for ``unauthorized``, ``Retry-After`` for an outage whose length is
    known (or given as the ``retry_after`` fallback)."""
    headers: dict[str, str] = {}
    if error.code == "unauthorized":
        headers["WWW-Authenticate"] = www_authenticate(
            transport, realm or error.tenant or "ory-iam", error="invalid_token" if token_presented else None
        )
    elif error.code == "upstream_unavailable":
        secs = retry_after_seconds(error, retry_after)
        if secs is not None:
            headers["Retry-After"] = str(secs)
    return headers


def http_exception(
    error: IamError,
    *,
    transport: Transport = "cookie-or-bearer",
    realm: Optional[str] = None,
    token_presented: bool = False,
    retry_after: Optional[float] = None,
) -> IamHTTPException:
    """The :class:`IamHTTPException` (status, headers) for ``error``."""
    status = STATUS_BY_CODE.get(error.code, 500)
    headers = error_headers(error, transport=transport, realm=realm, token_presented=token_presented, retry_after=retry_after)
    return IamHTTPException(error, status, headers or None)


def _bearer_presented(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("bearer ")


def install_error_handlers(
    app: Starlette, *, transport: Transport = "cookie-or-bearer", retry_after: Optional[float] = None
) -> None:
    """Answer every :class:`~ory_iam.IamError` that escapes a route with its status and
    headers (see the module doc). ``transport`` picks the ``WWW-Authenticate`` challenge; the
    realm is the error's tenant; ``retry_after`` is the fallback for an outage of unknown length."""

    async def on_iam_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IamError)
        e = http_exception(exc, transport=transport, token_presented=_bearer_presented(request), retry_after=retry_after)
        return JSONResponse({"detail": e.detail}, status_code=e.status_code, headers=e.headers)

    async def on_iam_http_exception(request: Request, exc: Exception) -> Response:
        # Starlette's own handler would answer in plain text; keep one JSON shape.
        assert isinstance(exc, IamHTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(IamError, on_iam_error)
    app.add_exception_handler(IamHTTPException, on_iam_http_exception)
