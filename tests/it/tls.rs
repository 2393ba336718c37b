//! TLS as the Hatchet SDKs read it, against a real TLS endpoint on 127.0.0.1: a reverse proxy in
//! this process, in front of the simulator, with a CA and certificates the test makes (rcgen).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use crate::support::{error_lines, run, seed_runs, Ran, Sim};

/// A test CA, the certificates it issued, and their PEM files in `dir`.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate with its key, as DER for the endpoint and as PEM files for bulkops.
struct Issued {
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    cert_file: PathBuf,
    key_file: PathBuf,
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "bulkops test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key"))
            .expect("CA certificate");
        let pki = Pki {
            dir: tempfile::tempdir().expect("tmp dir"),
            ca,
        };
        std::fs::write(pki.ca_file(), pki.ca.pem()).expect("CA file");
        pki
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A certificate for `names` (host names or IP addresses), signed by the CA.
    fn issue(&self, file_stem: &str, names: &[&str]) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &self.ca)
            .expect("certificate");
        let cert_file = self.dir.path().join(format!("{file_stem}.pem"));
        let key_file = self.dir.path().join(format!("{file_stem}.key"));
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        std::fs::write(&cert_file, &cert_pem).expect("cert file");
        std::fs::write(&key_file, &key_pem).expect("key file");
        Issued {
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            cert_file,
            key_file,
            cert_pem,
            key_pem,
        }
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("file");
        path
    }
}

/// TLS on 127.0.0.1 in front of the simulator's plain HTTP port.
struct TlsEndpoint {
    url: String,
    connections: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsEndpoint {
    /// Serves `server`'s certificate; with `client_ca`, only clients with a certificate that
    /// CA issued get through (mTLS).
    fn start(sim: &Sim, server: Issued, client_ca: Option<CertificateDer<'static>>) -> TlsEndpoint {
        TlsEndpoint::speaking(sim, server, client_ca, rustls::DEFAULT_VERSIONS)
    }

    /// Serves a certificate for 127.0.0.1 to clients with a certificate `pki` issued.
    fn mtls(sim: &Sim, pki: &Pki) -> TlsEndpoint {
        let server = pki.issue("server", &["127.0.0.1"]);
        TlsEndpoint::start(sim, server, Some(pki.ca_der()))
    }

    /// `start`, speaking only the TLS `versions` given.
    fn speaking(
        sim: &Sim,
        server: Issued,
        client_ca: Option<CertificateDer<'static>>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> TlsEndpoint {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .expect("protocol versions");
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.into(),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(vec![server.der], server.key)
            .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let backend: SocketAddr = sim
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("simulator address");

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake ends the connection; the client reports it.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsEndpoint {
            url: format!("https://127.0.0.1:{port}"),
            connections,
            _runtime: runtime,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// `runs cancel` of the seeded `orders` runs through `endpoint`, with `tls` settings.
fn cancel_through(sim: &Sim, endpoint: &TlsEndpoint, state: &Path, tls: &[(&str, &Path)]) -> Ran {
    let mut cmd = sim.bulkops(state);
    cmd.args([
        "runs", "cancel", "-s", "1d", "-w", "orders", "--yes", "-o", "json",
    ])
    .env("HATCHET_CLIENT_SERVER_URL", &endpoint.url);
    for (name, value) in tls {
        cmd.env(name, value);
    }
    run(&mut cmd)
}

/// One line on stderr that names `fix`, exit 2.
fn assert_bad_input_naming(ran: &Ran, fix: &str) {
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let lines = error_lines(&ran.stderr);
    assert_eq!(lines.len(), 1, "one error line: {}", ran.stderr);
    assert!(lines[0].contains(fix), "names {fix}: {}", lines[0]);
}

#[test]
fn a_private_ca_is_trusted_through_hatchet_client_tls_root_ca_file_or_ssl_cert_file() {
    let sim = Sim::start();
    let pki = Pki::new();
    let endpoint = TlsEndpoint::start(&sim, pki.issue("server", &["127.0.0.1"]), None);
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 40, "QUEUED", "orders", 10, 1, json!({}));

    let untrusted = cancel_through(&sim, &endpoint, &dir.path().join("a.db"), &[]);
    assert_bad_input_naming(&untrusted, "HATCHET_CLIENT_TLS_ROOT_CA_FILE");
    assert!(endpoint.connections() > 0, "the endpoint was reached");
    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");

    let trusted = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("b.db"),
        &[("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &pki.ca_file())],
    );
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 40);

    seed_runs(&sim, 10, "QUEUED", "orders", 10, 1, json!({}));
    let via_ssl_cert_file = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("c.db"),
        &[("SSL_CERT_FILE", &pki.ca_file())],
    );
    assert_eq!(via_ssl_cert_file.code, 0, "{}", via_ssl_cert_file.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 50);
}

#[test]
fn an_endpoint_that_requires_mtls_takes_the_client_certificate_and_key() {
    let sim = Sim::start();
    let pki = Pki::new();
    let endpoint = TlsEndpoint::mtls(&sim, &pki);
    let client = pki.issue("client", &["bulkops"]);
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 30, "QUEUED", "orders", 10, 1, json!({}));
    let ca = pki.ca_file();

    let without = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("a.db"),
        &[("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca)],
    );
    assert_bad_input_naming(&without, "HATCHET_CLIENT_TLS_STRATEGY=mtls");
    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");

    let with = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("b.db"),
        &[
            ("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca),
            ("HATCHET_CLIENT_TLS_STRATEGY", Path::new("mtls")),
            ("HATCHET_CLIENT_TLS_CERT_FILE", &client.cert_file),
            ("HATCHET_CLIENT_TLS_KEY_FILE", &client.key_file),
        ],
    );
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 30);

    // As the Go SDK does, the certificate goes out whenever it is set, whatever the strategy.
    seed_runs(&sim, 10, "QUEUED", "orders", 10, 1, json!({}));
    let tls_strategy = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("c.db"),
        &[
            ("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca),
            ("HATCHET_CLIENT_TLS_CERT_FILE", &client.cert_file),
            ("HATCHET_CLIENT_TLS_KEY_FILE", &client.key_file),
        ],
    );
    assert_eq!(tls_strategy.code, 0, "{}", tls_strategy.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 40);
}

#[test]
fn hatchet_client_tls_server_name_is_the_name_the_certificate_is_checked_against() {
    let sim = Sim::start();
    let pki = Pki::new();
    let endpoint = TlsEndpoint::start(&sim, pki.issue("server", &["hatchet.internal"]), None);
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 20, "QUEUED", "orders", 10, 1, json!({}));
    let ca = pki.ca_file();

