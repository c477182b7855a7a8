//! WeChat's `code2Session`: trades a `wx.login` code for the member's openid.
//! The base URL is configurable so tests can point it at a local fake.

use std::time::Duration;

use serde::Deserialize;

use crate::config::Secret;
use crate::error::AppError;

/// What WeChat tells us about the member behind a login code.
#[derive(Debug, Clone)]
pub struct WechatSession {
    pub openid: String,
    pub unionid: Option<String>,
}

/// WeChat's answer: either an openid (with a session key we do not keep) or an errcode.
#[derive(Debug, Deserialize)]
struct Code2SessionResponse {
    openid: Option<String>,
    unionid: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// A client for the mini-program login API.
pub struct WechatClient {
    http: reqwest::Client,
    base_url: String,
    appid: String,
    secret: Secret,
}

impl WechatClient {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base_url: &str, appid: &str, secret: Secret) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            appid: appid.to_owned(),
            secret,
        })
    }

    /// Exchanges a login code for the member's identity.
    ///
    /// # Errors
    /// `WECHAT_LOGIN_FAILED` when WeChat rejects the code or cannot be reached.
    pub async fn code_to_session(&self, code: &str) -> Result<WechatSession, AppError> {
        let unreachable = |e: reqwest::Error| {
            tracing::warn!(error = %e, "WeChat code2Session request failed");
            AppError::WechatLoginFailed("WeChat could not be reached, please try again".into())
        };
        let response = self
            .http
            .get(format!("{}/sns/jscode2session", self.base_url))
            .query(&[
                ("appid", self.appid.as_str()),
                ("secret", self.secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unreachable)?;
        // WeChat answers JSON labelled text/plain, so read text and parse it ourselves.
        let body = response.text().await.map_err(unreachable)?;
        let parsed: Code2SessionResponse = serde_json::from_str(&body).map_err(|e| {
            tracing::warn!(error = %e, "WeChat code2Session answered something unreadable");
            AppError::WechatLoginFailed("WeChat answered unexpectedly, please try again".into())
        })?;
        match parsed {
            Code2SessionResponse {
                errcode: 0,
                openid: Some(openid),
                unionid,
                ..
            } if !openid.is_empty() => Ok(WechatSession { openid, unionid }),
            Code2SessionResponse {
                errcode, errmsg, ..
            } => {
                tracing::info!(wechat.errcode = errcode, wechat.errmsg = %errmsg, "WeChat rejected a login code");
                Err(AppError::WechatLoginFailed(format!(
                    "WeChat rejected the login code (errcode {errcode})"
                )))
            }
        }
    }
}
