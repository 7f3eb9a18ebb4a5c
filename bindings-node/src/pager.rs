//! Auto-paging: each pager's `nextItem()` resolves to the next item or `null`; `ory-iam.js`
//! makes it an async iterable (`for await`). One typed pager class per item type.

/// Declares `$name`, a JS pager over a core `Pager<$core>` yielding `$js` objects.
macro_rules! typed_pager {
    ($name:ident, $core:ty, $js:ty) => {
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
            /// The next item, or null at the end.
            #[napi]
            pub async fn next_item(&self) -> napi::Result<Option<$js>> {
                use crate::errors::IntoNapi;
                Ok(self.inner.next_item().await.transpose().napi()?.map(Into::into))
            }
        }
    };
}

typed_pager!(IdentityPager, ory_iam::dto::Identity, crate::dto::Identity);
typed_pager!(CourierMessagePager, ory_iam::dto::CourierMessage, crate::dto::CourierMessage);
typed_pager!(SessionPager, ory_iam::dto::Session, crate::dto::Session);
typed_pager!(PermissionTuplePager, ory_iam::dto::PermissionTuple, crate::dto::PermissionTuple);
typed_pager!(OAuth2ClientPager, ory_iam::dto::OAuth2Client, crate::dto::OAuth2Client);
typed_pager!(TrustedIssuerPager, ory_iam::dto::TrustedIssuer, crate::dto::TrustedIssuer);
typed_pager!(WorkspacePager, ory_iam::dto::Workspace, crate::dto::Workspace);
