//! Admin routes for delivery channels (test sends included) and message templates.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminResult, AppState, Reader, Segments, Writer, body, ok, query};
use crate::service::Services;
use crate::service::admin::{
    AdminError, ChannelTemplatesView, ChannelView, TemplateInput, TemplatePreview, TestSendOutcome,
};

/// An e-mail template's HTML body may be 100 000 bytes (`domain::template`), more than the
/// listener-wide body limit; JSON escaping can grow it, hence the headroom.
const TEMPLATE_BODY_LIMIT: usize = 256 * 1024;

pub(super) fn routes() -> OpenApiRouter<Arc<Services>> {
    let big = || DefaultBodyLimit::max(TEMPLATE_BODY_LIMIT);
    let (schemas, paths, set) = routes!(set_template);
    let set_template = (schemas, paths, set.layer(big()));
    let (schemas, paths, set) = routes!(set_locale_template);
    let set_locale_template = (schemas, paths, set.layer(big()));
    let (schemas, paths, preview) = routes!(preview_template);
    let preview_template = (schemas, paths, preview.layer(big()));
    OpenApiRouter::new()
        .routes(routes!(list_channels))
        .routes(routes!(show_channel))
        .routes(routes!(set_channel))
        .routes(routes!(remove_channel))
        .routes(routes!(test_channel))
        .routes(routes!(list_templates))
        .routes(routes!(show_templates))
        .routes(set_template)
        .routes(routes!(remove_template))
        .routes(preview_template)
        .routes(set_locale_template)
        .routes(routes!(remove_locale_template))
}

/// A brand's channels (secrets read "set").
#[utoipa::path(get, path = "/admin/api/brands/{name}/channels", tag = "channels",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = Vec<ChannelView>)))]
async fn list_channels(
    State(s): AppState,
    Reader(p): Reader,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).list_channels(&name).await?)
}

/// One channel (secrets read "set").
#[utoipa::path(get, path = "/admin/api/brands/{name}/channels/{kind}", tag = "channels",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")),
    responses((status = 200, body = ChannelView)))]
async fn show_channel(
    State(s): AppState,
    Reader(p): Reader,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor()).show_channel(&name, &kind).await?)
}

/// `{"settings": {"key": "value", …}}` (the CLI's `key=value` form) or `{"config": {…}}` (a
/// whole config, as the console sends back what it was shown).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChannel {
    settings: Option<std::collections::BTreeMap<String, String>>,
    #[schema(value_type = Option<crate::domain::ChannelConfig>)]
    config: Option<Value>,
}

/// Sets a channel: `{"settings": {key: value}}` as the CLI sends it, or `{"config": {...}}`, a whole provider config as the console sends it back (a secret that reads "set" keeps the stored value).
#[utoipa::path(put, path = "/admin/api/brands/{name}/channels/{kind}", tag = "channels",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")), request_body = SetChannel,
    responses((status = 200, body = ChannelView)))]
async fn set_channel(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let admin = s.admin(p.actor());
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

/// Removes a channel; codes for it are refused with 1603 until one is set again.
#[utoipa::path(delete, path = "/admin/api/brands/{name}/channels/{kind}", tag = "channels",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")),
    responses((status = 200, body = Vec<ChannelView>)))]
async fn remove_channel(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor()).remove_channel(&name, &kind).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestChannel {
    to: String,
    locale: Option<String>,
}

/// Sends a test message through the stored provider and reports its answer.
#[utoipa::path(post, path = "/admin/api/brands/{name}/channels/{kind}/test", tag = "channels",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")), request_body = TestChannel,
    responses((status = 200, body = TestSendOutcome)))]
async fn test_channel(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let req: TestChannel = body(&b)?;
    ok(s.admin(p.actor())
        .test_channel(&name, &kind, &req.to, req.locale.as_deref())
        .await?)
}

/// A brand's templates for every channel.
#[utoipa::path(get, path = "/admin/api/brands/{name}/templates", tag = "templates",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path)),
    responses((status = 200, body = Vec<ChannelTemplatesView>)))]
