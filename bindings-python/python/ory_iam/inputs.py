"""Typed inputs (``TypedDict``) of every method that takes an option mapping, so editors and
``mypy`` check their keys and values: keywords are checked against the method's TypedDict
(``iam.identity.create(schema_id=..., traits=...)`` against :class:`CreateIdentityInput`), and an
annotated literal (``opts: ListIdentitiesInput = {...}``) can be passed as the first argument.

Two kinds:

- inputs the core parses: the keys are exactly those it accepts (an unknown key is refused at
  run time too, ``IamValidationError``); ``tests/python/test_inputs_types.py`` compares each
  TypedDict with the core's field list, so they cannot drift;
- bodies passed to Ory as they are (an OAuth2 client, consent decisions, JSON Patch
  operations): the fields Ory documents; Ory validates them.

Every TypedDict is ``total=False`` (the first argument may hold the rest); the docstrings say
which keys are required."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

from ._dto import IamPermissionTuple, Secret, SubjectSet

#: A secret input: a str or an :class:`ory_iam.Secret`.
SecretLike = Union[str, Secret]


# --- identities (Kratos admin) ---------------------------------------------------------------------


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


class ListSessionsInput(TypedDict, total=False):
    """``identity.list_sessions``, ``session.list``."""

    page_size: int
    page_token: str
    active: bool


class ListMySessionsInput(TypedDict, total=False):
    """``session.list_mine``."""

    page_size: int
    page_token: str


class RecoveryOptionsInput(TypedDict, total=False):
    """``identity.create_recovery_link`` / ``create_recovery_code``: ``expires_in`` as Kratos
    reads a duration (``"15m"``, ``"1h"``)."""

    expires_in: str


JsonPatchOperation = TypedDict(
    "JsonPatchOperation",
    {"op": Literal["add", "remove", "replace", "move", "copy", "test"], "path": str, "value": Any, "from": str},
    total=False,
)
"""One RFC 6902 operation (``identity.patch``, ``oauth2_client.patch``): ``op`` and ``path`` are
required; ``value`` for add/replace/test, ``from`` for move/copy."""


# --- Hydra ------------------------------------------------------------------------------------------


class OAuth2ClientInput(TypedDict, total=False):
    """``oauth2_client.create`` / ``set``: Hydra's client fields, passed to Hydra as they are."""

    client_id: str
    client_name: str
    client_secret: str
    client_secret_expires_at: int
    client_uri: str
    contacts: List[str]
    grant_types: List[str]
    response_types: List[str]
    redirect_uris: List[str]
    post_logout_redirect_uris: List[str]
    scope: str
    audience: List[str]
    owner: str
    policy_uri: str
    tos_uri: str
    logo_uri: str
    allowed_cors_origins: List[str]
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    token_endpoint_auth_signing_alg: str
    userinfo_signed_response_alg: str
    request_object_signing_alg: str
    request_uris: List[str]
    jwks: Dict[str, Any]
    jwks_uri: str
    sector_identifier_uri: str
    subject_type: Literal["public", "pairwise"]
    frontchannel_logout_uri: str
    frontchannel_logout_session_required: bool
    backchannel_logout_uri: str
    backchannel_logout_session_required: bool
    skip_consent: bool
    skip_logout_consent: bool
    access_token_strategy: Literal["jwt", "opaque"]
    metadata: Dict[str, Any]
    authorization_code_grant_access_token_lifespan: str
    authorization_code_grant_id_token_lifespan: str
    authorization_code_grant_refresh_token_lifespan: str
    client_credentials_grant_access_token_lifespan: str
    implicit_grant_access_token_lifespan: str
    implicit_grant_id_token_lifespan: str
    jwt_bearer_grant_access_token_lifespan: str
    refresh_token_grant_access_token_lifespan: str
    refresh_token_grant_id_token_lifespan: str
    refresh_token_grant_refresh_token_lifespan: str


class ListOAuth2ClientsInput(TypedDict, total=False):
    """``oauth2_client.list`` / ``list_all``."""

    page_size: int
    page_token: str
    client_name: str
    owner: str


