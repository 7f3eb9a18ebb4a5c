"""Library-owned result types. Attribute access in snake_case, ``to_dict()`` for JSON, and a
``repr`` that never shows personal data or secrets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Generic, Literal, Optional, TypeVar, Union

T = TypeVar("T")

_HIDDEN = {"traits", "metadata_admin", "verifiable_addresses", "recovery_addresses", "value", "raw", "claims"}


class Secret:
    """A secret value (session token, cookie, logout token). ``repr``/``str`` print ``***``;
    read it with :meth:`expose`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def expose(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def _secret(v: Optional[str]) -> Optional[Secret]:
    return None if v is None else Secret(v)


def _plain(v: Any) -> Any:
    if isinstance(v, Secret):
        return "***"
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


_new = object.__new__
_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _fill(cls: type[T], d: dict[str, Any]) -> T:
    """``cls(**d)`` for a frozen dataclass, without ``__init__``'s one ``object.__setattr__`` per
    field when ``d`` holds exactly the class's fields (as the binding's converters give them):
    the hot DTOs (sessions, identities) are built on every ``whoami``. Any other key set goes
    through ``__init__``, which rejects it as before."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    if d.keys() == names:
        o = _new(cls)
        o.__dict__.update(d)
        return o
    return cls(**d)


class _Dto:
    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable data (secrets as ``***``)."""
        return _plain(asdict(self))  # type: ignore[call-overload,no-any-return]

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
    verified_at: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True, repr=False)
class RecoveryAddress(_Dto):
    id: Optional[str]
    value: str
    via: str
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


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
    #: When ``state`` last changed.
    state_changed_at: Optional[str] = None
    #: Where Kratos serves the identity's schema.
    schema_url: Optional[str] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Identity":
        va, ra = d.get("verifiable_addresses"), d.get("recovery_addresses")
        if va is not None or ra is not None:
            d = dict(d)
            if va is not None:
                d["verifiable_addresses"] = [_fill(VerifiableAddress, a) for a in va]
            if ra is not None:
                d["recovery_addresses"] = [_fill(RecoveryAddress, a) for a in ra]
        return _fill(cls, d)


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
        return _fill(cls, d)


@dataclass(frozen=True, repr=False)
class UiText(_Dto):
    id: int
    text: str
    type: str

    @classmethod
    def _from(cls, d: Optional[dict[str, Any]]) -> Optional["UiText"]:
        return None if d is None else cls(id=d["id"], text=d["text"], type=d["type"])


@dataclass(frozen=True, repr=False)
class UiNode(_Dto):
    """One UI node. ``attributes`` may echo what the user typed; ``repr`` hides it."""

    node_type: str
    group: str
    attributes: dict[str, Any]
    messages: list[UiText]
    label: Optional[UiText] = None

    def __repr__(self) -> str:
        return f"UiNode(node_type={self.node_type!r}, group={self.group!r}, name={self.attributes.get('name')!r})"


@dataclass(frozen=True, repr=False)
class Ui(_Dto):
    action: str
    method: str
    nodes: list[UiNode]
    messages: list[UiText]


@dataclass(frozen=True, repr=False)
class Flow(_Dto):
    """A self-service flow. Give ``csrf_token`` back to ``submit_*`` for browser flows and relay
    ``set_cookie`` to the browser."""

    tenant: str
    id: str
    kind: str
    flow_type: str
    ui: Ui
    expires_at: Optional[str] = None
    issued_at: Optional[str] = None
    return_to: Optional[str] = None
    state: Optional[str] = None
    csrf_token: Optional[str] = None
    set_cookie: list[Secret] = field(default_factory=list)
    #: Native login/registration started with ``return_session_token_exchange_code``: the first
    #: half of what ``flow.exchange_session_token`` turns into a session token.
    session_token_exchange_code: Optional[Secret] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Flow":
        d = dict(d)
        ui = d["ui"]
        d["ui"] = Ui(
            action=ui["action"],
            method=ui["method"],
            nodes=[
                UiNode(
                    node_type=n["node_type"],
                    group=n["group"],
                    attributes=n["attributes"],
                    messages=[UiText(**m) for m in n["messages"]],
                    label=UiText._from(n.get("label")),
                )
                for n in ui["nodes"]
            ],
            messages=[UiText(**m) for m in ui["messages"]],
        )
        d["set_cookie"] = [Secret(c) for c in d.get("set_cookie", [])]
        d["session_token_exchange_code"] = _secret(d.get("session_token_exchange_code"))
        return cls(**d)


