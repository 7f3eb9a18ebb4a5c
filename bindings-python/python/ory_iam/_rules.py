"""Rules every Python framework adapter applies (FastAPI, Flask, Django): where roles come from,
and that a Keto subject comes from the caller's session, never from the request."""

from __future__ import annotations

import inspect
from typing import Any, Mapping, Union

from . import Session, SubjectSet, _ory_iam


def default_roles(session: Session) -> list[str]:
    """``metadata_public["roles"]`` of the session's identity when that key is set, else
    ``traits["roles"]`` (their strings); the same rule as Node's adapters (it lives in the core).

    Public metadata is the admin's channel and wins outright, even when empty: users edit their
    own traits through the settings flow, so traits are read only for identities whose metadata
    names no roles."""
    return _ory_iam.roles_of(session.identity.metadata_public, session.identity.traits)


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
