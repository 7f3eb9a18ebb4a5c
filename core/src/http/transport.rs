//! The one seam between [`OryClient`](super::OryClient) and the wire: an [`HttpTransport`] makes one
//! attempt of a request. Two implementations: [`Reqwest`] (the network, through each tenant's
//! connection pool) and the in-memory backend of `ory_iam::testing::FakeOry`, which implements
//! this trait in the testing module (this module knows nothing of it). Retries, backoff, the
//! circuit breaker, the rate limit, request ids and telemetry stay in `OryClient`, around it.

use super::{HttpPool, Product};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, Method};
use std::sync::Arc;
use std::time::Duration;

/// One attempt of a request, everything decided: headers include the credentials, the request
/// id and `Accept`. No `Debug`: the headers hold credentials.
pub(crate) struct Request<'a> {
    pub tenant: &'a str,
    pub product: Product,
    pub method: &'a Method,
    /// Where `path` is resolved.
    pub base: &'a url::Url,
    /// Relative to `base`, without a leading `/`.
    pub path: &'a str,
    pub query: &'a [(&'a str, String)],
    pub headers: &'a HeaderMap,
    pub json: Option<&'a serde_json::Value>,
    /// `application/x-www-form-urlencoded` body.
    pub form: Option<&'a [(&'static str, String)]>,
    /// `text/plain` body (Keto's OPL syntax check).
    pub text: Option<&'a str>,
    /// For the whole attempt, the body included.
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

/// How an attempt ended.
pub(crate) enum Outcome {
    /// A complete answer. The bodies of 429 and 5xx answers (outages to the client) are not
    /// read: they come back empty.
    Answered { status: u16, headers: HeaderMap, body: Bytes },
    /// The host answered with a body over `max_body_bytes` (asking again gets the same).
    TooLarge,
    /// No complete answer (refused, timed out, broke off): `why` is a few words, never a URL.
    Failed { why: &'static str },
    /// The pool was closed (`Iam::close`).
    Closed,
}

pub(crate) trait HttpTransport: Send + Sync {
    fn send<'a>(&'a self, req: Request<'a>) -> BoxFuture<'a, Outcome>;

    /// Answers from memory: no retries, circuit breaker or rate limit apply.
    fn in_memory(&self) -> bool {
        false
    }
}

/// The network, through the tenant's connection pool.
pub(crate) struct Reqwest(pub Arc<HttpPool>);

impl HttpTransport for Reqwest {
    fn send<'a>(&'a self, req: Request<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Some(http) = self.0.client() else { return Outcome::Closed };
            let Ok(url) = join(req.base, req.path) else { return Outcome::Failed { why: "invalid path" } };
            let mut rb = http.request(req.method.clone(), url).timeout(req.timeout).headers(req.headers.clone());
            if !req.query.is_empty() {
                rb = rb.query(req.query);
            }
            if let Some(j) = req.json {
                rb = rb.json(j);
            }
            if let Some(f) = req.form {
                rb = rb.form(f);
            }
            if let Some(t) = req.text {
                rb = rb.header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8").body(t.to_owned());
            }
            let mut resp = match rb.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => return Outcome::Failed { why: "timed out" },
                Err(e) if e.is_connect() => return Outcome::Failed { why: "connection failed" },
                Err(_) => return Outcome::Failed { why: "request failed" },
            };
            let status = resp.status().as_u16();
            let headers = std::mem::take(resp.headers_mut());
            if status == 429 || status >= 500 {
                return Outcome::Answered { status, headers, body: Bytes::new() };
            }
            let cap = req.max_body_bytes;
            if resp.content_length().is_some_and(|l| l > cap as u64) {
                return Outcome::TooLarge;
            }
            let mut buf = bytes::BytesMut::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => {
                        if buf.len() + c.len() > cap {
                            return Outcome::TooLarge;
                        }
                        buf.extend_from_slice(&c);
                    }
                    Ok(None) => return Outcome::Answered { status, headers, body: buf.freeze() },
                    Err(e) if e.is_timeout() => return Outcome::Failed { why: "timed out while reading the body" },
                    Err(_) => return Outcome::Failed { why: "broke off the body" },
                }
            }
        })
    }
}

/// `base.join(path)` without parsing `base` again on every request (its host goes through IDNA
/// each time, a few percent of an uncached `whoami`): for a plain relative path (printable, no
/// query, fragment, scheme, backslash or leading slash; not empty) onto a base whose path ends in `/`, only
/// the path is parsed, where `join` would put it (dot segments resolve the same way); anything
/// else goes through `join` itself. The tests below check both give the same URL.
pub(crate) fn join(base: &url::Url, path: &str) -> Result<url::Url, url::ParseError> {
    if !plain(base, path) {
        return base.join(path);
    }
    let mut url = base.clone();
    let mut p = String::with_capacity(base.path().len() + path.len());
    p.push_str(base.path());
    p.push_str(path);
    url.set_path(&p);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

fn plain(base: &url::Url, path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.bytes().any(|b| b <= b' ' || b == 0x7f || matches!(b, b'?' | b'#' | b':' | b'\\'))
        && base.path().ends_with('/')
        && !base.cannot_be_a_base()
}

#[cfg(test)]
mod tests {
    use super::{join, plain};

    /// Every path of up to three pieces from an alphabet of the characters that matter to URL
    /// parsing (dots and encoded dots, percent signs, slashes, spaces and controls, delimiters,
    /// non-ASCII), onto bases with a prefix, a query, a port, IPv6 and IDNA hosts: the fast path
    /// gives exactly what `Url::join` gives (or fails where it fails).
    #[test]
    fn join_gives_what_url_join_gives() {
        let pieces = [
            "", "a", "sessions", ".", "..", "%2e", "%2E%2e", "/", "//", "%", "%2F", "%zz", "é", "~", "@", ";", "=",
            " ", "\t", "\n", "\u{7f}", "?", "?q=1", "#", "#f", ":", "c:", "\\", "[", "]", "|", "^", "`", "{", "}",
            "\"", "<", ">", "'", "+", "&", "$", "!", "*", "(", ",",
        ];
        let bases = [
            "http://127.0.0.1:4433/",
            "http://kratos.internal/prefix/",
            "https://example.com/a/b/?x=1#frag",
            "http://[::1]:4434/admin/",
            "https://bücher.example/p%20q/",
            "http://user:pw@h:1/",
        ];
        let (mut checked, mut fast) = (0, 0);
        for base in bases {
            let base = url::Url::parse(base).unwrap();
            for a in pieces {
                for b in pieces {
                    for c in ["", "x", ".", "..", "%2e", "/", "?", " ", "é"] {
                        let path = format!("{a}{b}{c}");
                        let want = base.join(&path).map(String::from);
                        let got = join(&base, &path).map(String::from);
                        assert_eq!(got, want, "base {base} path {path:?}");
                        checked += 1;
                        fast += usize::from(plain(&base, &path));
                    }
                }
            }
        }
        assert!(checked > 10_000 && fast > checked / 4, "{fast} of {checked} on the fast path");
    }
}
