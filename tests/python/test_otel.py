"""OpenTelemetry adapter against the real stack: one span per call with tenant, service,
operation, requests, retries, status and cache hit; parented on the caller's span; the
per-request `ory_iam.op` log records carry the same facts."""

from __future__ import annotations

import logging
from typing import Any, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import ory_iam
from ory_iam import otel

from test_session import make_iam, register_native

MISSING = "9f425a8d-7efc-4768-8f23-7647a74fdf13"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.instrument(provider)
    try:
        yield exporter
    finally:
        otel.uninstrument()


def attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_one_span_per_call_with_report(spans: InMemorySpanExporter, iam_config: dict[str, Any], email: str) -> None:
    iam = make_iam(iam_config, "memory")
    tracer = TracerProvider().get_tracer("t")  # a parent from another provider still propagates
    with tracer.start_as_current_span("request") as parent:
        with pytest.raises(ory_iam.IamNotFoundError):
            await iam.identity.get(MISSING)
    (span,) = spans.get_finished_spans()
    assert span.name == "ory_iam identity.get"
    assert span.kind == SpanKind.CLIENT
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id
    a = attrs(span)
    assert a["ory_iam.tenant"] == "customer" and a["ory_iam.service"] == "identity" and a["ory_iam.operation"] == "get"
    assert (a["ory_iam.requests"], a["ory_iam.retries"], a["http.response.status_code"]) == (1, 0, 404)
    assert a["ory_iam.error.code"] == "not_found" and span.status.status_code == StatusCode.ERROR
    assert a["ory_iam.cache_hit"] is False and a["ory_iam.request_id"]
    spans.clear()

    reg = await register_native(iam, email)
    token = reg.session_token
    assert token is not None
    headers = {"Authorization": f"Bearer {token.expose()}"}
    await iam.session.whoami(headers)
    await iam.session.for_tenant("customer").whoami(headers)
    by_name = [s for s in spans.get_finished_spans() if s.name == "ory_iam session.whoami"]
    assert [attrs(s)["ory_iam.cache_hit"] for s in by_name] == [False, True]
    assert [attrs(s)["ory_iam.requests"] for s in by_name] == [1, 0]
    assert "http.response.status_code" not in attrs(by_name[1]), "nothing was asked of Kratos"
    # Nothing secret in any attribute.
    for s in spans.get_finished_spans():
        for v in attrs(s).values():
            assert token.expose() not in str(v) and email not in str(v)


async def test_uninstrument_restores_and_handles_stay_equal(iam: ory_iam.Iam) -> None:
    original = ory_iam.IdentityService.get
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.instrument(provider)
    assert otel.is_instrumented() and ory_iam.IdentityService.get is not original
    svc = iam.identity.for_tenant("admin")
    with pytest.raises(ory_iam.IamNotFoundError):
        await svc.get(MISSING)
    assert attrs(exporter.get_finished_spans()[0])["ory_iam.tenant"] == "admin"
    assert svc == iam.identity.for_tenant("admin")
    otel.uninstrument()
    assert ory_iam.IdentityService.get is original and not otel.is_instrumented()
    exporter.clear()
    with pytest.raises(ory_iam.IamNotFoundError):
        await svc.get(MISSING)
    assert exporter.get_finished_spans() == ()


async def test_upstream_failure_span_counts_retries(spans: InMemorySpanExporter, iam_config: dict[str, Any]) -> None:
    import copy

    from test_session import closed_port

    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["kratos"]["admin_url"] = f"http://127.0.0.1:{closed_port()}/"
    cfg["tenants"]["customer"]["http"] = {"retries": 2, "backoff_base_ms": 1, "backoff_max_ms": 5, "breaker_threshold": 100}
    iam = ory_iam.Iam.from_config(cfg)
    with pytest.raises(ory_iam.IamUpstreamUnavailableError):
        await iam.identity.get(MISSING)
    a = attrs(spans.get_finished_spans()[0])
    assert (a["ory_iam.requests"], a["ory_iam.retries"], a["ory_iam.error.code"]) == (1, 2, "upstream_unavailable")


async def test_op_log_records(iam: ory_iam.Iam, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ory_iam.op")
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.identity.get(MISSING)
    recs = [r for r in caplog.records if r.name == "ory_iam.op"]
    assert recs, "one record per Ory request"
    f = recs[-1].ory_iam  # type: ignore[attr-defined]
    assert f["tenant"] == "customer" and f["service"] == "kratos-admin" and f["status"] == 404
    assert f["operation"].startswith("GET ") and f["operation"].endswith("admin/identities/{id}")
    assert f["cache_hit"] is False and f["retries"] == 0
