"""Library-owned result types. Attribute access in snake_case, ``to_dict()`` for JSON, and a
``repr`` that never shows personal data or secrets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Generic, Optional, TypeVar

T = TypeVar("T")

_HIDDEN = {"traits", "metadata_admin", "verifiable_addresses", "recovery_addresses", "value"}


class _Dto:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            shown = "***" if (f.name in _HIDDEN and v is not None) else repr(v)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class VerifiableAddress(_Dto):
    id: Optional[str]
    value: str
    via: str
    verified: bool
    status: str


@dataclass(frozen=True, repr=False)
class RecoveryAddress(_Dto):
    id: Optional[str]
    value: str
    via: str


@dataclass(frozen=True, repr=False)
class Identity(_Dto):
    """A Kratos identity. From ``get`` it is sanitized (``traits`` etc. are ``None``)."""

    tenant: str
    id: str
    schema_id: str
    state: Optional[str] = None
    traits: Optional[dict[str, Any]] = None
    metadata_public: Optional[Any] = None
    metadata_admin: Optional[Any] = None
    verifiable_addresses: Optional[list[VerifiableAddress]] = None
    recovery_addresses: Optional[list[RecoveryAddress]] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Identity":
        d = dict(d)
        if d.get("verifiable_addresses") is not None:
            d["verifiable_addresses"] = [VerifiableAddress(**a) for a in d["verifiable_addresses"]]
        if d.get("recovery_addresses") is not None:
            d["recovery_addresses"] = [RecoveryAddress(**a) for a in d["recovery_addresses"]]
        return cls(**d)


@dataclass(frozen=True, repr=False)
class Session(_Dto):
    """A Kratos session resolved for one tenant; ``identity`` carries the user's traits."""

    tenant: str
    id: str
    active: bool
    identity: Identity
    expires_at: Optional[str] = None
    authenticated_at: Optional[str] = None
    issued_at: Optional[str] = None
    authenticator_assurance_level: Optional[str] = None
    authentication_methods: list[str] = field(default_factory=list)
    cache_hit: bool = False

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Session":
        d = dict(d)
        d["identity"] = Identity._from(d["identity"])
        return cls(**d)


@dataclass(frozen=True, repr=False)
class Page(_Dto, Generic[T]):
    items: list[T] = field(default_factory=list)
    next_page_token: Optional[str] = None


@dataclass(frozen=True, repr=False)
class ServerVersions(_Dto):
    tenant: str
    kratos: Optional[str] = None
    keto: Optional[str] = None
    hydra: Optional[str] = None


@dataclass(frozen=True, repr=False)
class HealthProbe(_Dto):
    tenant: str
    product: str
    healthy: bool
    status: Optional[int] = None
    reason: Optional[str] = None


@dataclass(frozen=True, repr=False)
class Health(_Dto):
    healthy: bool
    probes: list[HealthProbe] = field(default_factory=list)

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Health":
        return cls(healthy=d["healthy"], probes=[HealthProbe(**p) for p in d["probes"]])
