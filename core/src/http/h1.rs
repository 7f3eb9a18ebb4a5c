//! Reading one HTTP/1.1 response from the bytes a connection has delivered so far, for
//! [`Direct`](super::Direct) attempts whose I/O a binding does itself. The head is parsed by
//! `httparse` (hyper's parser); the body is framed by `Transfer-Encoding: chunked`, by
//! `Content-Length`, or by the end of the connection, and capped at `max_body`.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

/// What the bytes so far amount to.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Not a whole response yet: read more (or, at the end of the connection, it broke off).
    Partial,
    /// A whole response.
    Done(Response),
    /// Not HTTP/1.x, or a framing error: the connection cannot be trusted any more.
    Invalid,
    /// The body is over the cap.
    TooLarge,
}

#[derive(Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The connection can carry another request: HTTP/1.1 without `Connection: close`, a
    /// body framed by its length or chunks, and nothing after the response.
    pub keep_alive: bool,
}

const MAX_HEADERS: usize = 64;
const MAX_HEAD: usize = 64 * 1024;

/// Parse `buf`, everything read from the connection since the request was written; `eof` once
/// the peer closed it.
pub fn parse_response(buf: &[u8], eof: bool, max_body: usize) -> Parsed {
    let mut start = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut headers);
        let head_len = match res.parse(&buf[start..]) {
            Ok(httparse::Status::Complete(n)) => n,
            // A head that never ends is not an answer (and must not grow without bound).
            Ok(httparse::Status::Partial) if buf.len() - start > MAX_HEAD => return Parsed::Invalid,
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            Err(_) => return Parsed::Invalid,
        };
        let (Some(status), Some(version)) = (res.code, res.version) else { return Parsed::Invalid };
        let body_at = start + head_len;
        // Informational answers (100 Continue, 103 Early Hints) precede the real one.
        if (100..200).contains(&status) && status != 101 {
            start = body_at;
            continue;
        }
        let mut map = HeaderMap::with_capacity(res.headers.len());
        for h in res.headers.iter() {
            let (Ok(name), Ok(value)) = (HeaderName::from_bytes(h.name.as_bytes()), HeaderValue::from_bytes(h.value))
            else {
                return Parsed::Invalid;
            };
            map.append(name, value);
        }
        let close = map.get_all(http::header::CONNECTION).iter().any(|v| has_token(v.as_bytes(), b"close"));
        let rest = &buf[body_at..];
        let (body, used, framed) = if status == 204 || status == 304 || status == 101 {
            (Bytes::new(), 0, status != 101)
        } else if let Some(te) = last_value(&map, http::header::TRANSFER_ENCODING) {
            if !ends_with_token(te, b"chunked") {
                // Not chunked last: the body runs to the end of the connection (RFC 9112 6.3).
                match to_eof(rest, eof, max_body) {
                    Ok(Some(b)) => (b, rest.len(), false),
                    Ok(None) => return Parsed::Partial,
                    Err(b) => return b.into(),
                }
            } else {
                match chunked(rest, max_body) {
                    Ok(Some((b, used))) => (b, used, true),
                    Ok(None) => return Parsed::Partial,
                    Err(b) => return b.into(),
                }
            }
        } else if let Some(n) = content_length(&map) {
            let Ok(n) = n else { return Parsed::Invalid };
            if n > max_body {
                return Parsed::TooLarge;
            }
            if rest.len() < n {
                return Parsed::Partial;
            }
            (Bytes::copy_from_slice(&rest[..n]), n, true)
        } else {
            match to_eof(rest, eof, max_body) {
                Ok(Some(b)) => (b, rest.len(), false),
                Ok(None) => return Parsed::Partial,
                Err(b) => return b.into(),
            }
        };
        let keep_alive = framed && version == 1 && !close && body_at + used == buf.len() && !eof;
        return Parsed::Done(Response { status, headers: map, body, keep_alive });
    }
}

/// Why a body cannot be framed.
#[derive(Debug)]
enum Bad {
    Invalid,
    TooLarge,
}

impl From<Bad> for Parsed {
    fn from(b: Bad) -> Parsed {
        match b {
            Bad::Invalid => Parsed::Invalid,
            Bad::TooLarge => Parsed::TooLarge,
        }
    }
}

fn to_eof(rest: &[u8], eof: bool, max_body: usize) -> Result<Option<Bytes>, Bad> {
    if rest.len() > max_body {
        return Err(Bad::TooLarge);
    }
    Ok(eof.then(|| Bytes::copy_from_slice(rest)))
}

fn last_value(map: &HeaderMap, name: HeaderName) -> Option<&[u8]> {
    map.get_all(name).iter().next_back().map(|v| v.as_bytes())
}

/// `Content-Length`, which must be one number however often it is repeated.
fn content_length(map: &HeaderMap) -> Option<Result<usize, ()>> {
    let mut found: Option<usize> = None;
    for v in map.get_all(http::header::CONTENT_LENGTH) {
        for part in v.as_bytes().split(|&b| b == b',') {
            let s = std::str::from_utf8(part).map_err(|_| ()).map(str::trim);
            let n = match s.map(|s| (s, s.parse::<usize>())) {
                Ok((s, Ok(n))) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Some(Err(())),
            };
            if found.is_some_and(|f| f != n) {
                return Some(Err(()));
            }
            found = Some(n);
        }
    }
    found.map(Ok)
}

fn tokens(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(|t| t.trim_ascii())
}

fn has_token(v: &[u8], token: &[u8]) -> bool {
    tokens(v).any(|t| t.eq_ignore_ascii_case(token))
}

