//! docs/api.md against the code: the codes of §7 with their HTTP statuses and messages, every
//! path of the public OpenAPI document, the operational endpoints of §8 on the listener they
//! are documented on, and the settings of §9 with their defaults and ranges.

use std::collections::{BTreeMap, BTreeSet};

use otpd::config::Config;
use otpd::domain::{ApiCode, BrandSettings};
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use crate::helpers::*;

fn api_md() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The lines of the document outside fenced code blocks.
fn prose(doc: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push(line);
        }
    }
    out
}

/// The prose of section `n`: from its `## n. ` heading to the next `## ` heading.
fn section(doc: &str, n: u32) -> Vec<&str> {
    let head = format!("## {n}. ");
    let lines = prose(doc);
    let start = lines
        .iter()
        .position(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("docs/api.md has no section {head:?}"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with("## "))
        .copied()
        .collect()
}

/// A Markdown table: its header cells and its rows.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The cells of a table row; `\|` is a pipe inside a cell.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_owned()).collect()
}

fn tables(lines: &[&str]) -> Vec<Table> {
    let mut out = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in lines.iter().chain(std::iter::once(&"")) {
        if line.trim_start().starts_with('|') {
            current.push(cells(line));
        } else if !current.is_empty() {
            let header = current.remove(0);
            // The |---|---| line.
            current.retain(|row| {
                !row.iter()
                    .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
            });
            out.push(Table {
                header,
                rows: std::mem::take(&mut current),
            });
        }
    }
    out
}

/// The one table of `lines` whose header is exactly `header`.
fn table(lines: &[&str], header: &[&str]) -> Table {
    let mut found: Vec<Table> = tables(lines)
        .into_iter()
        .filter(|t| t.header == header)
        .collect();
    assert_eq!(found.len(), 1, "one table with the header {header:?}");
    found.remove(0)
}

fn unquote(cell: &str) -> &str {
    cell.trim().trim_matches('`')
}

/// A default as written: `none`, `[]`, `true`, `false`, a number or one `code span`.
/// Anything else (a description) is `None`.
fn literal(cell: &str) -> Option<Value> {
    let cell = cell.trim();
    match cell {
        "none" => Some(Value::Null),
        "[]" => Some(json!([])),
        "true" => Some(json!(true)),
        "false" => Some(json!(false)),
        _ => match cell.parse::<u64>() {
            Ok(n) => Some(json!(n)),
            Err(_) => {
                let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
                (!inner.contains('`')).then(|| json!(inner))
            }
        },
    }
}

/// A leading `min–max` range of an "allowed" cell.
fn range(cell: &str) -> Option<(u64, u64)> {
    let (lo, rest) = cell.split_once('–')?;
    let hi: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((lo.trim().parse().ok()?, hi.parse().ok()?))
}

fn keys_of(value: Value) -> BTreeSet<String> {
    match value {
        Value::Object(map) => map.into_iter().map(|(k, _)| k).collect(),
        other => panic!("expected an object, got {other}"),
    }
}

/// Every `/auth/v1/…` path written in the document (prefixes such as `/auth/v1/web/` left out).
fn auth_paths(doc: &str) -> BTreeSet<String> {
    doc.match_indices("/auth/v1/")
        .map(|(at, _)| {
            doc[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect::<String>()
                .trim_end_matches('.')
                .to_owned()
        })
        .filter(|p| !p.ends_with('/'))
        .collect()
}

#[test]
fn stands_alone_with_the_section_numbers_the_source_cites() {
    let doc = api_md();
    let numbers: Vec<u32> = prose(&doc)
        .iter()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| {
            h.split_once(". ")
                .and_then(|(n, _)| n.parse().ok())
                .unwrap_or_else(|| panic!("unnumbered section {h:?}"))
        })
        .collect();
    assert_eq!(numbers, (1..=9).collect::<Vec<_>>());
    for outside in [
        "../shared",
        "/work/",
        "auth-engine-reference",
        "ARCHITECTURE.md",
        "API.md",
    ] {
        assert!(
            !doc.contains(outside),
            "docs/api.md refers to {outside:?}, which users of the repository do not have"
        );
    }
}

#[test]
fn the_codes_of_section_7_are_the_codes_the_server_answers() {
    let doc = api_md();
    let t = table(&section(&doc, 7), &["code", "HTTP", "meaning"]);
    let mut documented: BTreeMap<u16, (u16, String)> = BTreeMap::new();
    for row in &t.rows {
        let code: u16 = row[0]
            .parse()
            .unwrap_or_else(|_| panic!("code {:?}", row[0]));
        let http: u16 = row[1]
            .parse()
            .unwrap_or_else(|_| panic!("HTTP {:?}", row[1]));
        assert!(
            documented.insert(code, (http, row[2].clone())).is_none(),
            "{code} is listed twice"
        );
    }
    let mut expected: BTreeMap<u16, (u16, &str)> = ApiCode::ALL
        .iter()
        .map(|&c| {
            (
                c.code(),
                (otpd::http::error::http_status(c).as_u16(), c.message()),
            )
        })
        .collect();
    expected.insert(200, (200, "SUCCESS"));
    // Codes missing from §7, codes §7 invents, and codes with another HTTP status.
    let mut wrong = Vec::new();
    for (code, (http, _)) in &expected {
        match documented.get(code) {
            None => wrong.push(format!("{code} is missing")),
            Some((h, _)) if h != http => wrong.push(format!("{code} is HTTP {http}, not {h}")),
            Some(_) => {}
        }
    }
    for code in documented.keys().filter(|c| !expected.contains_key(c)) {
        wrong.push(format!("{code} is not a code of src/domain/code.rs"));
    }
    assert!(wrong.is_empty(), "§7 code table: {}", wrong.join("; "));
    for (code, (_, message)) in &expected {
        let meaning = &documented[code].1;
        assert!(
            meaning.contains(&format!("\"{message}\"")),
            "§7 row {code}: the meaning {meaning:?} should quote the message {message:?}"
        );
    }
}

