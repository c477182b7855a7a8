//! A local fake of WeChat's servers that speaks their protocol: `code2Session` for member
//! login, `stable_token` for the access token, `getuserphonenumber` for verified phone
//! numbers, `subscribe/send` for subscribe messages. It records what it received and can be
//! told to answer an errcode, to stall, or to be down.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::{WECHAT_APPID, WECHAT_SECRET};

/// Answers `code2Session` like WeChat: `wx-code-<name>` is a valid code for `openid-<name>`
/// with `unionid-<name>`, and `wx-code-<name>@<app>` the same user in another of the brand's
/// apps (`openid-<name>@<app>`, the same unionid); anything else is errcode 40029. The body is labelled text/plain, as WeChat does.
pub(crate) struct FakeCode2Session;

impl Respond for FakeCode2Session {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let params: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let credentials_ok = params.get("appid").map(String::as_str) == Some(WECHAT_APPID)
            && params.get("secret").map(String::as_str) == Some(WECHAT_SECRET)
            && params.get("grant_type").map(String::as_str) == Some("authorization_code");
        let body = match params
            .get("js_code")
            .and_then(|c| c.strip_prefix("wx-code-"))
        {
            _ if !credentials_ok => json!({ "errcode": 40125, "errmsg": "invalid appsecret" }),
            Some(name) if !name.is_empty() => json!({
                "openid": format!("openid-{name}"),
                "session_key": "c2Vzc2lvbi1rZXk=",
                "unionid": format!("unionid-{}", name.split('@').next().unwrap_or(name)),
            }),
            _ => json!({ "errcode": 40029, "errmsg": "invalid code" }),
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/plain")
            .set_body_string(body.to_string())
    }
}

/// The fake's memory: tokens issued, requests received, errcodes queued.
#[derive(Default)]
struct State {
    issued: u32,
    current_token: Option<String>,
    /// `force_refresh` of every `stable_token` request, in order.
    token_requests: Vec<bool>,
    /// Every `getuserphonenumber` request's access token and code.
    phone_requests: Vec<(String, String)>,
    used_codes: HashSet<String>,
    /// Errcodes the next `getuserphonenumber` calls answer, in order.
    phone_errcodes: VecDeque<i64>,
    /// How long the next `getuserphonenumber` answers are held back, in order.
    phone_stalls: VecDeque<Duration>,
    /// Every `subscribe/send` request WeChat accepted: its access token and body.
    messages: Vec<(String, Value)>,
    /// Every `subscribe/send` request, accepted or not.
    message_attempts: usize,
    /// Errcodes the next `subscribe/send` calls answer, in order.
    message_errcodes: VecDeque<i64>,
    /// While true, `subscribe/send` answers HTTP 503 (WeChat unreachable).
    messages_down: bool,
    /// How long the next `subscribe/send` answers are held back, in order.
    message_stalls: VecDeque<Duration>,
}

/// The access-token and phone-number half of the fake. `phone-code-<country code>-<number>`
/// (with an optional `-<tag>`) is a valid `getPhoneNumber` code, once; anything else is
/// errcode 40029.
#[derive(Clone, Default)]
pub struct FakeWechat(Arc<Mutex<State>>);

impl FakeWechat {
    pub(crate) async fn mount(&self, server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .respond_with(FakeCode2Session)
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path("/cgi-bin/stable_token"))
            .respond_with(StableToken(self.clone()))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path("/cgi-bin/message/subscribe/send"))
            .respond_with(SubscribeSend(self.clone()))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path("/wxa/business/getuserphonenumber"))
            .respond_with(PhoneNumber(self.clone()))
            .mount(server)
            .await;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("the fake's state")
    }

    /// `force_refresh` of every `stable_token` request so far.
    pub fn token_requests(&self) -> Vec<bool> {
        self.state().token_requests.clone()
    }

    /// How many `getuserphonenumber` requests arrived.
    pub fn phone_requests(&self) -> usize {
        self.state().phone_requests.len()
    }

    /// The subscribe messages WeChat accepted so far: the access token used and the body.
    pub fn messages(&self) -> Vec<(String, Value)> {
        self.state().messages.clone()
    }

    /// Every `subscribe/send` request so far, accepted or not.
    pub fn message_attempts(&self) -> usize {
        self.state().message_attempts
    }

    /// The next `subscribe/send` calls answer these errcodes, in order (40001 also stops
    /// accepting the current token).
    pub fn fail_next_messages(&self, errcodes: &[i64]) {
        let mut state = self.state();
        if errcodes.contains(&40001) {
            state.current_token = Some("revoked-elsewhere".into());
        }
        state.message_errcodes.extend(errcodes);
    }

    /// The next `subscribe/send` call answers only after `delay` (WeChat hanging), and then
    /// with errcode -1 (nothing sent).
    pub fn stall_next_message(&self, delay: Duration) {
        self.state().message_stalls.push_back(delay);
    }

    /// While `down`, `subscribe/send` answers HTTP 503.
    pub fn set_messages_down(&self, down: bool) {
        self.state().messages_down = down;
    }

    /// The next `getuserphonenumber` call answers only after `delay` (WeChat hanging).
    pub fn stall_next_phone_request(&self, delay: Duration) {
        self.state().phone_stalls.push_back(delay);
    }

    /// The next `getuserphonenumber` call answers `errcode` (40001 also stops accepting the
    /// current token, as WeChat does when another party refreshed it).
    pub fn fail_next_phone_request(&self, errcode: i64) {
        let mut state = self.state();
        if errcode == 40001 {
            state.current_token = Some("revoked-elsewhere".into());
        }
        state.phone_errcodes.push_back(errcode);
    }
}

