//! Server certificate verification as curl does it with `--cacert`: the
//! chain is checked by webpki against the given roots, and a server that
//! presents one of those very certificates (the `openssl req -x509`
//! self-signed kind, CA:TRUE, which webpki refuses as an end entity) is
//! trusted when its name and dates hold. Every refusal carries one sentence
//! in plain words ([`PlainWords`]) that the probe prints as it is.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use crate::x509::{CertFacts, UtcTime};

/// A certificate refusal, said the way an operator reads it.
#[derive(Debug)]
pub(crate) struct PlainWords(pub(crate) String);

impl std::fmt::Display for PlainWords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlainWords {}

fn refuse(words: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(PlainWords(
        words,
    )))))
}

/// What server certificates are trusted.
#[derive(Debug)]
pub(crate) enum Trust {
    /// `--insecure`: any certificate (handshake signatures are still checked,
    /// so the session is at least consistent).
    Any,
    /// webpki against the roots, plus the certificates given with `--cacert`
    /// trusted as themselves.
    Roots {
        webpki: Arc<WebPkiServerVerifier>,
        pinned: Vec<CertificateDer<'static>>,
        /// Whether the roots came from `--cacert` (changes the advice given).
        from_file: bool,
    },
}

/// The probe's one server certificate verifier.
#[derive(Debug)]
pub(crate) struct Verifier {
    pub(crate) trust: Trust,
    pub(crate) algorithms: WebPkiSupportedAlgorithms,
}

impl Verifier {
    /// A presented certificate identical to a trusted one: its key signs the
    /// handshake (checked by rustls), so what is left is name and dates.
    fn verify_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let facts = CertFacts::parse(end_entity)
            .ok_or_else(|| refuse("the server's certificate cannot be read".to_string()))?;
        let now = now.as_secs() as i64;
        if let Some(words) = date_problem(&facts, now) {
            return Err(refuse(words));
        }
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)
            .map_err(|_| refuse(wrong_name(&facts, server_name)))
    }

    /// Turns webpki's refusal into one sentence about the certificate.
    fn explain(
        from_file: bool,
        error: rustls::Error,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> rustls::Error {
        let rustls::Error::InvalidCertificate(kind) = &error else {
            return error;
        };
        let Some(facts) = CertFacts::parse(end_entity) else {
            return error;
        };
        let now = now.as_secs() as i64;
        let words = match kind {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => date_problem(&facts, now),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Some(wrong_name(&facts, server_name))
            }
            CertificateError::UnknownIssuer | CertificateError::Other(_) if facts.self_issued => {
                Some(format!(
                    "self-signed certificate ({}) is not trusted: {}",
                    facts.describe_names(),
                    if from_file {
                        "it is not in the --cacert file"
                    } else {
                        "give it to --cacert to trust it"
                    }
                ))
            }
            CertificateError::UnknownIssuer => Some(format!(
                "certificate ({}) is signed by an unknown authority: {}",
                facts.describe_names(),
                if from_file {
                    "its issuer is not in the --cacert file"
                } else {
                    "its issuer is not in the system store (use --cacert)"
                }
            )),
            CertificateError::BadSignature => Some(format!(
                "certificate ({}) has a signature that does not verify",
                facts.describe_names()
            )),
            CertificateError::Other(_) => Some(format!(
                "certificate ({}) was refused: {}",
                facts.describe_names(),
                describe(&error)
            )),
            _ => None,
        };
        words.map_or(error, refuse)
    }
}

/// Expired or not yet valid, with the date.
pub(crate) fn date_problem(facts: &CertFacts, now: i64) -> Option<String> {
    if now > facts.not_after {
        let days = (now - facts.not_after) / 86_400;
        return Some(format!(
            "certificate ({}) expired on {} ({days} days ago)",
            facts.describe_names(),
            UtcTime(facts.not_after)
        ));
    }
    if now < facts.not_before {
        return Some(format!(
            "certificate ({}) is not valid until {}",
            facts.describe_names(),
            UtcTime(facts.not_before)
        ));
    }
    None
}

fn wrong_name(facts: &CertFacts, server_name: &ServerName<'_>) -> String {
    format!(
        "certificate is for {}, not for {}",
        facts.describe_names(),
        server_name.to_str()
    )
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Trust::Roots {
            webpki,
            pinned,
            from_file,
        } = &self.trust
        else {
            return Ok(ServerCertVerified::assertion());
        };
        if pinned.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            self.verify_pinned(end_entity, server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| Self::explain(*from_file, e, end_entity, server_name, now))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// One line for a handshake error: the plain words when a verifier gave
/// them, else rustls's own description made readable.
pub(crate) fn describe(error: &rustls::Error) -> String {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            match inner.downcast_ref::<PlainWords>() {
                Some(words) => words.0.clone(),
                None => format!("certificate refused: {inner}"),
            }
        }
        E::InvalidCertificate(CertificateError::InvalidPurpose) => {
            "the certificate is not for TLS servers (extended key usage)".to_string()
        }
        E::InvalidCertificate(CertificateError::UnhandledCriticalExtension) => {
            "the certificate has a critical extension that cannot be checked".to_string()
        }
        E::InvalidCertificate(kind) => format!("certificate refused: {kind:?}"),
        E::AlertReceived(alert) => format!("the server refused the handshake (alert {alert:?})"),
        E::NoCertificatesPresented => "the server presented no certificate".to_string(),
        E::PeerIncompatible(why) => format!("no TLS version or cipher in common ({why:?})"),
        other => other.to_string(),
    }
}