@dataclass(frozen=True, repr=False)
class FlowResult(_Dto):
    """``kind`` is ``"success"`` (done; login/registration carry the session), ``"continue"``
    (render ``flow`` again: validation messages or the next step) or ``"redirect"``."""

    kind: Literal["success", "continue", "redirect"]
    tenant: Optional[str] = None
    flow: Optional[Flow] = None
    session_id: Optional[str] = None
    session: Optional["Session"] = None
    identity: Optional[Identity] = None
    session_token: Optional[Secret] = None
    set_cookie: list[Secret] = field(default_factory=list)
    continue_with: list[Any] = field(default_factory=list)
    redirect_browser_to: Optional[str] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "FlowResult":
        return cls(
            kind=d["kind"],
            tenant=d.get("tenant"),
            flow=Flow._from(d["flow"]) if d.get("flow") else None,
            session_id=d.get("session_id"),
            session=Session._from(d["session"]) if d.get("session") else None,
            identity=Identity._from(d["identity"]) if d.get("identity") else None,
            session_token=_secret(d.get("session_token")),
            set_cookie=[Secret(c) for c in d.get("set_cookie", [])],
            continue_with=list(d.get("continue_with", [])),
            redirect_browser_to=d.get("redirect_browser_to"),
        )


@dataclass(frozen=True, repr=False)
class LogoutFlow(_Dto):
    """``logout_url`` carries the token, so both are secrets."""

    tenant: str
    logout_url: Secret
    logout_token: Secret


@dataclass(frozen=True, repr=False)
class Recovery(_Dto):
    """An account recovery made by an administrator (``identity.create_recovery_link`` /
    ``create_recovery_code``). ``link`` and ``code`` take over the account: both are secrets."""

    tenant: str
    identity_id: str
    link: Secret
    code: Optional[Secret] = None
    expires_at: Optional[str] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Recovery":
        return cls(
            tenant=d["tenant"],
            identity_id=d["identity_id"],
            link=Secret(d["link"]),
            code=_secret(d.get("code")),
            expires_at=d.get("expires_at"),
        )


@dataclass(frozen=True)
class OplPosition(_Dto):
    line: int
    column: int


@dataclass(frozen=True)
class OplSyntaxError(_Dto):
    """A syntax error ``permission.check_opl_syntax`` found; lines and columns from 1."""

    message: str
    start: OplPosition
    end: OplPosition

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "OplSyntaxError":
        return cls(message=d["message"], start=OplPosition(**d["start"]), end=OplPosition(**d["end"]))


@dataclass(frozen=True, repr=False)
class FlowError(_Dto):
    """A self-service error (``flow.get_error``): ``error`` is Kratos' error object (``code``,
    ``status``, ``reason``, ``message``)."""

    tenant: str
    id: str
    error: dict[str, Any]
    created_at: Optional[str] = None


@dataclass(frozen=True, repr=False)
class IdentitySchema(_Dto):
    tenant: str
    id: str
    schema: dict[str, Any]


@dataclass(frozen=True, repr=False)
class CourierMessage(_Dto):
    """A queued/sent courier message. ``body`` is ``None`` unless asked for (a :class:`Secret`);
    ``repr`` hides the recipient."""

    tenant: str
    id: str
    status: str
    message_type: str
    recipient: str
    send_count: int
    subject: Optional[str] = None
    template_type: Optional[str] = None
    body: Optional[Secret] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "CourierMessage":
        d = dict(d)
        d["body"] = _secret(d.get("body"))
        return cls(**d)

    def __repr__(self) -> str:
        return f"CourierMessage(tenant={self.tenant!r}, id={self.id!r}, status={self.status!r}, template_type={self.template_type!r}, body={self.body!r})"


