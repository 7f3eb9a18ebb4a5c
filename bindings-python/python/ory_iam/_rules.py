"""Rules every Python framework adapter applies (FastAPI, Flask, Django): where roles come from,
and that a Keto subject comes from the caller's session, never from the request."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Literal, Mapping, Optional, Sequence, Union, cast

from . import Health, IamMachinePrincipal, Session, SubjectSet, _ory_iam, current_request_id
from .errors import IamValidationError

SubjectValue = Union[str, SubjectSet, Mapping[str, str]]


def default_roles(session: Session) -> list[str]:
    """``metadata_public["roles"]`` of the session's identity (its strings); the same rule as
    Node's adapters (it lives in the core). Traits are never read by default: users write their
    own (registration, settings flow). The ory-nestjs rule (metadata, else traits) is one
    ``roles=`` away: ``roles=lambda s: roles_of(s.identity.metadata_public, s.identity.traits)``."""
    return _ory_iam.roles_of(session.identity.metadata_public)


def subject_set(v: Any) -> Union[str, dict[str, str]]:
    """A subject id (non-empty str) or a subject set as the core takes it; else TypeError."""
    if isinstance(v, str) and v:
        return v
    if isinstance(v, SubjectSet):
        return {"namespace": v.namespace, "object": v.object, "relation": v.relation}
    if isinstance(v, Mapping) and set(v) == {"namespace", "object", "relation"} and all(isinstance(x, str) for x in v.values()):
        return dict(v)
    raise TypeError("require_permission: subject must be (or resolve to) a non-empty str or a SubjectSet")


def check_subject_source(subject: Any) -> None:
    """Refuse, at construction, a ``subject`` callback that wants more than the session: the
    request must not choose the subject (issue 27)."""
    if subject is None or not callable(subject):
        if subject is not None:
            subject_set(subject)
        return
    try:
        sig = inspect.signature(subject)
    except (TypeError, ValueError):
        return  # a builtin without a signature: it gets the session only anyway
    try:
        sig.bind(object())
    except TypeError:
        raise TypeError(
            "require_permission: a subject callback receives the caller's session only, f(session); "
            "the subject never comes from the request"
        ) from None


# --- issue 23: the ory-nestjs semantics every adapter shares -------------------------------------

#: ``subject=`` of an integration (``IamAuth``, ``IamFlask``, ``settings.ORY_IAM_SUBJECT``): the
#: Keto subject of a user from the identity id. Default: the bare id; ory-nestjs sends
#: ``user:<id>``, so ``subject=lambda identity_id: f"user:{identity_id}"`` keeps its Keto data.
IdSubject = Callable[[str], SubjectValue]

Principal = Literal["user", "machine"]

ROLE_DENY = "authz.role.deny"


def check_id_subject(mapper: Any, name: str = "subject") -> Optional[IdSubject]:
    """An integration-level ``subject=`` / ``machine_subject=`` mapper: ``None`` or a callable."""
    if mapper is not None and not callable(mapper):
        raise TypeError(f"{name} must be a callable f(id) -> str | SubjectSet (or None for the bare id)")
    return cast(Optional[IdSubject], mapper)


def check_principal(principal: Any) -> Principal:
    if principal not in ("user", "machine"):
        raise ValueError('principal must be "user" or "machine"')
    return cast(Principal, principal)


def mapped_subject(mapper: Optional[IdSubject], id: str) -> Union[str, dict[str, str]]:
    """The Keto subject of a caller id through the integration's mapper (default: the id)."""
    return id if mapper is None else subject_set(mapper(id))


def machine_id(principal: IamMachinePrincipal) -> Optional[str]:
    """The id a machine principal is known by in Keto: its client id, else the token's subject."""
    return principal.client_id or principal.subject or None


def checked_object(obj: Any, tenant: Optional[str]) -> str:
    """The object a resolver yielded. Nothing (``None``, ``""``) is the client's fault: a 400
    (:class:`IamValidationError` with field ``object``), never a Keto call with an empty object;
    another type is the app's bug (``TypeError``)."""
    if obj is None or obj == "":
        raise IamValidationError(
            "require_permission: the object resolver yielded nothing",
            tenant=tenant,
            fields=[{"path": "object", "reason": "required"}],
        )
    if not isinstance(obj, str):
        raise TypeError("require_permission: object must be (or resolve to) a str")
    return obj


def holds(held: Iterable[str], wanted: Iterable[str], match: str) -> bool:
    h, w = set(held), set(wanted)
    return w <= h if match == "all" else bool(w & h)


def audit_role_denied(iam: Any, tenant: str, actor: Optional[str], role: Union[str, Sequence[str]]) -> None:
    """Audit ``authz.role.deny`` (result ``denied``; ``actor`` the caller's identity or client
    id; ``request_id`` the request being served, see :func:`ory_iam.request_id_scope`;
    attribute ``roles``, the roles the route wanted) through the tenant's audit sink, like every
    event (``Iam.audit_role_denial``, async and blocking alike; issue 23)."""
    roles = [role] if isinstance(role, str) else sorted(role)
    iam.audit_role_denial(tenant, required_roles=roles, actor=actor, request_id=current_request_id())


def health_answer(health: Health) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the health route helpers, the core's answer (the same in Node): 200
    when every probe is healthy, else 503; the body names tenants, products and states only (no
    URL, reason, key or token)::

        {"status": "up" | "down", "tenants": {"<tenant>": {"<product>": "up" | "down"}}}
    """
    status, body = _ory_iam.health_answer(health.healthy, [(p.tenant, p.product, p.healthy) for p in health.probes])
    return status, body
