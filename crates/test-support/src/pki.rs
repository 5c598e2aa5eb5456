//! A test PKI: a CA made with rcgen, leaf certificates signed by it, PEM files on disk, and
//! the real `openssl` command for certificates made as an operator would.

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A test PKI: one CA, leaf certificates signed by it, PEM files on disk.
pub struct Pki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
    /// Holds the PEM files.
    pub dir: tempfile::TempDir,
}

/// A leaf certificate and its key, in memory and on disk.
pub struct Leaf {
    /// Chain (leaf only) for a rustls server.
    pub chain: Vec<CertificateDer<'static>>,
    /// Key for a rustls server.
    pub key: PrivateKeyDer<'static>,
    /// PEM certificate file.
    pub cert_file: PathBuf,
    /// PEM key file.
    pub key_file: PathBuf,
}

impl Leaf {
    /// A certificate chain and key made elsewhere (e.g. by the `openssl` command).
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Self {
        let pem = std::fs::read(cert_file).expect("read cert");
        let chain = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .expect("parse cert");
        let pem = std::fs::read(key_file).expect("read key");
        let key = rustls_pemfile::private_key(&mut pem.as_slice())
            .expect("parse key")
            .expect("a key");
        Self {
            chain,
            key,
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
        }
    }
}

/// Runs the real `openssl` command in `dir`, as an operator would, bounded in time.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("timeout")
        .args(["-s", "KILL", "60", "openssl"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

impl Pki {
    /// A fresh CA.
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "elb-ha test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = params.self_signed(&ca_key).expect("ca cert");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write ca");
        Self { ca, ca_key, dir }
    }

    /// The CA certificate file for --cacert.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A self-signed CA:TRUE certificate for `names` valid from `not_before`
    /// to `not_after` (year, month, day), written as `label.pem`/`label.key`.
    pub fn self_signed(
        &self,
        label: &str,
        names: &[&str],
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> Leaf {
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, label);
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let cert = params.self_signed(&key).expect("self-sign");
        let cert_file = self.dir.path().join(format!("{label}.pem"));
        let key_file = self.dir.path().join(format!("{label}.key"));
        std::fs::write(&cert_file, cert.pem()).expect("write cert");
        std::fs::write(&key_file, key.serialize_pem()).expect("write key");
        Leaf::from_pem_files(&cert_file, &key_file)
    }

    /// A leaf for `names` (DNS names or IP literals), valid now or expired in 2021.
    pub fn leaf(&self, label: &str, names: &[&str], expired: bool) -> Leaf {
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, label);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("sign leaf");
        let cert_file = self.dir.path().join(format!("{label}.pem"));
        let key_file = self.dir.path().join(format!("{label}.key"));
        std::fs::write(&cert_file, cert.pem()).expect("write cert");
        std::fs::write(&key_file, key.serialize_pem()).expect("write key");
        Leaf {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            cert_file,
            key_file,
        }
    }

    /// A root store holding this CA (for a server that checks client certificates).
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("add ca");
        roots
    }
}