#[tokio::test]
async fn every_public_path_is_documented_and_every_documented_path_is_served() {
    let doc = api_md();
    let openapi = serde_json::to_value(otpd::http::ApiDoc::openapi()).unwrap();
    let generated = keys_of(openapi["paths"].clone());
    assert!(!generated.is_empty());
    let written = auth_paths(&doc);
    for path in &generated {
        assert!(
            written.contains(path),
            "{path} is in the public OpenAPI document but not in docs/api.md"
        );
    }

    // §8: each endpoint answers on the listener it is documented on; an admin-listener
    // endpoint is not on the public one.
    let app = spawn_app().await;
    let admin = app.server.as_ref().unwrap().admin_addr;
    let t = table(&section(&doc, 8), &["endpoint", "listener", "answer"]);
    let mut operational = BTreeSet::new();
    for row in &t.rows {
        let path = unquote(&row[0])
            .strip_prefix("GET ")
            .unwrap_or_else(|| panic!("§8 endpoint {:?} is not a GET", row[0]))
            .to_owned();
        let status = |url: String| {
            let client = app.client.clone();
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        };
        match row[1].as_str() {
            "public" => assert_eq!(status(app.url(&path)).await, 200, "GET {path} (public)"),
            "admin" => {
                assert_eq!(
                    status(format!("http://{admin}{path}")).await,
                    200,
                    "GET {path} (admin)"
                );
                assert_eq!(
                    status(app.url(&path)).await,
                    404,
                    "GET {path} must not be on the public listener"
                );
            }
            "both" => {
                assert_eq!(status(app.url(&path)).await, 200, "GET {path} (public)");
                let on_admin = status(format!("http://{admin}{path}")).await;
                assert_eq!(on_admin, 200, "GET {path} (admin)");
            }
            other => panic!("§8: unknown listener {other:?} for {path}"),
        }
        operational.insert(path);
    }

    for path in &written {
        assert!(
            generated.contains(path) || operational.contains(path),
            "docs/api.md names {path}, which is neither in the OpenAPI document nor in §8"
        );
    }
}

#[test]
fn the_brand_settings_of_section_9_are_the_settings_document() {
    let doc = api_md();
    let t = table(
        &section(&doc, 9),
        &["setting", "default", "allowed", "meaning"],
    );
    let defaults = serde_json::to_value(BrandSettings::default()).unwrap();
    let written: BTreeSet<String> = t.rows.iter().map(|r| unquote(&r[0]).to_owned()).collect();
    assert_eq!(written.len(), t.rows.len(), "a setting is listed twice");
    assert_eq!(written, keys_of(defaults.clone()), "§9 brand settings");

    // Within the ranges the rest of the settings allow (a code cannot outlive its session).
    let base = json!({"sessionTtlSeconds": 3600, "otpTtlSeconds": 60});
    let accepts = |name: &str, value: u64| {
        let mut patch: Map<String, Value> = base.as_object().unwrap().clone();
        patch.insert(name.to_owned(), json!(value));
        BrandSettings::default().apply(&patch).is_ok()
    };
    for row in &t.rows {
        let name = unquote(&row[0]);
        let written = literal(&row[1])
            .unwrap_or_else(|| panic!("§9 {name}: the default {:?} is not a value", row[1]));
        assert_eq!(written, defaults[name], "§9 default of {name}");
        if let Some((lo, hi)) = range(&row[2]) {
            assert!(accepts(name, lo), "{name} = {lo} should be allowed");
            assert!(accepts(name, hi), "{name} = {hi} should be allowed");
            assert!(
                !accepts(name, hi + 1),
                "{name} = {} should be refused",
                hi + 1
            );
            if lo > 0 {
                assert!(
                    !accepts(name, lo - 1),
                    "{name} = {} should be refused",
                    lo - 1
                );
            }
        }
    }
}

#[test]
fn the_server_settings_of_section_9_are_the_config_file_keys() {
    let doc = api_md();
    let t = table(&section(&doc, 9), &["setting", "default", "meaning"]);
    let defaults = serde_json::to_value(Config::default()).unwrap();
    let written: BTreeSet<String> = t.rows.iter().map(|r| unquote(&r[0]).to_owned()).collect();
    assert_eq!(written, keys_of(defaults.clone()), "§9 server settings");
    for row in &t.rows {
        let name = unquote(&row[0]);
        if let Some(written) = literal(&row[1]) {
            assert_eq!(written, defaults[name], "§9 default of {name}");
        }
    }
}
