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

fn cookie_credential(name: &str, headers: &HeaderMap) -> Result<Option<Credential>, Rejection> {
    for h in headers.get_all(http::header::COOKIE) {
        let Ok(s) = h.to_str() else { return Err(Rejection::Malformed) };
        for pair in s.split(';') {
            let pair = pair.trim();
            let Some((k, v)) = pair.split_once('=') else { continue };
            if k.trim() == name {
                let v = v.trim();
                if v.is_empty() || !v.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b';' && b != b',') {
                    return Err(Rejection::Malformed);
                }
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
}
