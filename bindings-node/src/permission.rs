use crate::dto::{CheckResult, OplSyntaxError, PermissionTuplePage, SubjectTree};
use crate::errors::IntoNapi;
use crate::pager::PermissionTuplePager;
use napi_derive::napi;
use ory_iam::dto::{parse_input, CheckOptions, DeleteMatching, ExpandQuery, PermissionPatch, PermissionQuery};
use serde_json::Value;

/// Permissions of one tenant (Keto). Fails closed: an outage throws, never reads as allowed.
#[napi]
#[derive(Clone)]
pub struct PermissionService(pub(crate) ory_iam::PermissionService);
crate::handle::basics!(PermissionService);

fn tuple(v: Value) -> napi::Result<ory_iam::dto::PermissionTuple> {
    parse_input("tuple", v).napi()
}

#[napi]
impl PermissionService {
    /// `fresh: true` bypasses the decision cache for this call.
    #[napi(ts_args_type = "tuple: PermissionTuple, options?: CheckOptions")]
    pub async fn check(&self, tuple: Value, options: Option<Value>) -> napi::Result<bool> {
        let t = self::tuple(tuple)?;
        let opts: CheckOptions = parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        self.0.check(&t, opts).await.napi()
    }

    /// Results in input order; a failing tuple comes back `allowed: false` with `error`.
    #[napi(ts_args_type = "tuples: PermissionTuple[]")]
    pub async fn check_batch(&self, tuples: Vec<Value>) -> napi::Result<Vec<CheckResult>> {
        let list = tuples.into_iter().map(tuple).collect::<napi::Result<Vec<_>>>()?;
        Ok(self.0.check_batch(&list).await.napi()?.into_iter().map(Into::into).collect())
    }

    /// Create the tuple (an existing one is fine). Audited `authz.permission.grant`.
    #[napi(ts_args_type = "tuple: PermissionTuple")]
    pub async fn grant(&self, tuple: Value) -> napi::Result<()> {
        let t = self::tuple(tuple)?;
        self.0.grant(&t).await.napi()
    }

    /// Delete exactly this tuple (a missing one is fine). Audited `authz.permission.revoke`.
    #[napi(ts_args_type = "tuple: PermissionTuple")]
    pub async fn revoke(&self, tuple: Value) -> napi::Result<()> {
        let t = self::tuple(tuple)?;
        self.0.revoke(&t).await.napi()
    }

    /// Insert and delete many tuples in one Keto transaction: every entry applies or none
    /// does. Audited per entry (`authz.permission.grant`/`revoke` with `via: "patch"`).
    #[napi(ts_args_type = "entries: PermissionPatch[]")]
    pub async fn patch(&self, entries: Vec<Value>) -> napi::Result<()> {
        let list = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| parse_input::<PermissionPatch>(&format!("patch[{i}]"), e).napi())
            .collect::<napi::Result<Vec<_>>>()?;
        self.0.patch(&list).await.napi()
    }

    /// Delete every tuple matching `namespace` and at least one of `object`, `relation`,
    /// `subject` (a namespace alone throws `IamValidationError`). Audited
    /// `authz.permission.delete_matching`.
    #[napi(ts_args_type = "query: DeleteMatchingQuery")]
    pub async fn delete_matching(&self, query: Value) -> napi::Result<()> {
        let q: DeleteMatching = parse_input("query", query).napi()?;
        self.0.delete_matching(&q).await.napi()
    }

    /// The syntax errors of an OPL (Ory Permission Language) file, none when valid. Needs
    /// `keto.oplUrl` (Keto's OPL server); nothing is stored or applied.
    #[napi]
    pub async fn check_opl_syntax(&self, opl: String) -> napi::Result<Vec<OplSyntaxError>> {
        Ok(self.0.check_opl_syntax(&opl).await.napi()?.into_iter().map(Into::into).collect())
    }

    /// The namespaces Keto knows, sorted.
    #[napi]
    pub async fn namespaces(&self) -> napi::Result<Vec<String>> {
        self.0.namespaces().await.napi()
    }

    /// One page of tuples matching the query.
    #[napi(ts_args_type = "query: PermissionQuery")]
    pub async fn list(&self, query: Value) -> napi::Result<PermissionTuplePage> {
        let q: PermissionQuery = parse_input("query", query).napi()?;
        let p = self.0.list(q).await.napi()?;
        Ok(PermissionTuplePage {
            items: p.items.into_iter().map(Into::into).collect(),
            next_page_token: p.next_page_token,
        })
    }

    /// Every matching tuple: `for await (const t of iam.permission.listAll({namespace}))`.
    #[napi(ts_args_type = "query: PermissionQuery", ts_return_type = "AsyncIterable<PermissionTuple>")]
    pub fn list_all(&self, query: Value) -> napi::Result<PermissionTuplePager> {
        let q: PermissionQuery = parse_input("query", query).napi()?;
        Ok(PermissionTuplePager::new(self.0.list_all(q)))
    }

    /// Who has `relation` on `namespace:object`, as a tree.
    #[napi(ts_args_type = "query: ExpandQuery")]
    pub async fn expand(&self, query: Value) -> napi::Result<SubjectTree> {
        let q: ExpandQuery = parse_input("query", query).napi()?;
        self.0.expand(q).await.napi().map(Into::into)
    }
}
