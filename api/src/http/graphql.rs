//! GraphQL over HTTP. `POST /graphql` takes one JSON request (no batches); `GET /graphql`
//! serves GraphiQL, or runs a query given in the URL (never a mutation: 405).
//! A request that cannot be parsed or fails validation gets 400 with only `errors`; a valid
//! one gets 200 with `data` (and `errors` for domain failures, each with `extensions.code`).

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{ErrorExtensions, Name, PathSegment, ServerError, Value};
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{Body, IntoResponse, Request, Response, handler};
use serde_json::json;

use crate::domain::rate_limit::RateLimitedAction;
use crate::error::AppError;
use crate::graphql::context::rate_subject;
use crate::graphql::guards::{PrecheckedLimits, field_limit};
use crate::graphql::schema::{operation_type, root_field_keys, root_fields};
use crate::graphql::{ClientIp, RequestAuth};
use crate::http::{HttpState, RequestId, playground};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// At most this many errors go back; a document with thousands of mistakes (unknown
/// directives, say) would otherwise answer megabytes.
const MAX_ERRORS: usize = 20;
/// What a 503 asks the client to wait, in seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: &str = "2";

#[handler]
pub async fn post(req: &Request, body: Body, state: Data<&Arc<HttpState>>) -> Response {
    let format = ResponseFormat::negotiate(req);
    let content_type = req.content_type().unwrap_or_default();
    if !content_type.starts_with(JSON) && !content_type.starts_with(GRAPHQL_RESPONSE_JSON) {
        return format.request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/json",
        );
    }
    let bytes = match body.into_bytes_limit(state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return format.request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large or could not be read",
            );
        }
    };
    let parsed: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            return format.request_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}"));
        }
    };
    if parsed.is_array() {
        return format.request_error(
            StatusCode::BAD_REQUEST,
            "batched requests are not supported; send one operation per request",
        );
    }
    if !parsed
        .get("query")
        .is_some_and(serde_json::Value::is_string)
    {
        return format.request_error(
            StatusCode::BAD_REQUEST,
            "the request needs a `query` string",
        );
    }
    match serde_json::from_value::<async_graphql::Request>(parsed) {
        Ok(request) => execute(req, &state, request, format, false).await,
        Err(e) => format.request_error(
            StatusCode::BAD_REQUEST,
            &format!("not a GraphQL request: {e}"),
        ),
    }
}