@dataclass(frozen=True)
class SubjectSet(_Dto):
    """Everyone with ``relation`` on ``namespace:object``."""

    namespace: str
    object: str
    relation: str


@dataclass(frozen=True)
class IamPermissionTuple(_Dto):
    """``subject`` has ``relation`` on ``namespace:object``. ``subject`` is an id — a string is
    always an id, whatever it looks like — or a :class:`SubjectSet` (a mapping with
    ``namespace``, ``object``, ``relation``)."""

    namespace: str
    object: str
    relation: str
    subject: Union[str, SubjectSet]

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "IamPermissionTuple":
        s = d["subject"]
        return cls(d["namespace"], d["object"], d["relation"], SubjectSet(**s) if isinstance(s, dict) else s)


PermissionTuple = IamPermissionTuple


@dataclass(frozen=True)
class CheckResult(_Dto):
    """One ``check_batch`` result; ``error`` set means the check failed (and ``allowed`` is False)."""

    allowed: bool
    error: Optional[str] = None


@dataclass(frozen=True)
class BatchCreateResult(_Dto):
    """One ``identity.create_many`` result, in input order: the new ``identity_id``, or the
    ``error`` code (``validation``, ``conflict``, ...) of an identity Kratos refused."""

    identity_id: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class SubjectTree(_Dto):
    kind: str
    tuple: Optional[IamPermissionTuple] = None
    children: list["SubjectTree"] = field(default_factory=list)

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "SubjectTree":
        return cls(
            kind=d["kind"],
            tuple=IamPermissionTuple._from(d["tuple"]) if d.get("tuple") else None,
            children=[SubjectTree._from(c) for c in d["children"]],
        )


@dataclass(frozen=True, repr=False)
class OAuth2Client(_Dto):
    """An OAuth2 client; ``client_secret`` is set only right after ``create``."""

    tenant: str
    client_id: str
    client_name: Optional[str] = None
    client_secret: Optional[Secret] = None
    grant_types: list[str] = field(default_factory=list)
    response_types: list[str] = field(default_factory=list)
    redirect_uris: list[str] = field(default_factory=list)
    scope: Optional[str] = None
    audience: list[str] = field(default_factory=list)
    owner: Optional[str] = None
    token_endpoint_auth_method: Optional[str] = None
    metadata: Optional[Any] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    #: OIDC dynamic registration only (``oauth2_client.register``): the bearer credential of
    #: ``get_registered``/``set_registered``/``delete_registered``; rotated by each update.
    registration_access_token: Optional[Secret] = None
    registration_client_uri: Optional[str] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "OAuth2Client":
        d = dict(d)
        d["client_secret"] = _secret(d.get("client_secret"))
        d["registration_access_token"] = _secret(d.get("registration_access_token"))
        return cls(**d)


@dataclass(frozen=True, repr=False)
class ConsentSession(_Dto):
    """A consent a subject gave a client and Hydra remembers ("connected apps";
    ``consent.list_consent_sessions``)."""

    tenant: str
    subject: Optional[str] = None
    client_id: Optional[str] = None
    client_name: Optional[str] = None
    grant_scope: list[str] = field(default_factory=list)
    grant_access_token_audience: list[str] = field(default_factory=list)
    remember: bool = False
    remember_for: Optional[int] = None
    handled_at: Optional[str] = None
    login_session_id: Optional[str] = None
    consent_request_id: Optional[str] = None


