//! One error type for the whole library, with a stable [`ErrorKind`] that the bindings map to
//! exception classes (Python) and `Error` subclasses (Node). Never built from upstream bodies:
//! an error carries the HTTP status, tenant and request id, not what Ory said.

use std::fmt;
use std::time::Duration;

/// The error taxonomy of API.md. `code()` is the same string in every language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad config, unknown tenant, missing credentials for an operation.
    Configuration,
    /// Missing, invalid or expired credentials (401).
    Unauthorized,
    /// Denied (403).
    Forbidden,
    /// The thing does not exist (404 where not idempotent-success).
    NotFound,
    /// 409 where not idempotent-success.
    Conflict,
    /// Bad input, caught locally or Ory 400/422.
    Validation,
    /// Network error, timeout, 5xx, 429, open circuit breaker.
    UpstreamUnavailable,
    /// A bug in this library (e.g. a caught panic). Maps to the base `IamError`.
    Internal,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "configuration",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Validation => "validation",
            ErrorKind::UpstreamUnavailable => "upstream_unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The inverse of [`code`](Self::code): `None` for a string that is not one of ours.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        Some(match code {
            "configuration" => ErrorKind::Configuration,
            "unauthorized" => ErrorKind::Unauthorized,
            "forbidden" => ErrorKind::Forbidden,
            "not_found" => ErrorKind::NotFound,
            "conflict" => ErrorKind::Conflict,
            "validation" => ErrorKind::Validation,
            "upstream_unavailable" => ErrorKind::UpstreamUnavailable,
            "internal" => ErrorKind::Internal,
            _ => return None,
        })
    }

    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Configuration,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Validation,
        ErrorKind::UpstreamUnavailable,
        ErrorKind::Internal,
    ];

    /// The class name used by both bindings.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "IamConfigurationError",
            ErrorKind::Unauthorized => "IamUnauthorizedError",
            ErrorKind::Forbidden => "IamForbiddenError",
            ErrorKind::NotFound => "IamNotFoundError",
            ErrorKind::Conflict => "IamConflictError",
            ErrorKind::Validation => "IamValidationError",
            ErrorKind::UpstreamUnavailable => "IamUpstreamUnavailableError",
            ErrorKind::Internal => "IamError",
        }
    }
}

/// One problem with one input: a config path (`tenants.customer.kratos.public_url`) or a
/// method argument (`id`), and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub path: String,
    pub reason: String,
    /// For a field Ory rejected: its JSON Pointer in the submitted document (`/traits/email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// For a field Ory rejected: Kratos's message id (e.g. `4000001`), when Kratos gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// The library's error. Its message is written by this library, never copied from upstream.
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    pub(crate) status: Option<u16>,
    pub(crate) tenant: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) fields: Vec<FieldError>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            tenant: None,
            request_id: None,
            retry_after: None,
            fields: Vec::new(),
        }
    }

    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// A validation error about one named input.
    pub fn invalid_field(path: impl Into<String>, reason: impl Into<String>) -> Self {
        let f = FieldError { path: path.into(), reason: reason.into(), ..Default::default() };
        let mut e = Self::new(ErrorKind::Validation, f.to_string());
        e.fields.push(f);
        e
    }

    /// A configuration error listing every offending path.
    pub fn configuration_fields(fields: Vec<FieldError>) -> Self {
        let list: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let mut e = Self::new(
            ErrorKind::Configuration,
            format!(
                "invalid configuration ({} problem{}): {}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" },
                list.join("; ")
            ),
        );
        e.fields = fields;
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The upstream HTTP status, when the error came from an Ory response.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// For `upstream_unavailable` after a 429 or 503 with `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Offending inputs: config paths or argument names, each with a reason.
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    pub fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.retry_after = d;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.tenant {
            write!(f, " (tenant {t}")?;
            if let Some(s) = self.status {
                write!(f, ", status {s}")?;
            }
            if let Some(r) = &self.request_id {
                write!(f, ", request {r}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The structured form the bindings hand to their error classes.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code(),
            "class": self.kind.class_name(),
            "message": self.to_string(),
            "status": self.status,
            "tenant": self.tenant,
            "request_id": self.request_id,
            "retry_after": self.retry_after.map(|d| d.as_secs_f64()),
            "fields": self.fields,
        })
    }
}
