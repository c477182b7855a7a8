//! GraphQL over HTTP: status codes, media types, GraphiQL, limits, health, and errors that
//! never leak internals.

use serde_json::{Value, json};
use tests::{spawn_app, spawn_app_with};

/// The introspection query GraphiQL sends to load the schema.
const INTROSPECTION: &str = r"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}";

#[tokio::test]
async fn get_serves_graphiql() {
    let app = spawn_app().await;

    let response = app.client.get(app.graphql_url()).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("GraphiQL.createFetcher"), "{page}");
    // Offline: nothing comes from another host, every asset from this server.
    assert!(
        !page.contains("https://") && !page.contains("http://"),
        "{page}"
    );
    let assets: Vec<&str> = page
        .split('"')
        .filter(|part| part.starts_with("/graphiql/"))
        .collect();
    assert_eq!(assets.len(), 4, "{page}");
    for asset in assets {
        let served = app
            .client
            .get(format!("{}{asset}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200, "{asset}");
        let media_type = served.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            media_type.starts_with("text/javascript") || media_type.starts_with("text/css"),
            "{asset}: {media_type}"
        );
        assert!(served.bytes().await.unwrap().len() > 1_000, "{asset}");
    }
    let missing = app
        .client
        .get(format!("{}/graphiql/nope.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn graphiql_can_be_switched_off() {
    let app = spawn_app_with(&[("MEMBERCARD_PLAYGROUND", "false")]).await;

    let response = app.client.get(app.graphql_url()).send().await.unwrap();
    let asset = app
        .client
        .get(format!("{}/graphiql/graphiql.min.js", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
    assert_eq!(asset.status(), 404);
}

#[tokio::test]
async fn a_query_runs_over_get_but_a_mutation_is_refused_with_405() {
    let app = spawn_app().await;

    let query = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "{ serverTime { timeZone } }")])
        .send()
        .await
        .unwrap();
    let mutation = app
        .client
        .get(app.graphql_url())
        .query(&[(
            "query",
            "mutation { memberLogin(code: \"dev:x\") { token } }",
        )])
        .send()
        .await
        .unwrap();

    assert_eq!(query.status(), 200);
    let body: Value = query.json().await.unwrap();
    assert_eq!(body["data"]["serverTime"]["timeZone"], "Asia/Shanghai");
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let body: Value = mutation.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    assert_eq!(app.count("members").await, 0);
}

#[tokio::test]
async fn unparsable_and_invalid_requests_get_400_with_only_errors() {
    let app = spawn_app().await;
    // Not a GraphQL request at all: 400 whatever the client accepts.
    let requests = [
        "{not json",
        r#"[{"query": "{ serverTime { now } }"}]"#,
        r#"{"variables": {}}"#,
    ];
    // A GraphQL request whose document does not parse or validate, or whose variables do not
    // fit: 400 for clients that accept application/graphql-response+json, 200 with only errors
    // for clients that accept only application/json (the GraphQL-over-HTTP spec).
    let documents = [
        r#"{"query": "{ serverTime { "}"#,
        r#"{"query": "{ noSuchField }"}"#,
        r#"{"query": "query($n: Int!) { serverTime { now } }", "variables": {"n": "x"}}"#,
    ];
    let modern = Some("application/graphql-response+json");
    let legacy = Some("application/json");

    for body in requests {
        for accept in [modern, legacy, None] {
            let (status, answer) = app
                .post_raw_accepting("application/json", accept, body)
                .await;
            assert_eq!(status, 400, "{body} -> {answer}");
            assert!(answer.get("data").is_none(), "{body} -> {answer}");
            assert_eq!(answer["errors"][0]["extensions"]["code"], "VALIDATION");
        }
    }
    for body in documents {
        for (accept, expected) in [(modern, 400), (legacy, 200), (None, 200)] {
            let (status, answer) = app
                .post_raw_accepting("application/json", accept, body)
                .await;
            assert_eq!(status, expected, "{accept:?} {body} -> {answer}");
            assert!(answer.get("data").is_none(), "{body} -> {answer}");
            assert_eq!(answer["errors"][0]["extensions"]["code"], "VALIDATION");
        }
    }
}

#[tokio::test]
async fn other_media_types_get_415() {
    let app = spawn_app().await;

    let (status, answer) = app
        .post_raw("text/plain", r#"{"query": "{ serverTime { now } }"}"#)
        .await;

    assert_eq!(status, 415);
    assert_eq!(answer["errors"][0]["extensions"]["code"], "VALIDATION");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let app = spawn_app_with(&[("MEMBERCARD_MAX_BODY_BYTES", "1024")]).await;
    let padding = " ".repeat(2048);

    let (status, answer) = app
        .post_raw(
            "application/json",
            &format!(r#"{{"query": "{{ serverTime {{ now }} {padding}}}"}}"#),
        )
        .await;

    assert_eq!(status, 413);
    assert_eq!(answer["errors"][0]["extensions"]["code"], "VALIDATION");
}

#[tokio::test]
async fn the_graphql_response_media_type_is_used_when_accepted() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.graphql_url())
        .header(
            "accept",
            "application/graphql-response+json, application/json;q=0.9",
        )
        .json(&json!({ "query": "{ serverTime { now } }" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
}

#[tokio::test]
async fn domain_errors_keep_http_200_with_data_and_a_code() {
    let app = spawn_app().await;

    let res = app
        .gql(None, "{ me { id } serverTime { timeZone } }", json!({}))
        .await;

    assert_eq!(res.status, 200);
    res.expect_error("UNAUTHENTICATED");
    assert_eq!(res.errors()[0]["path"], json!(["me"]));
    // The failed field is there, as null (GraphQL's field error), beside the one that worked.
    assert_eq!(res.data()["me"], Value::Null);
    assert!(
        res.data().as_object().unwrap().contains_key("me"),
        "{}",
        res.body
    );
    assert_eq!(res.data()["serverTime"]["timeZone"], "Asia/Shanghai");

    let alone = app
        .gql(None, "{ a: me { id } b: me { id } }", json!({}))
        .await;
    assert_eq!(alone.status, 200);
    assert_eq!(
        alone.data(),
        &json!({ "a": null, "b": null }),
        "{}",
        alone.body
    );
}

#[tokio::test]
async fn depth_and_complexity_limits_reject_a_query_with_400() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_GRAPHQL_MAX_DEPTH", "3"),
        ("MEMBERCARD_GRAPHQL_MAX_COMPLEXITY", "4"),
    ])
    .await;

    let deep = app
        .gql(
            None,
            "{ serverTime { now } __schema { types { fields { name } } } }",
            json!({}),
        )
        .await;
    let wide = app
        .gql(
            None,
            "{ serverTime { now businessDate timeZone testClockEnabled testClockOffsetSeconds } }",
            json!({}),
        )
        .await;

    assert_eq!(deep.status, 400, "{}", deep.body);
    deep.expect_error("VALIDATION");
    assert_eq!(wide.status, 400, "{}", wide.body);
    wide.expect_error("VALIDATION");
}

#[tokio::test]
async fn a_list_costs_what_its_first_asks_for() {
    let app = spawn_app().await;
    let board = "leaderboard(board: STREAK, first: 100) { entries { rank score displayName } }";
    let one = app.gql(None, &format!("{{ {board} }}"), json!({})).await;
    let aliases: String = (0..100).map(|i| format!("b{i}: {board} ")).collect();

    let many = app.gql(None, &format!("{{ {aliases} }}"), json!({})).await;

    one.expect_ok();
    assert_eq!(many.status, 400, "{}", many.body);
    many.expect_error("VALIDATION");
    assert!(
        many.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{}",
        many.body
    );
}

#[tokio::test]
async fn thousands_of_mistakes_answer_a_short_error_list() {
    let app = spawn_app().await;
    let directives: String = (0..5_000).map(|i| format!("@d{i} ")).collect();

    let res = app
        .gql(
            None,
            &format!("{{ serverTime {directives} {{ now }} }}"),
            json!({}),
        )
        .await;

    assert_eq!(res.status, 400, "{}", res.body);
    let errors = res.errors();
    assert_eq!(errors.len(), 20);
    let last = errors[19]["message"].as_str().unwrap();
    assert!(last.ends_with("more errors not shown"), "{last}");
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "VALIDATION")
    );
}

