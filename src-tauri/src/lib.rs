//! The otpd desktop app: the same server as `otpd serve`, started in-process on Tauri's runtime
//! with the platform's data directory (so the `otpd` CLI works against it too), and its
//! operator console in a native window. The console reaches the admin API through one command
//! that hands each request to the admin router in-process as the local operator
//! (`transport.rs`) — no second set of endpoints, no CORS, no token in the page. The public API
//! listens as configured, for client apps on the network. A tray shows the server's state and
//! quits it gracefully; closing the window keeps the server running there.

mod transport;
mod tray;

use std::process::ExitCode;
use std::sync::Arc;

use tauri::{Manager, RunEvent, WindowEvent};
use tokio::sync::Mutex;

/// What the commands and the tray share: the running server, until Quit takes it.
pub struct Desktop {
    server: Mutex<Option<otpd::RunningServer>>,
    services: Arc<otpd::service::Services>,
    admin: axum::Router,
    public_url: Option<String>,
}

pub fn run() -> ExitCode {
    if std::env::args().any(|a| a == "--version" || a == "-V") {
        println!("otpd-desktop {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    init_tracing();
    let app = tauri::Builder::default()
        // First, so a second start hands over before it opens anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_console(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(tauri::generate_handler![
            transport::admin_request,
            transport::save_download,
            quit
        ])
        .setup(|app| {
            let desktop = tauri::async_runtime::block_on(start_server())?;
            app.manage(desktop);
            tray::install(app.handle())?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the server running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("otpd-desktop: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|_, event| {
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            // Only Quit (which stops the server first) ends the app.
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}

async fn start_server() -> anyhow::Result<Desktop> {
    let file = std::env::var_os("OTPD_CONFIG").map(std::path::PathBuf::from);
    let config = otpd::config::Config::load(file.as_deref(), |k| std::env::var(k).ok())?;
    let options = otpd::RunOptions {
        public_listener_optional: true,
        ..otpd::RunOptions::default()
    };
    let server = otpd::run(config, options).await?;
    let services = server.services.clone();
    let admin = otpd::http::admin_router(services.clone(), server.admin_token.clone());
    let public_url = server.public_addr.map(|a| format!("http://{a}"));
    tracing::info!(public = ?public_url, admin = %server.admin_addr, "otpd is running in the desktop app");
    Ok(Desktop {
        server: Mutex::new(Some(server)),
        services,
        admin,
        public_url,
    })
}

/// Shows and focuses the console window.
pub(crate) fn show_console(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Stops the server — drains requests and deliveries, flushes the store — then exits. The
/// tray's Quit and this command are the same path.
#[tauri::command]
async fn quit(app: tauri::AppHandle) -> Result<(), String> {
    shutdown_and_exit(&app).await;
    Ok(())
}

pub(crate) async fn shutdown_and_exit(app: &tauri::AppHandle) {
    let desktop = app.state::<Desktop>();
    let server = desktop.server.lock().await.take();
    let code = match server {
        Some(server) => match server.shutdown().await {
            Ok(()) => {
                tracing::info!("stopped: the store is flushed");
                0
            }
            Err(e) => {
                tracing::error!(error = %e, "stopping the server failed");
                1
            }
        },
        None => 0,
    };
    app.exit(code);
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
