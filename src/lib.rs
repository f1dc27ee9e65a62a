//! otpd: a self-hosted one-time-password engine. [`run`] opens the store, starts the public
//! and admin listeners, the delivery worker and the sweeper, and returns a handle; `main.rs`,
//! the desktop shell and the integration tests all start the server through it.

pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod password;
pub mod secrets;
pub mod service;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::outbox::Outbox;
use crate::delivery::{Sender, Senders};
use crate::domain::Brand;
use crate::secrets::ServerKeys;
use crate::service::Services;
use crate::store::Store;

/// The admin token file in the data directory (mode 0600), rewritten at every start.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// Where the admin API listens, for the CLI.
pub const ADMIN_URL_FILE: &str = "admin.url";
/// In the data directory when the admin listener serves TLS: its certificate, which the CLI
/// trusts for the https `admin.url`.
pub const ADMIN_CERT_FILE: &str = "admin-cert.pem";

/// What tests and embedders may swap.
pub struct RunOptions {
    pub clock: Clock,
    /// Replaces the LOG sink (tests capture deliveries with it).
    pub log_sender: Option<Arc<dyn Sender>>,
    /// How long shutdown waits for open connections.
    pub drain: Duration,
    /// When the public address cannot be bound, run without the public API (and say so in the
    /// console) instead of failing: the desktop app's choice, so its console still opens.
    pub public_listener_optional: bool,
    /// Serve a store that lacks records its manifest names, instead of refusing to start
    /// (`otpd serve --accept-store-loss`, after the operator chose not to restore a backup).
    pub accept_store_loss: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            clock: Clock::system(),
            log_sender: None,
            drain: Duration::from_secs(20),
            public_listener_optional: false,
            accept_store_loss: false,
        }
    }
}

/// A running server.
pub struct RunningServer {
    /// `None` when the public API could not listen (see [`RunOptions::public_listener_optional`]).
    pub public_addr: Option<SocketAddr>,
    pub admin_addr: SocketAddr,
    pub admin_token: Arc<str>,
    /// When no operator exists yet: the one-time token of the console's setup link
    /// (`http://<admin>/setup#token=<token>`), valid for an hour.
    pub setup_token: Option<String>,
    pub services: Arc<Services>,
    /// The listeners' TLS configurations, for [`RunningServer::reload_tls`].
    tls: Vec<Arc<http::tls::ReloadableTls>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Reads every listener's TLS certificate and key again (on SIGHUP): new connections use
    /// them, open ones keep theirs. A pair that fails to load keeps the old one; the error says
    /// which. Answers how many listeners were reloaded.
    pub fn reload_tls(&self) -> anyhow::Result<usize> {
        let problems: Vec<String> = self
            .tls
            .iter()
            .filter_map(|tls| tls.reload().err().map(|e| format!("{e:#}")))
            .collect();
        copy_admin_cert(&self.services.config);
        if problems.is_empty() {
            Ok(self.tls.len())
        } else {
            Err(anyhow::anyhow!(
                "{}; the previous certificate stays in use",
                problems.join("; ")
            ))
        }
    }

    /// Stops accepting, drains requests and deliveries in flight, flushes and closes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.services
            .store
            .close()
            .await
            .context("final flush of the store")?;
        Ok(())
    }
}

