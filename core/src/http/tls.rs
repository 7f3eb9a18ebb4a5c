//! TLS material named by the configuration (`http.ca_file`, `http.client_cert_file`,
//! `http.client_key_file` and their `session_cache.redis.*` twins): PEM files read and checked
//! once, at construction, so a bad file is an `IamConfigurationError` naming its key rather than
//! a failed request later, and a client rebuilt after `fork()` needs no file access. Parsing is
//! reqwest's (rustls-pki-types); errors name the key and the path, never the file's content.

use crate::error::{Error, FieldError, Result};
use std::path::Path;
use std::sync::OnceLock;

/// The checked bytes of the PEM files of one config section.
#[derive(Clone, Default)]
pub(crate) struct PemFiles {
    /// Extra trust anchors (a PEM bundle).
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain and private key (PEM), for mutual TLS.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

/// What the HTTP clients of one tenant add to rustls: extra roots and a client identity.
#[derive(Clone, Default)]
pub(crate) struct TlsMaterial {
    pub roots: Vec<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
}

impl PemFiles {
    /// Read and check the files of section `at` (`tenants.<name>.http`, `session_cache.redis`).
    /// Every problem is reported at once, each under its own key.
    pub fn load(at: &str, ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> Result<PemFiles> {
        let mut problems = Vec::new();
        let mut bad = |k: &str, reason: String| {
            problems.push(FieldError { path: format!("{at}.{k}"), reason, ..Default::default() })
        };
        let read = |k: &str, p: &Path, bad: &mut dyn FnMut(&str, String)| match std::fs::read(p) {
            Ok(b) => Some(b),
            Err(e) => {
                bad(k, format!("cannot read {}: {}", p.display(), e.kind()));
                None
            }
        };
        let mut out = PemFiles::default();
        if let Some(p) = ca {
            if let Some(bytes) = read("ca_file", p, &mut bad) {
                match roots(&bytes) {
                    Some(_) => out.ca = Some(bytes),
                    None => bad("ca_file", format!("{} is not a PEM bundle of CA certificates", p.display())),
                }
            }
        }
        if let (Some(cp), Some(kp)) = (cert, key) {
            let cert_bytes = read("client_cert_file", cp, &mut bad);
            let key_bytes = read("client_key_file", kp, &mut bad);
            if let (Some(c), Some(k)) = (cert_bytes, key_bytes) {
                if !reqwest::Certificate::from_pem_bundle(&c).is_ok_and(|v| !v.is_empty()) {
                    bad("client_cert_file", format!("{} holds no PEM certificate", cp.display()));
                } else {
                    match identity(&c, &k) {
                        Err(IdentityProblem::NotAKey) => bad(
                            "client_key_file",
                            format!("{} is not one PEM private key (PKCS#8, PKCS#1 or SEC1)", kp.display()),
                        ),
                        Err(IdentityProblem::Unusable) => bad(
                            "client_key_file",
                            format!(
                                "{} does not match client_cert_file, or its key type is not supported",
                                kp.display()
                            ),
                        ),
                        Ok(_) => out.client = Some((c, k)),
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Error::configuration_fields(problems))
        }
    }

    /// The same, in the form reqwest takes.
    pub fn material(&self) -> TlsMaterial {
        TlsMaterial {
            roots: self.ca.as_deref().and_then(roots).unwrap_or_default(),
            identity: self.client.as_ref().and_then(|(c, k)| identity(c, k).ok()),
        }
    }
}

/// The certificates of a PEM bundle, if it holds at least one and rustls accepts each as a trust
/// anchor (checked by building a client that trusts only them).
fn roots(pem: &[u8]) -> Option<Vec<reqwest::Certificate>> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).ok().filter(|c| !c.is_empty())?;
    let mut b = reqwest::Client::builder().tls_built_in_root_certs(false);
    for c in &certs {
        b = b.add_root_certificate(c.clone());
    }
    b.build().ok()?;
    Some(certs)
}

enum IdentityProblem {
    NotAKey,
    Unusable,
}

/// A client identity from a certificate chain and its key, checked by building a client with it
/// (rustls refuses a key that does not match the certificate).
fn identity(cert: &[u8], key: &[u8]) -> std::result::Result<reqwest::Identity, IdentityProblem> {
    // reqwest reads the key and the chain from one PEM document.
    let mut pem = Vec::with_capacity(key.len() + cert.len() + 1);
    pem.extend_from_slice(key);
    pem.push(b'\n');
    pem.extend_from_slice(cert);
    let id = reqwest::Identity::from_pem(&pem).map_err(|_| IdentityProblem::NotAKey)?;
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .identity(id.clone())
        .build()
        .map_err(|_| IdentityProblem::Unusable)?;
    Ok(id)
}

/// The OS trust store (rustls-native-certs: the system bundle, or `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`), read once per process. Reading and parsing it costs tens of milliseconds;
/// reqwest would do it again for every tenant's client (and again after a fork). Certificates
/// rustls cannot use as trust anchors are skipped, as reqwest skips them.
pub(crate) fn os_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if !found.errors.is_empty() {
            tracing::debug!(target: "ory_iam::config", errors = found.errors.len(), "some OS trust store entries could not be read");
        }
        found
            .certs
            .iter()
            .filter_map(|der| {
                let c = reqwest::Certificate::from_der(der).ok()?;
                let one = reqwest::Client::builder().tls_built_in_root_certs(false).add_root_certificate(c.clone());
                one.build().ok().map(|_| c)
            })
            .collect()
    })
}