fn ends_with_token(v: &[u8], token: &[u8]) -> bool {
    tokens(v).last().is_some_and(|t| t.eq_ignore_ascii_case(token))
}

/// A chunked body: `Some((body, bytes used))` once the last chunk and the trailers are in.
/// The bytes are copied only then: a caller that parses again after every read costs one walk
/// over the chunk headers per read, not one copy of everything received so far.
fn chunked(rest: &[u8], max_body: usize) -> Result<Option<(Bytes, usize)>, Bad> {
    let Some((len, used)) = walk_chunks(rest, max_body, None)? else { return Ok(None) };
    let mut body = Vec::with_capacity(len);
    walk_chunks(rest, max_body, Some(&mut body))?;
    Ok(Some((Bytes::from(body), used)))
}

/// Walk the chunks: `Some((body length, bytes used))` when complete; copies into `out` if given.
fn walk_chunks(mut rest: &[u8], max_body: usize, mut out: Option<&mut Vec<u8>>) -> Result<Option<(usize, usize)>, Bad> {
    let total = rest.len();
    let mut len = 0usize;
    loop {
        // A size line longer than any sane one is not HTTP.
        let Some(eol) = find_crlf(&rest[..rest.len().min(1024)]) else {
            return if rest.len() >= 1024 { Err(Bad::Invalid) } else { Ok(None) };
        };
        let line = &rest[..eol];
        let digits = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
        if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(Bad::Invalid);
        }
        let size = usize::from_str_radix(std::str::from_utf8(digits).map_err(|_| Bad::Invalid)?, 16)
            .map_err(|_| Bad::Invalid)?;
        rest = &rest[eol + 2..];
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let Some(eol) = find_crlf(&rest[..rest.len().min(8192)]) else {
                    return if rest.len() >= 8192 { Err(Bad::Invalid) } else { Ok(None) };
                };
                rest = &rest[eol + 2..];
                if eol == 0 {
                    return Ok(Some((len, total - rest.len())));
                }
            }
        }
        if len + size > max_body {
            return Err(Bad::TooLarge);
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Err(Bad::Invalid);
        }
        if let Some(out) = out.as_deref_mut() {
            out.extend_from_slice(&rest[..size]);
        }
        len += size;
        rest = &rest[size + 2..];
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(p: Parsed) -> Response {
        match p {
            Parsed::Done(r) => r,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    #[test]
    fn content_length_framing_waits_for_the_whole_body() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":true}\n";
        for cut in 0..full.len() {
            assert_eq!(parse_response(&full[..cut], false, 1024), Parsed::Partial, "cut at {cut}");
        }
        let r = done(parse_response(full, false, 1024));
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"{\"a\":true}\n");
        assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
        assert!(r.keep_alive);
        // A response cut short by the peer stays partial: the caller treats it as broken.
        assert_eq!(parse_response(&full[..full.len() - 1], true, 1024), Parsed::Partial);
    }

    #[test]
    fn chunked_bodies_are_joined_and_trailers_skipped() {
        let full = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse_response(&full[..cut], false, 1024), Parsed::Partial, "cut at {cut}");
        }
        let r = done(parse_response(full, false, 1024));
        assert_eq!(&r.body[..], b"Wikipedia");
        assert!(r.keep_alive);
        assert_eq!(parse_response(full, false, 8), Parsed::TooLarge);
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(parse_response(bad, false, 1024), Parsed::Invalid);
        let bad_end = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY";
        assert_eq!(parse_response(bad_end, false, 1024), Parsed::Invalid);
        let mut endless = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'1', 1023));
        assert_eq!(parse_response(&endless, false, 1 << 20), Parsed::Partial);
        endless.push(b'1');
        assert_eq!(parse_response(&endless, false, 1 << 20), Parsed::Invalid);
    }

    #[test]
    fn connection_close_eof_framing_and_leftovers_end_keep_alive() {
        let close = b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
        let r = done(parse_response(close, false, 1024));
        assert_eq!(r.status, 401);
        assert!(!r.keep_alive);
        let eof = b"HTTP/1.1 200 OK\r\n\r\nbody";
        assert_eq!(parse_response(eof, false, 1024), Parsed::Partial);
        let r = done(parse_response(eof, true, 1024));
        assert_eq!(&r.body[..], b"body");
        assert!(!r.keep_alive);
        assert_eq!(parse_response(eof, true, 3), Parsed::TooLarge);
        let extra = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP";
        assert!(!done(parse_response(extra, false, 1024)).keep_alive);
        let old = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert!(!done(parse_response(old, false, 1024)).keep_alive);
    }

    #[test]
    fn lengths_are_checked() {
        let over = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
        assert_eq!(parse_response(over, false, 1024), Parsed::TooLarge);
        let conflicting = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x";
        assert_eq!(parse_response(conflicting, false, 1024), Parsed::Invalid);
        let repeated = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}";
        assert_eq!(&done(parse_response(repeated, false, 1024)).body[..], b"{}");
        let signed = b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}";
        assert_eq!(parse_response(signed, false, 1024), Parsed::Invalid);
    }

    #[test]
    fn informational_answers_are_skipped_and_garbage_refused() {
        let r = done(parse_response(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, 1024));
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty() && r.keep_alive);
        assert_eq!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false, 1024), Parsed::Invalid);
        let mut endless = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        endless.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        assert_eq!(parse_response(&endless, false, 1024), Parsed::Invalid);
        assert_eq!(parse_response(b"HTTP/1.1 abc\r\n\r\n", false, 1024), Parsed::Invalid);
    }
}
