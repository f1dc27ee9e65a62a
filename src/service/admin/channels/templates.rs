//! Message templates of a brand per channel and locale: save (validated), show, remove, and
//! preview with a sample code and, for mobile channels, the SMS encoding and segment count.

use serde::{Deserialize, Serialize};

use super::{parse_kind, sample_code, sample_values};
use crate::domain::ChannelKind;
use crate::domain::brand::Brand;
use crate::domain::template::{
    self, ChannelTemplates, SmsInfo, Template, sms_info, validate_channel_templates,
    validate_template,
};
use crate::service::admin::{Admin, AdminError, lookup_name};

/// A brand's templates for one channel: what is saved, and the built-in template that applies
/// where nothing is.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTemplatesView {
    pub channel: ChannelKind,
    #[serde(flatten)]
    pub saved: ChannelTemplates,
    pub built_in: Template,
}

/// A template as it would be sent, with a sample code.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePreview {
    pub channel: ChannelKind,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// Encoding, length and segments of the text; mobile channels only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsInfo>,
}

/// A template as the admin API takes it. Empty `subject` / `html` mean "none", because a form
/// sends its empty fields as `""`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
}

impl From<TemplateInput> for Template {
    fn from(t: TemplateInput) -> Self {
        let present = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Template {
            subject: present(t.subject),
            text: t.text,
            html: present(t.html),
        }
    }
}

/// Language tags compare ignoring case and `_` vs `-` (as `template_for` matches them).
fn same_tag(a: &str, b: &str) -> bool {
    a.replace('_', "-")
        .eq_ignore_ascii_case(&b.replace('_', "-"))
}

fn templates_view(brand: &Brand, kind: ChannelKind) -> ChannelTemplatesView {
    ChannelTemplatesView {
        channel: kind,
        saved: brand.templates.get(&kind).cloned().unwrap_or_default(),
        built_in: template::default_template(kind),
    }
}

impl Admin<'_> {
    /// Every channel's saved templates and built-in template.
    pub async fn list_templates(
        &self,
        name: &str,
    ) -> Result<Vec<ChannelTemplatesView>, AdminError> {
        let brand = self.brand(&lookup_name(name)?).await?;
        Ok(ChannelKind::ALL
            .iter()
            .map(|kind| templates_view(&brand, *kind))
            .collect())
    }

    pub async fn show_templates(
        &self,
        name: &str,
        kind: &str,
    ) -> Result<ChannelTemplatesView, AdminError> {
        let kind = parse_kind(kind)?;
        let brand = self.brand(&lookup_name(name)?).await?;
        Ok(templates_view(&brand, kind))
    }

    /// Saves the channel's base template (`locale` `None`) or a locale variant; a variant
    /// replaces one whose tag differs only in case or `_` vs `-`.
    pub async fn set_template(
        &self,
        name: &str,
        kind: &str,
        locale: Option<&str>,
        input: TemplateInput,
    ) -> Result<ChannelTemplatesView, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        let template = Template::from(input);
        validate_template(kind, &template).map_err(AdminError::Invalid)?;
        let locale = locale.map(str::trim);
        let updated = self
            .update(&name, |b| {
                let set = b.templates.entry(kind).or_default();
                match locale {
                    None => set.default = Some(template.clone()),
                    Some(tag) => {
                        set.locales.retain(|k, _| !same_tag(k, tag));
                        set.locales.insert(tag.to_owned(), template.clone());
                    }
                }
                // Checks the tag (the template itself passed above).
                validate_channel_templates(kind, set).map_err(AdminError::Invalid)
            })
            .await?;
        let brand = &updated.1;
        self.commit_brand(
            "template.set",
            Some(template_target(kind, locale)),
            &updated,
        )
        .await?;
        Ok(templates_view(brand, kind))
    }

    /// Removes the base template or a locale variant; the next match (or the built-in
    /// template) applies again.
    pub async fn remove_template(
        &self,
        name: &str,
        kind: &str,
        locale: Option<&str>,
    ) -> Result<ChannelTemplatesView, AdminError> {
        let kind = parse_kind(kind)?;
        let name = lookup_name(name)?;
        // Names the variants there are, since `vi` does not remove `vi-VN`.
        let missing = |set: Option<&ChannelTemplates>| {
            let tags: Vec<&str> = set
                .into_iter()
                .flat_map(|s| s.locales.keys().map(String::as_str))
                .collect();
            let saved = if tags.is_empty() {
                String::new()
            } else {
                format!(" (saved locales: {})", tags.join(", "))
            };
            AdminError::NotFound(match locale {
                None => format!(
                    "brand {name} has no base template for {}{saved}",
                    kind.as_str()
                ),
                Some(tag) => format!(
                    "brand {name} has no {} template for locale {tag:?}{saved}",
                    kind.as_str()
                ),
            })
        };
        let updated = self
            .update(&name, |b| {
                let Some(set) = b.templates.get_mut(&kind) else {
                    return Err(missing(None));
                };
                let removed = match locale {
                    None => set.default.take().is_some(),
                    Some(tag) => {
                        let before = set.locales.len();
                        set.locales.retain(|k, _| !same_tag(k, tag));
                        set.locales.len() < before
                    }
                };
                if !removed {
                    return Err(missing(Some(set)));
                }
                if set.default.is_none() && set.locales.is_empty() {
                    b.templates.remove(&kind);
                }
                Ok(())
            })
            .await?;
        let brand = &updated.1;
        self.commit_brand(
            "template.remove",
            Some(template_target(kind, locale)),
            &updated,
        )
        .await?;
        Ok(templates_view(brand, kind))
    }

    /// Renders `template` (checked first, so an editor sees what is wrong) or else the one
    /// the brand would send for `locale`, with a sample code; mobile channels also get the SMS
    /// encoding and segment count.
    pub async fn preview_template(
        &self,
        name: &str,
        kind: &str,
        locale: Option<&str>,
        input: Option<TemplateInput>,
    ) -> Result<TemplatePreview, AdminError> {
        let kind = parse_kind(kind)?;
        let brand = self.brand(&lookup_name(name)?).await?;
        let template = match input {
            Some(input) => {
                let t = Template::from(input);
                validate_template(kind, &t).map_err(AdminError::Invalid)?;
                t
            }
            None => template::template_for(&brand, kind, locale),
        };
        let code = sample_code(&brand);
        let rendered = template::render(&template, &sample_values(&brand, &code));
        Ok(TemplatePreview {
            channel: kind,
            sms: kind.is_mobile().then(|| sms_info(&rendered.text)),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        })
    }
}

/// What a template change is about, for the audit trail: `SMS` or `SMS vi-VN`.
fn template_target(kind: ChannelKind, locale: Option<&str>) -> String {
    match locale {
        Some(tag) => format!("{} {tag}", kind.as_str()),
        None => kind.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_ignoring_case_and_separator() {
        assert!(same_tag("vi-VN", "vi_vn"));
        assert!(!same_tag("vi", "vi-VN"));
    }

    #[test]
    fn empty_subject_and_html_mean_none() {
        let t = Template::from(TemplateInput {
            subject: Some(" ".into()),
            text: "{otp}".into(),
            html: Some(String::new()),
        });
        assert_eq!((t.subject, t.html), (None, None));
    }
}
