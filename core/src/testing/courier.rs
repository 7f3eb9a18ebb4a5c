//! Kratos's courier, in memory: the recovery and verification messages the fake's flows queue,
//! served by `GET /admin/courier/messages[/{id}]` with Kratos v1.3.1's shapes, newest first,
//! its keyset page tokens and its answers to a token it did not make. Nothing is ever sent: the
//! messages stay `queued`, as in the stack (whose courier worker is not started).

use super::{now, ts, FakeRequest, FakeResponse, TenantState};
use http::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;

const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 1000;

pub(crate) struct Message {
    pub id: String,
    pub created_at: OffsetDateTime,
    pub doc: Value,
}

/// Queue an email, as Kratos's templates word it (`recovery_code_valid`,
/// `verification_code_valid`).
pub(super) fn queue(t: &mut TenantState, template: &str, recipient: &str, subject: &str, body: String) {
    let at = now();
    let id = uuid::Uuid::new_v4().to_string();
    let doc = json!({
        "id": id, "status": "queued", "type": "email", "recipient": recipient, "body": body,
        "subject": subject, "template_type": template, "channel": "email", "send_count": 0,
        "created_at": ts(at), "updated_at": ts(at),
    });
    t.courier.push(Message { id, created_at: at, doc });
}

/// The keyset token of Kratos's courier list: `id=<id>/created_at=<time>` in unpadded
/// base64url (the time as the database writes it).
fn token(id: &str, at: OffsetDateTime) -> String {
    use base64::Engine;
    let when = time::format_description::parse_borrowed::<2>(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]",
    )
    .ok()
    .and_then(|f| at.format(&f).ok())
    .unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id={id}/created_at={when}"))
}

const FIRST: &str = "aWQ9MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwL2NyZWF0ZWRfYXQ9MjIwMC0xMi0zMSAyMzo1OTo1OQ";

/// Where a page token says to continue: `None` for the first page, `Err` for a token Kratos
/// could not read (its `400` carrying a `500` body, as v1.3.1 answers).
fn after(tok: Option<&str>) -> Result<Option<(OffsetDateTime, String)>, FakeResponse> {
    use base64::Engine;
    let Some(tok) = tok.filter(|t| !t.is_empty()) else { return Ok(None) };
    let refused = || {
        FakeResponse::json(
            400,
            &json!({"error": {"code": 500, "status": "Internal Server Error", "message": "illegal base64 data"}}),
        )
    };
    let raw =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tok.trim_end_matches('=')).map_err(|_| refused())?;
    let s = String::from_utf8(raw).map_err(|_| refused())?;
    let (id, at) = s.strip_prefix("id=").and_then(|r| r.split_once("/created_at=")).ok_or_else(refused)?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| refused())?;
    if id.is_nil() {
        return Ok(None);
    }
    let fmt = time::format_description::parse_owned::<2>(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]",
    )
    .map_err(|_| refused())?;
    let at = time::PrimitiveDateTime::parse(at, &fmt).map_err(|_| refused())?.assume_utc();
    Ok(Some((at, id.to_string())))
}

fn list(t: &TenantState, req: &FakeRequest<'_>) -> FakeResponse {
    let size = match req.q("page_size").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if n >= 1 => n.min(MAX_PAGE),
        Some(_) => return FakeResponse::error(400, "page_size is out of range"),
    };
    let after = match after(req.q("page_token")) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let status = req.q("status");
    let recipient = req.q("recipient");
    let matching: Vec<&Message> = t
        .courier
        .iter()
        .rev()
        .filter(|m| status.is_none_or(|s| m.doc["status"] == s))
        .filter(|m| recipient.is_none_or(|r| m.doc["recipient"] == r))
        .collect();
    let total = matching.len();
    // Kratos's token keeps microseconds: compare at that precision.
    let micros = |at: OffsetDateTime| at.unix_timestamp_nanos() / 1000;
    let mut rest = matching
        .into_iter()
        .filter(|m| {
            after.as_ref().is_none_or(|(at, id)| {
                micros(m.created_at) < micros(*at)
                    || (micros(m.created_at) == micros(*at) && m.id.as_str() < id.as_str())
            })
        })
        .peekable();
    let mut page = Vec::new();
    let mut last = None;
    for m in rest.by_ref().take(size) {
        page.push(m.doc.clone());
        last = Some(m);
    }
    let mut extra: Vec<(&str, String)> = Vec::new();
    if let Some(r) = recipient {
        extra.push(("recipient", r.to_owned()));
    }
    if let Some(s) = status {
        extra.push(("status", s.to_owned()));
    }
    let q = |tok: &str| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("page_size", &size.to_string()).append_pair("page_token", tok);
        for (k, v) in &extra {
            ser.append_pair(k, v);
        }
        format!("</admin/courier/messages?{}>", ser.finish())
    };
    let mut link = format!("{}; rel=\"first\"", q(FIRST));
    if let (Some(_), Some(m)) = (rest.peek(), last) {
        link.push_str(&format!(",{}; rel=\"next\"", q(&token(&m.id, m.created_at))));
    }
    let mut r = FakeResponse::json(200, &Value::Array(page)).with_link(Some(link));
    if let Ok(v) = http::HeaderValue::from_str(&total.to_string()) {
        r.headers.push((http::HeaderName::from_static("x-total-count"), v));
    }
    r
}

pub(super) fn handle(t: &mut TenantState, req: &FakeRequest<'_>, segs: &[&str]) -> Option<FakeResponse> {
    if req.method != Method::GET {
        return None;
    }
    Some(match segs {
        ["admin", "courier", "messages"] => list(t, req),
        ["admin", "courier", "messages", id] => match t.courier.iter().find(|m| m.id == *id) {
            Some(m) => FakeResponse::json(200, &m.doc),
            None => FakeResponse::error(404, "Unable to locate the resource"),
        },
        _ => return None,
    })
}
