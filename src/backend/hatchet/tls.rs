//! TLS to an `https://` server, set up from the variables the Hatchet SDKs read:
//! `HATCHET_CLIENT_TLS_STRATEGY` (`tls`, `mtls` or `none`), `HATCHET_CLIENT_TLS_ROOT_CA_FILE`,
//! `HATCHET_CLIENT_TLS_CERT_FILE` and `HATCHET_CLIENT_TLS_KEY_FILE` (mTLS),
//! `HATCHET_CLIENT_TLS_SERVER_NAME`, plus `SSL_CERT_FILE` and the system trust store.
//!
//! Trusted roots are the union of the built-in web PKI roots, the system store (or `SSL_CERT_FILE`
//! when set, as OpenSSL reads it) and the CA file: a private CA for the API does not stop a public
//! one from working. The client certificate goes out whenever its certificate and key are both
//! set, as the Go SDK sends it; `mtls` requires them. Every file is read and checked here, before
//! any request, so that a bad setting is reported as input to fix. `none` turns TLS off for the
//! SDKs' gRPC only; the REST API at an `https://` URL is still verified.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use thiserror::Error;

pub const STRATEGY: &str = "HATCHET_CLIENT_TLS_STRATEGY";
pub const ROOT_CA_FILE: &str = "HATCHET_CLIENT_TLS_ROOT_CA_FILE";
pub const CERT_FILE: &str = "HATCHET_CLIENT_TLS_CERT_FILE";
pub const KEY_FILE: &str = "HATCHET_CLIENT_TLS_KEY_FILE";
pub const SERVER_NAME: &str = "HATCHET_CLIENT_TLS_SERVER_NAME";
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TlsError {
    #[error("HATCHET_CLIENT_TLS_STRATEGY '{0}' is not tls, mtls or none: set it to tls, or to mtls with HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE")]
    UnknownStrategy(String),
    #[error("{var}={} cannot be read ({reason}): point {var} at a readable PEM file", path.display())]
    Unreadable {
        var: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{var}={} holds no PEM certificate: point {var} at a file with '-----BEGIN CERTIFICATE-----' blocks", path.display())]
    NoCertificate { var: &'static str, path: PathBuf },
    #[error("{var}={} holds a certificate that cannot be a trust root ({reason}): point {var} at the CA's certificate", path.display())]
    BadRoot {
        var: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("HATCHET_CLIENT_TLS_KEY_FILE={} holds no PEM private key: point it at the client certificate's key ('-----BEGIN PRIVATE KEY-----')", .0.display())]
    NoKey(PathBuf),
    #[error("HATCHET_CLIENT_TLS_STRATEGY=mtls needs a client certificate: set HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE to its PEM files")]
    MtlsWithoutCertificate,
    #[error("a client certificate needs both HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE: set {0} too")]
    HalfIdentity(&'static str),
    #[error("the client certificate ({CERT_FILE}) and key ({KEY_FILE}) do not go together ({0}): use the key the certificate was issued for")]
    Identity(String),
    #[error("HATCHET_CLIENT_TLS_SERVER_NAME '{0}' is not a host name or IP address: set the name the server's certificate is issued for")]
    BadServerName(String),
    /// The TLS library refused a configuration built from valid settings.
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// The TLS client configuration of one connection, built and checked once.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    /// What it was built from, for `Debug` (the key never appears).
    described: String,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsConfig({})", self.described)
    }
}

impl TlsConfig {
    /// Reads the settings through `var` (the environment, in the binary).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, TlsError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let strategy = set(STRATEGY).unwrap_or_else(|| "tls".to_string());
        let mtls = match strategy.to_ascii_lowercase().as_str() {
            "tls" | "none" => false,
            "mtls" => true,
            _ => return Err(TlsError::UnknownStrategy(strategy)),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // The system store; rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR instead when
        // set. Unreadable system files are not the user's settings: skip them.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let mut described = vec![format!("strategy {}", strategy.to_ascii_lowercase())];
        for name in [SSL_CERT_FILE, ROOT_CA_FILE] {
            if let Some(path) = set(name) {
                for cert in certificates(name, Path::new(&path))? {
                    roots.add(cert).map_err(|e| TlsError::BadRoot {
                        var: name,
                        path: PathBuf::from(&path),
                        reason: e.to_string(),
                    })?;
                }
                described.push(format!("{name} {path}"));
            }
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsError::Setup(e.to_string()))?;
        let server_name = set(SERVER_NAME)
            .map(|name| {
                ServerName::try_from(name.clone()).map_err(|_| TlsError::BadServerName(name))
            })
            .transpose()?;
        if let Some(name) = &server_name {
            described.push(format!("server name {}", name.to_str()));
        }
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(CertificateCheck {
                server_name,
                webpki: verifier,
            }));
        let config = match (set(CERT_FILE), set(KEY_FILE)) {
            (Some(cert_path), Some(key_path)) => {
                let chain = certificates(CERT_FILE, Path::new(&cert_path))?;
                let key = private_key(Path::new(&key_path))?;
                described.push(format!("client certificate {cert_path}"));
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError::Identity(e.to_string()))?
            }
            (None, None) if mtls => return Err(TlsError::MtlsWithoutCertificate),
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => return Err(TlsError::HalfIdentity(KEY_FILE)),
            (None, Some(_)) => return Err(TlsError::HalfIdentity(CERT_FILE)),
        };
        Ok(TlsConfig {
            config: Arc::new(config),
            described: described.join(", "),
        })
    }

    pub fn client_config(&self) -> ClientConfig {
        (*self.config).clone()
    }
}

