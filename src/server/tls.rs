//! TLS: the local certificate authority, per-host certificates, and server configurations.
//!
//! gigya-mock generates one CA the first time it needs one (an ECDSA P-256 key and a
//! self-signed certificate) and keeps it in the data directory, so users trust it once
//! (`gigya-mock ca --print-path`). Leaf certificates for each host name a client asks for (SNI,
//! or the `CONNECT` authority) are signed by that CA on demand and cached in memory. A user may
//! instead bring a fixed certificate and key (`--tls-cert`/`--tls-key`).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig as TlsConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// File name of the CA certificate in the data directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key in the data directory.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// How many leaf certificates are kept in memory.
const LEAF_CACHE: usize = 1024;

/// A TLS set-up problem.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls rejected a key or configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// A PEM file holds nothing usable.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The default data directory: `$XDG_DATA_HOME/gigya-mock`, else
/// `$HOME/.local/share/gigya-mock`, else `.gigya-mock` in the working directory.
#[must_use]
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("gigya-mock");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/share/gigya-mock");
    }
    PathBuf::from(".gigya-mock")
}

/// The local certificate authority.
pub struct CertAuthority {
    cert_path: PathBuf,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl fmt::Debug for CertAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuthority")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "gigya-mock local CA");
    dn.push(DnType::OrganizationName, "gigya-mock");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    Ok(params)
}

impl CertAuthority {
    /// Loads the CA from `dir`, creating it (and the directory) on first use.
    ///
    /// # Errors
    /// The directory cannot be written, or the stored files are unreadable.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        if !(cert_path.exists() && key_path.exists()) {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            write_private(&key_path, &key.serialize_pem())?;
            write_atomic(&cert_path, cert.pem().as_bytes())?;
        }
        let cert_pem = std::fs::read_to_string(&cert_path).map_err(io_err(&cert_path))?;
        let key_pem = std::fs::read_to_string(&key_path).map_err(io_err(&key_path))?;
        let key = KeyPair::from_pem(&key_pem)?;
        let cert_der =
            CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| TlsError::Pem {
                path: cert_path.clone(),
                what: format!("not a PEM certificate: {e}"),
            })?;
        Ok(Self {
            issuer: Issuer::new(ca_params()?, key),
            cert_path,
            cert_pem,
            cert_der,
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// Where the CA certificate is stored.
    #[must_use]
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The CA certificate, PEM.
    #[must_use]
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    #[must_use]
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// A certificate and key for `host`, signed by this CA (cached).
    ///
    /// # Errors
    /// Generation failed.
    pub fn leaf(&self, host: &str) -> Result<Arc<CertifiedKey>, TlsError> {
        self.leaf_for(&[host])
    }

    /// A certificate valid for every name or address in `names` (cached).
    ///
    /// # Errors
    /// Generation failed, or a name is not a valid DNS name.
    pub fn leaf_for(&self, names: &[&str]) -> Result<Arc<CertifiedKey>, TlsError> {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        let cache_key = names.join(",");
        if let Ok(cache) = self.leaves.lock() {
            if let Some(k) = cache.get(&cache_key) {
                return Ok(k.clone());
            }
        }
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.distinguished_name = dn;
        for name in &names {
            params.subject_alt_names.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(name.clone().try_into()?),
            });
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let cert = params.signed_by(&key, &self.issuer)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::sign::any_supported_type(&key_der)?;
        let certified = Arc::new(CertifiedKey::new(
            vec![cert.der().clone(), self.cert_der.clone()],
            signing,
        ));
        if let Ok(mut cache) = self.leaves.lock() {
            if cache.len() >= LEAF_CACHE {
                cache.clear();
            }
            cache.insert(cache_key, certified.clone());
        }
        Ok(certified)
    }

    /// A rustls server configuration that issues a certificate for whatever name the client
    /// asks for (SNI), or for `default_names` when it names none (clients send no SNI for an
    /// IP address).
    #[must_use]
    pub fn server_config(self: &Arc<Self>, default_names: Vec<String>) -> Arc<TlsConfig> {
        let resolver = Arc::new(SniResolver {
            ca: self.clone(),
            default_names,
        });
        with_alpn(
            TlsConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|b| b.with_no_client_auth().with_cert_resolver(resolver)),
        )
    }
}

