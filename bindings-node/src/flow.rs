use crate::dto::{Flow, FlowError, FlowResult, LogoutFlow};
use crate::errors::IntoNapi;
use crate::secret::Secret;
use napi_derive::napi;
use ory_iam::dto::{parse_input, FlowKind, InitiateFlow, SubmitFlow};
use serde_json::Value;

/// Self-service flows of one tenant (Kratos public API), browser or native.
#[napi]
#[derive(Clone)]
pub struct FlowService(pub(crate) ory_iam::FlowService);
crate::handle::basics!(FlowService);

fn kind(k: &str) -> napi::Result<FlowKind> {
    FlowKind::parse(k)
        .ok_or_else(|| {
            ory_iam::Error::invalid_field("kind", "must be login, registration, recovery, settings or verification")
        })
        .napi()
}

/// Options may carry `cookie`/`sessionToken` as strings or as `Secret`s (ory-iam.js unwraps).
fn initiate_opts(v: Option<Value>) -> napi::Result<InitiateFlow> {
    parse_input("options", v.unwrap_or(Value::Null)).napi()
}

fn submit_opts(v: Option<Value>) -> napi::Result<SubmitFlow> {
    parse_input("options", v.unwrap_or(Value::Null)).napi()
}

#[napi]
impl FlowService {
    /// Start a flow: `kind` is login | registration | recovery | settings | verification.
    #[napi(ts_args_type = "kind: FlowKindName, options?: InitiateFlowOptions")]
    pub async fn initiate(&self, kind: String, options: Option<Value>) -> napi::Result<Flow> {
        let k = self::kind(&kind)?;
        self.0.initiate(k, initiate_opts(options)?).await.napi().map(Into::into)
    }

    #[napi(ts_args_type = "options?: InitiateFlowOptions")]
    pub async fn initiate_login(&self, options: Option<Value>) -> napi::Result<Flow> {
        self.0.initiate_login(initiate_opts(options)?).await.napi().map(Into::into)
    }

    #[napi(ts_args_type = "options?: InitiateFlowOptions")]
    pub async fn initiate_registration(&self, options: Option<Value>) -> napi::Result<Flow> {
        self.0.initiate_registration(initiate_opts(options)?).await.napi().map(Into::into)
    }

    #[napi(ts_args_type = "options?: InitiateFlowOptions")]
    pub async fn initiate_recovery(&self, options: Option<Value>) -> napi::Result<Flow> {
        self.0.initiate_recovery(initiate_opts(options)?).await.napi().map(Into::into)
    }

    #[napi(ts_args_type = "options?: InitiateFlowOptions")]
    pub async fn initiate_settings(&self, options: Option<Value>) -> napi::Result<Flow> {
        self.0.initiate_settings(initiate_opts(options)?).await.napi().map(Into::into)
    }

    #[napi(ts_args_type = "options?: InitiateFlowOptions")]
    pub async fn initiate_verification(&self, options: Option<Value>) -> napi::Result<Flow> {
        self.0.initiate_verification(initiate_opts(options)?).await.napi().map(Into::into)
    }