class AuthorizationCodeGrantInput(TypedDict, total=False):
    """``token.authorization_code``: ``code`` and ``redirect_uri`` are required."""

    code: SecretLike
    redirect_uri: str
    client_id: str
    client_secret: SecretLike
    code_verifier: SecretLike


class RefreshGrantInput(TypedDict, total=False):
    """``token.refresh``: ``refresh_token`` is required."""

    refresh_token: SecretLike
    client_id: str
    client_secret: SecretLike
    scope: str


class JwtBearerGrantInput(TypedDict, total=False):
    """``token.jwt_bearer``: ``assertion`` is required."""

    assertion: SecretLike
    scope: str
    client_id: str
    client_secret: SecretLike


class RevokeTokenInput(TypedDict, total=False):
    """``token.revoke``'s options."""

    token_type_hint: Literal["access_token", "refresh_token"]
    client_id: str
    client_secret: SecretLike


class AcceptLoginInput(TypedDict, total=False):
    """``consent.accept_login_request``: ``subject`` is required (Hydra's fields)."""

    subject: str
    remember: bool
    remember_for: int
    acr: str
    amr: List[str]
    context: Any
    extend_session_lifespan: bool
    force_subject_identifier: str
    identity_provider_session_id: str


class ConsentSessionInput(TypedDict, total=False):
    """Extra claims of :class:`AcceptConsentInput`'s ``session``."""

    access_token: Dict[str, Any]
    id_token: Dict[str, Any]


class AcceptConsentInput(TypedDict, total=False):
    """``consent.accept_consent_request`` (Hydra's fields)."""

    grant_scope: List[str]
    grant_access_token_audience: List[str]
    remember: bool
    remember_for: int
    session: ConsentSessionInput
    context: Any


class RejectRequestInput(TypedDict, total=False):
    """``consent.reject_login_request`` / ``reject_consent_request`` (Hydra's fields)."""

    error: str
    error_description: str
    error_hint: str
    error_debug: str
    status_code: int


class JsonWebKeyInput(TypedDict, total=False):
    """A JSON Web Key (RFC 7517) for ``jwk.update_key`` / ``update_set``, passed to Hydra as it
    is; private members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``k``) only for keys Hydra
    should sign with."""

    kty: Literal["RSA", "EC", "OKP", "oct"]
    use: Literal["sig", "enc"]
    key_ops: List[str]
    alg: str
    kid: str
    x5c: List[str]
    x5t: str
    n: str
    e: str
    crv: str
    x: str
    y: str
    d: str
    p: str
    q: str
    dp: str
    dq: str
    qi: str
    k: str


class CreateJwkSetInput(TypedDict, total=False):
    """``jwk.create_set``: ``alg`` and ``use`` are required."""

    alg: str
    use: Literal["sig", "enc"]
    kid: str


class TrustIssuerInput(TypedDict, total=False):
    """``trusted_issuer.trust``: ``issuer``, ``scope``, ``expires_at`` (RFC 3339),
    ``public_key`` (a JWK) and ``subject`` or ``allow_any_subject`` are required."""

    issuer: str
    subject: str
    allow_any_subject: bool
    scope: List[str]
    expires_at: str
    public_key: Dict[str, Any]


class ListTrustedIssuersInput(TypedDict, total=False):
    """``trusted_issuer.list`` / ``list_all``."""

    issuer: str
    page_size: int
    page_token: str


# --- Keto -------------------------------------------------------------------------------------------


class SubjectSetInput(TypedDict):
    """A subject set as an object."""

    namespace: str
    object: str
    relation: str


#: A tuple's subject: a subject id, or a subject set (object or :class:`ory_iam.SubjectSet`).
SubjectInput = Union[str, SubjectSet, SubjectSetInput]


class PermissionTupleInput(TypedDict, total=False):
    """A relation tuple (``check``, ``grant``, ``revoke``, ``check_batch``): every key is
    required."""

    namespace: str
    object: str
    relation: str
    subject: SubjectInput


class PermissionQueryInput(TypedDict, total=False):
    """``permission.list`` / ``list_all``: ``namespace`` is required."""

    namespace: str
    object: str
    relation: str
    subject: SubjectInput
    page_size: int
    page_token: str


