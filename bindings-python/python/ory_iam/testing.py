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

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

from . import Iam, Secret
from . import _ory_iam as _native

__all__ = ["FakeOry", "SessionCredential", "DEFAULT_CLIENT_ID"]

#: The client configured as every fake tenant's ``hydra.client_id`` (any scope allowed), so
#: ``iam.token.client_credentials(...)`` works as is.
DEFAULT_CLIENT_ID = "ory-iam-fake-client"
_COOKIE = "ory_kratos_session"


@dataclass(frozen=True)
class SessionCredential:
    """A session made by :meth:`FakeOry.create_session`. ``token`` is a Kratos session token:
    it works as ``X-Session-Token``, ``Authorization: Bearer`` or ``ory_kratos_session`` cookie."""

    session_id: str
    token: Secret


class FakeOry:
    """In-memory Ory servers for ``tenants`` (the first is the default tenant)."""

    __slots__ = ("_n", "_iam")

    def __init__(self, tenants: Sequence[str] = ("customer",)) -> None:
        if isinstance(tenants, str):
            tenants = [tenants]
        self._n = _native.FakeOry.create(list(tenants))
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
        session_id, token = self._n.create_session(identity_id, tenant)
        return SessionCredential(session_id=session_id, token=Secret(token))

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

    def headers_for(self, credential: Union[SessionCredential, Secret, str], kind: str = "bearer") -> Dict[str, str]:
        """Request headers carrying a session or access token: ``kind`` is ``bearer``
        (``Authorization``), ``cookie`` (the session cookie) or ``session_token``
        (``X-Session-Token``)."""
        if isinstance(credential, SessionCredential):
            credential = credential.token
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
