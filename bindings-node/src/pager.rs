//! Auto-paging: each pager's `nextItem()` resolves to the next item or `null`; `ory-iam.js`
//! makes it an async iterable (`for await`). One typed pager class per item type.

/// Declares `$name`, a JS pager over a core `Pager<$core>` yielding `$js` objects.
macro_rules! typed_pager {
    ($name:ident, $core:ty, $js:ty, $ts:literal) => {
        #[napi_derive::napi]
        pub struct $name {
            inner: std::sync::Arc<ory_iam::Pager<$core>>,
        }

        impl $name {
            pub fn new(p: ory_iam::Pager<$core>) -> Self {
                $name { inner: std::sync::Arc::new(p) }
            }
        }

        #[napi_derive::napi]
        impl $name {
            /// The next item, or null at the end. A buffered item (or the known end) comes
            /// back as an already-settled promise, without a round trip through the runtime.
            #[napi(ts_return_type = $ts)]
            pub fn next_item<'env>(
                &self,
                env: &'env napi::Env,
            ) -> napi::Result<napi::bindgen_prelude::PromiseRaw<'env, Option<$js>>> {
                use crate::errors::IntoNapi;
                match self.inner.next_ready().map(Option::transpose) {
                    Some(Ok(item)) => napi::bindgen_prelude::PromiseRaw::resolve(env, item.map(Into::into)),
                    Some(Err(e)) => napi::bindgen_prelude::PromiseRaw::reject(env, crate::errors::to_napi(e)),
                    None => {
                        let inner = self.inner.clone();
                        env.spawn_future(async move { Ok(inner.next_item().await.transpose().napi()?.map(Into::into)) })
                    }
                }
            }
        }
    };
}

typed_pager!(IdentityPager, ory_iam::dto::Identity, crate::dto::Identity, "Promise<Identity | null>");
typed_pager!(
    CourierMessagePager,
    ory_iam::dto::CourierMessage,
    crate::dto::CourierMessage,
    "Promise<CourierMessage | null>"
);
typed_pager!(SessionPager, ory_iam::dto::Session, crate::dto::Session, "Promise<Session | null>");
typed_pager!(
    PermissionTuplePager,
    ory_iam::dto::PermissionTuple,
    crate::dto::PermissionTuple,
    "Promise<PermissionTuple | null>"
);
typed_pager!(OAuth2ClientPager, ory_iam::dto::OAuth2Client, crate::dto::OAuth2Client, "Promise<OAuth2Client | null>");
typed_pager!(
    ConsentSessionPager,
    ory_iam::dto::ConsentSession,
    crate::dto::ConsentSession,
    "Promise<ConsentSession | null>"
);
typed_pager!(
    TrustedIssuerPager,
    ory_iam::dto::TrustedIssuer,
    crate::dto::TrustedIssuer,
    "Promise<TrustedIssuer | null>"
);
typed_pager!(WorkspacePager, ory_iam::dto::Workspace, crate::dto::Workspace, "Promise<Workspace | null>");
