"""Transport security (issue 19 item 9), the Python side of core/tests/tls.rs: Kratos behind a
TLS-terminating proxy (tests/security/tls_proxy.py) with a certificate from a private CA made here
with `cryptography`; `http.ca_file`, mutual TLS, a `rediss://` session cache on a real TLS
`redis-server`, IPv6 literal URLs, unusable TLS files refused at construction under their key, and
the warning for credentials sent over plain http:// to a host that is not loopback."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import logging
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import ory_iam
from ory_iam import IamConfigurationError, IamUpstreamUnavailableError

from conftest import REDIS_KEY, ROOT

PROXY = ROOT / "tests" / "security" / "tls_proxy.py"
PASSWORD = "a-Long-and-unique-passphrase-42"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: pathlib.Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """ca.pem; server.pem/.key for 127.0.0.1, ::1 and localhost; client.pem/.key."""
    d = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ory-iam test CA"))
        .issuer_name(_name("ory-iam test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(stem: str, sans: list[x509.GeneralName], usage: x509.ObjectIdentifier) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        (d / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(d / f"{stem}.key", key)

    leaf(
        "server",
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.DNSName("localhost"),
        ],
        ExtendedKeyUsageOID.SERVER_AUTH,
    )
    leaf("client", [x509.DNSName("client.ory-iam.test")], ExtendedKeyUsageOID.CLIENT_AUTH)
    return d


class Proxy:
    """tests/security/tls_proxy.py in front of a stack URL."""

    def __init__(self, upstream: str, listen: str = "127.0.0.1", pki: Optional[pathlib.Path] = None, mutual: bool = False):
        args = [sys.executable, str(PROXY), "--upstream", upstream.removeprefix("http://").rstrip("/"), "--listen", listen]
        if pki is not None:
            args += ["--cert", str(pki / "server.pem"), "--key", str(pki / "server.key")]
            if mutual:
                args += ["--client-ca", str(pki / "ca.pem")]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.port: int = json.loads(self.proc.stdout.readline())["port"]

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def config(stack: dict[str, Any], public: str, admin: str, **http: Any) -> dict[str, Any]:
    """One tenant `customer` at the given Kratos URLs; failures come back at once."""
    return {
        "tenants": {
            "customer": {
                "kratos": {
                    "public_url": public,
                    "admin_url": admin,
                    "session_cookie_name": stack["kratos"]["customer"]["session_cookie_name"],
                },
                "http": {"timeout_ms": 5000, "connect_timeout_ms": 2000, "retries": 0, "breaker_threshold": 0, **http},
            }
        },
        "audit": {"sink": "none"},
    }


async def session(iam: ory_iam.Iam, email: str) -> tuple[str, dict[str, str]]:
    flow = await iam.flow.initiate_registration()
    res = await iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.identity is not None and res.session_token is not None
    return res.identity.id, {"authorization": f"Bearer {res.session_token.expose()}"}


def kratos(stack: dict[str, Any], which: str) -> str:
    url: str = stack["kratos"]["customer"][which]
    return url


async def test_https_to_a_private_ca_with_and_without_ca_file(stack: dict[str, Any], iam: ory_iam.Iam, pki: pathlib.Path, email: str) -> None:
    ident, headers = await session(iam, email)
    with Proxy(kratos(stack, "public_url"), pki=pki) as pub, Proxy(kratos(stack, "admin_url"), pki=pki) as adm:
        public, admin = f"https://127.0.0.1:{pub.port}/", f"https://localhost:{adm.port}/"
        tls = ory_iam.Iam.from_config(config(stack, public, admin, ca_file=str(pki / "ca.pem")))
        assert (await tls.session.whoami(headers)).identity.id == ident
        assert (await tls.identity.get(ident)).id == ident

        plain = ory_iam.Iam.from_config(config(stack, public, admin))
        with pytest.raises(IamUpstreamUnavailableError) as e:
            await plain.session.whoami(headers)
        assert e.value.code == "upstream_unavailable"
        with pytest.raises(IamUpstreamUnavailableError):
            await plain.identity.get(ident)


async def test_mutual_tls(stack: dict[str, Any], iam: ory_iam.Iam, pki: pathlib.Path, email: str) -> None:
    ident, headers = await session(iam, email)
    with Proxy(kratos(stack, "public_url"), pki=pki, mutual=True) as p:
        url = f"https://127.0.0.1:{p.port}/"
        ca = str(pki / "ca.pem")
        with_cert = ory_iam.Iam.from_config(
            config(stack, url, url, ca_file=ca, client_cert_file=str(pki / "client.pem"), client_key_file=str(pki / "client.key"))
        )
        assert (await with_cert.session.whoami(headers)).identity.id == ident
        without = ory_iam.Iam.from_config(config(stack, url, url, ca_file=ca))
        with pytest.raises(IamUpstreamUnavailableError):
            await without.session.whoami(headers)


def test_unusable_tls_files_fail_construction_under_their_key(stack: dict[str, Any], pki: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """The cases of tests/security/tls_files.json."""
    url = "https://127.0.0.1:1/"
    junk = tmp_path / "junk.pem"
    junk.write_text("ory_pat_not_a_certificate_but_a_secret\n")
    cases = json.loads((ROOT / "tests" / "security" / "tls_files.json").read_text())

    def fill(section: dict[str, str]) -> dict[str, str]:
        named = {"$junk": str(junk), "$missing": str(tmp_path / "missing.pem")}
        return {k: named.get(v, str(pki / v[5:]) if v.startswith("$pki/") else v) for k, v in section.items()}

    def check(cfg: dict[str, Any], want: list[str]) -> None:
        if not want:
            ory_iam.Iam.from_config(cfg)
            return
        with pytest.raises(IamConfigurationError) as e:
            ory_iam.Iam.from_config(cfg)
        assert [f["path"] for f in e.value.fields] == want, cfg
        assert "ory_pat_not_a_certificate" not in f"{e.value} {e.value!r} {e.value.fields}"

    for c in cases["http"]:
        check(config(stack, url, url, **fill(c["http"])), c["paths"])
    for c in cases["redis"]:
        cfg = config(stack, url, url)
        cfg["session_cache"] = {"redis": {**fill(c["redis"]), "keys": [REDIS_KEY]}}
        check(cfg, c["paths"])


@pytest.fixture
def tls_redis(pki: pathlib.Path) -> Iterator[int]:
    """A real redis-server listening with TLS only (client certificates optional)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(pki),
         "--tls-port", str(port), "--tls-cert-file", str(pki / "server.pem"), "--tls-key-file", str(pki / "server.key"),
         "--tls-ca-cert-file", str(pki / "ca.pem"), "--tls-auth-clients", "optional"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not listen on its TLS port"
            time.sleep(0.02)
    try:
        yield port
    finally:
        proc.kill()
        proc.wait()