fn with_alpn(config: Result<TlsConfig, rustls::Error>) -> Arc<TlsConfig> {
    match config {
        Ok(mut c) => {
            c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Arc::new(c)
        }
        Err(e) => {
            // The ring provider supports the default protocol versions, so this cannot happen;
            // a config without certificates would only fail handshakes, never the server.
            tracing::error!("TLS configuration failed: {e}");
            Arc::new(empty_config())
        }
    }
}

fn empty_config() -> TlsConfig {
    #[derive(Debug)]
    struct NoCert;
    impl ResolvesServerCert for NoCert {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            None
        }
    }
    TlsConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_no_client_auth().with_cert_resolver(Arc::new(NoCert)))
        .unwrap_or_else(|_| {
            TlsConfig::builder()
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(NoCert))
        })
}

#[derive(Debug)]
struct SniResolver {
    ca: Arc<CertAuthority>,
    default_names: Vec<String>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let result = match hello.server_name() {
            Some(host) => self.ca.leaf(host),
            None => {
                let names: Vec<&str> = self.default_names.iter().map(String::as_str).collect();
                self.ca.leaf_for(&names)
            }
        };
        match result {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!("cannot issue a certificate: {e}");
                None
            }
        }
    }
}

/// A server configuration from a user's certificate chain and key (PEM files).
///
/// # Errors
/// Unreadable files, no certificate, no key, or a key rustls cannot use.
pub fn static_config(cert: &Path, key: &Path) -> Result<Arc<TlsConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Pem {
            path: cert.to_path_buf(),
            what: e.to_string(),
        })?
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: cert.to_path_buf(),
            what: "no certificate found".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
        path: key.to_path_buf(),
        what: format!("no usable private key: {e}"),
    })?;
    let config =
        TlsConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)?;
    Ok(with_alpn(Ok(config)))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    write_atomic(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(path))?;
    }
    Ok(())
}

/// Host patterns for `CONNECT` interception: `*.gigya.com` matches any subdomain,
/// other patterns match exactly (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPatterns(Vec<String>);

impl Default for HostPatterns {
    fn default() -> Self {
        Self::parse(DEFAULT_INTERCEPT)
    }
}

/// The hosts intercepted by default: every Gigya API domain.
pub const DEFAULT_INTERCEPT: &str = "*.gigya.com,*.gigya-api.cn,*.sapcdm.cn";

impl HostPatterns {
    /// Parses a comma-separated list.
    #[must_use]
    pub fn parse(list: &str) -> Self {
        Self(
            list.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    /// Whether `host` (without port) is covered.
    #[must_use]
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|p| match p.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => *p == host || p == "*",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_subdomains_and_exact_names() {
        let p = HostPatterns::default();
        assert!(p.matches("accounts.us1.gigya.com"));
        assert!(p.matches("ACCOUNTS.EU1.GIGYA.COM."));
        assert!(p.matches("socialize.cn1.gigya-api.cn"));
        assert!(!p.matches("gigya.com.evil.example"));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("gigya.com"));
        let exact = HostPatterns::parse("api.example.test, *.corp.test");
        assert!(exact.matches("api.example.test"));
        assert!(exact.matches("x.corp.test"));
        assert!(!exact.matches("other.example.test"));
    }

    #[test]
    fn the_ca_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = CertAuthority::load_or_create(dir.path()).unwrap();
        let again = CertAuthority::load_or_create(dir.path()).unwrap();
        assert_eq!(first.cert_pem(), again.cert_pem());
        assert!(first.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the CA key is private");
        }
    }

    #[test]
    fn leaves_are_issued_for_names_and_addresses_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertAuthority::load_or_create(dir.path()).unwrap();
        let a = ca.leaf("accounts.us1.gigya.com").unwrap();
        let b = ca.leaf("ACCOUNTS.us1.gigya.com").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.cert.len(), 2, "leaf plus CA");
        assert!(ca.leaf("127.0.0.1").is_ok());
    }

    #[test]
    fn static_config_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let e =
            static_config(&dir.path().join("none.pem"), &dir.path().join("key.pem")).unwrap_err();
        assert!(e.to_string().contains("none.pem"), "{e}");
    }
}
