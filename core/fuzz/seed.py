#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (run once; the results are committed under
core/fuzz/corpus/<target>/). `dto_mappers` seeds are instances of the response schemas of Ory's
OpenAPI documents in ../shared/ory-api (Kratos, Keto, Hydra, Ory Network), built from their
properties, examples and formats; the other targets get hand-written valid and invalid inputs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
import time

HERE = pathlib.Path(__file__).resolve().parent
API = HERE.parents[1].parent / "shared" / "ory-api"
KEY = b"fuzz-signer-key"  # the key ory_iam::fuzzing::oathkeeper signs with

SAMPLES = {"uuid": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "date-time": "2026-01-02T03:04:05Z", "email": "ada@example.org", "uri": "https://example.org/cb"}


def instance(schema: dict, comps: dict, depth: int = 0) -> object:
    if depth > 6:
        return None
    if "$ref" in schema:
        return instance(comps.get(schema["$ref"].rsplit("/", 1)[-1], {}), comps, depth + 1)
    for k in ("allOf", "oneOf", "anyOf"):
        if k in schema and schema[k]:
            if k == "allOf":
                out: dict = {}
                for s in schema[k]:
                    v = instance(s, comps, depth + 1)
                    if isinstance(v, dict):
                        out.update(v)
                return out
            return instance(schema[k][0], comps, depth + 1)
    if "example" in schema:
        return schema["example"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        return {k: instance(v, comps, depth + 1) for k, v in schema.get("properties", {}).items()}
    if t == "array":
        return [instance(schema.get("items", {}), comps, depth + 1)]
    if t == "string":
        return SAMPLES.get(schema.get("format", ""), "value")
    if t == "integer":
        return 1
    if t == "number":
        return 1.5
    if t == "boolean":
        return True
    return {}


def write(target: str, name: str, data: bytes) -> None:
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def dto_seeds() -> None:
    wanted = {"identity", "session", "loginFlow", "registrationFlow", "settingsFlow", "recoveryFlow", "verificationFlow",
              "successfulNativeLogin", "successfulNativeRegistration", "message", "relationship", "relationships",
              "expandedPermissionTree", "oAuth2Client", "oAuth2TokenExchange", "trustedOAuth2JwtGrantIssuer",
              "oAuth2LoginRequest", "oAuth2ConsentRequest", "oAuth2LogoutRequest", "project", "projectMetadata",
              "workspace", "projectApiKey", "eventStream", "identityCredentials", "checkPermissionResult", "jsonWebKeySet"}
    n = 0
    for f in sorted(API.glob("*.json")):
        doc = json.loads(f.read_text())
        comps = doc.get("components", {}).get("schemas", {})
        for name, schema in comps.items():
            if name in wanted or name.lower() in {w.lower() for w in wanted}:
                write("dto_mappers", f"{f.stem}-{name}.json", json.dumps(instance(schema, comps)).encode())
                n += 1
    write("dto_mappers", "keto-tuples.json", json.dumps({"relation_tuples": [{"namespace": "documents", "object": "d", "relation": "viewer", "subject_id": "u"}, {"namespace": "documents", "object": "d", "relation": "viewer", "subject_set": {"namespace": "groups", "object": "g", "relation": "member"}}], "next_page_token": "t"}).encode())
    write("dto_mappers", "flow-success-continue-with.json", json.dumps({"session_token": "ory_st_x", "continue_with": [{"action": "set_ory_session_token", "ory_session_token": "ory_st_y"}]}).encode())
    print(f"dto_mappers: {n + 2} seeds")


def headers_seeds() -> None:
    seeds = [
        "Cookie: ory_kratos_session=MTY4NzY1; other=1",
        "Cookie: a=b; ory_kratos_session_customer=abc123; c=\nAuthorization: Bearer ory_st_abcdef",
        "Authorization: Bearer \nX-Session-Token: ory_st_1234567890",
        "authorization: bearer ory_st_x\ncookie: ory_kratos_session=",
        "Cookie: ;;;=;ory_kratos_session==\nX-Session-Token: a b",
        json.dumps({"cookie": ["ory_kratos_session=1", "x=2"], "authorization": "Bearer t"}),
    ]
    for i, s in enumerate(seeds):
        write("headers", f"seed-{i}", s.encode())


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def oathkeeper_seeds() -> None:
    now = int(time.time())
    claims = [
        {"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 60, "jti": "j1"},
        {"sub": "s", "iat": now, "exp": now + 60, "jti": "j2", "sid": "x", "tenant": "fuzz", "traits": {"email": "a@b"}, "aal": "aal2"},
        {"sub": "s", "iat": -9223372036854775808, "exp": 9223372036854775807, "jti": "j3"},
        {"sub": "", "iat": 0, "exp": 0, "jti": ""},
    ]
    for i, c in enumerate(claims):
        raw = json.dumps(c).encode()
        write("oathkeeper", f"claims-{i}", raw)  # as the claims of a signed envelope
        payload = b64(raw)
        sig = b64(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())
        write("oathkeeper", f"headers-{i}", f"{payload}\n{sig}".encode())  # as X-User \n X-User-Signature


def json_patch_seeds() -> None:
    seeds = [
        [{"op": "replace", "path": "/traits/email", "value": "x"}],
        [{"op": "add", "path": "/metadata_public/a", "value": 1}, {"op": "remove", "path": "/metadata_admin"}],
        [{"op": "move", "from": "/traits/a", "path": "/traits/b"}, {"op": "copy", "from": "/traits/a", "path": "/metadata_public/b"}],
        [{"op": "replace", "path": "/state", "value": "inactive"}, {"op": "test", "path": "/state", "value": "active"}],
        [{"op": "replace", "path": "/id", "value": 1}],
        {"op": "replace"},
    ]
    for i, s in enumerate(seeds):
        write("json_patch", f"seed-{i}", json.dumps(s).encode())


SEEDS = {"dto_mappers": dto_seeds, "headers": headers_seeds, "oathkeeper": oathkeeper_seeds,
         "json_patch": json_patch_seeds}

if __name__ == "__main__":
    # `seed.py headers` seeds one target (the others' corpora have been minimized since).
    import sys
    for name in sys.argv[1:] or SEEDS:
        SEEDS[name]()
