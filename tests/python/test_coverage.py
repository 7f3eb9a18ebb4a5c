"""docs/coverage.md names every operation of the pinned OpenAPI documents (Kratos v1.3.1, Keto
v0.14.0, Hydra v2.3.0) with the ory-iam method that calls it or the reason it is left out; the
methods it names exist."""

from __future__ import annotations

import json
import os
import pathlib
import re

import pytest

import ory_iam
import ory_iam.sync

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = {"Kratos": "kratos-v1.3.1.json", "Keto": "keto-v0.14.0.json", "Hydra": "hydra-v2.3.0.json"}
HANDLES = {
    "iam": ory_iam.Iam,
    "identity": ory_iam.IdentityService,
    "session": ory_iam.SessionService,
    "flow": ory_iam.FlowService,
    "schema": ory_iam.SchemaService,
    "courier": ory_iam.CourierService,
    "permission": ory_iam.PermissionService,
    "token": ory_iam.TokenService,
    "oauth2_client": ory_iam.OAuth2ClientService,
    "consent": ory_iam.ConsentService,
    "jwk": ory_iam.JwkService,
    "trusted_issuer": ory_iam.TrustedIssuerService,
    "metadata": ory_iam.MetadataService,
}


def shared() -> pathlib.Path:
    """The pinned documents: ``$ORY_IAM_SHARED/ory-api``, else ``shared/`` beside the checkout."""
    for c in [os.environ.get("ORY_IAM_SHARED", ""), str(ROOT.parent / "shared"), "/work/shared"]:
        if c and (pathlib.Path(c) / "ory-api" / DOCS["Kratos"]).exists():
            return pathlib.Path(c) / "ory-api"
    pytest.fail("the pinned OpenAPI documents are missing: set ORY_IAM_SHARED to the directory holding ory-api/")


def operations(doc: str) -> dict[str, str]:
    spec = json.loads((shared() / doc).read_text())
    return {
        o["operationId"]: f"{m.upper()} {p}"
        for p, item in spec["paths"].items()
        for m, o in item.items()
        if isinstance(o, dict) and "operationId" in o
    }


def table() -> dict[str, dict[str, tuple[str, str, str]]]:
    """``{product: {operationId: (endpoint, method column, reason column)}}`` of docs/coverage.md."""
    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    product = None
    for line in (ROOT / "docs" / "coverage.md").read_text().splitlines():
        heading = re.match(r"## (Kratos|Keto|Hydra) \(`(.+)`\)$", line)
        if heading:
            product = heading.group(1)
            assert heading.group(2) == DOCS[product], line
            assert product not in out, f"two sections for {product}"
            out[product] = {}
            continue
        row = re.match(r"\| `(\w+)` \| `([A-Z]+ [^`]+)` \|(.*)\|(.*)\|$", line)
        if product and row:
            op = row.group(1)
            assert op not in out[product], f"{product} {op} listed twice"
            out[product][op] = (row.group(2), row.group(3).strip(), row.group(4).strip())
    return out


def test_every_operation_of_the_pinned_documents_is_covered_or_explained() -> None:
    rows = table()
    assert set(rows) == set(DOCS)
    for product, doc in DOCS.items():
        ops = operations(doc)
        missing = sorted(set(ops) - set(rows[product]))
        assert not missing, f"{product} operations in neither column of docs/coverage.md: {missing}"
        unknown = sorted(set(rows[product]) - set(ops))
        assert not unknown, f"docs/coverage.md lists {product} operations {doc} does not have: {unknown}"
        for op, (endpoint, used, why) in rows[product].items():
            assert endpoint == ops[op], f"{product} {op}: the document says {ops[op]}"
            assert bool(used) != bool(why), f"{product} {op}: exactly one of method and reason"


def test_the_methods_the_table_names_exist() -> None:
    named = 0
    for product in table().values():
        for _, used, _ in product.values():
            for handle, method in re.findall(r"`(\w+)\.(\w+)`", used):
                assert handle in HANDLES, f"unknown handle {handle}"
                assert callable(getattr(HANDLES[handle], method, None)), f"{handle}.{method} does not exist"
                sync_cls = getattr(ory_iam.sync, HANDLES[handle].__name__, None)
                if sync_cls is not None:
                    assert callable(getattr(sync_cls, method, None)), f"ory_iam.sync {handle}.{method} does not exist"
                named += 1
    assert named > 60