#[tokio::test]
async fn graphiql_loads_its_schema_even_with_tight_limits() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_GRAPHQL_MAX_DEPTH", "3"),
        ("MEMBERCARD_GRAPHQL_MAX_COMPLEXITY", "4"),
    ])
    .await;

    let res = app.gql(None, INTROSPECTION, json!({})).await;

    let schema = &res.expect_ok()["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    assert!(schema["types"].as_array().unwrap().len() > 10);
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = spawn_app_with(&[("MEMBERCARD_INTROSPECTION", "false")]).await;

    let res = app
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;

    // async-graphql answers a disabled introspection field with null: nothing of the schema leaks.
    assert_eq!(res.status, 200);
    assert_eq!(res.body, json!({ "data": { "__schema": null } }));
}

#[tokio::test]
async fn an_internal_failure_says_internal_and_nothing_more() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    app.execute("ALTER TABLE members RENAME TO members_gone")
        .await;

    let res = app.gql(Some(&alice), "{ me { id } }", json!({})).await;

    res.expect_error("INTERNAL");
    assert_eq!(res.errors()[0]["message"], "internal error");
    let text = res.body.to_string().to_lowercase();
    for leak in ["members", "sql", "table", "relation", "select"] {
        assert!(!text.contains(leak), "leaked {leak}: {text}");
    }
}

