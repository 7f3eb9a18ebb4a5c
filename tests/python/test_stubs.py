"""The stub of the native module must describe the extension exactly (no drift)."""

from __future__ import annotations

import ast
import inspect
import pathlib

import ory_iam
from ory_iam import _ory_iam

STUB = pathlib.Path(ory_iam.__file__).with_name("_ory_iam.pyi")


def _stub_classes() -> dict[str, set[str]]:
    tree = ast.parse(STUB.read_text())
    out: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    return out


def test_stub_matches_native_module() -> None:
    stub = _stub_classes()
    native = {name: obj for name, obj in vars(_ory_iam).items() if inspect.isclass(obj)}
    assert set(stub) == set(native)
    for name, cls in native.items():
        public = {m for m in dir(cls) if not m.startswith("_")}
        declared = {m for m in stub[name] if not m.startswith("_")}
        assert declared == public, f"{name}: stub {sorted(declared)} vs native {sorted(public)}"
        # Private helpers the stub declares (e.g. `_traced` for ory_iam.otel) must exist too.
        missing = {m for m in stub[name] - declared if not hasattr(cls, m)}
        assert not missing, f"{name}: stub declares {sorted(missing)}, the extension lacks them"


def test_public_services_wrap_every_native_method() -> None:
    for wrapper, native in [
        (ory_iam.IdentityService, _ory_iam.IdentityService),
        (ory_iam.SessionService, _ory_iam.SessionService),
        (ory_iam.FlowService, _ory_iam.FlowService),
        (ory_iam.SchemaService, _ory_iam.SchemaService),
        (ory_iam.PermissionService, _ory_iam.PermissionService),
        (ory_iam.OAuth2ClientService, _ory_iam.OAuth2ClientService),
        (ory_iam.ProjectAdminService, _ory_iam.ProjectAdminService),
        (ory_iam.WorkspaceAdminService, _ory_iam.WorkspaceAdminService),
        (ory_iam.EventsService, _ory_iam.EventsService),
        (ory_iam.TokenService, _ory_iam.TokenService),
        (ory_iam.JwkService, _ory_iam.JwkService),
        (ory_iam.TrustedIssuerService, _ory_iam.TrustedIssuerService),
        (ory_iam.CourierService, _ory_iam.CourierService),
        (ory_iam.MetadataService, _ory_iam.MetadataService),
    ]:
        missing = {m for m in dir(native) if not m.startswith("_")} - set(dir(wrapper))
        assert not missing, f"{wrapper.__name__} lacks {missing}"
