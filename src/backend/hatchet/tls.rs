//! TLS to an `https://` server, set up from the variables the Hatchet SDKs read:
//! `HATCHET_CLIENT_TLS_STRATEGY` (`tls`, `mtls` or `none`), the CA as a file
//! (`HATCHET_CLIENT_TLS_ROOT_CA_FILE`) or as PEM text (`HATCHET_CLIENT_TLS_ROOT_CA`), the client
//! certificate and key for mTLS likewise (`HATCHET_CLIENT_TLS_CERT_FILE`/`_KEY_FILE`, or
//! `HATCHET_CLIENT_TLS_CERT`/`_KEY`), `HATCHET_CLIENT_TLS_SERVER_NAME`,
//! `HATCHET_CLIENT_TLS_MIN_VERSION`, plus `SSL_CERT_FILE` and the system trust store.
//!
//! Trusted roots are the union of the built-in web PKI roots, the system store (or `SSL_CERT_FILE`
//! when set, as OpenSSL reads it) and the CA file and text: a private CA for the API does not stop
//! a public one from working. The client certificate goes out whenever its certificate and key
//! are both set, as the Go SDK sends it, the PEM text winning over the file as there; `mtls`
//! requires them. Everything is read and checked here, before any request, so that a bad setting
//! is reported as input to fix; a key's text never appears in a message. `none` turns TLS off for
//! the SDKs' gRPC only; the REST API at an `https://` URL is still verified.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use thiserror::Error;

pub const STRATEGY: &str = "HATCHET_CLIENT_TLS_STRATEGY";
pub const ROOT_CA_FILE: &str = "HATCHET_CLIENT_TLS_ROOT_CA_FILE";
pub const ROOT_CA: &str = "HATCHET_CLIENT_TLS_ROOT_CA";
pub const CERT_FILE: &str = "HATCHET_CLIENT_TLS_CERT_FILE";
pub const CERT: &str = "HATCHET_CLIENT_TLS_CERT";
pub const KEY_FILE: &str = "HATCHET_CLIENT_TLS_KEY_FILE";
pub const KEY: &str = "HATCHET_CLIENT_TLS_KEY";
pub const SERVER_NAME: &str = "HATCHET_CLIENT_TLS_SERVER_NAME";
pub const MIN_VERSION: &str = "HATCHET_CLIENT_TLS_MIN_VERSION";
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Where PEM came from: the file a `_FILE` variable names, or a variable's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    File { var: &'static str, path: PathBuf },
    Text { var: &'static str },
}

impl PemSource {
    /// How to give this setting what it lacks, in its own words.
    fn fix(&self) -> String {
        match self {
            PemSource::File { var, .. } => format!("point {var} at a file with"),
            PemSource::Text { var } => format!("set {var} to"),
        }
    }

    fn read(&self, text: &str) -> Result<Vec<u8>, TlsError> {
        match self {
            PemSource::File { path, .. } => std::fs::read(path).map_err(|e| TlsError::Unreadable {
                from: self.clone(),
                reason: e.to_string(),
            }),
            PemSource::Text { .. } => Ok(text.as_bytes().to_vec()),
        }
    }
}