fn wechat_json(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/plain")
        .set_body_string(body.to_string())
}

struct StableToken(FakeWechat);

impl Respond for StableToken {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if body["appid"] != WECHAT_APPID
            || body["secret"] != WECHAT_SECRET
            || body["grant_type"] != "client_credential"
        {
            return wechat_json(&json!({ "errcode": 40013, "errmsg": "invalid appid" }));
        }
        let force = body["force_refresh"].as_bool().unwrap_or(false);
        let mut state = self.0.state();
        state.token_requests.push(force);
        let token = match state.current_token.clone() {
            Some(token) if !force && token != "revoked-elsewhere" => token,
            _ => {
                state.issued += 1;
                let token = format!("token-{}", state.issued);
                state.current_token = Some(token.clone());
                token
            }
        };
        wechat_json(&json!({ "access_token": token, "expires_in": 7200 }))
    }
}

/// The `access_token` query parameter of a server-API call.
fn access_token(request: &wiremock::Request) -> String {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == "access_token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

struct PhoneNumber(FakeWechat);

impl Respond for PhoneNumber {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let token = access_token(request);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let code = body["code"].as_str().unwrap_or_default().to_owned();
        let mut state = self.0.state();
        state.phone_requests.push((token.clone(), code.clone()));
        if let Some(delay) = state.phone_stalls.pop_front() {
            return wechat_json(&json!({ "errcode": -1, "errmsg": "too late" })).set_delay(delay);
        }
        if let Some(errcode) = state.phone_errcodes.pop_front() {
            return wechat_json(&json!({ "errcode": errcode, "errmsg": "told to fail" }));
        }
        if state.current_token.as_deref() != Some(token.as_str()) {
            return wechat_json(&json!({ "errcode": 40001, "errmsg": "invalid credential" }));
        }
        // `phone-code-<country code>-<number>`, with an optional `-<tag>` to make another code
        // for the same number.
        let parsed = code
            .strip_prefix("phone-code-")
            .and_then(|rest| {
                let mut parts = rest.splitn(3, '-');
                Some((parts.next()?, parts.next()?))
            })
            .filter(|_| !state.used_codes.contains(&code));
        let Some((country_code, number)) = parsed else {
            return wechat_json(&json!({ "errcode": 40029, "errmsg": "invalid code" }));
        };
        let answer = json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": format!("+{country_code}{number}"),
                "purePhoneNumber": number,
                "countryCode": country_code,
                "watermark": { "timestamp": 0, "appid": WECHAT_APPID },
            },
        });
        state.used_codes.insert(code);
        wechat_json(&answer)
    }
}

struct SubscribeSend(FakeWechat);

impl Respond for SubscribeSend {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let token = access_token(request);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut state = self.0.state();
        state.message_attempts += 1;
        if state.messages_down {
            return ResponseTemplate::new(503);
        }
        if let Some(delay) = state.message_stalls.pop_front() {
            return wechat_json(&json!({ "errcode": -1, "errmsg": "system busy" }))
                .set_delay(delay);
        }
        if let Some(errcode) = state.message_errcodes.pop_front() {
            return wechat_json(&json!({ "errcode": errcode, "errmsg": "told to fail" }));
        }
        if state.current_token.as_deref() != Some(token.as_str()) {
            return wechat_json(&json!({ "errcode": 40001, "errmsg": "invalid credential" }));
        }
        let well_formed = body["touser"]
            .as_str()
            .is_some_and(|s| s.starts_with("openid-"))
            && body["template_id"].as_str().is_some_and(|s| !s.is_empty())
            && body["data"].as_object().is_some_and(|data| {
                !data.is_empty() && data.values().all(|field| field["value"].is_string())
            });
        if !well_formed {
            return wechat_json(&json!({ "errcode": 47003, "errmsg": "argument invalid!" }));
        }
        state.messages.push((token, body));
        wechat_json(&json!({ "errcode": 0, "errmsg": "ok" }))
    }
}