class ExpandQueryInput(TypedDict, total=False):
    """``permission.expand``: ``namespace``, ``object`` and ``relation`` are required."""

    namespace: str
    object: str
    relation: str
    max_depth: int


class PermissionPatchInput(TypedDict):
    """One entry of ``permission.patch``."""

    action: Literal["insert", "delete"]
    tuple: Union[PermissionTupleInput, IamPermissionTuple]


class DeleteMatchingInput(TypedDict, total=False):
    """``permission.delete_matching``: ``namespace`` and at least one of ``object``,
    ``relation``, ``subject``."""

    namespace: str
    object: str
    relation: str
    subject: SubjectInput


class ListConsentSessionsInput(TypedDict, total=False):
    """``consent.list_consent_sessions``: ``subject`` is required."""

    subject: str
    login_session_id: str
    page_size: int
    page_token: str


class RevokeConsentSessionsInput(TypedDict, total=False):
    """``consent.revoke_consent_sessions``: ``subject`` and exactly one of ``client`` or
    ``all=True``."""

    subject: str
    client: str
    all: bool


class RevokeLoginSessionsInput(TypedDict, total=False):
    """``consent.revoke_login_sessions``: exactly one of ``subject`` or ``sid``."""

    subject: str
    sid: str


class LogoutUrlInput(TypedDict, total=False):
    """``consent.logout_url`` (RP-initiated logout); ``post_logout_redirect_uri`` needs
    ``id_token_hint``."""

    id_token_hint: SecretLike
    post_logout_redirect_uri: str
    state: str


class ClientLifespansInput(TypedDict, total=False):
    """``oauth2_client.set_lifespans``: Go durations (``"1h"``, ``"90s"``)."""

    authorization_code_grant_access_token_lifespan: str
    authorization_code_grant_id_token_lifespan: str
    authorization_code_grant_refresh_token_lifespan: str
    client_credentials_grant_access_token_lifespan: str
    implicit_grant_access_token_lifespan: str
    implicit_grant_id_token_lifespan: str
    jwt_bearer_grant_access_token_lifespan: str
    refresh_token_grant_access_token_lifespan: str
    refresh_token_grant_id_token_lifespan: str
    refresh_token_grant_refresh_token_lifespan: str


# --- Kratos courier and flows ---------------------------------------------------------------------


class ListCourierMessagesInput(TypedDict, total=False):
    """``courier.list`` / ``list_all``."""

    status: Literal["queued", "sent", "processing", "abandoned"]
    recipient: str
    page_size: int
    page_token: str
    include_body: bool


class InitiateFlowInput(TypedDict, total=False):
    """``flow.initiate*``'s options (``None`` is the same as leaving a key out)."""

    kind: Literal["browser", "native"]
    return_to: Optional[str]
    cookie: Optional[SecretLike]
    session_token: Optional[SecretLike]
    refresh: Optional[bool]
    aal: Optional[Literal["aal1", "aal2"]]
    return_session_token_exchange_code: Optional[bool]


class SubmitFlowInput(TypedDict, total=False):
    """``flow.submit*`` / ``fetch_flow``'s options (``None`` is the same as leaving a key out:
    ``csrf_token=flow.csrf_token`` whatever the flow)."""

    cookie: Optional[SecretLike]
    csrf_token: Optional[str]
    session_token: Optional[SecretLike]


# --- Ory Network ----------------------------------------------------------------------------------


class CreateProjectInput(TypedDict, total=False):
    """``project_admin.create``: ``name`` is required."""

    name: str
    workspace_id: str
    environment: Literal["prod", "stage", "dev"]
    home_region: str


class ProjectInput(TypedDict, total=False):
    """``project_admin.set``: the project's replaceable fields, passed to the console as they
    are."""

    name: str
    services: Dict[str, Any]
    cors_admin: Dict[str, Any]
    cors_public: Dict[str, Any]
    organizations: List[Any]


class CreateApiKeyInput(TypedDict, total=False):
    """``create_api_key`` of projects and workspaces: ``name`` is required."""

    name: str
    expires_at: str


