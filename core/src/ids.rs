//! Ids that go into URL paths. Every id is checked for what no Ory server can hold (empty, `.`,
//! `..`, control characters, over 512 bytes) and then sent as exactly one percent-encoded path
//! segment ([`seg`]): a `/`, `\`, `?`, `#`, `%` or dot inside an id can never reach another
//! endpoint (`Url::join` would resolve `..` and read `\` as `/`).

use crate::error::{Error, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded, so a
/// segment never contains `/`, `\`, `%` (other than its own escapes), `?`, `#` or `;`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// An id that will be one path segment: refused locally (`IamValidationError` naming `field`)
/// when no server can hold it.
pub(crate) fn check_segment(field: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 512 {
        return Err(Error::invalid_field(field, "must be a non-empty id of at most 512 bytes"));
    }
    if id == "." || id == ".." {
        return Err(Error::invalid_field(field, "must not be '.' or '..'"));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid_field(field, "must not contain control characters"));
    }
    Ok(())
}

/// A Kratos id (identities, sessions, flows, courier messages): a UUID.
pub(crate) fn check_uuid(field: &str, id: &str) -> Result<()> {
    match uuid::Uuid::parse_str(id) {
        Ok(_) if id.len() == 36 => Ok(()),
        _ => Err(Error::invalid_field(field, "must be a UUID")),
    }
}

/// `id` as one percent-encoded path segment (check it first with [`check_segment`]).
pub(crate) fn seg(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_stay_one_segment() {
        let base = url::Url::parse("http://h/admin/clients/").unwrap();
        for id in ["..\\keys\\hydra.openid.id-token", "a\\b", "a/b", "x?y#z", "%2e%2e", "..%2F", "a b", "ü"] {
            check_segment("id", id).unwrap();
            let url = base.join(&seg(id)).unwrap();
            let rest = url.path().strip_prefix("/admin/clients/").unwrap_or_else(|| panic!("{id} escaped: {url}"));
            assert!(!rest.is_empty() && !rest.contains('/'), "{id} -> {url}");
            assert_eq!(url.query(), None);
            assert_eq!(url.fragment(), None);
            let back = percent_encoding::percent_decode_str(rest).decode_utf8().unwrap();
            assert_eq!(back, id, "the server sees the id as given");
        }
    }

    #[test]
    fn ids_no_server_can_hold_are_refused() {
        for id in ["", ".", "..", "a\u{0}b", "line\nbreak", &"x".repeat(513)] {
            let e = check_segment("client_id", id).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Validation);
            assert_eq!(e.fields()[0].path, "client_id");
        }
    }
}