#[handler]
pub async fn get(req: &Request, state: Data<&Arc<HttpState>>) -> Response {
    let format = ResponseFormat::negotiate(req);
    let query_string = req.uri().query().unwrap_or_default();
    let has_query = query_string
        .split('&')
        .any(|pair| pair == "query" || pair.starts_with("query="));
    if !has_query {
        return if state.playground {
            playground::page()
        } else {
            StatusCode::NOT_FOUND.into_response()
        };
    }
    match async_graphql::http::parse_query_string(query_string) {
        Ok(request) => execute(req, &state, request, format, true).await,
        Err(e) => format.request_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn execute(
    req: &Request,
    state: &HttpState,
    mut request: async_graphql::Request,
    format: ResponseFormat,
    over_get: bool,
) -> Response {
    let operation_name = request.operation_name.clone();
    let document = match request.parsed_query() {
        Ok(document) => document,
        Err(e) => return format.document_errors(vec![e]),
    };
    let kind = operation_type(document, operation_name.as_deref());
    if over_get && kind.is_some_and(|kind| kind != OperationType::Query) {
        let mut response = format.request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    let schema = state
        .schemas
        .for_document(document, operation_name.as_deref())
        .clone();
    let fields: Vec<String> = root_fields(document, operation_name.as_deref())
        .into_iter()
        .filter(|field| !field.is_empty())
        .collect();

    let ip = state.trusted_proxies.client_ip(req);
    let auth = authenticate(req, state).await;
    let subject = rate_subject(auth, &ip);
    // The request's own limit and, for a mutation, the limits of the root fields charged to
    // the same caller: one Redis round trip for all of them.
    let mut prechecked: Vec<(String, RateLimitedAction)> = Vec::new();
    if kind == Some(OperationType::Mutation)
        && let Some(keys) = root_field_keys(document, operation_name.as_deref())
    {
        for (name, key) in keys {
            if let Some((action, field_subject)) = field_limit(&name, auth, &ip)
                && field_subject == subject
                && !prechecked.iter().any(|(k, _)| *k == key)
            {
                prechecked.push((key, action));
            }
        }
    }
    let actions: Vec<RateLimitedAction> = std::iter::once(RateLimitedAction::Request)
        .chain(prechecked.iter().map(|(_, action)| *action))
        .collect();
    let waits = match state.services.limiter.check_all(&subject, &actions).await {
        Ok(waits) => waits,
        Err(e) => return format.limited(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    if let Err(e) = crate::domain::rate_limit::verdict(waits.first().copied().unwrap_or(0)) {
        state.metrics.observe_refusal(e.code());
        return format.limited(StatusCode::TOO_MANY_REQUESTS, &e);
    }
    let verdicts = PrecheckedLimits(
        prechecked
            .into_iter()
            .zip(waits.into_iter().skip(1))
            .map(|((key, _), wait)| (key, wait))
            .collect(),
    );

    let request = request.data(auth).data(ClientIp(ip)).data(verdicts);
    let mut response = schema.execute(request).await;

    if response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
    {
        // Nothing ran: the document did not validate (or asked for an unknown operation).
        return format.document_errors(response.errors);
    }
    for error in &response.errors {
        null_failed_field(&mut response.data, &error.path);
    }
    cap_errors(&mut response.errors);
    let request_id = req.extensions().get::<RequestId>();
    for error in &mut response.errors {
        ensure_code(error, "INTERNAL");
        if let (Some(id), Some(extensions)) = (request_id, error.extensions.as_mut())
            && error_code_is(extensions, "INTERNAL")
        {
            extensions.set("requestId", id.0.clone());
        }
    }
    let operation = match kind {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        _ => "query",
    };
    state.metrics.observe_graphql(
        operation,
        &fields,
        response.errors.iter().filter_map(error_code),
    );
    if response
        .errors
        .iter()
        .any(|error| error_code(error) == Some("UNAVAILABLE"))
    {
        // The database did not answer in time: a clear, retryable 503 rather than a hang.
        let mut unavailable = format.respond(StatusCode::SERVICE_UNAVAILABLE, &response);
        unavailable.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER_SECS),
        );
        return unavailable;
    }
    format.respond(StatusCode::OK, &response)
}

/// Resolves the bearer token, if any, into the request's caller.
async fn authenticate(req: &Request, state: &HttpState) -> RequestAuth {
    let Some(header) = req.headers().get(header::AUTHORIZATION) else {
        return RequestAuth::Anonymous;
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return RequestAuth::Rejected("the Authorization header must be `Bearer <token>`");
    };
    match state.services.auth.viewer_for_token(token).await {
        Ok(viewer) => RequestAuth::Authenticated(viewer),
        Err(AppError::Unauthenticated(reason)) => RequestAuth::Rejected(reason),
        Err(_) => RequestAuth::Rejected("the access token is invalid"),
    }
}

fn error_code_is(extensions: &async_graphql::ErrorExtensionValues, code: &str) -> bool {
    matches!(extensions.get("code"), Some(Value::String(found)) if found == code)
}

fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// A field that failed answers `null` under its key (the GraphQL spec's "field error"), where
/// async-graphql leaves the key out: puts a null at the end of the error's `path` when the
/// value there is missing. When every root field failed, `data` becomes an object of nulls.
fn null_failed_field(data: &mut Value, path: &[PathSegment]) {
    if path.is_empty() {
        return;
    }
    if *data == Value::Null {
        *data = Value::Object(Default::default());
    }
    put_null(data, path);
}

fn put_null(value: &mut Value, path: &[PathSegment]) {
    match (value, path.split_first()) {
        (Value::Object(fields), Some((PathSegment::Field(key), rest))) => {
            match fields.get_mut(key.as_str()) {
                None => {
                    fields.insert(Name::new(key), Value::Null);
                }
                Some(child) => put_null(child, rest),
            }
        }
        (Value::List(items), Some((PathSegment::Index(index), rest))) => {
            if let Some(item) = items.get_mut(*index) {
                put_null(item, rest);
            }
        }
        _ => {}
    }
}

/// Keeps the first errors and says how many more there were.
fn cap_errors(errors: &mut Vec<ServerError>) {
    if errors.len() > MAX_ERRORS {
        let omitted = errors.len() - (MAX_ERRORS - 1);
        errors.truncate(MAX_ERRORS - 1);
        let mut more = ServerError::new(format!("{omitted} more errors not shown"), None);
        if let Some(code) = errors.first().and_then(error_code) {
            more.extensions
                .get_or_insert_with(Default::default)
                .set("code", code.to_owned());
        }
        errors.push(more);
    }
}

/// Every error leaves with a code; async-graphql's own (parse, validation) get `code`.
fn ensure_code(error: &mut ServerError, code: &'static str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

/// The media type a client asked for: `application/graphql-response+json` when accepted,
/// `application/json` otherwise.
#[derive(Clone, Copy)]
struct ResponseFormat(&'static str);

impl ResponseFormat {
    fn negotiate(req: &Request) -> Self {
        let accepts_graphql_response = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE_JSON));
        Self(if accepts_graphql_response {
            GRAPHQL_RESPONSE_JSON
        } else {
            JSON
        })
    }

    fn respond(self, status: StatusCode, body: &impl serde::Serialize) -> Response {
        match serde_json::to_vec(body) {
            Ok(bytes) => Response::builder()
                .status(status)
                .content_type(self.0)
                .body(bytes),
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a GraphQL response");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    fn request_error(self, status: StatusCode, message: &str) -> Response {
        let error = AppError::validation("request", message.to_owned()).extend();
        self.respond(
            status,
            &json!({ "errors": [{ "message": error.message, "extensions": error.extensions }] }),
        )
    }

    /// A request refused by a rate limit: `RATE_LIMITED` with `retryAfterSeconds`, and a
    /// `Retry-After` header.
    fn limited(self, status: StatusCode, error: &AppError) -> Response {
        let retry_after = match error {
            AppError::RateLimited { retry_after_secs } => *retry_after_secs,
            _ => 1,
        };
        let extended = error.extend();
        let mut response = self.respond(
            status,
            &json!({ "errors": [{ "message": extended.message, "extensions": extended.extensions }] }),
        );
        if let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    /// A document that does not parse or validate (or whose variables do not fit): nothing ran.
    /// HTTP 400 for clients that accept `application/graphql-response+json`; 200 for clients
    /// that accept only `application/json`, as the GraphQL-over-HTTP spec asks for them.
    fn document_errors(self, mut errors: Vec<ServerError>) -> Response {
        cap_errors(&mut errors);
        for error in &mut errors {
            ensure_code(error, "VALIDATION");
        }
        let status = if self.0 == GRAPHQL_RESPONSE_JSON {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        self.respond(status, &json!({ "errors": errors }))
    }
}
