"""The differential suite of issue 26: tests/scenarios/differential.json run once on
``ory_iam.testing.FakeOry`` and once on the real stack (tests/stack), comparing per step the
outcome, the error class/code/status and the DTO shape. Any difference must be listed, with its
reason, in the allow-list of docs/testing-fake.md; a listed step that agrees fails too (the list
stays honest). The coverage table of the same page (emulated / 501 per method) is checked against
what the fake answered. Same rules as core/tests/differential.rs and
tests/node/differential.test.js; the records go to .stack/differential/python.json."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import urllib.error
import urllib.parse
import urllib.request
import inspect
import json
import pathlib
import re
import uuid
from typing import Any, Awaitable, Callable, Optional

import ory_iam
from ory_iam import IamError, Secret
from ory_iam.testing import FakeOry

from conftest import ROOT, _stack, register_secret

SCENARIO = json.loads((ROOT / "tests" / "scenarios" / "differential.json").read_text())
DOC = (ROOT / "docs" / "testing-fake.md").read_text()
KEEP = frozenset(SCENARIO["keep"])
PASSWORD = SCENARIO["password"]
LANG = "python"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def allow_list() -> dict[str, dict[str, Any]]:
    """The fenced ```json block after the `<!-- differential-allow-list -->` marker."""
    m = re.search(r"<!-- differential-allow-list -->\s*```json\n(.*?)```", DOC, re.S)
    assert m, "docs/testing-fake.md has no allow-list block"
    entries = json.loads(m.group(1))
    out = {}
    for e in entries:
        assert set(e) >= {"step", "differs", "kind", "reason"}, e
        assert e["kind"] in ("fake-bug", "simplification"), e
        assert e["differs"] in ("outcome", "error", "shape"), e
        out[e["step"]] = e
    return out


def coverage_table() -> dict[str, str]:
    """`| \\`service.method\\` | emulated / 501 |` rows after the `<!-- fake-coverage -->` marker."""
    part = DOC.split("<!-- fake-coverage -->", 1)
    assert len(part) == 2, "docs/testing-fake.md has no coverage table"
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `([a-z0-9_]+\.[a-z0-9_]+)` \| ([^|]+)\|", part[1], re.M)}


# ----------------------------------------------------------------------------- normalizer

def plain(v: Any, *, expose: bool) -> Any:
    """A result as plain JSON data: DTO dataclasses as dicts, Secrets exposed (for `save`) or
    masked (for the shape)."""
    if isinstance(v, Secret):
        return v.expose() if expose else "<secret>"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: plain(getattr(v, f.name), expose=expose) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {str(k): plain(x, expose=expose) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x, expose=expose) for x in v]
    return v


def shape(v: Any, key: str = "", top: bool = True) -> Any:
    """Keys and value types: strings masked unless their key is in `keep` (and they are no UUID
    or URL), numbers masked except a top-level count, booleans and null kept, list lengths kept."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v if top else "<number>"
    if isinstance(v, str):
        if v == "<secret>":
            return v
        return v if key in KEEP and not UUID_RE.match(v) and "://" not in v else "<string>"
    if isinstance(v, list):
        return [shape(x, key, False) for x in v]
    if isinstance(v, dict):
        return {k: shape(x, k, False) for k, x in sorted(v.items())}
    return f"<{type(v).__name__}>"


def unordered(v: Any) -> Any:
    """Every list sorted (by its elements' JSON): for lists whose order the servers vary."""
    if isinstance(v, list):
        return sorted((unordered(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, dict):
        return {k: unordered(x) for k, x in v.items()}
    return v


# ----------------------------------------------------------------------------- backends

#: The PKCE verifier of the scenario's authorization requests (S256).
CODE_VERIFIER = "differential-code-verifier-0123456789-0123456789-0123456789"
REDIRECT_URI = "https://app.example.test/callback"


def location(url: str) -> dict[str, Any]:
    """A redirect's Location with its query parameters (login_challenge, code, error, ...)."""
    out: dict[str, Any] = {"url": url, "code_verifier": CODE_VERIFIER}
    out.update({k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(url).query).items()})
    return out


def auth_query(step: dict[str, Any]) -> dict[str, str]:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
    return {"client_id": step["client"], "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": step["scope"], "state": "differential-state",
            "code_challenge": challenge, "code_challenge_method": "S256"}


class Backend:
    name: str
    iam: ory_iam.Iam

    def browse(self, tenant: str, kind: str, step: dict[str, Any]) -> dict[str, Any]:
        """The browser's part of a code flow: `authorize` (the authorization request of the
        step) or `follow` (its `url`)."""
        raise NotImplementedError

    def cookie(self, tenant: str) -> str:
        raise NotImplementedError

    async def session(self, tenant: str, of: dict[str, Any]) -> dict[str, Any]:
        """A new session of the fixture identity `of`."""
        raise NotImplementedError

    async def fixture(self, tenant: str, of: Optional[dict[str, Any]], run: str, n: int) -> dict[str, Any]:
        """A session of a new identity with a password (identity.create, the same call on both
        sides), or a second session of the saved fixture `of`."""
        if of is None:
            email = f"fixture{n}-{run}@example.test"
            ident = await self.iam.identity.for_tenant(tenant).create(
                schema_id=tenant, traits={"email": email}, credentials={"password": {"config": {"password": PASSWORD}}}
            )
            of = {"identity_id": ident.id, "email": email}
        return await self.session(tenant, of)


class Fake(Backend):
    name = "fake"

    def __init__(self) -> None:
        # Configured like tests/stack: each tenant's Kratos has its own identity schema.
        stack = pathlib.Path(__file__).resolve().parents[2] / "tests" / "stack"
        schemas = {t: {t: json.loads((stack / f"identity.{t}.schema.json").read_text())} for t in ("customer", "admin")}
        # The tenants' client has the real side's client's scopes (`read write`).
        self.fake = FakeOry(tenants=["customer", "admin"], tenant_identity_schemas=schemas, client_scope="read write")
        self.iam = self.fake.iam

    def cookie(self, tenant: str) -> str:
        return "ory_kratos_session"

    def browse(self, tenant: str, kind: str, step: dict[str, Any]) -> dict[str, Any]:
        if kind == "authorize":
            return location(self.fake.authorize(tenant=tenant, **auth_query(step)))
        return location(self.fake.follow(step["url"], tenant=tenant))

    async def session(self, tenant: str, of: dict[str, Any]) -> dict[str, Any]:
        cred = await self.fake.create_session(of["identity_id"], tenant=tenant)
        return {**of, "session_id": cred.session_id, "token": cred.token.expose()}


class Real(Backend):
    name = "real"

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.iam = ory_iam.Iam.from_config(cfg)
        self.jar: dict[str, str] = {}

    def browse(self, tenant: str, kind: str, step: dict[str, Any]) -> dict[str, Any]:
        """A GET on Hydra that does not follow the redirect, Hydra's cookies kept."""
        if kind == "authorize":
            url = self.cfg["tenants"][tenant]["hydra"]["public_url"].rstrip("/") + "/oauth2/auth?" + urllib.parse.urlencode(auth_query(step))
        else:
            url = step["url"]

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a: Any, **k: Any) -> None:
                return None

        req = urllib.request.Request(url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())})
        try:
            resp = urllib.request.build_opener(NoRedirect).open(req)
            headers, status = resp.headers, resp.status
        except urllib.error.HTTPError as e:
            headers, status = e.headers, e.code
        for sc in headers.get_all("Set-Cookie") or []:
            name, _, value = sc.split(";")[0].partition("=")
            self.jar[name] = value
        assert 300 <= status < 400, f"{url} answered {status}"
        return location(str(headers["Location"]))

    def cookie(self, tenant: str) -> str:
        return str(self.cfg["tenants"][tenant]["kratos"].get("session_cookie_name", "ory_kratos_session"))

    async def session(self, tenant: str, of: dict[str, Any]) -> dict[str, Any]:
        flows = self.iam.flow.for_tenant(tenant)
        flow = await flows.initiate_login()
        res = await flows.submit_login(flow.id, {"method": "password", "identifier": of["email"], "password": PASSWORD})
        assert res.session is not None and res.session_token is not None, f"fixture: {res.kind}"
        return {**of, "session_id": res.session.id, "token": res.session_token.expose()}


async def real_backend() -> Real:
    """The stack's config plus an OAuth2 client (scope `read write`) as the tenants' Hydra client."""
    cfg = json.loads(json.dumps(_stack()["iam_config"]))
    cfg["audit"] = {"sink": "log"}
    # The session cache as FakeOry configures it, so `cache_hit` compares.
    cfg["session_cache"] = "memory"
    for t in cfg["tenants"].values():
        t["cache"] = {"session_ttl_ms": 60_000}
    base = ory_iam.Iam.from_config(cfg)
    client = await base.oauth2_client.create(
        {"client_name": "differential", "grant_types": ["client_credentials"], "scope": "read write", "token_endpoint_auth_method": "client_secret_basic"}
    )
    assert client.client_secret is not None
    register_secret(client.client_secret.expose())
    for t in cfg["tenants"].values():
        t["hydra"]["client_id"] = client.client_id
        t["hydra"]["client_secret"] = client.client_secret.expose()
    return Real(cfg)


# ----------------------------------------------------------------------------- runner

def resolve(v: Any, saved: dict[str, Any], run: str, backend: Backend, tenant: str) -> Any:
    if isinstance(v, str):
        if v == "$uuid":
            return str(uuid.uuid4())
        if v.startswith("$") and not v.startswith("${"):
            name, *path = v[1:].split(".")
            # A value an earlier step failed to produce resolves to None (the call then fails too).
            out = saved.get(name)
            for p in path:
                out = out.get(p) if isinstance(out, dict) else None
            return out
        return v.replace("${run}", run)
    if isinstance(v, list):
        return [resolve(x, saved, run, backend, tenant) for x in v]
    if isinstance(v, dict):
        if "$headers" in v:
            kind, token = v["$headers"], resolve(v.get("token"), saved, run, backend, tenant)
            return {
                "bearer": lambda: {"Authorization": f"Bearer {token}"},
                "session_token": lambda: {"X-Session-Token": str(token)},
                "cookie": lambda: {"Cookie": f"{backend.cookie(tenant)}={token}"},
                "none": lambda: {},
            }[kind]()
        return {k: resolve(x, saved, run, backend, tenant) for k, x in v.items()}
    return v


async def run_scenario(backend: Backend, run: str) -> dict[str, Any]:
    saved: dict[str, Any] = {}
    records: dict[str, Any] = {}
    for n, step in enumerate(SCENARIO["steps"]):
        tenant = step.get("tenant", "customer")
        if step.get("fixture") in ("authorize", "follow"):
            saved[step["save"]] = backend.browse(tenant, step["fixture"], resolve(step, saved, run, backend, tenant))
            continue
        if "fixture" in step:
            of = saved[step["identity"][1:]] if "identity" in step else None
            saved[step["save"]] = await backend.fixture(tenant, of, run, n)
            register_secret(saved[step["save"]]["token"])
            continue
        service, method = step["call"].split(".")
        svc = getattr(backend.iam, service).for_tenant(tenant)
        args = resolve(step.get("args", []), saved, run, backend, tenant)
        kwargs = resolve(step.get("kwargs", {}), saved, run, backend, tenant)
        fn: Callable[..., Any] = getattr(svc, method)
        try:
            if "iterate" in step:
                out: Any = []
                async for item in fn(*args, **kwargs):
                    out.append(item)
                    if len(out) >= step["iterate"]:
                        break
            else:
                res = fn(*args, **kwargs)
                out = await res if inspect.isawaitable(res) else res
            if "save" in step:
                saved[step["save"]] = plain(out, expose=True)
            rec: dict[str, Any] = {"outcome": "ok"}
            if step.get("record") != "outcome":
                rec["shape"] = shape(plain(out, expose=False))
                if step.get("unordered"):
                    rec["shape"] = unordered(rec["shape"])
            records[step["id"]] = rec
        except IamError as e:
            records[step["id"]] = {"outcome": "error", "class": type(e).__name__, "code": e.code, "status": e.status}
        except Exception as e:  # not an IamError: a bug of the scenario or of the binding
            raise AssertionError(f"{backend.name}: step {step['id']} raised {type(e).__name__}") from e
    return records


def category(fake: dict[str, Any], real: dict[str, Any]) -> Optional[str]:
    if fake == real:
        return None
    if fake["outcome"] != real["outcome"]:
        return "outcome"
    return "error" if fake["outcome"] == "error" else "shape"


def coverage(records: dict[str, Any]) -> dict[str, str]:
    """Per method: `501` when every call of it answered 501 on the fake, else `emulated`."""
    by: dict[str, list[Any]] = {}
    for step in SCENARIO["steps"]:
        if "call" in step:
            by.setdefault(step["call"], []).append(records[step["id"]])
    return {m: "501" if all(r.get("status") == 501 for r in rs) else "emulated" for m, rs in by.items()}


_RESULTS: dict[str, Any] = {}


async def results() -> dict[str, Any]:
    if not _RESULTS:
        run = uuid.uuid4().hex[:12]
        _RESULTS["fake"] = await run_scenario(Fake(), run)
        _RESULTS["real"] = await run_scenario(await real_backend(), run)
        out = ROOT / ".stack" / "differential"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{LANG}.json").write_text(json.dumps(_RESULTS, indent=1, sort_keys=True))
    return _RESULTS


async def test_fake_and_real_agree_except_the_allow_list() -> None:
    r = await results()
    allowed = allow_list()
    unlisted, wrong, stale = [], [], []
    differ = 0
    for step in SCENARIO["steps"]:
        if "call" not in step:
            continue
        sid = step["id"]
        cat = category(r["fake"][sid], r["real"][sid])
        entry = allowed.get(sid)
        if entry is not None and LANG not in entry.get("languages", [LANG]):
            entry = None
        differ += cat is not None
        if cat is None and entry is not None:
            stale.append(sid)
        elif cat is not None and entry is None:
            unlisted.append(f"{sid} ({cat}): fake {r['fake'][sid]} / real {r['real'][sid]}")
        elif cat is not None and entry is not None and entry["differs"] != cat:
            wrong.append(f"{sid}: listed as {entry['differs']}, differs in {cat}")
    compared = sum(1 for s in SCENARIO["steps"] if "call" in s)
    print(f"differential ({LANG}): {compared} steps, {compared - differ} agree, {differ} differ")
    assert not unlisted, "differences not in docs/testing-fake.md:\n" + "\n".join(unlisted)
    assert not wrong, "\n".join(wrong)
    assert not stale, f"allow-list entries that no longer differ (remove them): {stale}"
    unknown = set(allowed) - {s["id"] for s in SCENARIO["steps"]}
    assert not unknown, f"allow-list entries for no step: {sorted(unknown)}"


async def test_coverage_table_matches_the_fake() -> None:
    got = coverage((await results())["fake"])
    assert coverage_table() == got, "docs/testing-fake.md's coverage table is stale: " + json.dumps(
        {m: got.get(m) for m in sorted(set(got) | set(coverage_table())) if got.get(m) != coverage_table().get(m)}
    )


def test_every_public_method_is_in_the_scenario() -> None:
    """A method added to a service must be added to the scenario (or listed as uncovered)."""
    called = {s["call"] for s in SCENARIO["steps"] if "call" in s}
    uncovered = SCENARIO["uncovered"]
    missing = []
    iam = FakeOry().iam
    for name in dir(iam):
        svc = getattr(iam, name, None)
        if name.startswith("_") or not isinstance(svc, ory_iam._Service):
            continue
        if f"{name}.*" in uncovered:
            continue
        for m, fn in inspect.getmembers(type(svc), inspect.isfunction):
            if m.startswith("_") or m in ("for_tenant", "tenant"):
                continue
            if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
                # The flow service's per-kind shortcuts are `initiate`/`submit` with a kind.
                if name == "flow" and re.match(r"(initiate|submit)_(login|registration|recovery|settings|verification)$", m):
                    continue
                if f"{name}.{m}" in called or f"{name}.{m}" in uncovered:
                    continue
                missing.append(f"{name}.{m}")
    assert not missing, f"public methods missing from tests/scenarios/differential.json: {missing}"