    let by_address = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("a.db"),
        &[("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca)],
    );
    assert_bad_input_naming(&by_address, "HATCHET_CLIENT_TLS_SERVER_NAME");

    let by_name = cancel_through(
        &sim,
        &endpoint,
        &dir.path().join("b.db"),
        &[
            ("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca),
            (
                "HATCHET_CLIENT_TLS_SERVER_NAME",
                Path::new("hatchet.internal"),
            ),
        ],
    );
    assert_eq!(by_name.code, 0, "{}", by_name.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 20);
}

#[test]
fn bad_tls_settings_are_bad_input_and_nothing_reaches_the_endpoint() {
    let sim = Sim::start();
    let pki = Pki::new();
    let endpoint = TlsEndpoint::start(&sim, pki.issue("server", &["127.0.0.1"]), None);
    let client = pki.issue("client", &["bulkops"]);
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 5, "QUEUED", "orders", 10, 1, json!({}));
    let missing = pki.dir.path().join("missing.pem");
    let not_pem = pki.file("not-pem.pem", "-----BEGIN CERTIFICATE-----\n!!!\n");
    let empty = pki.file("empty.pem", "no PEM here\n");
    let mtls = Path::new("mtls");
    let other = pki.issue("other", &["x"]);
    let no_key = Path::new("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n");
    let cert_text = Path::new(&client.cert_pem);

    let cases: Vec<(Vec<(&str, &Path)>, &str)> = vec![
        (
            vec![("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &missing)],
            "HATCHET_CLIENT_TLS_ROOT_CA_FILE",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &not_pem)],
            "HATCHET_CLIENT_TLS_ROOT_CA_FILE",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &empty)],
            "HATCHET_CLIENT_TLS_ROOT_CA_FILE",
        ),
        (vec![("SSL_CERT_FILE", &missing)], "SSL_CERT_FILE"),
        (
            vec![("HATCHET_CLIENT_TLS_STRATEGY", Path::new("secure"))],
            "HATCHET_CLIENT_TLS_STRATEGY",
        ),
        (
            vec![
                ("HATCHET_CLIENT_TLS_STRATEGY", mtls),
                ("HATCHET_CLIENT_TLS_KEY_FILE", &client.key_file),
            ],
            "HATCHET_CLIENT_TLS_CERT_FILE",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_STRATEGY", mtls)],
            "HATCHET_CLIENT_TLS_CERT_FILE",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_CERT_FILE", &client.cert_file)],
            "HATCHET_CLIENT_TLS_KEY_FILE",
        ),
        (
            vec![
                ("HATCHET_CLIENT_TLS_STRATEGY", mtls),
                ("HATCHET_CLIENT_TLS_CERT_FILE", &client.cert_file),
                ("HATCHET_CLIENT_TLS_KEY_FILE", &client.cert_file),
            ],
            "HATCHET_CLIENT_TLS_KEY_FILE",
        ),
        (
            vec![
                ("HATCHET_CLIENT_TLS_STRATEGY", mtls),
                ("HATCHET_CLIENT_TLS_CERT_FILE", &client.cert_file),
                ("HATCHET_CLIENT_TLS_KEY_FILE", &other.key_file),
            ],
            "HATCHET_CLIENT_TLS_KEY_FILE",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_SERVER_NAME", Path::new("not a name"))],
            "HATCHET_CLIENT_TLS_SERVER_NAME",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_ROOT_CA", Path::new("no PEM here"))],
            "HATCHET_CLIENT_TLS_ROOT_CA",
        ),
        (
            vec![
                ("HATCHET_CLIENT_TLS_CERT", cert_text),
                ("HATCHET_CLIENT_TLS_KEY", no_key),
            ],
            "HATCHET_CLIENT_TLS_KEY",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_CERT", cert_text)],
            "HATCHET_CLIENT_TLS_KEY",
        ),
        (
            vec![("HATCHET_CLIENT_TLS_MIN_VERSION", Path::new("1.1"))],
            "HATCHET_CLIENT_TLS_MIN_VERSION",
        ),
    ];
    for (i, (settings, fix)) in cases.iter().enumerate() {
        let ran = cancel_through(
            &sim,
            &endpoint,
            &dir.path().join(format!("{i}.db")),
            settings,
        );
        assert_bad_input_naming(&ran, fix);
    }
    assert_eq!(endpoint.connections(), 0, "nothing reached the endpoint");
    assert_eq!(sim.mutating_requests(), 0);
}

