"""The ory-iam error taxonomy. Catch by class or compare ``err.code``; never parse messages."""

from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = [
    "IamError",
    "IamConfigurationError",
    "IamUnauthorizedError",
    "IamForbiddenError",
    "IamNotFoundError",
    "IamConflictError",
    "IamValidationError",
    "IamUpstreamUnavailableError",
]


class IamError(Exception):
    """Base of every error raised by ory-iam.

    Attributes: ``code`` (stable string), ``status`` (upstream HTTP status, if any), ``tenant``,
    ``request_id``, ``retry_after`` (seconds, for ``upstream_unavailable``) and ``fields`` (a list of
    ``{"path", "reason"}`` naming each offending input or config path; for a field Ory rejected also
    ``"pointer"`` (its JSON Pointer, ``/traits/email``) and, when Kratos gives one, ``"message_id"``;
    ``reason`` is then Ory's message with any quoted submitted value masked).
    """

    code: str = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        tenant: Optional[str] = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        fields: Optional[Sequence[dict[str, Any]]] = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.status = status
        self.tenant = tenant
        self.request_id = request_id
        self.retry_after = retry_after
        self.fields: list[dict[str, Any]] = list(fields or [])

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}, status={self.status!r}, tenant={self.tenant!r})"


class IamConfigurationError(IamError):
    """Bad config, unknown tenant, or missing credentials for an operation."""

    code = "configuration"


class IamUnauthorizedError(IamError):
    """Missing, invalid or expired credentials (401)."""

    code = "unauthorized"


class IamForbiddenError(IamError):
    """Denied (403)."""

    code = "forbidden"


class IamNotFoundError(IamError):
    """The thing does not exist (404)."""

    code = "not_found"


class IamConflictError(IamError):
    """Conflict (409)."""

    code = "conflict"


class IamValidationError(IamError):
    """Bad input, caught locally or rejected by Ory (400/422)."""

    code = "validation"


class IamUpstreamUnavailableError(IamError):
    """Network error, timeout, 5xx, 429 or an open circuit breaker. See ``retry_after``."""

    code = "upstream_unavailable"
