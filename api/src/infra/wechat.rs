//! WeChat's server APIs: `code2Session` (a `wx.login` code for the member's openid),
//! `getStableAccessToken`, and `getuserphonenumber` (a `getPhoneNumber` code for the verified
//! number). The base URL is configurable so tests can point it at a local fake.

use std::time::Duration;

use serde::Deserialize;

use crate::config::Secret;
use crate::error::AppError;
use crate::infra::redis::Redis;

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

/// An access token and how long WeChat says it lasts.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in_secs: i64,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<i64>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// The number WeChat verified: `purePhoneNumber` without the country code.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfo {
    pub pure_phone_number: String,
    pub country_code: String,
}

#[derive(Debug, Deserialize)]
struct PhoneResponse {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    phone_info: Option<PhoneInfo>,
}

/// An answer that is only an errcode (0 = done).
#[derive(Debug, serde::Deserialize)]
struct ErrcodeResponse {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Why a WeChat API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WechatCallError {
    /// WeChat answered with this errcode.
    Rejected { errcode: i64, errmsg: String },
    /// WeChat could not be reached in time, or answered something unreadable.
    Unreachable,
}

impl WechatCallError {
    /// 40001 (invalid credential) and 42001 (expired): refresh the token once and retry.
    pub fn token_refused(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                errcode: 40001 | 42001,
                ..
            }
        )
    }
}

impl From<WechatCallError> for AppError {
    fn from(e: WechatCallError) -> Self {
        match e {
            WechatCallError::Rejected { errcode, errmsg } => {
                tracing::info!(wechat.errcode = errcode, wechat.errmsg = %errmsg, "WeChat refused an API call");
                Self::WechatApiFailed {
                    errcode: Some(errcode),
                    message: format!("WeChat refused the request (errcode {errcode})"),
                }
            }
            WechatCallError::Unreachable => Self::WechatApiFailed {
                errcode: None,
                message: "WeChat could not be reached, please try again".into(),
            },
        }
    }
}

/// A client for WeChat's server APIs.
#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    base_url: String,
    appid: String,
    secret: Secret,
}

impl WechatClient {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        base_url: &str,
        appid: &str,
        secret: Secret,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            appid: appid.to_owned(),
            secret,
        })
    }

    /// The mini-program's appid (the key of its access token).
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// `getStableAccessToken`: the current access token, or a new one when `force_refresh`
    /// (after WeChat refused the current one).
    ///
    /// # Errors
    /// WeChat's errcode, or unreachable.
    pub async fn stable_token(&self, force_refresh: bool) -> Result<AccessToken, WechatCallError> {
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret.expose(),
            "force_refresh": force_refresh,
        });
        let answer: TokenResponse = self
            .post(&format!("{}/cgi-bin/stable_token", self.base_url), &body)
            .await?;
        match answer {
            TokenResponse {
                access_token: Some(token),
                expires_in: Some(expires_in),
                ..
            } if !token.is_empty() => Ok(AccessToken {
                token,
                expires_in_secs: expires_in,
            }),
            TokenResponse {
                errcode, errmsg, ..
            } => Err(WechatCallError::Rejected { errcode, errmsg }),
        }
    }

    /// `getuserphonenumber`: the number behind a `getPhoneNumber` button's code. The code is
    /// single-use and the call is billed: the caller retries it only when WeChat refused the
    /// access token, never after WeChat accepted the code.
    ///
    /// # Errors
    /// WeChat's errcode, or unreachable.
    pub async fn user_phone_number(
        &self,
        access_token: &str,
        code: &str,
    ) -> Result<PhoneInfo, WechatCallError> {
        let url = format!(
            "{}/wxa/business/getuserphonenumber?access_token={access_token}",
            self.base_url
        );
        let answer: PhoneResponse = self
            .post(&url, &serde_json::json!({ "code": code }))
            .await?;
        match answer {
            PhoneResponse {
                errcode: 0,
                phone_info: Some(info),
                ..
            } => Ok(info),
            PhoneResponse {
                errcode, errmsg, ..
            } => Err(WechatCallError::Rejected {
                // errcode 0 without phone_info is a malformed answer, not a success.
                errcode: if errcode == 0 { -1 } else { errcode },
                errmsg,
            }),
        }
    }

    /// `subscribeMessage.send`: one subscribe message (`touser`, `template_id`, `page`, `data`,
    /// `miniprogram_state`, `lang` in `message`).
    ///
    /// # Errors
    /// WeChat's errcode, or unreachable.
    pub async fn send_subscribe_message(
        &self,
        access_token: &str,
        message: &serde_json::Value,
    ) -> Result<(), WechatCallError> {
        let url = format!(
            "{}/cgi-bin/message/subscribe/send?access_token={access_token}",
            self.base_url
        );
        let answer: ErrcodeResponse = self.post(&url, message).await?;
        match answer.errcode {
            0 => Ok(()),
            errcode => Err(WechatCallError::Rejected {
                errcode,
                errmsg: answer.errmsg,
            }),
        }
    }

    /// POSTs JSON and reads the answer, which WeChat may label text/plain.
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<T, WechatCallError> {
        let unreachable = |e: reqwest::Error| {
            tracing::warn!(error = %e, "a WeChat API request failed");
            WechatCallError::Unreachable
        };
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unreachable)?;
        let text = response.text().await.map_err(unreachable)?;
        serde_json::from_str(&text).map_err(|e| {
            tracing::warn!(error = %e, "a WeChat API answered something unreadable");
            WechatCallError::Unreachable
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

/// The access token in Redis, so an instance that does not hold it in memory gets it without a
/// query. A cache only: the database row stays the shared truth, and a Redis failure is a miss.
#[derive(Clone)]
pub struct TokenCache {
    redis: Redis,
}

impl TokenCache {
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    fn key(&self, appid: &str) -> String {
        self.redis.key(&["wechat", "token", appid])
    }

    /// The cached token and how long Redis keeps it still, if Redis holds one and answers.
    pub async fn get(&self, appid: &str) -> Option<(String, Duration)> {
        let mut connection = self.redis.connection().await.ok()?;
        let key = self.key(appid);
        let cached: Result<(Option<String>, i64), _> = self.redis.observe(
            redis::pipe()
                .cmd("GET")
                .arg(&key)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut connection)
                .await,
        );
        let (token, millis) = cached.ok()?;
        Some((token?, Duration::from_millis(u64::try_from(millis).ok()?)))
    }

    /// Caches `token` for `ttl`; a failure is logged and otherwise ignored.
    pub async fn put(&self, appid: &str, token: &str, ttl: Duration) {
        let Ok(millis) = u64::try_from(ttl.as_millis()) else {
            return;
        };
        if millis == 0 {
            return;
        }
        let Ok(mut connection) = self.redis.connection().await else {
            return;
        };
        let stored: Result<(), _> = self.redis.observe(
            redis::cmd("SET")
                .arg(self.key(appid))
                .arg(token)
                .arg("PX")
                .arg(millis)
                .query_async(&mut connection)
                .await,
        );
        if let Err(e) = stored {
            tracing::warn!(error = %e, "could not cache the WeChat access token in Redis");
        }
    }
}