async fn list_templates(
    State(s): AppState,
    Reader(p): Reader,
    Segments(name): Segments<String>,
) -> AdminResult {
    ok(s.admin(p.actor()).list_templates(&name).await?)
}

/// One channel's templates.
#[utoipa::path(get, path = "/admin/api/brands/{name}/templates/{kind}", tag = "templates",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")),
    responses((status = 200, body = ChannelTemplatesView)))]
async fn show_templates(
    State(s): AppState,
    Reader(p): Reader,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor()).show_templates(&name, &kind).await?)
}

/// Saves the channel's base template.
#[utoipa::path(put, path = "/admin/api/brands/{name}/templates/{kind}", tag = "templates",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")), request_body = TemplateInput,
    responses((status = 200, body = ChannelTemplatesView)))]
async fn set_template(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind)): Segments<(String, String)>,
    b: Bytes,
) -> AdminResult {
    let t: TemplateInput = body(&b)?;
    ok(s.admin(p.actor())
        .set_template(&name, &kind, None, t)
        .await?)
}

/// Saves a locale variant of the channel's template.
#[utoipa::path(put, path = "/admin/api/brands/{name}/templates/{kind}/{locale}", tag = "templates",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO"), ("locale" = String, Path, description = "a language tag, e.g. vi-VN")), request_body = TemplateInput,
    responses((status = 200, body = ChannelTemplatesView)))]
async fn set_locale_template(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind, locale)): Segments<(String, String, String)>,
    b: Bytes,
) -> AdminResult {
    let t: TemplateInput = body(&b)?;
    ok(s.admin(p.actor())
        .set_template(&name, &kind, Some(&locale), t)
        .await?)
}

/// Removes the base template (the built-in one applies again).
#[utoipa::path(delete, path = "/admin/api/brands/{name}/templates/{kind}", tag = "templates",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO")),
    responses((status = 200, body = ChannelTemplatesView)))]
async fn remove_template(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind)): Segments<(String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor())
        .remove_template(&name, &kind, None)
        .await?)
}

/// Removes a locale variant.
#[utoipa::path(delete, path = "/admin/api/brands/{name}/templates/{kind}/{locale}", tag = "templates",
    security(("session" = ["admin"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO"), ("locale" = String, Path, description = "a language tag, e.g. vi-VN")),
    responses((status = 200, body = ChannelTemplatesView)))]
async fn remove_locale_template(
    State(s): AppState,
    Writer(p): Writer,
    Segments((name, kind, locale)): Segments<(String, String, String)>,
) -> AdminResult {
    ok(s.admin(p.actor())
        .remove_template(&name, &kind, Some(&locale))
        .await?)
}

#[derive(Deserialize)]
struct LocaleQuery {
    locale: Option<String>,
}

/// Renders a template with a sample code (the body's, or without one the saved template for `?locale=`); mobile channels also get the SMS encoding and segments. Changes nothing.
#[utoipa::path(post, path = "/admin/api/brands/{name}/templates/{kind}/preview", tag = "templates",
    security(("session" = ["viewer"]), ("cli" = [])), params(("name" = String, Path), ("kind" = String, Path, description = "EMAIL, SMS, WHATSAPP or ZALO"), ("locale" = Option<String>, Query)), request_body = TemplateInput,
    responses((status = 200, body = TemplatePreview)))]
async fn preview_template(
    State(s): AppState,
    Reader(p): Reader,
    Segments((name, kind)): Segments<(String, String)>,
    q: Result<Query<LocaleQuery>, QueryRejection>,
    b: Bytes,
) -> AdminResult {
    let locale = query(q)?.locale.filter(|l| !l.trim().is_empty());
    // An empty body means "the saved template", not a template without text.
    let input: Option<TemplateInput> = if b.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(body(&b)?)
    };
    ok(s.admin(p.actor())
        .preview_template(&name, &kind, locale.as_deref(), input)
        .await?)
}
