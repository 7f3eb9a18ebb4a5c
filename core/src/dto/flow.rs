use super::{Identity, Session};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Self-service flow kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowKind {
    Login,
    Registration,
    Recovery,
    Settings,
    Verification,
}

impl FlowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Registration => "registration",
            FlowKind::Recovery => "recovery",
            FlowKind::Settings => "settings",
            FlowKind::Verification => "verification",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "login" => FlowKind::Login,
            "registration" => FlowKind::Registration,
            "recovery" => FlowKind::Recovery,
            "settings" => FlowKind::Settings,
            "verification" => FlowKind::Verification,
            _ => return None,
        })
    }
}

/// `browser` flows use cookies and CSRF; `native` flows (Kratos "api") use session tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    Browser,
    #[default]
    Native,
}

/// A message in the flow UI (Kratos `uiText`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UiText {
    pub id: i64,
    pub text: String,
    /// `info`, `error` or `success`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One UI node: an input, text, image, anchor or script, with its messages.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct UiNode {
    /// `input`, `text`, `img`, `a`, `script`.
    pub node_type: String,
    /// `default`, `password`, `profile`, `code`, `oidc`, …
    pub group: String,
    /// The node's attributes (`name`, `type`, `value`, `required`, …).
    pub attributes: Value,
    pub messages: Vec<UiText>,
    pub label: Option<UiText>,
}

impl fmt::Debug for UiNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `attributes.value` can echo what the user typed (an email, a trait): not printed.
        let name = self.attributes.get("name").and_then(Value::as_str).unwrap_or("");
        f.debug_struct("UiNode")
            .field("node_type", &self.node_type)
            .field("group", &self.group)
            .field("name", &name)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Ui {
    /// Where a plain HTML form would post (Kratos's URL).
    pub action: String,
    pub method: String,
    pub nodes: Vec<UiNode>,
    pub messages: Vec<UiText>,
}

/// A self-service flow. `csrf_token` is opaque: give it back to `submit_*` (browser flows).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Flow {
    pub tenant: String,
    pub id: String,
    pub kind: FlowKind,
    pub flow_type: FlowType,
    pub expires_at: Option<String>,
    pub issued_at: Option<String>,
    pub return_to: Option<String>,
    /// Recovery/verification/settings progress (`choose_method`, `sent_email`, `passed_challenge`, `success`).
    pub state: Option<String>,
    pub ui: Ui,
    pub csrf_token: Option<String>,
    /// `Set-Cookie` headers to relay to the browser (browser flows: the CSRF cookie).
    pub set_cookie: Vec<Secret>,
    /// Native login/registration started with `return_session_token_exchange_code`: the first
    /// half of what `flow.exchange_session_token` turns into a session token (keep it on the
    /// device; with the second half it is the user's session).
    pub session_token_exchange_code: Option<Secret>,
}

/// The outcome of `submit_*`. Short-lived, so the variants' size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FlowResult {
    /// Done. Login/registration carry the new session; native flows the `session_token`.
    Success(FlowSuccess),
    /// Show the flow again (validation messages are in its UI), or the next step.
    Continue { flow: Flow },
    /// Kratos wants the browser elsewhere (e.g. recovery → settings).
    Redirect { redirect_browser_to: String, set_cookie: Vec<Secret> },
}

#[derive(Clone, Debug, Serialize)]
pub struct FlowSuccess {
    pub tenant: String,
    pub session_id: Option<String>,
    pub session: Option<Session>,
    pub identity: Option<Identity>,
    /// Native flows: the new session token (a secret; hand it to the client once).
    pub session_token: Option<Secret>,
    /// Browser flows: `Set-Cookie` headers to relay (the session cookie).
    pub set_cookie: Vec<Secret>,
    /// Settings/recovery/verification: the final flow.
    pub flow: Option<Flow>,
    /// Kratos `continue_with` actions.
    pub continue_with: Vec<Value>,
}

/// Input of `initiate_*`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitiateFlow {
    #[serde(default)]
    pub kind: Option<FlowType>,
    #[serde(default)]
    pub return_to: Option<String>,
    /// Browser flows: the incoming request's `Cookie` header.
    #[serde(default)]
    pub cookie: Option<Secret>,
    /// Native settings flows (and login refresh): the user's session token.
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// Login: re-authenticate although a session exists.
    #[serde(default)]
    pub refresh: Option<bool>,
    /// Login: requested assurance level (`aal1`, `aal2`).
    #[serde(default)]
    pub aal: Option<String>,
    /// Native login/registration that continues in a browser (social sign-in): Kratos returns
    /// `session_token_exchange_code` with the flow and, at the end, sends the browser to
    /// `return_to` with `?code=`; `flow.exchange_session_token` turns both into a session token.
    #[serde(default)]
    pub return_session_token_exchange_code: Option<bool>,
}

impl fmt::Debug for InitiateFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitiateFlow")
            .field("kind", &self.kind)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// Options of `submit_*` and `fetch_flow`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitFlow {
    /// Browser flows: the incoming `Cookie` header (must hold the CSRF cookie).
    #[serde(default)]
    pub cookie: Option<Secret>,
    /// Browser flows: the flow's `csrf_token`, added to the body when it has none.
    #[serde(default)]
    pub csrf_token: Option<String>,
    /// Native settings flows: the user's session token.
    #[serde(default)]
    pub session_token: Option<Secret>,
}

impl fmt::Debug for SubmitFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitFlow").finish_non_exhaustive()
    }
}

/// `initiate_browser_logout`: where to send the browser, and the token to log out with. The URL
/// carries the token, so it is a secret too.
#[derive(Clone, Debug, Serialize)]
pub struct LogoutFlow {
    pub tenant: String,
    pub logout_url: Secret,
    pub logout_token: Secret,
}

/// A self-service error (`flow.get_error`): what the error page of a UI shows for the `id` Kratos
/// put in its redirect. `error` is Kratos' error object (`code`, `status`, `reason`, `message`).
#[derive(Clone, Debug, Serialize)]
pub struct FlowError {
    pub tenant: String,
    pub id: String,
    pub error: serde_json::Value,
    /// RFC 3339.
    pub created_at: Option<String>,
}
