//! The tray: the server's state (running, codes issued today, failing deliveries), open the
//! console, copy the public API's URL, quit. Failing and recovered channels become one desktop
//! notification each, not one per message.

use std::time::Duration;

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_notification::NotificationExt;

use crate::Desktop;
use otpd::delivery::health::HealthChange;

const REFRESH: Duration = Duration::from_secs(5);

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "otpd: starting…", false, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "open", "Open console", true, None::<&str>)?,
            &MenuItem::with_id(app, "copy-url", "Copy public API URL", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "quit", "Quit otpd", true, None::<&str>)?,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id("otpd")
        .menu(&menu)
        .tooltip("otpd")
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::show_console(app),
            "copy-url" => copy_public_url(app),
            "quit" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move { crate::shutdown_and_exit(&app).await });
            }
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;

    let (app_for_status, status_item) = (app.clone(), status.clone());
    tauri::async_runtime::spawn(async move {
        loop {
            let text = status_line(&app_for_status).await;
            let _ = status_item.set_text(&text);
            if let Some(tray) = app_for_status.tray_by_id("otpd") {
                let _ = tray.set_tooltip(Some(&text));
            }
            tokio::time::sleep(REFRESH).await;
        }
    });
    let app_for_health = app.clone();
    let mut changes = app.state::<Desktop>().services.delivery_health.subscribe();
    tauri::async_runtime::spawn(async move {
        while let Ok(change) = changes.recv().await {
            notify(&app_for_health, &change);
        }
    });
    Ok(())
}

/// "otpd running · 42 codes today · SMS of ACME failing".
async fn status_line(app: &AppHandle) -> String {
    let (services, public_url) = {
        let desktop = app.state::<Desktop>();
        (desktop.services.clone(), desktop.public_url.is_some())
    };
    let zone = jiff::tz::TimeZone::system()
        .iana_name()
        .unwrap_or("UTC")
        .to_owned();
    let query = otpd::service::admin::StatsQuery {
        brand: None,
        time_zone: Some(zone),
    };
    let stats = services.admin("desktop").dashboard(&query).await;
    let listening = if public_url {
        "running"
    } else {
        "running (public API not listening)"
    };
    match stats {
        Ok(d) => {
            let today = d.daily.last().map_or(0, |b| b.issued);
            let failing: Vec<String> = d
                .failing_channels
                .iter()
                .map(|f| format!("{} of {}", f.channel.as_str(), f.brand))
                .collect();
            let deliveries = if failing.is_empty() {
                "deliveries OK".to_owned()
            } else {
                format!("failing: {}", failing.join(", "))
            };
            format!("otpd {listening} · {today} codes today · {deliveries}")
        }
        Err(e) => format!("otpd {listening} · stats unavailable ({e})"),
    }
}

fn copy_public_url(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    match &desktop.public_url {
        Some(url) => {
            if let Err(e) = app.clipboard().write_text(url.clone()) {
                tracing::warn!(error = %e, "copying the public URL failed");
            }
        }
        None => tracing::warn!("the public API is not listening: nothing to copy"),
    }
}

fn notify(app: &AppHandle, change: &HealthChange) {
    let (title, body) = match change {
        HealthChange::Failing {
            brand,
            channel,
            error,
        } => (
            format!("{} deliveries of {brand} are failing", channel.as_str()),
            format!("The last attempts failed: {error}. Check the channel in the console."),
        ),
        HealthChange::Recovered { brand, channel } => (
            format!("{} deliveries of {brand} work again", channel.as_str()),
            "The provider accepted a message.".to_owned(),
        ),
    };
    tracing::info!(%title, "desktop notification");
    if let Err(e) = app
        .notification()
        .builder()
        .title(&title)
        .body(&body)
        .show()
    {
        tracing::warn!(error = %e, "showing a desktop notification failed");
    }
}
