//! Certificate checks made before a certificate is served (at `--check`, at start and at
//! reload, which then keeps the old certificates): the key matches the certificate, the
//! chain verifies now (to its last certificate, to `ca`, or to a public root), and every
//! `server_names` entry is covered. Without these, a wrong key passes and then every
//! handshake fails. A chain that expires within the warning window is reported with its
//! expiry time, found by verifying at later times (webpki exposes no notAfter).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::TrustAnchor;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use webpki::{EndEntityCert, Error as PkiError, KeyUsage, anchor_from_trusted_cert};

/// What the checks found about a certificate that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// SNI names served (the configured ones, else the certificate's DNS SANs), lowercase.
    pub names: Vec<String>,
    /// The chain's expiry time, when it falls within the warning window.
    pub expires_soon: Option<SystemTime>,
}

/// Checks one certificate. `cert_path` names it in errors; `ca` are extra trust anchors.
pub(crate) fn check(
    cert_path: &str,
    chain: &[CertificateDer<'static>],
    ca: &[CertificateDer<'static>],
    key: &CertifiedKey,
    server_names: &[String],
    window: Duration,
    now: SystemTime,
) -> Result<Checked, String> {
    key.keys_match().map_err(|e| {
        format!("{cert_path}: the private key does not match the certificate ({e})")
    })?;
    let leaf = chain
        .first()
        .ok_or_else(|| format!("{cert_path}: no certificate in file"))?;
    let ee = EndEntityCert::try_from(leaf)
        .map_err(|e| format!("{cert_path}: not a usable certificate ({e:?})"))?;
    let mut anchors: Vec<TrustAnchor<'_>> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
    for c in ca.iter().chain(chain.last()) {
        if let Ok(a) = anchor_from_trusted_cert(c) {
            anchors.push(a);
        }
    }
    let intermediates = &chain[1..];
    let verify_at = |t: SystemTime| {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            UnixTime::since_unix_epoch(since),
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    verify_at(now).map_err(|e| chain_error(cert_path, &e))?;
    let names = covered_names(cert_path, &ee, server_names)?;
    let expires_soon = match verify_at(now + window) {
        Ok(()) => None,
        Err(_) => Some(last_valid(now, window, &verify_at)),
    };
    Ok(Checked {
        names,
        expires_soon,
    })
}

/// The operator's words for a chain that does not verify.
fn chain_error(cert_path: &str, e: &PkiError) -> String {
    match e {
        PkiError::CertExpired { .. } => format!("{cert_path}: the certificate chain has expired"),
        PkiError::CertNotValidYet { .. } => {
            format!("{cert_path}: the certificate chain is not valid yet")
        }
        PkiError::UnknownIssuer => format!(
            "{cert_path}: the certificate chain does not verify (unknown issuer: put the intermediate certificates after the certificate, or name the CA with `ca`)"
        ),
        other => format!("{cert_path}: the certificate chain does not verify ({other:?})"),
    }
}

/// The names served: each configured one must be covered by the certificate; none
/// configured means the certificate's DNS SANs.
fn covered_names(
    cert_path: &str,
    ee: &EndEntityCert<'_>,
    server_names: &[String],
) -> Result<Vec<String>, String> {
    if server_names.is_empty() {
        let names: Vec<String> = ee.valid_dns_names().map(str::to_ascii_lowercase).collect();
        return Ok(names);
    }
    for n in server_names {
        // A wildcard entry is covered when a name under it is.
        let probe = match n.strip_prefix("*.") {
            Some(rest) => format!("elb-name-check.{rest}"),
            None => n.clone(),
        };
        let covered = ServerName::try_from(probe.as_str())
            .ok()
            .is_some_and(|sn| ee.verify_is_valid_for_subject_name(&sn).is_ok());
        if !covered {
            return Err(format!(
                "{cert_path}: server_names entry `{n}` is not covered by the certificate"
            ));
        }
    }
    Ok(server_names
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect())
}

/// The last second within `now..now + window` at which the chain still verifies (it does at
/// `now` and not at the end), by bisection.
fn last_valid(
    now: SystemTime,
    window: Duration,
    verify_at: &dyn Fn(SystemTime) -> Result<(), PkiError>,
) -> SystemTime {
    let (mut ok, mut bad) = (0u64, window.as_secs().max(1));
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if verify_at(now + Duration::from_secs(mid)).is_ok() {
            ok = mid;
        } else {
            bad = mid;
        }
    }
    now + Duration::from_secs(ok)
}
