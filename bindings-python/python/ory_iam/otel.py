"""OpenTelemetry for ory-iam: one span per Ory operation, and ``traceparent`` on Ory requests.

``instrument()`` makes every service coroutine (``await iam.identity.get(id)``,
``await iam.session.whoami(request)``, ...) run inside a ``CLIENT`` span named
``ory_iam <service>.<method>`` (e.g. ``ory_iam identity.get``), a child of the current span.
The Rust core sends that span's context as the W3C ``traceparent`` header on every request it
makes for the call, so the Ory servers' own spans join the trace. Attributes:

==========================  ==========================================================
``ory_iam.tenant``          the tenant of the handle
``ory_iam.service``         ``identity``, ``session``, ``permission``, ...
``ory_iam.operation``       the method name (``get``, ``whoami``, ``check``, ...)
``ory_iam.cache_hit``       the session came from the session cache
``ory_iam.requests``        requests sent to Ory for this call
``ory_iam.retries``         attempts beyond the first
``http.response.status_code`` status of the last Ory answer
``ory_iam.request_id``      ``X-Request-Id`` of the last request
``ory_iam.error.code``      the ``IamError.code`` when the call failed (span status ERROR)
==========================  ==========================================================

Never recorded: arguments, results, tokens, cookies, traits, error messages. Auto-paging
iterators (``list_all``) are not wrapped; each page is an Ory request visible in the
``ory_iam.op`` log records. Needs ``opentelemetry-api`` (the SDK is the application's choice).

The same per-request facts reach Python ``logging`` without OpenTelemetry: the logger
``ory_iam.op`` receives one DEBUG record per Ory request (and per cache hit) with
``extra={"ory_iam": {tenant, service, operation, retries, status, request_id, cache_hit,
duration_ms}}``.
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import (
    ConsentService,
    CourierService,
    EventsService,
    FlowService,
    IdentityService,
    JwkService,
    MetadataService,
    OAuth2ClientService,
    PermissionService,
    ProjectAdminService,
    SchemaService,
    SessionService,
    TokenService,
    TrustedIssuerService,
    WorkspaceAdminService,
)
from .errors import IamError

__all__ = ["instrument", "uninstrument", "is_instrumented"]

_SERVICES: List[type] = [
    IdentityService,
    SessionService,
    FlowService,
    SchemaService,
    CourierService,
    PermissionService,
    TokenService,
    OAuth2ClientService,
    ConsentService,
    JwkService,
    TrustedIssuerService,
    ProjectAdminService,
    WorkspaceAdminService,
    EventsService,
    MetadataService,
]

_original: Dict[Tuple[type, str], Callable[..., Any]] = {}
_tracer: Any = None


def _service_name(cls: type) -> str:
    base = cls.__name__[: -len("Service")]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower()


def _wrap(cls: type, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    service = _service_name(cls)
    span_name = f"ory_iam {service}.{name}"

    @functools.wraps(fn)
    async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer or trace.get_tracer("ory_iam")
        attributes = {"ory_iam.tenant": self.tenant, "ory_iam.service": service, "ory_iam.operation": name}
        with tracer.start_as_current_span(
            span_name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            carrier: Dict[str, str] = {}
            propagate.inject(carrier)
            handle = type(self)(self._raw._traced(carrier.get("traceparent")))
            try:
                return await fn(handle, *args, **kwargs)
            except IamError as e:
                span.set_attribute("ory_iam.error.code", e.code)
                span.set_status(Status(StatusCode.ERROR, e.code))
                raise
            except BaseException as e:
                span.set_status(Status(StatusCode.ERROR, type(e).__name__))
                raise
            finally:
                report: Optional[Dict[str, Any]] = handle._raw._op_report()
                if report:
                    span.set_attribute("ory_iam.cache_hit", bool(report.get("cache_hit")))
                    span.set_attribute("ory_iam.requests", int(report.get("requests") or 0))
                    span.set_attribute("ory_iam.retries", int(report.get("retries") or 0))
                    if report.get("status") is not None:
                        span.set_attribute("http.response.status_code", int(report["status"]))
                    if report.get("request_id"):
                        span.set_attribute("ory_iam.request_id", str(report["request_id"]))

    return traced


def instrument(tracer_provider: Any = None) -> None:
    """Trace every service call from now on (idempotent). ``tracer_provider`` defaults to the
    global one set with ``opentelemetry.trace.set_tracer_provider``."""
    global _tracer
    from opentelemetry import trace

    _tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("ory_iam")
    if _original:
        return
    for cls in _SERVICES:
        for name, fn in list(vars(cls).items()):
            if name.startswith("_") or not inspect.iscoroutinefunction(fn):
                continue
            _original[(cls, name)] = fn
            setattr(cls, name, _wrap(cls, name, fn))


def uninstrument() -> None:
    """Restore the untraced methods."""
    global _tracer
    for (cls, name), fn in _original.items():
        setattr(cls, name, fn)
    _original.clear()
    _tracer = None


def is_instrumented() -> bool:
    return bool(_original)