pub async fn run(mut config: Config, options: RunOptions) -> anyhow::Result<RunningServer> {
    create_private_dir(&config.data_dir)?;
    let keys = Arc::new(ServerKeys::load_or_create(&config.data_dir)?);
    let on_damage = if options.accept_store_loss {
        store::OnDamage::AcceptLoss
    } else {
        store::OnDamage::Refuse
    };
    let store = match &config.store_url {
        Some(url) => Store::connect(
            url.expose(),
            config.durability,
            keys.clone(),
            i64::try_from(config.delivery_lease_seconds).unwrap_or(i64::MAX) * 1000,
        )
        .await
        .context("connecting to the PostgreSQL store (storeUrl)")?,
        None => Store::open_with(
            &config.data_dir.join("store"),
            config.durability,
            keys.clone(),
            on_damage,
        )
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?,
    };
    config.apply_overrides(&store.runtime_overrides().await?);
    let config = Arc::new(config);
    let resealed = store.reseal_brands().await?;
    secrets::write_owner_only(
        &config.data_dir.join(secrets::SEALED_WITH_FILE),
        format!("{}\n", keys.active_id()).as_bytes(),
    )?;
    if resealed > 0 {
        tracing::info!(
            brands = resealed,
            key = keys.active_id(),
            "re-sealed brand records under the active server key"
        );
    }
    if config.demo_brand && store.brands().await?.is_empty() {
        store
            .create_brand(&Brand::demo(options.clock.now_ms()))
            .await?;
        tracing::info!("created the demo brand DEMO (channels: the LOG sink)");
    }
    let services = Arc::new(Services::new(
        store,
        keys,
        options.clock.clone(),
        Senders::new(options.log_sender).with_smtp_pool(config.delivery_workers),
        config.clone(),
    ));

    let setup_token = services.issue_setup_token().await?;

    // TLS files are read before binding: a bad pair stops the start with its file named.
    let load_tls = |files: Option<config::TlsFiles>| {
        files
            .map(|f| http::tls::ReloadableTls::load(f).map(Arc::new))
            .transpose()
    };
    let (public_tls, admin_tls) =
        match (load_tls(config.public_tls()), load_tls(config.admin_tls())) {
            (Ok(p), Ok(a)) => (p, a),
            (Err(e), _) | (_, Err(e)) => {
                services.store.close().await?;
                return Err(e);
            }
        };

    let public = match TcpListener::bind(config.public_listen).await {
        Ok(listener) => Some(listener),
        Err(e) if options.public_listener_optional => {
            let problem = format!("cannot listen on {}: {e}", config.public_listen);
            tracing::error!("{problem}; the console still works");
            let _ = services.public_api.set(Err(problem));
            None
        }
        Err(e) => {
            // Let go of the store: its flusher would otherwise keep it locked.
            services.store.close().await?;
            return Err(e).with_context(|| format!("binding {}", config.public_listen));
        }
    };
    let admin = match TcpListener::bind(config.admin_listen).await {
        Ok(listener) => listener,
        Err(e) => {
            // Let go of the store: its flusher would otherwise keep it locked.
            services.store.close().await?;
            return Err(e).with_context(|| format!("binding {}", config.admin_listen));
        }
    };
    let public_addr = public.as_ref().map(TcpListener::local_addr).transpose()?;
    if let Some(addr) = public_addr {
        let _ = services.public_api.set(Ok(addr));
    }
    let admin_addr = admin.local_addr()?;
    if !config.admin_listen.ip().is_loopback() {
        tracing::warn!(addr = %admin_addr, "the admin API listens beyond loopback");
    }
    let admin_token: Arc<str> = new_admin_token().into();
    secrets::write_owner_only(
        &config.data_dir.join(ADMIN_TOKEN_FILE),
        admin_token.as_bytes(),
    )?;
    let scheme = if admin_tls.is_some() { "https" } else { "http" };
    secrets::write_owner_only(
        &config.data_dir.join(ADMIN_URL_FILE),
        format!("{scheme}://{admin_addr}").as_bytes(),
    )?;
    copy_admin_cert(&config);

    let (shutdown, rx) = watch::channel(false);
    let outbox = Outbox {
        store: services.store.clone(),
        keys: services.keys.clone(),
        senders: services.senders.clone(),
        clock: services.clock.clone(),
        metrics: services.metrics.clone(),
        wake: services.outbox_wake.clone(),
        health: services.delivery_health.clone(),
        workers: config.delivery_workers,
    };
    let mut tasks = vec![
        tokio::spawn(http::serve(
            admin,
            http::harden(
                http::admin_router(services.clone(), admin_token.clone()),
                &config,
            ),
            config.clone(),
            admin_tls.clone(),
            rx.clone(),
            options.drain,
        )),
        tokio::spawn(outbox.run(rx.clone())),
        tokio::spawn(sweep_periodically(services.clone(), rx.clone())),
    ];
    if let Some(public) = public {
        tasks.push(tokio::spawn(http::serve(
            public,
            http::harden(http::public_router(services.clone()), &config),
            config.clone(),
            public_tls.clone(),
            rx,
            options.drain,
        )));
    }
    tracing::info!(public = ?public_addr, admin = %admin_addr, data_dir = %config.data_dir.display(), "otpd is listening");
    Ok(RunningServer {
        public_addr,
        admin_addr,
        admin_token,
        setup_token,
        services,
        tls: public_tls.into_iter().chain(admin_tls).collect(),
        shutdown,
        tasks,
    })
}

/// Puts the admin listener's certificate in the data directory (`admin-cert.pem`), where the
/// CLI finds it to trust the https `admin.url`; removes a stale one when TLS is off.
fn copy_admin_cert(config: &Config) {
    let dest = config.data_dir.join(ADMIN_CERT_FILE);
    let result = match &config.admin_tls_cert {
        Some(cert) => std::fs::read(cert).and_then(|pem| secrets::write_owner_only(&dest, &pem)),
        None => match std::fs::remove_file(&dest) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, file = %dest.display(), "could not update the CLI's copy of the admin certificate");
    }
}

/// Deletes expired sessions, nonces, old usage, old log records and stats, and ended console
/// sessions, once a minute.
async fn sweep_periodically(services: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
        let store = &services.store;
        let now = services.clock.now_ms();
        let retention_days = services.log_retention_days.load(Ordering::Relaxed);
        let retention_ms = i64::from(retention_days) * 86_400_000;
        let idle_ms = i64::from(services.config.console_session_idle_minutes) * 60_000;
        let swept = async {
            Ok::<_, store::StoreError>(
                store
                    .sweep_console_sessions(now, idle_ms, service::auth::SESSION_MAX_MS)
                    .await?
                    + store.sweep(now, retention_ms).await?,
            )
        };
        match swept.await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "swept expired records"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sweeping the store failed"),
        }
        services.trim_rate_limiter();
        services.login_throttle.trim(now);
    }
}

fn new_admin_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates the data directory (and its parents) and makes it the owner's alone (0700).
pub fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