@dataclass(frozen=True, repr=False)
class OidcConfiguration(_Dto):
    """Hydra's OpenID Connect discovery document (``token.discover``); ``raw`` is all of it."""

    tenant: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: Optional[str] = None
    revocation_endpoint: Optional[str] = None
    end_session_endpoint: Optional[str] = None
    registration_endpoint: Optional[str] = None
    scopes_supported: list[str] = field(default_factory=list)
    grant_types_supported: list[str] = field(default_factory=list)
    response_types_supported: list[str] = field(default_factory=list)
    subject_types_supported: list[str] = field(default_factory=list)
    id_token_signing_alg_values_supported: list[str] = field(default_factory=list)
    token_endpoint_auth_methods_supported: list[str] = field(default_factory=list)
    code_challenge_methods_supported: list[str] = field(default_factory=list)
    claims_supported: list[str] = field(default_factory=list)
    frontchannel_logout_supported: bool = False
    backchannel_logout_supported: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class UserInfo(_Dto):
    """OpenID Connect userinfo of an access token (``token.userinfo``). ``claims`` (personal
    data) is hidden from ``repr``."""

    tenant: str
    sub: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class TokenSet(_Dto):
    """Tokens from Hydra; each is a :class:`Secret`."""

    tenant: str
    access_token: Secret
    token_type: str
    expires_in: Optional[int] = None
    scope: Optional[str] = None
    refresh_token: Optional[Secret] = None
    id_token: Optional[Secret] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "TokenSet":
        return cls(
            tenant=d["tenant"],
            access_token=Secret(d["access_token"]),
            token_type=d["token_type"],
            expires_in=d.get("expires_in"),
            scope=d.get("scope"),
            refresh_token=_secret(d.get("refresh_token")),
            id_token=_secret(d.get("id_token")),
        )


@dataclass(frozen=True, repr=False)
class Introspection(_Dto):
    """``active=False`` (unknown, expired or revoked token) is a normal answer."""

    tenant: str
    active: bool
    sub: Optional[str] = None
    client_id: Optional[str] = None
    scope: Optional[str] = None
    exp: Optional[int] = None
    iat: Optional[int] = None
    iss: Optional[str] = None
    aud: Optional[list[str]] = None
    token_type: Optional[str] = None
    token_use: Optional[str] = None
    ext: Optional[Any] = None


@dataclass(frozen=True, repr=False)
class IamMachinePrincipal(_Dto):
    """Who is calling with an OAuth2 bearer token; ``verified_by`` is ``jwt`` or ``introspection``."""

    tenant: str
    verified_by: str
    client_id: Optional[str] = None
    subject: Optional[str] = None
    scope: list[str] = field(default_factory=list)
    expires_at: Optional[int] = None


@dataclass(frozen=True, repr=False)
class RedirectTo(_Dto):
    redirect_to: str


@dataclass(frozen=True, repr=False)
class ChallengeRequest(_Dto):
    """A login, consent or logout request Hydra waits on; ``raw`` has every field Hydra sent."""

    tenant: str
    challenge: str
    skip: bool
    subject: Optional[str] = None
    client_id: Optional[str] = None
    requested_scope: list[str] = field(default_factory=list)
    requested_access_token_audience: list[str] = field(default_factory=list)
    request_url: Optional[str] = None
    session_id: Optional[str] = None
    raw: Any = None


@dataclass(frozen=True)
class JsonWebKeySet(_Dto):
    """Keys may hold private material: ``repr`` shows key ids only."""

    keys: list[dict[str, Any]]

    def __repr__(self) -> str:
        return f"JsonWebKeySet(kids={[k.get('kid') for k in self.keys]!r})"


@dataclass(frozen=True, repr=False)
class TrustedIssuer(_Dto):
    tenant: str
    id: str
    issuer: str
    allow_any_subject: bool
    subject: Optional[str] = None
    scope: list[str] = field(default_factory=list)
    key_set: Optional[str] = None
    key_id: Optional[str] = None
    expires_at: Optional[str] = None
    created_at: Optional[str] = None


@dataclass(frozen=True, repr=False)
class Credential(_Dto):
    """Public metadata of one credential; hashes, secrets and seeds are never included.
    ``repr`` hides the identifiers."""

    tenant: str
    credential_type: str
    identifiers: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    key_names: list[str] = field(default_factory=list)
    version: Optional[int] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None

    def __repr__(self) -> str:
        return f"Credential(credential_type={self.credential_type!r}, identifiers=[{len(self.identifiers)} hidden], providers={self.providers!r})"


@dataclass(frozen=True, repr=False)
class Project(_Dto):
    tenant: str
    id: str
    slug: str
    name: str
    environment: str
    state: str
    home_region: Optional[str] = None
    revision_id: Optional[str] = None
    workspace_id: Optional[str] = None
    services: Any = None
    #: ``{slug}.projects.oryapis.com`` and custom domains (filled by ``get``).
    hosts: list[str] = field(default_factory=list)


