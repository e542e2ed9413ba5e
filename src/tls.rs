//! memshift's certificate authority, and the certificates of the cluster endpoints.
//!
//! Every TLS endpoint (MemoryDB nodes, Redshift fronts) presents a certificate signed by
//! one CA, so that a client trusts all of them once it trusts that CA. The CA is:
//! - given (`--tls-ca-cert` and `--tls-ca-key`), so that an image or a CI job can trust it
//!   ahead of time;
//! - or kept in the data directory (`ca.pem`, `ca.key`), made there the first time one is
//!   needed and used again at every later start;
//! - or, without a data directory, made the first time one is needed and gone at exit.
//!
//! A CA that is made waits for its first use (a TLS endpoint, or `GET /_memshift/ca.pem`,
//! which serves its certificate): a run that needs none spends neither the time nor the
//! memory. Keys are ECDSA P-256; endpoint certificates are made when their endpoints start
//! (valid a year) and never written to disk, except for the engines' own use inside their
//! private directories.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Where a CA given by its files is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The CA that signs every endpoint's certificate: one that is given or kept is read at
/// once; one that is made is made at its first use.
pub struct Authority {
    ca: OnceLock<Result<Ca, String>>,
    /// Where a CA made at first use is kept, if anywhere.
    keep_in: Option<PathBuf>,
}

/// A CA's certificate, and the key that signs with it.
struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

/// A certificate for an endpoint, with its private key.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf").finish_non_exhaustive()
    }
}

impl Authority {
    /// A new CA, made now.
    ///
    /// # Errors
    /// The key or the certificate could not be made.
    pub fn generate() -> Result<Self, String> {
        Ok(Self::ready(Ca::generate()?))
    }

    /// A CA made at its first use, in memory only.
    #[must_use]
    pub fn at_first_use() -> Self {
        Authority {
            ca: OnceLock::new(),
            keep_in: None,
        }
    }

    fn ready(ca: Ca) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(Ok(ca));
        Authority {
            ca: cell,
            keep_in: None,
        }
    }

    /// The CA, made (and kept) now if this is its first use. A failure is final: the
    /// same error is given at every later use.
    fn ca(&self) -> Result<&Ca, String> {
        self.ca
            .get_or_init(|| match &self.keep_in {
                Some(dir) => Ca::make_in(dir),
                None => Ca::generate(),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A CA from its certificate and private key, both PEM.
    ///
    /// # Errors
    /// Either does not parse, or the key is not the certificate's.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        Ok(Self::ready(Ca::from_pem(cert_pem, key_pem)?))
    }

    /// A CA read from its two files.
    ///
    /// # Errors
    /// A file cannot be read, or [`Authority::from_pem`] refuses what it holds.
    pub fn from_files(files: &CaFiles) -> Result<Self, String> {
        Ok(Self::ready(Ca::from_files(files)?))
    }

    /// The CA kept in `dir` (`ca.pem`, `ca.key`): read now when it is there, or else made
    /// and written there at its first use.
    ///
    /// # Errors
    /// Its files are there but cannot be read or used.
    pub fn kept_in(dir: &Path) -> Result<Self, String> {
        let files = CaFiles::in_dir(dir);
        // The certificate is written last: without it, no CA was made (a key alone is
        // what a crash while making one leaves, and is replaced).
        if files.cert.exists() {
            return Self::from_files(&files);
        }
        Ok(Authority {
            ca: OnceLock::new(),
            keep_in: Some(dir.to_path_buf()),
        })
    }

    /// The CA's certificate, PEM.
    ///
    /// # Errors
    /// The CA could not be made (or kept) at its first use.
    pub fn cert_pem(&self) -> Result<&str, String> {
        Ok(&self.ca()?.cert_pem)
    }

    /// A certificate for a server known by `names` (host names or IP addresses), signed by
    /// this CA, for server and client use.
    ///
    /// # Errors
    /// A name is neither a DNS name nor an IP address, or signing failed.
    pub fn issue(&self, names: &[String]) -> Result<Leaf, String> {
        let issuer = &self.ca()?.issuer;
        let key = KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "memshift");
        dn.push(
            DnType::CommonName,
            names.first().map_or("memshift endpoint", String::as_str),
        );
        params.distinguished_name = dn;
        let mut seen = std::collections::BTreeSet::new();
        for name in names.iter().filter(|n| seen.insert(n.as_str())) {
            params.subject_alt_names.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    name.clone()
                        .try_into()
                        .map_err(|e| format!("{name} cannot be a certificate name: {e}"))?,
                ),
            });
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, 365);
        let cert = params
            .signed_by(&key, issuer)
            .map_err(|e| format!("cannot sign a certificate: {e}"))?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// The TLS settings of a server known by `names`: TLS 1.2 and 1.3, no client
    /// certificates, a certificate of this CA.
    ///
    /// # Errors
    /// As [`Authority::issue`].
    pub fn server_config(&self, names: &[String]) -> Result<Arc<ServerConfig>, String> {
        self.issue(names)?.server_config()
    }
}

