//! The certificate a cluster's endpoint presents, kept in step with the names the cluster
//! answers to.
//!
//! An endpoint's TLS settings take the certificate from one slot at each handshake. When the
//! cluster's names change (a custom domain name associated with it, or the association
//! deleted), a certificate for the new names, signed by memshift's CA, replaces the one in
//! the slot: handshakes already under way finish with the old one, later ones get the new
//! one, and the listener and its open connections are left alone.
//!
//! One certificate carries every name of the cluster, rather than one made per connection
//! for the name the client asks for (SNI):
//! - a client that connects by IP address (`127.0.0.1`, the address DescribeClusters
//!   reports) sends no server name, so a certificate carrying every name is needed anyway;
//! - certificates are made when a name is added or removed, never while a client waits;
//! - only names of the cluster are ever certified: a client that asks for another name gets
//!   this certificate and refuses it itself, as it should.

use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ProducesTickets, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::tls::Authority;

/// An endpoint's TLS settings and the certificate they present.
pub struct EndpointTls {
    authority: Arc<Authority>,
    provider: Arc<CryptoProvider>,
    slot: Arc<Slot>,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for EndpointTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointTls")
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

/// The certificate handshakes take, and the names it was made for.
#[derive(Debug)]
struct Slot(RwLock<(Vec<String>, Arc<CertifiedKey>)>);

impl ResolvesServerCert for Slot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(PoisonError::into_inner).1,
        ))
    }
}

impl EndpointTls {
    /// TLS 1.2 and 1.3 with a certificate of `authority` for `names`; `alpn` lists the
    /// application protocols the endpoint agrees to when a client offers some.
    ///
    /// # Errors
    /// A name cannot be certified, or rustls refused the settings.
    pub fn new(
        authority: Arc<Authority>,
        names: Vec<String>,
        alpn: &[&[u8]],
    ) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = certified_key(&authority, &provider, &names)?;
        let slot = Arc::new(Slot(RwLock::new((names, key))));
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&slot) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        // No session resumption, as PostgreSQL's server allows none: a resumed session
        // would skip the certificate, so a client could still reach the endpoint by a name
        // removed since it first connected. Tickets are still sent (see `Unredeemable`).
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.ticketer = Arc::new(Unredeemable);
        Ok(EndpointTls {
            authority,
            provider,
            slot,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The names the current certificate carries.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.slot
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Puts a certificate for `names` in the slot, unless the current one is for exactly
    /// those names; answers whether it changed.
    ///
    /// # Errors
    /// A name cannot be certified; the current certificate stays.
    pub fn set_names(&self, names: Vec<String>) -> Result<bool, String> {
        if self.names() == names {
            return Ok(false);
        }
        let key = certified_key(&self.authority, &self.provider, &names)?;
        *self.slot.0.write().unwrap_or_else(PoisonError::into_inner) = (names, key);
        Ok(true)
    }

    /// What accepts a client's handshake.
    #[must_use]
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// Session tickets that resume nothing: random bytes, which the server never takes back,
/// with a lifetime of zero (discard at once, RFC 8446 4.6.1).
///
/// The server still sends them, as PostgreSQL's does, because the ticket after the
/// client's last handshake message is what acknowledges it at once: a client that holds
/// its next packet until then (Nagle's algorithm, as Python's sockets have by default)
/// would otherwise wait for the delayed acknowledgement, some 40 ms a connection.
#[derive(Debug)]
struct Unredeemable;

impl ProducesTickets for Unredeemable {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        let mut ticket = vec![0u8; 32];
        rand::fill(&mut ticket[..]);
        Some(ticket)
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

fn certified_key(
    authority: &Authority,
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Arc<CertifiedKey>, String> {
    let leaf = authority.issue(names)?;
    let cert = CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes())
        .map_err(|e| format!("cannot read a new certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes())
        .map_err(|e| format!("cannot read a new key: {e}"))?;
    CertifiedKey::from_der(vec![cert], key, provider)
        .map(Arc::new)
        .map_err(|e| format!("cannot use a new certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sans(tls: &EndpointTls) -> Vec<String> {
        let key = Arc::clone(&tls.slot.0.read().unwrap().1);
        let (_, cert) = x509_parser::parse_x509_certificate(key.cert[0].as_ref()).unwrap();
        let names = cert.subject_alternative_name().unwrap().unwrap();
        names
            .value
            .general_names
            .iter()
            .map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => (*d).to_owned(),
                x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                    4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                    _ => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
                },
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_new_name_gets_a_new_certificate_and_the_same_names_keep_theirs() {
        let authority = Arc::new(Authority::generate().unwrap());
        let first = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let tls = EndpointTls::new(authority, first.clone(), &[b"postgresql"]).unwrap();
        assert_eq!(sans(&tls), first);
        assert!(!tls.set_names(first.clone()).unwrap());
        let more = vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
            "db.example.com".to_owned(),
        ];
        assert!(tls.set_names(more.clone()).unwrap());
        assert_eq!(tls.names(), more);
        assert_eq!(sans(&tls), more);
        // A name that cannot be certified leaves the certificate as it was.
        assert!(tls.set_names(vec!["bücher.example".to_owned()]).is_err());
        assert_eq!(sans(&tls), more);
    }
}