@dataclass(frozen=True, repr=False)
class ProjectMetadata(_Dto):
    """A listed project, with its ``hosts`` (``{slug}.projects.oryapis.com`` and custom domains)."""

    tenant: str
    id: str
    slug: str
    name: str
    state: str
    environment: Optional[str] = None
    hosts: list[str] = field(default_factory=list)
    workspace_id: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True, repr=False)
class Workspace(_Dto):
    tenant: str
    id: str
    name: str
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True, repr=False)
class ApiKey(_Dto):
    """A project or workspace API key; ``value`` (a :class:`Secret`) only right after creation."""

    tenant: str
    id: str
    name: str
    owner_id: Optional[str] = None
    last_characters: Optional[str] = None
    expires_at: Optional[str] = None
    created_at: Optional[str] = None
    value: Optional[Secret] = None

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "ApiKey":
        d = dict(d)
        d["value"] = _secret(d.get("value"))
        return cls(**d)


@dataclass(frozen=True, repr=False)
class EventStream(_Dto):
    tenant: str
    id: str
    stream_type: Optional[str] = None
    topic_arn: Optional[str] = None
    role_arn: Optional[str] = None
    https_endpoint: Optional[str] = None
    status: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True, repr=False)
class Page(_Dto, Generic[T]):
    items: list[T] = field(default_factory=list)
    next_page_token: Optional[str] = None


@dataclass(frozen=True, repr=False)
class UnknownVersion(_Dto):
    """A configured product whose version ``version()`` cannot tell, and why."""

    #: ``kratos``, ``keto`` or ``hydra``.
    product: str
    #: Stable code: ``not_published_by_ory_network`` (Ory Network publishes Kratos's version only).
    reason: str


@dataclass(frozen=True, repr=False)
class ServerVersions(_Dto):
    """Versions the tenant's servers report (``None``: not configured, or listed in ``unknown``)."""

    tenant: str
    kratos: Optional[str] = None
    keto: Optional[str] = None
    hydra: Optional[str] = None
    #: Configured products whose version cannot be known (on Ory Network: Keto and Hydra).
    unknown: list[UnknownVersion] = field(default_factory=list)

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "ServerVersions":
        return cls(
            tenant=d["tenant"],
            kratos=d.get("kratos"),
            keto=d.get("keto"),
            hydra=d.get("hydra"),
            unknown=[UnknownVersion(**u) for u in d.get("unknown", [])],
        )


@dataclass(frozen=True, repr=False)
class HealthProbe(_Dto):
    tenant: str
    product: str
    healthy: bool
    status: Optional[int] = None
    reason: Optional[str] = None
    breaker: str = "closed"


@dataclass(frozen=True, repr=False)
class Staleness(_Dto):
    """How late, at most, one cache of one tenant sees a change made outside this process."""

    tenant: str
    #: ``sessions``, ``decisions``, ``introspections`` or ``jwt``.
    cache: str
    #: At most this late; ``None`` for ``jwt`` (a locally verified JWT is valid until its ``exp``).
    max_stale_ms: Optional[int]
    #: The config key that sets the bound.
    config_key: str


@dataclass(frozen=True, repr=False)
class Health(_Dto):
    healthy: bool
    probes: list[HealthProbe] = field(default_factory=list)
    #: Servers whose major version ory-iam is not tested against, credentials configured to
    #: travel over plain ``http://`` to a host that is not loopback (config keys, never values),
    #: and caches that honour a change made elsewhere more than 5 minutes late.
    warnings: list[str] = field(default_factory=list)
    #: How late, at most, each enabled cache sees a change made outside this process.
    staleness: list[Staleness] = field(default_factory=list)

    @classmethod
    def _from(cls, d: dict[str, Any]) -> "Health":
        return cls(
            healthy=d["healthy"],
            probes=[HealthProbe(**p) for p in d["probes"]],
            warnings=list(d["warnings"]),
            staleness=[Staleness(**s) for s in d.get("staleness", [])],
        )
