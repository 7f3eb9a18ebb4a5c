//! Credentials from incoming request headers: the session cookie, a bearer/session token, or
//! an Oathkeeper-signed identity envelope. Values are wrapped in `Secret` at once.

pub mod oathkeeper;

use crate::config::Transport;
use crate::secret::Secret;
use http::HeaderMap;

/// What a request presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// `name=value` of the tenant's session cookie, to forward to Kratos as `Cookie`.
    Cookie(Secret),
    /// A Kratos session token (from `Authorization: Bearer` or `X-Session-Token`).
    Token(Secret),
}

impl Credential {
    /// The part that identifies the session, for cache keys (hashed before use).
    pub(crate) fn material(&self) -> (&'static str, &str) {
        match self {
            Credential::Cookie(s) => ("cookie", s.expose()),
            Credential::Token(s) => ("token", s.expose()),
        }
    }
}

/// Why a credential was refused without asking Kratos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    Malformed,
}

/// Find the credential the tenant's transport accepts. `cookie-or-bearer` tries the cookie
/// first. Oathkeeper is handled by [`oathkeeper`], never here.
pub fn extract(transport: Transport, cookie_name: &str, headers: &HeaderMap) -> Result<Credential, Rejection> {
    let cookie = || cookie_credential(cookie_name, headers);
    let bearer = || bearer_credential(headers);
    let found = match transport {
        Transport::Cookie => cookie()?,
        Transport::Bearer => bearer()?,
        Transport::CookieOrBearer => match cookie()? {
            Some(c) => Some(c),
            None => bearer()?,
        },
        Transport::Oathkeeper => None,
    };
    found.ok_or(Rejection::Missing)
}

/// The tenant's session cookie among the request's cookies. Only that cookie is read (as bytes:
/// other cookies may carry anything — `theme=café`, a subdomain's cookie — and must not lock the
/// user out); only that cookie's value is checked, and only it is forwarded to Kratos.
fn cookie_credential(name: &str, headers: &HeaderMap) -> Result<Option<Credential>, Rejection> {
    for h in headers.get_all(http::header::COOKIE) {
        for pair in h.as_bytes().split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|&b| b == b'=') else { continue };
            let (k, v) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            if k == name.as_bytes() {
                if v.is_empty() || !v.iter().all(|&b| (0x21..0x7f).contains(&b) && b != b';' && b != b',') {
                    return Err(Rejection::Malformed);
                }
                // Checked above: printable ASCII.
                let v = std::str::from_utf8(v).map_err(|_| Rejection::Malformed)?;
                return Ok(Some(Credential::Cookie(Secret::new(format!("{name}={v}")))));
            }
        }
    }
    Ok(None)
}

fn bearer_credential(headers: &HeaderMap) -> Result<Option<Credential>, Rejection> {
    if let Some(h) = headers.get(http::header::AUTHORIZATION) {
        let s = h.to_str().map_err(|_| Rejection::Malformed)?;
        let mut parts = s.splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("bearer") {
            let token = parts.next().unwrap_or("").trim();
            return valid_token(token).map(|t| Some(Credential::Token(Secret::new(t))));
        }
        // Another scheme (e.g. Basic) is not ours: treat as no bearer credential.
    }
    if let Some(h) = headers.get("x-session-token") {
        let s = h.to_str().map_err(|_| Rejection::Malformed)?.trim();
        return valid_token(s).map(|t| Some(Credential::Token(Secret::new(t))));
    }
    Ok(None)
}

fn valid_token(t: &str) -> Result<&str, Rejection> {
    if t.is_empty() || t.len() > 4096 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        Err(Rejection::Malformed)
    } else {
        Ok(t)
    }
}

/// Headers from a binding: (name, value) pairs. Pairs HTTP cannot carry are dropped; a dropped
/// credential then reads as missing, which fails closed.
pub fn header_map<I, K, V>(pairs: I) -> HeaderMap
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut m = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(k.as_ref().as_bytes()), http::HeaderValue::from_str(v.as_ref()))
        {
            m.append(name, value);
        }
    }
    m
}

/// Headers from a JSON object `{name: value | [values]}` (what the Node binding receives).
pub fn header_map_from_json(v: &serde_json::Value) -> HeaderMap {
    let mut pairs = Vec::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            match v {
                serde_json::Value::String(s) => pairs.push((k.clone(), s.clone())),
                serde_json::Value::Array(a) => {
                    pairs.extend(a.iter().filter_map(|x| x.as_str()).map(|s| (k.clone(), s.to_owned())))
                }
                _ => {}
            }
        }
    }
    header_map(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        header_map(pairs.iter().copied())
    }

    #[test]
    fn cookie_first_then_bearer() {
        let both = h(&[("cookie", "a=1; ory_kratos_session=abc; b=2"), ("authorization", "Bearer ory_st_x")]);
        assert_eq!(
            extract(Transport::CookieOrBearer, "ory_kratos_session", &both),
            Ok(Credential::Cookie(Secret::new("ory_kratos_session=abc")))
        );
        assert_eq!(
            extract(Transport::Bearer, "ory_kratos_session", &both),
            Ok(Credential::Token(Secret::new("ory_st_x")))
        );
        let only_bearer = h(&[("authorization", "bearer ory_st_y")]);
        assert_eq!(
            extract(Transport::CookieOrBearer, "ory_kratos_session", &only_bearer),
            Ok(Credential::Token(Secret::new("ory_st_y")))
        );
        assert_eq!(extract(Transport::Cookie, "ory_kratos_session", &only_bearer), Err(Rejection::Missing));
        assert_eq!(
            extract(Transport::Bearer, "s", &h(&[("x-session-token", "tok")])),
            Ok(Credential::Token(Secret::new("tok")))
        );
    }

    #[test]
    fn malformed_and_missing() {
        assert_eq!(extract(Transport::Bearer, "s", &h(&[("authorization", "Bearer ")])), Err(Rejection::Malformed));
        assert_eq!(extract(Transport::Cookie, "s", &h(&[("cookie", "s=")])), Err(Rejection::Malformed));
        assert_eq!(extract(Transport::Cookie, "s", &h(&[("cookie", "other=1")])), Err(Rejection::Missing));
        assert_eq!(extract(Transport::Bearer, "s", &h(&[("authorization", "Basic Zm9v")])), Err(Rejection::Missing));
        assert_eq!(extract(Transport::CookieOrBearer, "s", &HeaderMap::new()), Err(Rejection::Missing));
    }

    /// Issue 27: a foreign cookie with bytes outside visible ASCII (set by a subdomain or a
    /// script) must not lock the user out; only our cookie's own value is checked.
    #[test]
    fn foreign_cookies_are_not_ours_to_refuse() {
        let sess = "ory_kratos_session_customer";
        let mixed = h(&[("cookie", "theme=café; ory_kratos_session_customer=abc; z=\"q\"")]);
        assert_eq!(
            extract(Transport::Cookie, sess, &mixed),
            Ok(Credential::Cookie(Secret::new(format!("{sess}=abc"))))
        );
        let ours_bad = h(&[("cookie", "theme=café; ory_kratos_session_customer=ab\u{e9}c")]);
        assert_eq!(extract(Transport::Cookie, sess, &ours_bad), Err(Rejection::Malformed));
        let only_foreign = h(&[("cookie", "theme=café")]);
        assert_eq!(extract(Transport::Cookie, sess, &only_foreign), Err(Rejection::Missing));
    }
}
