//! Admin routes for delivery channels (test sends included) and message templates.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::service::admin::{AdminError, TemplateInput};

use super::{AdminResult, AppState, Segments, actor, body, ok};

pub(super) async fn list_channels(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).list_channels(&name)?)
}

pub(super) async fn show_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_channel(&name, &kind)?)
}

/// `{"settings": {"key": "value", …}}` (the CLI's `key=value` form) or `{"config": {…}}` (a
/// whole config, as the console sends back what it was shown).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetChannel {
    settings: Option<std::collections::BTreeMap<String, String>>,
    config: Option<Value>,
}

pub(super) async fn set_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let actor = actor(&h);
    let admin = s.admin(&actor);
    match body::<SetChannel>(&b)? {
        SetChannel {
            settings: Some(settings),
            config: None,
        } => ok(admin.set_channel(&name, &kind, &settings).await?),
        SetChannel {
            settings: None,
            config: Some(config),
        } => ok(admin.put_channel_config(&name, &kind, config).await?),
        _ => Err(AdminError::Invalid(
            "request body: send either {\"settings\": {\"key\": \"value\", …}} or {\"config\": {…}}".into(),
        )),
    }
}

pub(super) async fn remove_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).remove_channel(&name, &kind).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestChannel {
    to: String,
    locale: Option<String>,
}

pub(super) async fn test_channel(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let req: TestChannel = body(&b)?;
    ok(s.admin(&actor(&h))
        .test_channel(&name, &kind, &req.to, req.locale.as_deref())
        .await?)
}

pub(super) async fn list_templates(
    State(s): AppState,
    h: HeaderMap,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).list_templates(&name)?)
}

pub(super) async fn show_templates(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h)).show_templates(&name, &kind)?)
}

pub(super) async fn set_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let t: TemplateInput = body(&b)?;
    ok(s.admin(&actor(&h))
        .set_template(&name, &kind, None, t)
        .await?)
}

pub(super) async fn set_locale_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind, locale)): Segments<(String, String, String)>,
    b: Bytes,
) -> AdminResult {
    let t: TemplateInput = body(&b)?;
    ok(s.admin(&actor(&h))
        .set_template(&name, &kind, Some(&locale), t)
        .await?)
}

pub(super) async fn remove_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h))
        .remove_template(&name, &kind, None)
        .await?)
}

pub(super) async fn remove_locale_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind, locale)): Segments<(String, String, String)>,
) -> AdminResult {
    ok(s.admin(&actor(&h))
        .remove_template(&name, &kind, Some(&locale))
        .await?)
}

#[derive(Deserialize)]
pub(super) struct LocaleQuery {
    locale: Option<String>,
}

/// Body: a template to preview (optional; without one, the saved template for `?locale=`).
pub(super) async fn preview_template(
    State(s): AppState,
    h: HeaderMap,
    Segments((name, kind)): Segments<(String, String)>,
    q: Result<Query<LocaleQuery>, QueryRejection>,
    b: Bytes,
) -> AdminResult {
    let locale = q
        .map_err(|e| AdminError::Invalid(format!("query: {}", e.body_text())))?
        .0
        .locale
        .filter(|l| !l.trim().is_empty());
    // An empty body means "the saved template", not a template without text.
    let input: Option<TemplateInput> = if b.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(body(&b)?)
    };
    ok(s.admin(&actor(&h))
        .preview_template(&name, &kind, locale.as_deref(), input)?)
}