impl fmt::Display for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::File { var, path } => write!(f, "{var}={}", path.display()),
            PemSource::Text { var } => write!(f, "{var}"),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TlsError {
    #[error("HATCHET_CLIENT_TLS_STRATEGY '{0}' is not tls, mtls or none: set it to tls, or to mtls with HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE")]
    UnknownStrategy(String),
    #[error("{from} cannot be read ({reason}): {} a readable PEM file", from.fix())]
    Unreadable { from: PemSource, reason: String },
    #[error("{from} is not PEM ({reason}): {} '-----BEGIN CERTIFICATE-----' blocks", from.fix())]
    NotPem { from: PemSource, reason: String },
    #[error("{from} holds no PEM certificate: {} '-----BEGIN CERTIFICATE-----' blocks", from.fix())]
    NoCertificate { from: PemSource },
    #[error("{from} holds a certificate that cannot be a trust root ({reason}): {} the CA's certificate", from.fix())]
    BadRoot { from: PemSource, reason: String },
    /// No detail of the parse: it could quote the key.
    #[error("{from} holds no PEM private key: {} the client certificate's key ('-----BEGIN PRIVATE KEY-----')", .from.fix())]
    NoKey { from: PemSource },
    #[error("HATCHET_CLIENT_TLS_STRATEGY=mtls needs a client certificate: set HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE to its PEM files (or HATCHET_CLIENT_TLS_CERT and HATCHET_CLIENT_TLS_KEY to their text)")]
    MtlsWithoutCertificate,
    #[error("a client certificate needs both a certificate (HATCHET_CLIENT_TLS_CERT_FILE or HATCHET_CLIENT_TLS_CERT) and its key (HATCHET_CLIENT_TLS_KEY_FILE or HATCHET_CLIENT_TLS_KEY): set {0} too")]
    HalfIdentity(&'static str),
    #[error("the client certificate ({cert}) and key ({key}) do not go together ({reason}): use the key the certificate was issued for")]
    Identity {
        cert: PemSource,
        key: PemSource,
        reason: String,
    },
    #[error("HATCHET_CLIENT_TLS_SERVER_NAME '{0}' is not a host name or IP address: set the name the server's certificate is issued for")]
    BadServerName(String),
    #[error("HATCHET_CLIENT_TLS_MIN_VERSION '{0}' is not 1.2 or 1.3: set it to 1.2 (TLS 1.2 and 1.3) or 1.3 (TLS 1.3 only)")]
    UnknownMinVersion(String),
    /// The TLS library refused a configuration built from valid settings.
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// The TLS client configuration of one connection, built and checked once.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    /// What it was built from, for `Debug` (no PEM text, so never the key).
    described: String,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsConfig({})", self.described)
    }
}

static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

