use serde::{Deserialize, Serialize};

/// The subject of a relation: a plain id (`"user:alice"`) or a subject set (`namespace`,
/// `object`, `relation`: everyone with that relation on that object).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Subject {
    Id(String),
    Set { namespace: String, object: String, relation: String },
}

/// A relation tuple: `subject` has `relation` on `namespace:object`. `subject` may be a string
/// (`"alice"`, or `"groups:admins#member"` for a subject set) or a subject-set object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionTuple {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    pub subject: Subject,
}

impl PermissionTuple {
    /// A tuple whose subject is the subject id `subject` — always an id, whatever it looks like
    /// (`"groups:admins#member"` is an id too: a subject set given as text would let whoever
    /// controls the string name a whole group). Subject sets: [`with_subject`](Self::with_subject)
    /// and [`Subject::set`].
    pub fn new(namespace: &str, object: &str, relation: &str, subject: &str) -> Self {
        Self::with_subject(namespace, object, relation, Subject::Id(subject.to_owned()))
    }

    pub fn with_subject(namespace: &str, object: &str, relation: &str, subject: Subject) -> Self {
        PermissionTuple { namespace: namespace.into(), object: object.into(), relation: relation.into(), subject }
    }
}

impl Subject {
    /// Everyone with `relation` on `namespace:object`.
    pub fn set(namespace: &str, object: &str, relation: &str) -> Subject {
        Subject::Set { namespace: namespace.into(), object: object.into(), relation: relation.into() }
    }
}

/// A filter for `list`: any subset of a tuple's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionQuery {
    pub namespace: String,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub subject: Option<Subject>,
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
}

/// Options of `check`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckOptions {
    /// Bypass the decision cache for this call.
    #[serde(default)]
    pub fresh: bool,
    #[serde(default)]
    pub max_depth: Option<u32>,
}

/// One result of `check_batch`, in input order. `error` set means `allowed` is false because
/// the check failed (fail closed), not because it was denied.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CheckResult {
    pub allowed: bool,
    pub error: Option<String>,
}

/// Input of `expand`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpandQuery {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    #[serde(default)]
    pub max_depth: Option<u32>,
}

/// The subject tree of `expand`: `kind` is `union`, `exclusion`, `intersection`, `leaf`, …
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SubjectTree {
    pub kind: String,
    pub tuple: Option<PermissionTuple>,
    pub children: Vec<SubjectTree>,
}

/// What one entry of `permission.patch` does with its tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchAction {
    Insert,
    Delete,
}

/// One entry of `permission.patch`: insert or delete `tuple`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionPatch {
    pub action: PatchAction,
    pub tuple: PermissionTuple,
}

impl PermissionPatch {
    pub fn insert(tuple: PermissionTuple) -> Self {
        PermissionPatch { action: PatchAction::Insert, tuple }
    }

    pub fn delete(tuple: PermissionTuple) -> Self {
        PermissionPatch { action: PatchAction::Delete, tuple }
    }
}

/// The filter of `permission.delete_matching`: `namespace` and at least one of `object`,
/// `relation`, `subject` (a filter of the namespace alone, which would delete every tuple in
/// it, is refused).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteMatching {
    pub namespace: String,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub subject: Option<Subject>,
}

/// A syntax error `permission.check_opl_syntax` found in an OPL (Ory Permission Language) file.
/// Lines and columns as Keto counts them (from 1).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OplSyntaxError {
    pub message: String,
    pub start: OplPosition,
    pub end: OplPosition,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct OplPosition {
    pub line: u64,
    pub column: u64,
}
