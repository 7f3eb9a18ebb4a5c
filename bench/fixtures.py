"""Idempotent benchmark fixtures on the local stack, written to bench/.work/fixtures.json.

- 2,000 identities `bench-NNNN@bench.example` in the customer tenant (created once, counted
  on every run);
- a pool of 32 native sessions (session tokens) for `bench-login-NN@bench.example`, re-used
  while Kratos still accepts them;
- 500 Keto tuples `documents:bench-doc-NNN#viewer@bench-user` (granted once).

Only the standard library, so it runs before anything is built. The fixture file holds live
session tokens: it is created mode 0600 under the git-ignored bench/.work/.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
PASSWORD = "bench-Long-and-unique-passphrase-42"
N_IDENTITIES = 2000
N_SESSIONS = 32
N_TUPLES = 500
TUPLE_NS, TUPLE_REL, TUPLE_SUBJECT = "documents", "viewer", "bench-user"


def stack() -> dict[str, Any]:
    return json.loads((ROOT / ".stack" / "stack.json").read_text())


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    data = None if body is None else json.dumps(body).encode()
    h = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw), e.headers
        except ValueError:
            return e.code, None, e.headers


def join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def list_emails(admin: str) -> set[str]:
    """Every identity's e-mail in the tenant (Kratos keyset paging through `Link`)."""
    emails: set[str] = set()
    token = None
    while True:
        q = {"page_size": "500"}
        if token:
            q["page_token"] = token
        st, body, hdrs = http("GET", join(admin, "admin/identities") + "?" + urllib.parse.urlencode(q))
        assert st == 200, f"list identities: HTTP {st}"
        emails.update(str(i.get("traits", {}).get("email", "")) for i in body)
        token = None
        for part in (hdrs.get("Link") or "").split(","):
            if 'rel="next"' in part:
                url = part.split(";")[0].strip().strip("<>")
                token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get("page_token", [None])[0]
        if not token or not body:
            return emails


def ensure_identities(admin: str) -> int:
    have = {e for e in list_emails(admin) if e.startswith("bench-") and e.endswith("@bench.example")}
    missing = [f"bench-{i:04d}@bench.example" for i in range(N_IDENTITIES) if f"bench-{i:04d}@bench.example" not in have]

    def create(email: str) -> None:
        st, _, _ = http("POST", join(admin, "admin/identities"), {"schema_id": "customer", "traits": {"email": email}})
        assert st in (201, 409), f"create identity: HTTP {st}"

    if missing:
        print(f"fixtures: creating {len(missing)} identities", file=sys.stderr)
        # Few workers: the servers run SQLite, whose writers collide when pushed hard.
        with cf.ThreadPoolExecutor(4) as ex:
            list(ex.map(create, missing))
    wanted = {f"bench-{i:04d}@bench.example" for i in range(N_IDENTITIES)}
    return len(wanted & list_emails(admin))


def login(public: str, admin: str, email: str) -> str:
    st, _, _ = http(
        "POST",
        join(admin, "admin/identities"),
        {"schema_id": "customer", "traits": {"email": email}, "credentials": {"password": {"config": {"password": PASSWORD}}}},
    )
    assert st in (201, 409), f"create login identity: HTTP {st}"
    st, flow, _ = http("GET", join(public, "self-service/login/api"))
    assert st == 200, f"login flow: HTTP {st}"
    st, body, _ = http(
        "POST",
        join(public, "self-service/login") + "?flow=" + urllib.parse.quote(flow["id"]),
        {"method": "password", "identifier": email, "password": PASSWORD},
    )
    assert st == 200 and body.get("session_token"), f"login: HTTP {st}"
    return str(body["session_token"])


#: A kept session must outlive a whole run (the stack's sessions live 1 h; a full run takes
#: ~16 min): one reused near its end expired mid-run and failed every client with 401.
MIN_LIFE_LEFT_S = 30 * 60


def valid(public: str, token: str) -> bool:
    st, body, _ = http("GET", join(public, "sessions/whoami"), headers={"X-Session-Token": token})
    if not (st == 200 and body and body.get("active")):
        return False
    expires = datetime.datetime.fromisoformat(str(body.get("expires_at", "")).replace("Z", "+00:00"))
    return (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() >= MIN_LIFE_LEFT_S


def ensure_sessions(public: str, admin: str, old: list[str]) -> list[str]:
    tokens = []
    for i in range(N_SESSIONS):
        t = old[i] if i < len(old) else None
        if t is None or not valid(public, t):
            t = login(public, admin, f"bench-login-{i:02d}@bench.example")
        tokens.append(t)
    return tokens


def ensure_tuples(write: str, read: str) -> int:
    def grant(i: int) -> None:
        t = {"namespace": TUPLE_NS, "object": f"bench-doc-{i:03d}", "relation": TUPLE_REL, "subject_id": TUPLE_SUBJECT}
        st, body, _ = http("GET", join(read, "relation-tuples/check/openapi") + "?" + urllib.parse.urlencode(t))
        if st == 200 and body.get("allowed"):
            return
        st, _, _ = http("PUT", join(write, "admin/relation-tuples"), t)
        assert st in (200, 201), f"grant tuple: HTTP {st}"

    with cf.ThreadPoolExecutor(4) as ex:
        list(ex.map(grant, range(N_TUPLES)))
    return N_TUPLES


def main() -> None:
    s = stack()
    k = s["kratos"]["customer"]
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "fixtures.json"
    old: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    n_ident = ensure_identities(k["admin_url"])
    tokens = ensure_sessions(k["public_url"], k["admin_url"], old.get("tokens", []))
    n_tuples = ensure_tuples(s["keto"]["write_url"], s["keto"]["read_url"])
    out = {
        "tokens": tokens,
        "bench_identities": n_ident,
        "tuples": {"namespace": TUPLE_NS, "relation": TUPLE_REL, "subject_id": TUPLE_SUBJECT, "count": n_tuples},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(out, f)
    print(f"fixtures: {n_ident} bench identities, {len(tokens)} sessions, {n_tuples} tuples", file=sys.stderr)


if __name__ == "__main__":
    main()