    /// Submit a flow: `{kind: 'success'}`, `{kind: 'continue', flow}` or `{kind: 'redirect'}`.
    #[napi(
        ts_args_type = "kind: FlowKindName, flowId: string, body: Record<string, unknown>, options?: SubmitFlowOptions"
    )]
    pub async fn submit(
        &self,
        kind: String,
        flow_id: String,
        body: Value,
        options: Option<Value>,
    ) -> napi::Result<FlowResult> {
        let k = self::kind(&kind)?;
        Ok(self.0.submit(k, &flow_id, body, submit_opts(options)?).await.napi()?.into())
    }

    #[napi(ts_args_type = "flowId: string, body: Record<string, unknown>, options?: SubmitFlowOptions")]
    pub async fn submit_login(&self, flow_id: String, body: Value, options: Option<Value>) -> napi::Result<FlowResult> {
        Ok(self.0.submit_login(&flow_id, body, submit_opts(options)?).await.napi()?.into())
    }

    #[napi(ts_args_type = "flowId: string, body: Record<string, unknown>, options?: SubmitFlowOptions")]
    pub async fn submit_registration(
        &self,
        flow_id: String,
        body: Value,
        options: Option<Value>,
    ) -> napi::Result<FlowResult> {
        Ok(self.0.submit_registration(&flow_id, body, submit_opts(options)?).await.napi()?.into())
    }

    #[napi(ts_args_type = "flowId: string, body: Record<string, unknown>, options?: SubmitFlowOptions")]
    pub async fn submit_recovery(
        &self,
        flow_id: String,
        body: Value,
        options: Option<Value>,
    ) -> napi::Result<FlowResult> {
        Ok(self.0.submit_recovery(&flow_id, body, submit_opts(options)?).await.napi()?.into())
    }

    #[napi(ts_args_type = "flowId: string, body: Record<string, unknown>, options?: SubmitFlowOptions")]
    pub async fn submit_settings(
        &self,
        flow_id: String,
        body: Value,
        options: Option<Value>,
    ) -> napi::Result<FlowResult> {
        Ok(self.0.submit_settings(&flow_id, body, submit_opts(options)?).await.napi()?.into())
    }

    #[napi(ts_args_type = "flowId: string, body: Record<string, unknown>, options?: SubmitFlowOptions")]
    pub async fn submit_verification(
        &self,
        flow_id: String,
        body: Value,
        options: Option<Value>,
    ) -> napi::Result<FlowResult> {
        Ok(self.0.submit_verification(&flow_id, body, submit_opts(options)?).await.napi()?.into())
    }

    /// Read a flow again.
    #[napi(ts_args_type = "kind: FlowKindName, flowId: string, options?: SubmitFlowOptions")]
    pub async fn fetch_flow(&self, kind: String, flow_id: String, options: Option<Value>) -> napi::Result<Flow> {
        let k = self::kind(&kind)?;
        self.0.fetch_flow(k, &flow_id, submit_opts(options)?).await.napi().map(Into::into)
    }

    /// The self-service error `id` (the `?id=` of Kratos' redirect to the error UI).
    #[napi]
    pub async fn get_error(&self, id: String) -> napi::Result<FlowError> {
        self.0.get_error(&id).await.napi().map(Into::into)
    }

    /// Browser logout, step 1: the logout URL and token for the session in `cookie`.
    #[napi]
    pub async fn initiate_browser_logout(&self, cookie: String, return_to: Option<String>) -> napi::Result<LogoutFlow> {
        let l = self.0.initiate_browser_logout(&ory_iam::Secret::new(cookie), return_to).await.napi()?;
        Ok(LogoutFlow {
            tenant: l.tenant,
            logout_url: Secret::from_core(l.logout_url),
            logout_token: Secret::from_core(l.logout_token),
        })
    }

    /// Browser logout, step 2: returns the `Set-Cookie` headers to relay. Kratos checks the
    /// token against the session cookie: pass the browser's `Cookie` header.
    #[napi]
    pub async fn submit_browser_logout(
        &self,
        logout_token: String,
        cookie: Option<String>,
    ) -> napi::Result<Vec<Secret>> {
        let cookie = cookie.map(ory_iam::Secret::new);
        let v = self.0.submit_browser_logout(&ory_iam::Secret::new(logout_token), cookie.as_ref()).await.napi()?;
        Ok(v.into_iter().map(Secret::from_core).collect())
    }

    /// Finish a native sign-in that continued in a browser (social sign-in): `initCode` is the
    /// flow's `sessionTokenExchangeCode`, `returnToCode` the `code` Kratos put on `returnTo`.
    /// A `{kind: 'success'}` result with the session and its `sessionToken`; codes Kratos does
    /// not know (or not yet) are `IamNotFoundError`.
    #[napi(ts_args_type = "initCode: string | Secret, returnToCode: string | Secret")]
    pub async fn exchange_session_token(&self, init_code: String, return_to_code: String) -> napi::Result<FlowResult> {
        let (init, code) = (ory_iam::Secret::new(init_code), ory_iam::Secret::new(return_to_code));
        let done = self.0.exchange_session_token(&init, &code).await.napi()?;
        Ok(ory_iam::dto::FlowResult::Success(done).into())
    }

    /// Native logout: revoke the session behind a session token.
    #[napi]
    pub async fn perform_native_logout(&self, session_token: String) -> napi::Result<()> {
        self.0.perform_native_logout(&ory_iam::Secret::new(session_token)).await.napi()
    }
}