/// The protocol versions `HATCHET_CLIENT_TLS_MIN_VERSION` allows, in the Go SDK's spellings.
/// Unset, both: the SDKs' REST clients take TLS 1.2 too (the Go SDK's 1.3 default is its gRPC's).
fn protocol_versions(
    min_version: Option<&str>,
) -> Result<&'static [&'static rustls::SupportedProtocolVersion], TlsError> {
    let Some(asked) = min_version else {
        return Ok(rustls::DEFAULT_VERSIONS);
    };
    match asked.to_ascii_lowercase().as_str() {
        "1.2" | "tls1.2" | "tls_1.2" | "tls12" => Ok(rustls::ALL_VERSIONS),
        "1.3" | "tls1.3" | "tls_1.3" | "tls13" => Ok(&TLS13_ONLY),
        _ => Err(TlsError::UnknownMinVersion(asked.to_string())),
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
        // A PEM setting and its text (empty for a file, read when it is used).
        let file = |var: &'static str| {
            set(var).map(|path| {
                let path = PathBuf::from(path);
                (PemSource::File { var, path }, String::new())
            })
        };
        let text = |var: &'static str| set(var).map(|text| (PemSource::Text { var }, text));
        // As PEM text, else as the file its `_FILE` twin names (the Go SDK's order).
        let pem = |text_var, file_var| text(text_var).or_else(|| file(file_var));
        let strategy = set(STRATEGY).unwrap_or_else(|| "tls".to_string());
        let mtls = match strategy.to_ascii_lowercase().as_str() {
            "tls" | "none" => false,
            "mtls" => true,
            _ => return Err(TlsError::UnknownStrategy(strategy)),
        };
        let versions = protocol_versions(set(MIN_VERSION).as_deref())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // The system store; rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR instead when
        // set. Unreadable system files are not the user's settings: skip them.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let mut described = vec![format!("strategy {}", strategy.to_ascii_lowercase())];
        let given_roots = [file(SSL_CERT_FILE), file(ROOT_CA_FILE), text(ROOT_CA)];
        for (from, text) in given_roots.into_iter().flatten() {
            for cert in certificates(&from, &text)? {
                roots.add(cert).map_err(|e| TlsError::BadRoot {
                    from: from.clone(),
                    reason: e.to_string(),
                })?;
            }
            described.push(from.to_string());
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
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(CertificateCheck {
                server_name,
                webpki: verifier,
            }));
        let config = match (pem(CERT, CERT_FILE), pem(KEY, KEY_FILE)) {
            (Some((cert, cert_text)), Some((key, key_text))) => {
                let chain = certificates(&cert, &cert_text)?;
                let private = private_key(&key, &key_text)?;
                described.push(format!("client certificate {cert}"));
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|e| TlsError::Identity {
                        cert,
                        key,
                        reason: e.to_string(),
                    })?
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

/// The certificates of a PEM setting: `text` is the setting's own text, unused for a file.
fn certificates(from: &PemSource, text: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = from.read(text)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::NotPem {
            from: from.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { from: from.clone() });
    }
    Ok(certs)
}

fn private_key(from: &PemSource, text: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = from.read(text)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey { from: from.clone() })
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
        Error::InvalidCertificate(_) => Some("the server's certificate is not trusted: if a private CA signed it, set HATCHET_CLIENT_TLS_ROOT_CA_FILE (or SSL_CERT_FILE) to that CA's PEM file, or HATCHET_CLIENT_TLS_ROOT_CA to its PEM text"),
        Error::AlertReceived(AlertDescription::ProtocolVersion) | Error::PeerIncompatible(_) => Some("the server speaks no TLS version bulkops offers: if HATCHET_CLIENT_TLS_MIN_VERSION is 1.3, set it to 1.2"),
        Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::HandshakeFailure,
        ) => Some("the server refused the client certificate or wants one: set HATCHET_CLIENT_TLS_STRATEGY=mtls with HATCHET_CLIENT_TLS_CERT_FILE and HATCHET_CLIENT_TLS_KEY_FILE (or HATCHET_CLIENT_TLS_CERT and HATCHET_CLIENT_TLS_KEY)"),
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

    const NAMES: [&str; 10] = [
        STRATEGY,
        ROOT_CA_FILE,
        ROOT_CA,
        CERT_FILE,
        CERT,
        KEY_FILE,
        KEY,
        SERVER_NAME,
        MIN_VERSION,
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
                Just("1.3".to_string()),
                Just("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n".to_string()),
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
                from: PemSource::File {
                    var: ROOT_CA_FILE,
                    ..
                },
                ..
            })
        ));
        let empty = |name: &str| (name == SSL_CERT_FILE).then(|| "/dev/null".to_string());
        assert!(matches!(
            TlsConfig::from_vars(empty),
            Err(TlsError::NoCertificate {
                from: PemSource::File {
                    var: SSL_CERT_FILE,
                    ..
                }
            })
        ));
    }

    /// A key given as text that is no key is named by its variable, and no line of it is shown.
    #[test]
    fn a_key_given_as_text_is_never_quoted() {
        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleSBtYXRlcmlhbA!!\n-----END PRIVATE KEY-----\n";
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let vars = |name: &str| match name {
            CERT => Some(cert.to_string()),
            KEY => Some(secret.to_string()),
            _ => None,
        };
        let error = TlsConfig::from_vars(vars).unwrap_err().to_string();
        assert!(error.contains("HATCHET_CLIENT_TLS"), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
    }

    #[test]
    fn the_minimum_version_takes_the_go_sdks_spellings() {
        for (asked, versions) in [
            ("1.2", 2),
            ("TLS1.2", 2),
            ("tls_1.2", 2),
            ("tls12", 2),
            ("1.3", 1),
            ("tls1.3", 1),
            ("TLS_1.3", 1),
            ("tls13", 1),
        ] {
            assert_eq!(
                protocol_versions(Some(asked)).unwrap().len(),
                versions,
                "{asked}"
            );
        }
        assert_eq!(protocol_versions(None).unwrap().len(), 2);
        assert_eq!(
            protocol_versions(Some("1.1")).unwrap_err(),
            TlsError::UnknownMinVersion("1.1".into())
        );
    }
}
