//! Webhooks for the brand's other systems (SPEC §17): the events, where they may be sent, and
//! how a call is signed.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::AppError;

/// What happened. Names are derived (`POINTS_CHANGED` …), and so is the list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookEvent {
    PointsChanged,
    TierChanged,
    RedemptionCreated,
    RedemptionUpdated,
    CouponWrittenOff,
    MemberRegistered,
    CampaignGranted,
}

impl WebhookEvent {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// A registered receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub events: Vec<WebhookEvent>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Webhook {
    pub fn wants(&self, event: WebhookEvent) -> bool {
        self.events.contains(&event)
    }
}

/// A receiver's URL: http(s), at most 2048 characters, and — unless `allow_private` — not a
/// loopback, private, link-local or otherwise internal address, so an operator account cannot
/// make the server call into its own network.
///
/// # Errors
/// `VALIDATION` on `url`.
pub fn check_url(raw: &str, allow_private: bool) -> Result<String, AppError> {
    let invalid = |why: &str| AppError::validation("url", why.to_owned());
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err(invalid("at most 2048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_unparsable| invalid("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be http or https"));
    }
    let internal = match url.host() {
        None => return Err(invalid("has no host")),
        Some(url::Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost") || domain.ends_with(".internal")
        }
        Some(url::Host::Ipv4(ip)) => internal_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => internal_ip(IpAddr::V6(ip)),
    };
    if internal && !allow_private {
        return Err(invalid(
            "loopback and private-network addresses are refused in production",
        ));
    }
    Ok(url.to_string())
}

fn internal_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link local.
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| internal_ip(IpAddr::V4(v4)))
        }
    }
}

/// A webhook secret: 16 to 256 characters, so a signature cannot be guessed.
///
/// # Errors
/// `VALIDATION` on `secret`.
pub fn check_secret(raw: &str) -> Result<&str, AppError> {
    if (16..=256).contains(&raw.chars().count()) && !raw.chars().any(char::is_control) {
        Ok(raw)
    } else {
        Err(AppError::validation(
            "secret",
            "must be 16 to 256 characters, without control characters",
        ))
    }
}

/// `X-Membercard-Signature`: `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under the
/// webhook's secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/hook",
            "http://localhost:8080/",
            "https://10.1.2.3/x",
            "http://192.168.0.1/",
            "http://172.16.5.4/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://100.64.0.1/",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
            assert!(check_url(url, true).is_ok(), "{url}");
        }
        assert!(check_url("https://crm.example.com/hooks/membercard", false).is_ok());
        assert!(check_url("ftp://example.com/", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // The same value as `printf '1700000000.{"id":"1"}' | openssl dgst -sha256 -hmac a-secret-of-16-chars`.
        let a = signature("a-secret-of-16-chars", 1_700_000_000, r#"{"id":"1"}"#);
        assert_eq!(
            a,
            "sha256=a86d45c0ff24779cfbf4583c102f22d24c32cc277870017c8e12f063d9997f7e"
        );
        assert_ne!(
            a,
            signature("another-secret-16ch", 1_700_000_000, r#"{"id":"1"}"#)
        );
        assert_ne!(
            a,
            signature("a-secret-of-16-chars", 1_700_000_001, r#"{"id":"1"}"#)
        );
    }
}
