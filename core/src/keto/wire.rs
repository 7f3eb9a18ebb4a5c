//! Keto's JSON shapes (private).

use crate::dto::{PermissionTuple, Subject, SubjectTree};
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct WireSubjectSet {
    pub namespace: String,
    pub object: String,
    pub relation: String,
}

#[derive(Deserialize)]
pub(crate) struct Tuple {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    #[serde(default)]
    pub subject_id: Option<String>,
    #[serde(default)]
    pub subject_set: Option<WireSubjectSet>,
}

impl Tuple {
    pub fn into_dto(self) -> Option<PermissionTuple> {
        let subject = match (self.subject_id, self.subject_set) {
            (Some(id), _) => Subject::Id(id),
            (None, Some(s)) => Subject::Set { namespace: s.namespace, object: s.object, relation: s.relation },
            (None, None) => return None,
        };
        Some(PermissionTuple { namespace: self.namespace, object: self.object, relation: self.relation, subject })
    }
}

#[derive(Deserialize)]
pub(crate) struct TupleList {
    #[serde(default)]
    pub relation_tuples: Vec<Tuple>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Allowed {
    pub allowed: bool,
}

#[derive(Deserialize)]
pub(crate) struct BatchResults {
    pub results: Vec<BatchResult>,
}

#[derive(Deserialize)]
pub(crate) struct BatchResult {
    pub allowed: bool,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Tree {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub tuple: Option<Tuple>,
    #[serde(default)]
    pub children: Option<Vec<Tree>>,
}

impl Tree {
    pub fn into_dto(self) -> SubjectTree {
        SubjectTree {
            kind: self.kind,
            tuple: self.tuple.and_then(Tuple::into_dto),
            children: self.children.unwrap_or_default().into_iter().map(Tree::into_dto).collect(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Namespaces {
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
}

#[derive(Deserialize)]
pub(crate) struct Namespace {
    pub name: String,
}

#[derive(Deserialize)]
pub(crate) struct OplCheck {
    #[serde(default)]
    pub errors: Option<Vec<OplError>>,
}

#[derive(Deserialize)]
pub(crate) struct OplError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub start: OplPosition,
    #[serde(default)]
    pub end: OplPosition,
}

/// Keto v0.14 spells the line `Line` (the document: `line`).
#[derive(Deserialize, Default)]
pub(crate) struct OplPosition {
    #[serde(default, alias = "Line")]
    pub line: u64,
    #[serde(default)]
    pub column: u64,
}