impl Ca {
    /// A new CA, valid ten years (from a day ago, so that clocks a little behind accept
    /// it).
    fn generate() -> Result<Self, String> {
        let key = KeyPair::generate().map_err(|e| format!("cannot make the CA key: {e}"))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "memshift");
        name.push(DnType::CommonName, "memshift local CA");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, 3650);
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("cannot make the CA certificate: {e}"))?;
        Ok(Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A new CA, written into `dir` (the key readable by its owner only).
    fn make_in(dir: &Path) -> Result<Self, String> {
        let files = CaFiles::in_dir(dir);
        let ca = Self::generate()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // A key without its certificate is what a crash while making a CA leaves.
        match std::fs::remove_file(&files.key) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot replace {}: {e}", files.key.display()));
            }
            _ => {}
        }
        write_private(&files.key, &ca.issuer.key().serialize_pem(), true)?;
        // Whole or not at all: written aside, then renamed into place.
        let partial = dir.join("ca.pem.partial");
        std::fs::write(&partial, &ca.cert_pem)
            .and_then(|()| std::fs::rename(&partial, &files.cert))
            .map_err(|e| format!("cannot write {}: {e}", files.cert.display()))?;
        Ok(ca)
    }

    fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| format!("the CA key is not a PEM private key memshift can use: {e}"))?;
        let der = first_pem_der(cert_pem)
            .ok_or_else(|| "the CA certificate is not a PEM certificate".to_owned())?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("the CA certificate does not parse: {e}"))?;
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|b| b.value.ca);
        if !is_ca {
            return Err("the CA certificate is not a CA (no basicConstraints CA:TRUE)".to_owned());
        }
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err("the CA key does not belong to the CA certificate".to_owned());
        }
        let issuer = Issuer::from_ca_cert_der(&der.into(), key)
            .map_err(|e| format!("the CA certificate cannot sign: {e}"))?;
        Ok(Ca {
            cert_pem: cert_pem.to_owned(),
            issuer,
        })
    }

    fn from_files(files: &CaFiles) -> Result<Self, String> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        Self::from_pem(&read(&files.cert)?, &read(&files.key)?)
            .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))
    }
}

impl CaFiles {
    /// Where a data directory keeps its CA.
    fn in_dir(dir: &Path) -> Self {
        CaFiles {
            cert: dir.join("ca.pem"),
            key: dir.join("ca.key"),
        }
    }
}

impl Leaf {
    /// The TLS settings of a server presenting this certificate.
    ///
    /// # Errors
    /// rustls refused the certificate or key.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .map_err(|e| format!("cannot use the certificate: {e}"))?;
        Ok(Arc::new(config))
    }
}

/// The names an endpoint's certificate covers: those given, then the loopback names every
/// endpoint answers to.
#[must_use]
pub fn endpoint_names(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all: Vec<String> = names.into_iter().collect();
    for local in ["localhost", "127.0.0.1", "::1"] {
        if !all.iter().any(|n| n == local) {
            all.push(local.to_owned());
        }
    }
    all
}

/// Validity runs from midnight (UTC) a day before today, so that a clock a little behind
/// accepts a new certificate, for `days` after today.
fn validity(params: &mut CertificateParams, days: i64) {
    use chrono::Datelike as _;
    let ymd = |d: chrono::NaiveDate| {
        rcgen::date_time_ymd(
            d.year(),
            u8::try_from(d.month()).unwrap_or(1),
            u8::try_from(d.day()).unwrap_or(1),
        )
    };
    let today = chrono::Utc::now().date_naive();
    params.not_before = ymd(today - chrono::Days::new(1));
    params.not_after = ymd(today + chrono::Days::new(u64::try_from(days).unwrap_or(365)));
}

fn first_pem_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let body: String = pem[start..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Writes a new file only its owner can read (a private key, say); `durable`: on disk
/// before this returns.
///
/// # Errors
/// The file exists already, or cannot be written.
pub fn write_private(path: &Path, contents: &str, durable: bool) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| if durable { file.sync_all() } else { Ok(()) })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_ca_is_made_at_its_first_use_and_the_same_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let first = Authority::kept_in(dir.path()).unwrap();
        assert!(
            !dir.path().join("ca.key").exists(),
            "made before its first use"
        );
        let pem = first.cert_pem().unwrap().to_owned();
        let second = Authority::kept_in(dir.path()).unwrap();
        assert_eq!(second.cert_pem().unwrap(), pem);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("ca.key"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_left_without_its_certificate_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.key"), "half made").unwrap();
        let ca = Authority::kept_in(dir.path()).unwrap();
        let pem = ca.cert_pem().unwrap().to_owned();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
            pem
        );
        assert!(!dir.path().join("ca.pem.partial").exists());
        let again = Authority::kept_in(dir.path()).unwrap();
        assert_eq!(again.cert_pem().unwrap(), pem);
    }

    #[test]
    fn a_key_of_another_ca_is_refused() {
        let a = Authority::generate().unwrap();
        let b = Authority::generate().unwrap();
        let b_key = b.ca().unwrap().issuer.key().serialize_pem();
        let err = Authority::from_pem(a.cert_pem().unwrap(), &b_key).unwrap_err();
        assert!(err.contains("does not belong"), "{err}");
        let leaf = a.issue(&["x".to_owned()]).unwrap();
        let err = Authority::from_pem(&leaf.cert_pem, &leaf.key_pem).unwrap_err();
        assert!(err.contains("not a CA"), "{err}");
    }

    #[test]
    fn endpoint_names_add_the_loopback_names_once() {
        assert_eq!(
            endpoint_names(["db.example".to_owned(), "127.0.0.1".to_owned()]),
            ["db.example", "127.0.0.1", "localhost", "::1"]
        );
    }
}
