"""Typed inputs (``TypedDict``) of the methods that take option objects, so editors and
``mypy`` check their keys and values: ``iam.identity.create(schema_id=..., traits=...)`` with
keywords is checked against :class:`CreateIdentityInput`, and an annotated literal
(``opts: ListIdentitiesInput = {...}``) can be passed as the first argument.

The keys are those the core accepts (docs/api/identity.md); an unknown key is refused at run
time too (``IamValidationError``)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, TypedDict


class AddressInput(TypedDict, total=False):
    """A Kratos address object for :class:`CreateIdentityInput`."""

    value: str
    via: Literal["email", "sms"]
    #: Verifiable addresses only.
    verified: bool
    #: Verifiable addresses only.
    status: Literal["pending", "sent", "completed"]


class CreateIdentityInput(TypedDict, total=False):
    """``identity.create``: ``schema_id`` and ``traits`` are required."""

    schema_id: str
    traits: Dict[str, Any]
    verified_addresses: List[str]
    verifiable_addresses: List[AddressInput]
    recovery_addresses: List[AddressInput]
    state: Literal["active", "inactive"]
    metadata_public: Any
    metadata_admin: Any
    credentials: Dict[str, Any]


class ListIdentitiesInput(TypedDict, total=False):
    """``identity.list``: page tokens or Kratos's offset paging, and Kratos's filters."""

    page_size: int
    page_token: str
    page: int
    per_page: int
    credentials_identifier: str
    ids: List[str]
    preview_credentials_identifier_similar: str


__all__ = ["AddressInput", "CreateIdentityInput", "ListIdentitiesInput"]