#[tokio::test]
async fn healthz_answers_and_readyz_reports_each_dependency() {
    let app = spawn_app().await;

    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "up");
    let expected_redis = if app.redis_prefix.is_some() {
        "up"
    } else {
        "disabled"
    };
    assert_eq!(body["redis"], expected_redis);
}

/// The value of the one sample of `metrics` whose name and labels start with `series`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_root_fields_and_error_codes() {
    let app = spawn_app().await;
    let member = app.login_member("metrics").await;
    app.sign_in(&member).await;
    app.gql(None, "{ me { id } }", json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
    let (status, _) = app.post_raw("application/json", "{ not json").await;
    assert_eq!(status, 400);

    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for (series, expected) in [
        (
            r#"membercard_graphql_root_fields_total{field="signIn",operation="mutation",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"membercard_graphql_root_fields_total{field="me",operation="query",outcome="error"}"#,
            1.0,
        ),
        (
            r#"membercard_graphql_errors_total{code="UNAUTHENTICATED"}"#,
            1.0,
        ),
        // login, sign-in and the refused `me`; the unparsable body is a 400.
        (
            r#"membercard_http_requests_total{method="POST",route="/graphql",status="200"}"#,
            3.0,
        ),
        (
            r#"membercard_http_requests_total{method="POST",route="/graphql",status="400"}"#,
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(expected), "{series}");
    }
    assert!(text.contains(
        r#"membercard_http_request_duration_seconds_bucket{route="/graphql",le="0.001"}"#
    ));
    // What the process holds: the pool, sockets, the build, memory, CPU and files.
    assert_eq!(sample(&text, "membercard_websocket_connections"), Some(0.0));
    assert!(
        sample(&text, r#"membercard_db_pool_connections{state="open"}"#).is_some_and(|n| n >= 1.0)
    );
    assert!(
        sample(&text, r#"membercard_db_pool_connections{state="max"}"#).is_some_and(|n| n >= 1.0)
    );
    assert!(sample(&text, r#"membercard_db_pool_connections{state="idle"}"#).is_some());
    assert!(text.contains("membercard_build_info{version=\""), "{text}");
    for series in [
        "membercard_process_resident_memory_bytes",
        "membercard_process_open_fds",
    ] {
        assert!(sample(&text, series).is_some_and(|n| n > 0.0), "{series}");
    }
    assert!(sample(&text, "membercard_process_cpu_seconds_total").is_some());
    // The Redis breaker's state is there when Redis is.
    assert_eq!(
        sample(&text, "membercard_redis_circuit_open"),
        app.redis_prefix.as_ref().map(|_| 0.0)
    );

    // Switched off, the route does not exist.
    let quiet = spawn_app_with(&[("MEMBERCARD_METRICS", "false")]).await;
    let response = quiet
        .client
        .get(format!("{}/metrics", quiet.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
