//! A local fake of WeChat's servers: `code2Session` for member login.

use std::collections::HashMap;

use serde_json::json;
use wiremock::{Respond, ResponseTemplate};

use crate::{WECHAT_APPID, WECHAT_SECRET};

/// Answers `code2Session` like WeChat: `wx-code-<name>` is a valid code for `openid-<name>`;
/// anything else is errcode 40029. The body is labelled text/plain, as WeChat does.
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
                "unionid": format!("unionid-{name}"),
            }),
            _ => json!({ "errcode": 40029, "errmsg": "invalid code" }),
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/plain")
            .set_body_string(body.to_string())
    }
}