async def second_whoami_hits(stack: dict[str, Any], iam: ory_iam.Iam, email: str, redis: dict[str, Any]) -> bool:
    cfg = config(stack, kratos(stack, "public_url"), kratos(stack, "admin_url"))
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60000}
    cfg["session_cache"] = {"redis": {**redis, "keys": [REDIS_KEY]}}
    cached = ory_iam.Iam.from_config(cfg)
    _, headers = await session(iam, email)
    assert not (await cached.session.whoami(headers)).cache_hit
    return (await cached.session.whoami(headers)).cache_hit


async def test_rediss_session_cache(stack: dict[str, Any], iam: ory_iam.Iam, pki: pathlib.Path, tls_redis: int, email: str) -> None:
    url = f"rediss://127.0.0.1:{tls_redis}/0"
    assert await second_whoami_hits(stack, iam, email, {"url": url, "ca_file": str(pki / "ca.pem")})
    assert await second_whoami_hits(
        stack, iam, "c-" + email,
        {"url": url, "ca_file": str(pki / "ca.pem"), "client_cert_file": str(pki / "client.pem"), "client_key_file": str(pki / "client.key")},
    )  # fmt: skip
    # Redis's certificate is checked: without the CA the cache is unreachable (Kratos answers).
    assert not await second_whoami_hits(stack, iam, "n-" + email, {"url": url})


async def test_ipv6_literal_urls(stack: dict[str, Any], iam: ory_iam.Iam, pki: pathlib.Path, email: str) -> None:
    ident, headers = await session(iam, email)
    with Proxy(kratos(stack, "public_url"), listen="::1") as pub, Proxy(kratos(stack, "admin_url"), listen="::1") as adm:
        v6 = ory_iam.Iam.from_config(config(stack, f"http://[::1]:{pub.port}/", f"http://[::1]:{adm.port}"))
        assert (await v6.session.whoami(headers)).identity.id == ident
        assert (await v6.identity.get(ident)).id == ident
    with Proxy(kratos(stack, "public_url"), listen="::1", pki=pki) as tls:
        url = f"https://[::1]:{tls.port}/"
        v6 = ory_iam.Iam.from_config(config(stack, url, url, ca_file=str(pki / "ca.pem")))
        assert (await v6.session.whoami(headers)).identity.id == ident


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_credentials_over_plain_http_are_warned_about(stack: dict[str, Any]) -> None:
    token = "ory_pat_plaintext_admin_token_value"
    # 192.0.2.1 is TEST-NET-1 (never routed): the probes fail within the connect timeout.
    remote = config(stack, "http://192.0.2.1:4433/", "http://192.0.2.1:4434/", timeout_ms=300, connect_timeout_ms=200)
    remote["tenants"]["customer"]["kratos"]["admin_token"] = token
    remote["tenants"]["customer"]["keto"] = {"read_url": "http://[::1]:1/", "write_url": "http://127.0.0.1:1/", "api_key": token}
    cap = Capture()
    logger = logging.getLogger("ory_iam")
    logger.addHandler(cap)
    try:
        built = ory_iam.Iam.from_config(remote)
    finally:
        logger.removeHandler(cap)
    warned = [r for r in cap.records if r.name == "ory_iam.config" and r.levelno == logging.WARNING]
    assert [getattr(r, "ory_iam")["key"] for r in warned] == ["tenants.customer.kratos.admin_token"]
    assert all(token not in f"{r.getMessage()} {getattr(r, 'ory_iam')}" for r in cap.records)

    health = await built.health()
    plain = [w for w in health.warnings if "http://" in w]
    assert len(plain) == 1 and "tenants.customer.kratos.admin_token" in plain[0]
    assert token not in repr(health)

    secure = copy.deepcopy(remote)
    secure["tenants"]["customer"]["kratos"]["admin_url"] = "https://192.0.2.1:4434/"
    assert not [w for w in (await ory_iam.Iam.from_config(secure).health()).warnings if "http://" in w]