/// An endpoint, the TLS settings it refuses, and the setting the error must name.
type Refusal<'a> = (&'a TlsEndpoint, Vec<(&'a str, &'a Path)>, &'a str);

/// A certificate the client or the server refuses stays refused: each refusal is bad input at
/// the first connection, not retried as a server that cannot be reached (which took seconds).
#[test]
fn a_certificate_refusal_is_not_retried() {
    let sim = Sim::start();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file();
    let untrusted = TlsEndpoint::start(&sim, pki.issue("server", &["127.0.0.1"]), None);
    let other_name = TlsEndpoint::start(&sim, pki.issue("named", &["hatchet.internal"]), None);
    let mtls = TlsEndpoint::start(&sim, pki.issue("mtls", &["127.0.0.1"]), Some(pki.ca_der()));
    let cases: [Refusal; 3] = [
        (&untrusted, vec![], "HATCHET_CLIENT_TLS_ROOT_CA_FILE"),
        (
            &other_name,
            vec![("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca)],
            "HATCHET_CLIENT_TLS_SERVER_NAME",
        ),
        (
            &mtls,
            vec![("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca)],
            "HATCHET_CLIENT_TLS_STRATEGY=mtls",
        ),
    ];
    for (i, (endpoint, settings, fix)) in cases.iter().enumerate() {
        let ran = cancel_through(
            &sim,
            endpoint,
            &dir.path().join(format!("{i}.db")),
            settings,
        );
        assert_bad_input_naming(&ran, fix);
        assert_eq!(endpoint.connections(), 1, "{fix}: one connection, no retry");
    }
    assert_eq!(sim.mutating_requests(), 0, "nothing was sent");
}

/// The Go SDK's PEM-text settings: the CA, the client certificate and its key as the variables'
/// own text; the text wins over a `_FILE` twin, and the key's text is shown nowhere.
#[test]
fn the_ca_and_the_client_certificate_are_taken_as_pem_text_as_the_go_sdk_reads_them() {
    let sim = Sim::start();
    let pki = Pki::new();
    let endpoint = TlsEndpoint::mtls(&sim, &pki);
    let client = pki.issue("client", &["bulkops"]);
    let other = pki.issue("other", &["x"]);
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 30, "QUEUED", "orders", 10, 1, json!({}));
    let ca_pem = pki.ca.pem();
    let state = dir.path().join("a.db");
    let ran = cancel_through(
        &sim,
        &endpoint,
        &state,
        &[
            ("HATCHET_CLIENT_TLS_ROOT_CA", Path::new(&ca_pem)),
            ("HATCHET_CLIENT_TLS_STRATEGY", Path::new("mtls")),
            ("HATCHET_CLIENT_TLS_CERT", Path::new(&client.cert_pem)),
            ("HATCHET_CLIENT_TLS_KEY", Path::new(&client.key_pem)),
            // A certificate and key that do not go together: ignored, the text wins.
            ("HATCHET_CLIENT_TLS_CERT_FILE", &client.cert_file),
            ("HATCHET_CLIENT_TLS_KEY_FILE", &other.key_file),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 30);
    let key_line = client.key_pem.lines().nth(1).expect("a line of the key");
    let shown = run(sim
        .bulkops(&state)
        .args(["config", "show"])
        .env("HATCHET_CLIENT_TLS_KEY", &client.key_pem));
    assert!(
        shown.stdout.contains("HATCHET_CLIENT_TLS_KEY"),
        "{}",
        shown.stdout
    );
    let reports = dir.path().join("a-reports");
    let mut written = ran.stdout + &ran.stderr + &shown.stdout;
    for entry in std::fs::read_dir(&reports).expect("reports") {
        written += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    written += &String::from_utf8_lossy(&std::fs::read(&state).unwrap());
    assert!(
        !written.contains(key_line),
        "the key's text is written somewhere"
    );
}

#[test]
fn hatchet_client_tls_min_version_1_3_refuses_a_tls_1_2_server_and_1_2_takes_it() {
    let sim = Sim::start();
    let pki = Pki::new();
    let endpoint = TlsEndpoint::speaking(
        &sim,
        pki.issue("server", &["127.0.0.1"]),
        None,
        &[&rustls::version::TLS12],
    );
    let dir = tempfile::tempdir().unwrap();
    seed_runs(&sim, 10, "QUEUED", "orders", 10, 1, json!({}));
    let ca = pki.ca_file();
    let with_min = |i: usize, version: &str| {
        cancel_through(
            &sim,
            &endpoint,
            &dir.path().join(format!("{i}.db")),
            &[
                ("HATCHET_CLIENT_TLS_ROOT_CA_FILE", &ca),
                ("HATCHET_CLIENT_TLS_MIN_VERSION", Path::new(version)),
            ],
        )
    };
    let refused = with_min(0, "1.3");
    assert_bad_input_naming(&refused, "HATCHET_CLIENT_TLS_MIN_VERSION");
    assert_eq!(endpoint.connections(), 1, "refused at once, not retried");
    assert_eq!(sim.mutating_requests(), 0);
    let taken = with_min(1, "1.2");
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    assert_eq!(sim.count("orders", "CANCELLED"), 10);
}