EventStreamInput = TypedDict(
    "EventStreamInput",
    {"type": Literal["sns", "https"], "topic_arn": str, "role_arn": str, "https_endpoint": str, "status": str},
    total=False,
)
"""``events.create`` (``type`` and its target are required) / ``events.set`` (omitted fields keep
their value)."""


class ListWorkspacesInput(TypedDict, total=False):
    """``workspace_admin.list``."""

    page_size: int
    page_token: str


class WorkspaceInput(TypedDict, total=False):
    """``workspace_admin.create`` / ``update`` (or just the name): ``name`` is required."""

    name: str


#: Each TypedDict the core parses, and the name of its core struct (``_ory_iam._input_keys()``):
#: the drift test compares their keys.
CORE_INPUTS: Dict[str, type] = {
    "CreateIdentity": CreateIdentityInput,
    "AddressInput": AddressInput,
    "ListIdentities": ListIdentitiesInput,
    "ListSessions": ListSessionsInput,
    "ListMySessions": ListMySessionsInput,
    "ListOAuth2Clients": ListOAuth2ClientsInput,
    "AuthorizationCodeGrant": AuthorizationCodeGrantInput,
    "RefreshGrant": RefreshGrantInput,
    "JwtBearerGrant": JwtBearerGrantInput,
    "RevokeOptions": RevokeTokenInput,
    "CreateJwkSet": CreateJwkSetInput,
    "TrustIssuer": TrustIssuerInput,
    "ListTrustedIssuers": ListTrustedIssuersInput,
    "ListCourierMessages": ListCourierMessagesInput,
    "InitiateFlow": InitiateFlowInput,
    "SubmitFlow": SubmitFlowInput,
    "CreateProject": CreateProjectInput,
    "CreateApiKey": CreateApiKeyInput,
    "EventStreamInput": EventStreamInput,
    "ListWorkspaces": ListWorkspacesInput,
    "WorkspaceInput": WorkspaceInput,
    "PermissionTuple": PermissionTupleInput,
    "PermissionQuery": PermissionQueryInput,
    "ExpandQuery": ExpandQueryInput,
    "PermissionPatch": PermissionPatchInput,
    "DeleteMatching": DeleteMatchingInput,
    "RecoveryOptions": RecoveryOptionsInput,
    "ListConsentSessions": ListConsentSessionsInput,
    "RevokeConsentSessions": RevokeConsentSessionsInput,
    "RevokeLoginSessions": RevokeLoginSessionsInput,
    "LogoutUrlOptions": LogoutUrlInput,
    "ClientLifespans": ClientLifespansInput,
}

__all__ = [
    "AcceptConsentInput",
    "AcceptLoginInput",
    "AddressInput",
    "AuthorizationCodeGrantInput",
    "ClientLifespansInput",
    "ListConsentSessionsInput",
    "LogoutUrlInput",
    "RevokeConsentSessionsInput",
    "RevokeLoginSessionsInput",
    "ConsentSessionInput",
    "CreateApiKeyInput",
    "CreateIdentityInput",
    "CreateJwkSetInput",
    "CreateProjectInput",
    "DeleteMatchingInput",
    "EventStreamInput",
    "ExpandQueryInput",
    "InitiateFlowInput",
    "JsonPatchOperation",
    "JsonWebKeyInput",
    "JwtBearerGrantInput",
    "ListCourierMessagesInput",
    "ListIdentitiesInput",
    "ListOAuth2ClientsInput",
    "ListMySessionsInput",
    "ListSessionsInput",
    "ListTrustedIssuersInput",
    "ListWorkspacesInput",
    "OAuth2ClientInput",
    "PermissionPatchInput",
    "PermissionQueryInput",
    "PermissionTupleInput",
    "ProjectInput",
    "RecoveryOptionsInput",
    "RefreshGrantInput",
    "RejectRequestInput",
    "RevokeTokenInput",
    "SecretLike",
    "SubjectInput",
    "SubjectSetInput",
    "SubmitFlowInput",
    "TrustIssuerInput",
    "WorkspaceInput",
]
