"""Test your code without servers: in-memory Kratos, Keto and Hydra behind an ordinary ``Iam``.

``FakeOry`` answers the HTTP requests of the Rust core with the same JSON, status codes and
paging headers as the real servers, so everything above them — credential extraction, the
session cache, errors, audit, paging — is the library's real code::

    from ory_iam.testing import FakeOry

    fake = FakeOry(tenants=["customer"])
    ada = await fake.iam.identity.create(schema_id="customer", traits={"email": "ada@example.com"})
    cred = await fake.create_session(ada.id)
    session = await fake.iam.session.whoami(fake.headers_for(cred))

What is emulated (and what answers ``501``, raised as ``IamUpstreamUnavailableError``) is
listed in the README section "Testing your code without servers".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import Iam, Secret
from . import _ory_iam as _native

__all__ = ["FakeOry", "SessionCredential", "DEFAULT_CLIENT_ID", "DEFAULT_KETO_NAMESPACES", "LOGIN_URL", "CONSENT_URL", "ERROR_URL"]

#: The client configured as every fake tenant's ``hydra.client_id`` (any scope allowed unless
#: ``client_scope`` is given), so ``iam.token.client_credentials(...)`` works as is.
DEFAULT_CLIENT_ID = "ory-iam-fake-client"
_COOKIE = "ory_kratos_session"
#: Where the fake Hydra sends the browser for login, consent and errors (its ``urls.login``,
#: ``urls.consent``, ``urls.error``): see ``FakeOry.authorize`` / ``FakeOry.follow``.
LOGIN_URL = "http://app.fake.ory-iam.invalid/login"
CONSENT_URL = "http://app.fake.ory-iam.invalid/consent"
ERROR_URL = "http://app.fake.ory-iam.invalid/error"
#: Keto's namespaces when ``keto_namespaces`` is not given.
DEFAULT_KETO_NAMESPACES = ("documents", "groups", "folders")


@dataclass(frozen=True)
class SessionCredential:
    """A session made by :meth:`FakeOry.create_session`. ``token`` is a Kratos session token
    (``X-Session-Token``, ``Authorization: Bearer``); ``cookie`` is the value of the same session's
    ``ory_kratos_session`` cookie — as with Kratos, a token sent as the cookie is no session."""

    session_id: str
    token: Secret
    cookie: Optional[Secret] = None


class FakeOry:
    """In-memory Ory servers for ``tenants`` (the first is the default tenant)."""

    __slots__ = ("_n", "_iam")

    def __init__(
        self,
        tenants: Sequence[str] = ("customer",),
        *,
        identity_schemas: Optional[Mapping[str, Mapping[str, Any]]] = None,
        tenant_identity_schemas: Optional[Mapping[str, Mapping[str, Mapping[str, Any]]]] = None,
        default_schema_id: Optional[str] = None,
        keto_namespaces: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
        client_scope: Union[str, Sequence[str], None] = None,
    ) -> None:
        """``identity_schemas``: schema id → JSON Schema, as Kratos's ``identity.schemas``
        (default: the built-in schema under ``default`` and each tenant's name);
        ``tenant_identity_schemas``: tenant → its own schemas (each tenant is its own Kratos);
        ``default_schema_id``: the schema of a create that names none; ``keto_namespaces``: Keto's
        namespaces (names or ``{"id": 0, "name": ...}``; default :data:`DEFAULT_KETO_NAMESPACES`);
        ``client_scope``: the scopes of :data:`DEFAULT_CLIENT_ID` (default: any)."""
        if isinstance(tenants, str):
            tenants = [tenants]
        options: Dict[str, Any] = {"tenants": list(tenants)}
        if identity_schemas is not None:
            options["identity_schemas"] = dict(identity_schemas)
        if tenant_identity_schemas is not None:
            options["tenant_identity_schemas"] = {t: dict(v) for t, v in tenant_identity_schemas.items()}
        if default_schema_id is not None:
            options["default_schema_id"] = default_schema_id
        if keto_namespaces is not None:
            options["keto_namespaces"] = [n if isinstance(n, str) else dict(n) for n in keto_namespaces]
        if client_scope is not None:
            options["client_scope"] = _scopes(client_scope)
        self._n = _native.FakeOry.create_with(json.dumps(options))
        self._iam = Iam(self._n.iam)

    @property
    def iam(self) -> Iam:
        """An ordinary ``Iam`` talking to this fake (the same instance every time)."""
        return self._iam

    @property
    def tenants(self) -> List[str]:
        return list(self._n.tenants)

    @property
    def default_tenant(self) -> str:
        return str(self._n.default_tenant)

    async def create_session(self, identity_id: str, tenant: Optional[str] = None) -> SessionCredential:
        """Log the identity in (an active 24 h session), as a native login would.
        ``IamNotFoundError`` for an unknown identity."""
        session_id, token, cookie = self._n.create_session(identity_id, tenant)
        return SessionCredential(session_id=session_id, token=Secret(token), cookie=Secret(cookie))

    async def expire_session(self, session_id: str, tenant: Optional[str] = None) -> None:
        """Make the session expire now (and drop it from the session cache)."""
        await self._n.expire_session(session_id, tenant)

    def add_oauth2_client(
        self,
        client_id: str,
        client_secret: Union[str, Secret, None] = None,
        scope: Union[str, Sequence[str]] = (),
        tenant: Optional[str] = None,
    ) -> None:
        """Register a client allowed the ``client_credentials`` grant for ``scope``."""
        secret = client_secret.expose() if isinstance(client_secret, Secret) else client_secret
        self._n.add_oauth2_client(client_id, secret, _scopes(scope), tenant)

    async def issue_token(
        self, *, client_id: str, scope: Union[str, Sequence[str]] = (), tenant: Optional[str] = None
    ) -> Secret:
        """An access token as Hydra would issue it to ``client_id`` (active for an hour, or until
        revoked): ``iam.token.introspect`` and ``iam.token.authenticate`` accept it."""
        return Secret(self._n.issue_token(client_id, _scopes(scope), tenant))

    def authorize(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scope: Union[str, Sequence[str]] = (),
        state: str,
        code_challenge: Optional[str] = None,
        code_challenge_method: Optional[str] = None,
        audience: Union[str, Sequence[str], None] = None,
        nonce: Optional[str] = None,
        response_type: Optional[str] = None,
        tenant: Optional[str] = None,
    ) -> str:
        """Start an authorization request as a browser would (``GET /oauth2/auth`` on the fake
        Hydra): the URL Hydra redirects to — the login UI (``LOGIN_URL?login_challenge=…``), or
        the client's ``redirect_uri`` with ``error`` (e.g. ``invalid_scope``), or the error page
        (``ERROR_URL``) for an unknown client or an unregistered redirect URI."""
        aud = None if audience is None else " ".join(_scopes(audience))
        return self._n.authorize(
            client_id, redirect_uri, " ".join(_scopes(scope)), state,
            code_challenge, code_challenge_method, aud, nonce, response_type, tenant,
        )

    def follow(self, url: str, tenant: Optional[str] = None) -> str:
        """Follow a ``redirect_to`` of an accepted or rejected login or consent as the browser
        would: the next ``Location`` — the consent UI (``CONSENT_URL?consent_challenge=…``) after a
        login, the client's ``redirect_uri`` with ``code``, ``scope`` and ``state`` after a consent,
        with ``error`` after a rejection or a verifier used twice. Another URL is
        ``IamValidationError``."""
        return self._n.follow(url, tenant)

    def headers_for(self, credential: Union[SessionCredential, Secret, str], kind: str = "bearer") -> Dict[str, str]:
        """Request headers carrying a session or access token: ``kind`` is ``bearer``
        (``Authorization``), ``cookie`` (the session cookie: a :class:`SessionCredential`'s
        ``cookie``) or ``session_token`` (``X-Session-Token``)."""
        if isinstance(credential, SessionCredential):
            credential = credential.cookie if kind == "cookie" and credential.cookie is not None else credential.token
        value = credential.expose() if isinstance(credential, Secret) else credential
        if kind == "bearer":
            return {"Authorization": f"Bearer {value}"}
        if kind == "cookie":
            return {"Cookie": f"{_COOKIE}={value}"}
        if kind == "session_token":
            return {"X-Session-Token": value}
        raise ValueError("kind must be 'bearer', 'cookie' or 'session_token'")

    def requests(self) -> Dict[str, int]:
        """Requests per emulated endpoint, e.g. ``{"kratos-public GET sessions/whoami": 2}``."""
        return dict(self._n.requests())

    def __repr__(self) -> str:
        return f"FakeOry(tenants={self.tenants!r})"


def _scopes(scope: Union[str, Sequence[str]]) -> List[str]:
    return scope.split() if isinstance(scope, str) else list(scope)
