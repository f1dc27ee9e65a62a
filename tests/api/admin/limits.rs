//! Per-customer limit overrides and usage over the admin API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PHONE, spawn_app};

#[tokio::test]
async fn a_customer_override_can_be_set_shown_reset_and_unset() {
    let app = spawn_app().await;
    let path = format!("/brands/DEMO/limits/MOBILE:{PHONE}");

    let (status, set) = app
        .call(Method::PUT, &path, Some(json!({"limit": 3})))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["overrideLimit"], 3);
    assert_eq!(set["effectiveLimit"], 3);
    assert_eq!(set["brandLimit"], 10);
    assert_eq!(set["issued"], 0);

    app.issue_otp().await;
    // The bare number and the `+` form name the same customer.
    let (_, shown) = app
        .call(Method::GET, "/brands/DEMO/limits/%2B84901234567", None)
        .await;
    assert_eq!(shown["destination"], format!("MOBILE:{PHONE}"));
    assert_eq!(shown["issued"], 1);
    assert_eq!(shown["remaining"], 2);
    let resets = shown["resetsInSeconds"].as_u64().unwrap();
    assert!((1..=86_400).contains(&resets), "{shown}");

    let (_, list) = app.call(Method::GET, "/brands/DEMO/limits", None).await;
    assert_eq!(
        list,
        json!([{"destination": format!("MOBILE:{PHONE}"), "limit": 3}])
    );

    let (_, reset) = app.call(Method::POST, &format!("{path}/reset"), None).await;
    assert_eq!(reset["issued"], 0);
    assert_eq!(reset["overrideLimit"], 3, "a reset keeps the override");

    let (status, unset) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unset["overrideLimit"], Value::Null);
    assert_eq!(unset["effectiveLimit"], 10);
    let (_, list) = app.call(Method::GET, "/brands/DEMO/limits", None).await;
    assert_eq!(list, json!([]));
}
