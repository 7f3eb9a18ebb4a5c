"""The typed configuration (ory_iam.config) cannot fall behind the config reader: the key paths
its TypedDicts can express are exactly the paths the Rust core's reader accepts
(`ory_iam::config::accepted_keys()`, tenants written `<name>`), and a config that sets every
key with the typed value types is accepted. Needs no servers."""

from __future__ import annotations

import datetime
import pathlib

from typing import Any, Dict, Literal, Mapping, Optional, TypedDict, Union, get_args, get_origin, get_type_hints, is_typeddict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import ory_iam
from ory_iam import _ory_iam
from ory_iam.config import IamConfigDict

from typed_usage import every_key_config, memory_cache_config, redis_topology_configs


# Keys whose value is a JSON document of its own (a JWK set), not config keys: walks stop there.
OPAQUE = {"tenants.<name>.oathkeeper.jwks.keys"}


def _typed_paths(tp: Any, prefix: str = "") -> set[str]:
    """Every key path a value of type `tp` can hold: TypedDict keys, `Dict[str, X]` as `<name>`,
    every member of a Union; scalars, literals and lists end a path."""
    out: set[str] = set()
    if prefix in OPAQUE:
        return out
    origin = get_origin(tp)
    if is_typeddict(tp):
        for key, hint in get_type_hints(tp).items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            out |= _typed_paths(hint, path)
    elif origin is Union:
        for member in get_args(tp):
            out |= _typed_paths(member, prefix)
    elif origin is dict:
        key_type, value_type = get_args(tp)
        assert key_type is str, f"{prefix}: only maps keyed by name are expected"
        out |= _typed_paths(value_type, f"{prefix}.<name>")
    return out


def _value_paths(v: Mapping[str, Any], prefix: str = "") -> set[str]:
    """The key paths a config value sets, tenants written `<name>`."""
    out: set[str] = set()
    for key, value in v.items():
        path = f"{prefix}.{key}" if prefix else key
        out.add(path)
        if path == "tenants":
            for tenant in value.values():
                out |= _value_paths(tenant, "tenants.<name>")
        elif isinstance(value, Mapping) and path not in OPAQUE:
            out |= _value_paths(value, path)
    return out


def _compare(what: str, have: set[str], accepted: set[str]) -> None:
    missing = sorted(accepted - have)
    extra = sorted(have - accepted)
    assert not missing and not extra, (
        f"{what} drifted from the config reader (core/src/config.rs); edit "
        "bindings-python/python/ory_iam/config.py, bindings-node/ory-iam.d.ts and docs/config.md:\n"
        f"  accepted by the reader, missing here: {missing}\n  here, not accepted by the reader: {extra}"
    )


def test_accepted_keys_are_listed() -> None:
    accepted = _ory_iam._accepted_config_keys()
    assert len(accepted) > 40
    assert "tenants.<name>.http.timeout_ms" in accepted and "session_cache.redis.url" in accepted


def test_typed_dicts_name_exactly_the_accepted_keys() -> None:
    _compare("ory_iam.config.IamConfigDict", _typed_paths(IamConfigDict), set(_ory_iam._accepted_config_keys()))


class _Http(TypedDict, total=False):
    timeout_ms: int
    timeout_msec: int


class _Tenant(TypedDict, total=False):
    http: Optional[_Http]


class _Config(TypedDict):
    tenants: Dict[str, _Tenant]
    session_cache: Union[Literal["none"], _Tenant]


def test_the_walk_sees_every_declared_key() -> None:
    # The comparison is only as good as the walk: a key added to (or dropped from) a TypedDict,
    # however deep and behind Optional/Union/Dict, changes what it reports.
    assert _typed_paths(_Config) == {
        "tenants",
        "tenants.<name>.http",
        "tenants.<name>.http.timeout_ms",
        "tenants.<name>.http.timeout_msec",
        "session_cache",
        "session_cache.http",
        "session_cache.http.timeout_ms",
        "session_cache.http.timeout_msec",
    }


def test_typed_usage_sets_every_accepted_key() -> None:
    have = _value_paths(every_key_config()) | _value_paths(memory_cache_config())
    for config in redis_topology_configs():
        have |= _value_paths(config)
    _compare("tests/python/typed_usage.py's configs", have, set(_ory_iam._accepted_config_keys()))


def _tls_files(d: pathlib.Path) -> str:
    """ca.pem, client.pem and client.key: one self-signed certificate and its key, enough for
    files that are read and checked (not used for a handshake) when the Iam is built."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ory-iam typed config")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (d / "ca.pem").write_bytes(pem)
    (d / "client.pem").write_bytes(pem)
    (d / "client.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(d)


async def test_a_config_with_every_key_in_its_typed_form_is_accepted(tmp_path: pathlib.Path) -> None:
    # The value types of the TypedDicts (ints, bools, lists of str, literals) are what the reader
    # takes: building fails with IamConfigurationError on any type or value it refuses.
    for config in (every_key_config(_tls_files(tmp_path)), memory_cache_config(), *redis_topology_configs()):
        iam = ory_iam.Iam.from_config(config)
        await iam.close()
