//! The console's transport inside the desktop app: one command that hands a request to the
//! admin router in-process (`tower::ServiceExt::oneshot`), marked as the local operator, and
//! returns the answer. Only `/admin/api/` paths pass. Downloads (CSV, backups) are written to a
//! file the operator picks, instead of through the page.

use axum::body::Body;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tauri::State;
use tauri_plugin_dialog::DialogExt;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;

use crate::Desktop;

/// Answers larger than this are refused through the command (downloads go to a file).
const MAX_ANSWER: usize = 32 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRequest {
    method: String,
    /// `/admin/api/…`, with the query string if any.
    path: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// JSON text.
    body: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// `save_download` only: where the file went (`None`: cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_to: Option<String>,
}

fn build(req: &AdminRequest) -> Result<http::Request<Body>, String> {
    if !req.path.starts_with("/admin/api/") || req.path.contains("..") {
        return Err(format!("{} is not an admin API path", req.path));
    }
    let method = http::Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut builder = http::Request::builder().method(method).uri(&req.path);
    for (name, value) in &req.headers {
        // The page cannot claim cookies or credentials: it is the local operator.
        if !["cookie", "authorization"].contains(&name.to_ascii_lowercase().as_str()) {
            builder = builder.header(name, value);
        }
    }
    let mut request = builder
        .body(Body::from(req.body.clone().unwrap_or_default()))
        .map_err(|e| e.to_string())?;
    request
        .extensions_mut()
        .insert(otpd::http::admin::LocalOperator);
    Ok(request)
}

async fn call(desktop: &Desktop, req: &AdminRequest) -> Result<http::Response<Body>, String> {
    let request = build(req)?;
    desktop
        .admin
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| match e {})
}

#[tauri::command]
pub async fn admin_request(
    desktop: State<'_, Desktop>,
    request: AdminRequest,
) -> Result<AdminResponse, String> {
    let response = call(&desktop, &request).await?;
    let status = response.status().as_u16();
    let headers = header_pairs(&response);
    let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
        .await
        .map_err(|e| e.to_string())?;
    Ok(AdminResponse {
        status,
        headers,
        // The admin API answers JSON or CSV text; binaries (backups) go through save_download.
        body: String::from_utf8_lossy(&bytes).into_owned(),
        saved_to: None,
    })
}

/// Runs a GET and, when it succeeds, asks where to save and streams the answer into that file.
/// An error answer comes back as it is (for the console to show); `savedTo` is the file, or
/// `None` when the operator cancelled.
#[tauri::command]
pub async fn save_download(
    app: tauri::AppHandle,
    desktop: State<'_, Desktop>,
    path: String,
    suggested_name: String,
) -> Result<AdminResponse, String> {
    let request = AdminRequest {
        method: "GET".into(),
        path,
        headers: Vec::new(),
        body: None,
    };
    let response = call(&desktop, &request).await?;
    let status = response.status().as_u16();
    let headers = header_pairs(&response);
    if !response.status().is_success() {
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(AdminResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            saved_to: None,
        });
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(&suggested_name)
        .save_file(move |file| {
            let _ = tx.send(file);
        });
    let saved_to = match rx.await.map_err(|e| e.to_string())? {
        None => None,
        Some(file) => {
            let target = file.into_path().map_err(|e| e.to_string())?;
            write_body(response.into_body(), &target).await?;
            Some(target.display().to_string())
        }
    };
    Ok(AdminResponse {
        status,
        headers,
        body: String::new(),
        saved_to,
    })
}

async fn write_body(mut body: Body, target: &std::path::Path) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("writing {}: {e}", target.display());
    let mut out = tokio::fs::File::create(target)
        .await
        .map_err(|e| failed(&e))?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| failed(&e))?;
        if let Some(chunk) = frame.data_ref() {
            out.write_all(chunk).await.map_err(|e| failed(&e))?;
        }
    }
    out.flush().await.map_err(|e| failed(&e))
}

fn header_pairs(response: &http::Response<Body>) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
        .collect()
}