fn read(var: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Unreadable {
        var,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn certificates(var: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(var, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Unreadable {
            var,
            path: path.to_path_buf(),
            reason: format!("not PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            var,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(KEY_FILE, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey(path.to_path_buf()),
        other => TlsError::Unreadable {
            var: KEY_FILE,
            path: path.to_path_buf(),
            reason: format!("not PEM: {other}"),
        },
    })
}

/// The web PKI check, against `HATCHET_CLIENT_TLS_SERVER_NAME` when set instead of the URL's
/// host (a server reached by IP address or through a tunnel, with a certificate for its name).
#[derive(Debug)]
struct CertificateCheck {
    server_name: Option<ServerName<'static>>,
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for CertificateCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = self.server_name.as_ref().unwrap_or(server_name);
        self.webpki
            .verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The fix for a TLS failure, in the settings' words, when `error` (or what caused it) is one.
pub fn failure_hint(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use rustls::{AlertDescription, CertificateError, Error};
    let tls = causes(error).find_map(|e| e.downcast_ref::<Error>())?;
    match tls {
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Some("the server's certificate is for another name: set HATCHET_CLIENT_TLS_SERVER_NAME to a name it is issued for"),
        Error::InvalidCertificate(_) => Some("the server's certificate is not trusted: if a private CA signed it, set HATCHET_CLIENT_TLS_ROOT_CA_FILE (or SSL_CERT_FILE) to that CA's PEM file"),
        Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::HandshakeFailure,
        ) => Some("the server refused the client certificate or wants one: set HATCHET_CLIENT_TLS_STRATEGY=mtls with HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE"),
        _ => None,
    }
}

/// `error` and its causes, including what `io::Error`s wrap: their `source` skips it, and the
/// TLS stack wraps its error in one io::Error inside another.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NAMES: [&str; 6] = [
        STRATEGY,
        ROOT_CA_FILE,
        CERT_FILE,
        KEY_FILE,
        SERVER_NAME,
        SSL_CERT_FILE,
    ];

    proptest! {
        // Each case reads the system trust store: fewer cases than the default 256.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any values (paths that do not exist, directories, non-UTF-8-looking text, empty
        /// strings) give a configuration or an error, never a panic.
        #[test]
        fn any_settings_configure_or_fail(
            values in prop::collection::vec(prop::option::of(prop_oneof![
                any::<String>(),
                Just("/".to_string()),
                Just("/dev/null".to_string()),
                Just("mtls".to_string()),
                Just("none".to_string()),
            ]), NAMES.len()),
        ) {
            let var = |name: &str| {
                NAMES.iter().position(|n| *n == name).and_then(|i| values[i].clone())
            };
            let _ = TlsConfig::from_vars(var);
        }
    }

    #[test]
    fn a_directory_or_an_empty_file_is_named_with_its_setting() {
        let dir = |name: &str| (name == ROOT_CA_FILE).then(|| "/".to_string());
        assert!(matches!(
            TlsConfig::from_vars(dir),
            Err(TlsError::Unreadable {
                var: ROOT_CA_FILE,
                ..
            })
        ));
        let empty = |name: &str| (name == SSL_CERT_FILE).then(|| "/dev/null".to_string());
        assert!(matches!(
            TlsConfig::from_vars(empty),
            Err(TlsError::NoCertificate {
                var: SSL_CERT_FILE,
                ..
            })
        ));
    }
}
