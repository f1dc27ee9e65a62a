//! TLS for a listener, without a proxy: a certificate chain and a private key from PEM files.
//! [`ReloadableTls::reload`] (on SIGHUP) reads the files again and swaps the configuration that
//! new handshakes use; open connections keep theirs, so nothing is dropped. A reload that fails
//! keeps the old certificate and says why.

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{Context, anyhow};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use crate::config::TlsFiles;

pub struct ReloadableTls {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
}

impl ReloadableTls {
    /// Reads the files; an unreadable or mismatched pair is an error naming the file.
    pub fn load(files: TlsFiles) -> anyhow::Result<Self> {
        let config = server_config(&files)?;
        Ok(Self {
            files,
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads the files again; on success new handshakes use them.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = Arc::new(server_config(&self.files)?);
        let mut current = self
            .current
            .write()
            .map_err(|_| anyhow!("the TLS configuration lock is poisoned"))?;
        *current = config;
        Ok(())
    }

    /// The acceptor for the next connection.
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        let config = self.current.read().ok()?.clone();
        Some(TlsAcceptor::from(config))
    }
}

fn server_config(files: &TlsFiles) -> anyhow::Result<ServerConfig> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading the TLS private key {}", files.key.display()))?;
    // The provider named, not the process default: nothing then depends on which rustls
    // features other crates switch on.
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "the TLS certificate {} and key {} do not make a pair",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the TLS certificate {}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}