FORK_SCENARIO = r'''
import asyncio, json, os, sys, time
import ory_iam

cfg, ident, headers, ca_copy = (json.loads(a) for a in sys.argv[1:5])


async def calls(iam):
    s = await iam.session.whoami(headers)
    return {"whoami": s.identity.id, "hit": s.cache_hit, "get": (await iam.identity.get(ident)).id}


iam = ory_iam.Iam.from_config(cfg)
parent = asyncio.run(calls(iam))
os.remove(ca_copy)  # read once, at construction: the child's new clients must not need it
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    try:
        out = asyncio.run(asyncio.wait_for(calls(iam), 20))
    except Exception as e:
        out = {"error": f"{type(e).__name__}: {getattr(e, 'code', '')}"}
    os.write(w, json.dumps(out).encode())
    os._exit(0)
os.close(w)
os.waitpid(pid, 0)
with os.fdopen(r) as f:
    print(json.dumps({"parent": parent, "child": json.loads(f.read() or '{"error": "no answer"}')}))
'''


async def test_tls_settings_survive_fork(stack: dict[str, Any], iam: ory_iam.Iam, pki: pathlib.Path, tls_redis: int, tmp_path: pathlib.Path, email: str) -> None:
    """The connection pool and the Redis connection are rebuilt in a forked child (issue 18): they
    keep the CA and the client certificate read at construction (the CA file is gone by then)."""
    ident, headers = await session(iam, email)
    ca_copy = tmp_path / "ca-copy.pem"
    ca_copy.write_bytes((pki / "ca.pem").read_bytes())
    with Proxy(kratos(stack, "public_url"), pki=pki) as pub, Proxy(kratos(stack, "admin_url"), pki=pki, mutual=True) as adm:
        cfg = config(
            stack, f"https://127.0.0.1:{pub.port}/", f"https://127.0.0.1:{adm.port}/",
            ca_file=str(ca_copy), client_cert_file=str(pki / "client.pem"), client_key_file=str(pki / "client.key"),
        )  # fmt: skip
        cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60000}
        cfg["session_cache"] = {"redis": {"url": f"rediss://127.0.0.1:{tls_redis}/0", "ca_file": str(ca_copy), "keys": [REDIS_KEY]}}
        args = [json.dumps(a) for a in (cfg, ident, headers, str(ca_copy))]
        r = subprocess.run([sys.executable, "-c", FORK_SCENARIO, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["parent"] == {"whoami": ident, "hit": False, "get": ident}
    # The child reached Kratos's admin API through mutual TLS, and read the session the parent
    # cached in the rediss:// Redis, over connections of its own.
    assert out["child"] == {"whoami": ident, "hit": True, "get": ident}, out["child"]


OS_STORE_SCENARIO = r'''
import asyncio, json, sys
import ory_iam

cfg, headers = (json.loads(a) for a in sys.argv[1:3])
print(json.dumps(asyncio.run(ory_iam.Iam.from_config(cfg).session.whoami(headers)).identity.id))
'''


async def test_the_os_trust_store_is_used(stack: dict[str, Any], iam: ory_iam.Iam, pki: pathlib.Path, tmp_path: pathlib.Path, email: str) -> None:
    """No http.ca_file: the private CA is trusted as an OS root (rustls-native-certs reads
    SSL_CERT_FILE in place of the system bundle, once per process, hence a child process)."""
    import os

    ident, headers = await session(iam, email)
    other = tmp_path / "other-ca.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    other.write_bytes(
        x509.CertificateBuilder().subject_name(_name("another CA")).issuer_name(_name("another CA"))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    )  # fmt: skip
    with Proxy(kratos(stack, "public_url"), pki=pki) as p:
        url = f"https://127.0.0.1:{p.port}/"
        args = [json.dumps(config(stack, url, url)), json.dumps(headers)]

        def run(cert_file: pathlib.Path) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "SSL_CERT_FILE": str(cert_file)}
            return subprocess.run([sys.executable, "-c", OS_STORE_SCENARIO, *args], capture_output=True, text=True, timeout=60, env=env)

        trusted = run(pki / "ca.pem")
        assert trusted.returncode == 0, trusted.stderr[-2000:]
        assert json.loads(trusted.stdout) == ident
        untrusted = run(other)
        assert untrusted.returncode != 0 and "IamUpstreamUnavailableError" in untrusted.stderr
