//! The keys the core accepts for each input mapping of the Python API, for the drift test of the
//! typed inputs (`ory_iam.inputs`): each TypedDict must name exactly its core struct's fields.
//! The field names are what serde's derive hands a deserializer in `deserialize_struct`; this
//! module asks for them with a deserializer that records them and stops. Not API.

use serde::de::{self, Deserialize, Visitor};
use std::collections::BTreeMap;

/// Records the field list serde passes to `deserialize_struct`, then fails.
struct FieldNames(Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for &mut FieldNames {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

fn fields_of<T: for<'de> Deserialize<'de>>() -> Vec<String> {
    let mut names = FieldNames(None);
    let _ = T::deserialize(&mut names);
    names.0.unwrap_or_default().iter().map(|s| (*s).to_owned()).collect()
}

/// `{core struct name: [field, ...]}` for every struct the Python API parses an input mapping
/// into.
#[pyo3::pyfunction]
pub fn _input_keys() -> BTreeMap<&'static str, Vec<String>> {
    use ory_iam::dto::*;
    BTreeMap::from([
        ("CreateIdentity", fields_of::<CreateIdentity>()),
        ("AddressInput", fields_of::<AddressInput>()),
        ("ListIdentities", fields_of::<ListIdentities>()),
        ("ListSessions", fields_of::<ListSessions>()),
        ("ListMySessions", fields_of::<ListMySessions>()),
        ("ListOAuth2Clients", fields_of::<ListOAuth2Clients>()),
        ("AuthorizationCodeGrant", fields_of::<AuthorizationCodeGrant>()),
        ("RefreshGrant", fields_of::<RefreshGrant>()),
        ("JwtBearerGrant", fields_of::<JwtBearerGrant>()),
        ("RevokeOptions", fields_of::<RevokeOptions>()),
        ("CreateJwkSet", fields_of::<CreateJwkSet>()),
        ("TrustIssuer", fields_of::<TrustIssuer>()),
        ("ListTrustedIssuers", fields_of::<ListTrustedIssuers>()),
        ("ListCourierMessages", fields_of::<ListCourierMessages>()),
        ("InitiateFlow", fields_of::<InitiateFlow>()),
        ("SubmitFlow", fields_of::<SubmitFlow>()),
        ("CreateProject", fields_of::<CreateProject>()),
        ("CreateApiKey", fields_of::<CreateApiKey>()),
        ("EventStreamInput", fields_of::<EventStreamInput>()),
        ("ListWorkspaces", fields_of::<ListWorkspaces>()),
        ("WorkspaceInput", fields_of::<WorkspaceInput>()),
        ("PermissionTuple", fields_of::<PermissionTuple>()),
        ("PermissionQuery", fields_of::<PermissionQuery>()),
        ("ExpandQuery", fields_of::<ExpandQuery>()),
        ("PermissionPatch", fields_of::<PermissionPatch>()),
        ("DeleteMatching", fields_of::<DeleteMatching>()),
        ("RecoveryOptions", fields_of::<RecoveryOptions>()),
        ("ListConsentSessions", fields_of::<ListConsentSessions>()),
        ("RevokeConsentSessions", fields_of::<RevokeConsentSessions>()),
        ("RevokeLoginSessions", fields_of::<RevokeLoginSessions>()),
        ("LogoutUrlOptions", fields_of::<LogoutUrlOptions>()),
        ("ClientLifespans", fields_of::<ClientLifespans>()),
    ])
}
