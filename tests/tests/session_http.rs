//! Session service HTTP API: users on first contact, profiles, provider status, seeker
//! search, nearby providers and the active-session query's parameters.

use serde_json::{Value, json};
use tether_tests::geo::{M_PER_DEG, lonely_point};
use tether_tests::{Stack, TestUser, mint_token};

fn validation(body: &Value) {
    assert_eq!(body["code"], "validation", "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_creates_the_user_and_name_falls_back_to_token() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let (status, body) = stack.get(&user, "/api/v1/profile").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"user_id": user.id, "display_name": user.name, "mobile": null, "profile_pic_url": null})
    );
    let (token_name, display_name): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT token_name, display_name FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&stack.db)
            .await
            .expect("user row");
    assert_eq!(token_name.as_deref(), Some(user.name.as_str()));
    assert_eq!(display_name, None);

    // A new `name` claim replaces the fallback; a token without one keeps it.
    let renamed = TestUser {
        token: mint_token(user.id, Some("Renamed User"), 3600),
        name: "Renamed User".into(),
        ..user.clone()
    };
    let (_, body) = stack.get(&renamed, "/api/v1/profile").await;
    assert_eq!(body["display_name"], "Renamed User");
    let nameless = TestUser {
        token: mint_token(user.id, None, 3600),
        ..user.clone()
    };
    let (_, body) = stack.get(&nameless, "/api/v1/profile").await;
    assert_eq!(body["display_name"], "Renamed User");

    // Any request creates the user, e.g. reading the seeker search state.
    let other = stack.user();
    let (status, _) = stack.get(&other, "/api/v1/seeker/search").await;
    assert_eq!(status, 200);
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
        .bind(other.id)
        .fetch_one(&stack.db)
        .await
        .expect("exists");
    assert!(exists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_put_validates_keeps_and_clears_fields() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let (status, body) = stack.put(&user,
        "/api/v1/profile",
        json!({"display_name": "  Ada Lovelace  ", "mobile": "+4915112345678", "profile_pic_url": "https://cdn.example.com/ada.png"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let full = json!({"user_id": user.id, "display_name": "Ada Lovelace", "mobile": "+4915112345678", "profile_pic_url": "https://cdn.example.com/ada.png"});
    assert_eq!(body, full);
    assert_eq!(
        stack.get(&user, "/api/v1/profile").await,
        (200, full.clone())
    );

    // Each bad body is refused and changes nothing.
    for bad in [
        json!({}),
        json!({"display_name": null}),
        json!({"display_name": "   "}),
        json!({"display_name": "x".repeat(101)}),
        json!({"display_name": 5}),
        json!({"display_name": "Ada", "mobile": "12345"}),
        json!({"display_name": "Ada", "mobile": "+49 151 1234"}),
        json!({"display_name": "Ada", "profile_pic_url": "ftp://cdn.example.com/a.png"}),
        json!({"display_name": "Ada", "profile_pic_url": format!("https://e.com/{}", "a".repeat(2040))}),
        json!(["display_name"]),
    ] {
        let (status, body) = stack.put(&user, "/api/v1/profile", bad.clone()).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        validation(&body);
    }
    assert_eq!(stack.get(&user, "/api/v1/profile").await, (200, full));

    // Left out: kept. Null: cleared.
    let (status, body) = stack
        .put(&user, "/api/v1/profile", json!({"display_name": "Ada"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["mobile"], "+4915112345678");
    assert_eq!(body["profile_pic_url"], "https://cdn.example.com/ada.png");
    let (status, body) = stack
        .put(
            &user,
            "/api/v1/profile",
            json!({"display_name": "Ada", "mobile": null, "profile_pic_url": null}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"user_id": user.id, "display_name": "Ada", "mobile": null, "profile_pic_url": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_status_rules() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let path = "/api/v1/provider/status";
    assert_eq!(
        stack.get(&user, path).await,
        (
            200,
            json!({"is_active": false, "service_types": [], "latitude": null, "longitude": null, "updated_at": null})
        )
    );
    let many: Vec<String> = (0..21).map(|i| format!("type{i}")).collect();
    for bad in [
        json!({}),
        json!({"is_active": "yes"}),
        json!({"is_active": true, "latitude": 1.0, "longitude": 2.0}),
        json!({"is_active": true, "service_types": [], "latitude": 1.0, "longitude": 2.0}),
        json!({"is_active": true, "service_types": many, "latitude": 1.0, "longitude": 2.0}),
        json!({"is_active": true, "service_types": ["x".repeat(65)], "latitude": 1.0, "longitude": 2.0}),
        json!({"is_active": true, "service_types": [" "], "latitude": 1.0, "longitude": 2.0}),
        json!({"is_active": true, "service_types": ["plumbing"]}),
        json!({"is_active": true, "service_types": ["plumbing"], "latitude": 1.0}),
        json!({"is_active": true, "service_types": ["plumbing"], "latitude": 91.0, "longitude": 2.0}),
        json!({"is_active": true, "service_types": ["plumbing"], "latitude": 1.0, "longitude": -181.0}),
        json!({"is_active": false, "latitude": 1.0}),
    ] {
        let (status, body) = stack.put(&user, path, bad.clone()).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        validation(&body);
    }
    let row: Option<bool> =
        sqlx::query_scalar("SELECT is_active FROM provider_active_status WHERE provider_id = $1")
            .bind(user.id)
            .fetch_optional(&stack.db)
            .await
            .expect("status row");
    assert_eq!(row, None, "a refused update stored a row");

    let (status, body) = stack.put(&user,
        path,
        json!({"is_active": true, "service_types": ["plumbing", " heating ", "plumbing"], "latitude": 52.5, "longitude": 13.4}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["service_types"], json!(["plumbing", "heating"]));
    assert_eq!(
        (body["latitude"].as_f64(), body["longitude"].as_f64()),
        (Some(52.5), Some(13.4))
    );
    assert!(
        body["updated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    assert_eq!(stack.get(&user, path).await, (200, body.clone()));

    // Going inactive keeps what is left out.
    let (status, off) = stack.put(&user, path, json!({"is_active": false})).await;
    assert_eq!(status, 200);
    assert_eq!(off["is_active"], false);
    assert_eq!(off["service_types"], json!(["plumbing", "heating"]));
    assert_eq!(off["latitude"], 52.5);
    assert_eq!(off["longitude"], 13.4);
    let (status, moved) = stack
        .put(
            &user,
            path,
            json!({"is_active": false, "latitude": 48.1, "longitude": 11.6}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (moved["latitude"].as_f64(), moved["longitude"].as_f64()),
        (Some(48.1), Some(11.6))
    );
    assert_eq!(moved["service_types"], json!(["plumbing", "heating"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeker_search_rules() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let path = "/api/v1/seeker/search";
    assert_eq!(
        stack.get(&user, path).await,
        (200, json!({"is_searching": false, "updated_at": null}))
    );
    for bad in [
        json!({}),
        json!({"is_searching": "yes"}),
        json!({"is_searching": null}),
    ] {
        let (status, body) = stack.put(&user, path, bad).await;
        assert_eq!(status, 400, "{body}");
        validation(&body);
    }
    let (status, body) = stack.put(&user, path, json!({"is_searching": true})).await;
    assert_eq!(status, 200);
    assert_eq!(body["is_searching"], true);
    assert!(
        body["updated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(stack.get(&user, path).await, (200, body));
    let (_, body) = stack.put(&user, path, json!({"is_searching": false})).await;
    assert_eq!(body["is_searching"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearby_providers_nearest_first_filtered_without_phones() {
    let stack = Stack::shared().await;
    let (lat, lon) = lonely_point();
    let north = |m: f64| lat + m / M_PER_DEG;
    let caller = stack.user();
    // The caller is an active provider right here, and never sees themselves.
    stack.make_active_provider(&caller, lat, lon).await;

    let mut made = Vec::new();
    for (metres, types, active) in [
        (1200.0, json!(["plumbing"]), true),
        (300.0, json!(["plumbing", "heating"]), true),
        (5000.0, json!(["plumbing"]), true),
        (500.0, json!(["electrical"]), true),
        (100.0, json!(["plumbing"]), false),
        (20_000.0, json!(["plumbing"]), true),
    ] {
        let provider = stack.user();
        let (status, _) = stack
            .put(
                &provider,
                "/api/v1/profile",
                json!({"display_name": format!("Pro {metres}"), "mobile": "+15557654321"}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, body) = stack.put(&provider,
            "/api/v1/provider/status",
            json!({"is_active": active, "service_types": types, "latitude": north(metres), "longitude": lon}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        made.push((metres, provider));
    }
    let id_at = |m: f64| {
        made.iter()
            .find(|(d, _)| *d == m)
            .map(|(_, p)| p.id)
            .expect("made")
    };

    let query =
        |extra: &str| format!("/api/v1/providers/nearby?latitude={lat}&longitude={lon}{extra}");
    let (status, body) = stack.get(&caller, &query("")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.to_string().contains("15557654321"),
        "a phone number leaked: {body}"
    );
    let providers = body["providers"].as_array().expect("providers");
    assert_eq!(
        providers[0],
        json!({"provider_id": id_at(300.0), "display_name": "Pro 300", "service_types": ["plumbing", "heating"], "distance_meters": 300.0, "distance": "300 meters"})
    );
    let got: Vec<(Value, Value, Value)> = providers
        .iter()
        .map(|p| {
            (
                p["provider_id"].clone(),
                p["distance_meters"].clone(),
                p["distance"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!(id_at(300.0)), json!(300.0), json!("300 meters")),
            (json!(id_at(500.0)), json!(500.0), json!("500 meters")),
            (json!(id_at(1200.0)), json!(1200.0), json!("1.2 km")),
            (json!(id_at(5000.0)), json!(5000.0), json!("5.0 km")),
        ]
    );

    let ids = |body: &Value| -> Vec<Value> {
        body["providers"]
            .as_array()
            .expect("providers")
            .iter()
            .map(|p| p["provider_id"].clone())
            .collect()
    };
    let (_, body) = stack.get(&caller, &query("&service_type=plumbing")).await;
    assert_eq!(
        ids(&body),
        vec![
            json!(id_at(300.0)),
            json!(id_at(1200.0)),
            json!(id_at(5000.0))
        ]
    );
    let (_, body) = stack.get(&caller, &query("&radius_m=1000")).await;
    assert_eq!(ids(&body), vec![json!(id_at(300.0)), json!(id_at(500.0))]);
    let (_, body) = stack.get(&caller, &query("&radius_m=25000")).await;
    assert_eq!(ids(&body).len(), 5);
    let (_, body) = stack.get(&caller, &query("&limit=1")).await;
    assert_eq!(ids(&body), vec![json!(id_at(300.0))]);
    let (status, body) = stack.get(&caller, &query("&limit=1000")).await;
    assert_eq!((status, ids(&body).len()), (200, 4));

    for bad in [
        format!("/api/v1/providers/nearby?longitude={lon}"),
        format!("/api/v1/providers/nearby?latitude=abc&longitude={lon}"),
        format!("/api/v1/providers/nearby?latitude=95&longitude={lon}"),
        query("&limit=0"),
        query("&limit=two"),
        query("&radius_m=-5"),
        query("&radius_m=200000"),
    ] {
        let (status, body) = stack.get(&caller, &bad).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        validation(&body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_session_needs_a_role_and_is_404_without_one() {
    let stack = Stack::shared().await;
    let user = stack.user();
    for path in [
        "/api/v1/sessions/active",
        "/api/v1/sessions/active?role=admin",
    ] {
        let (status, body) = stack.get(&user, path).await;
        assert_eq!(status, 400, "{path} -> {body}");
        validation(&body);
    }
    for role in ["seeker", "provider"] {
        let (status, body) = stack
            .get(&user, &format!("/api/v1/sessions/active?role={role}"))
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["code"], "not_found");
    }
}
