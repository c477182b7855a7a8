//! Signed access tokens (JWT, HS256). Expiry is checked against the service clock, not the
//! wall clock, so the test clock moves token lifetimes too.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::auth::{Role, Viewer};
use crate::domain::ids::{AdminId, MemberId};
use crate::error::AppError;

const ISSUER: &str = "membercard";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// `member:<id>` or `admin:<id>`.
    sub: String,
    /// The admin role; absent for members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    iat: i64,
    exp: i64,
}

/// An issued token and when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues and checks access tokens with one shared secret.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    member_ttl_seconds: i64,
    admin_ttl_seconds: i64,
}

impl TokenService {
    pub fn new(secret: &[u8], member_ttl_seconds: i64, admin_ttl_seconds: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        // Expiry is checked against the service clock in `verify`.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iss", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            member_ttl_seconds,
            admin_ttl_seconds,
        }
    }

    /// A token for `viewer`, valid from `now` for the viewer kind's lifetime.
    ///
    /// # Errors
    /// `INTERNAL` if signing fails.
    pub fn issue(&self, viewer: Viewer, now: DateTime<Utc>) -> Result<IssuedToken, AppError> {
        let (sub, role, ttl) = match viewer {
            Viewer::Member(id) => (format!("member:{id}"), None, self.member_ttl_seconds),
            Viewer::Admin { id, role } => (
                format!("admin:{id}"),
                Some(role.as_str().to_owned()),
                self.admin_ttl_seconds,
            ),
        };
        let expires_at = now + chrono::TimeDelta::seconds(ttl);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub,
            role,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The viewer a token speaks for, if it is genuine and unexpired at `now`.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a forged, malformed or expired token.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Viewer, AppError> {
        self.verify_issued(token, now).map(|(viewer, _)| viewer)
    }

    /// `verify`, with when the token was issued (seconds since the epoch), so an admin's
    /// tokens can be revoked by time.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for a forged, malformed or expired token.
    pub fn verify_issued(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(Viewer, i64), AppError> {
        let invalid = || AppError::Unauthenticated("the access token is invalid");
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                tracing::debug!(error = %e, "rejected access token");
                invalid()
            })?
            .claims;
        if claims.exp <= now.timestamp() {
            return Err(AppError::Unauthenticated("the access token has expired"));
        }
        let viewer = match (claims.sub.split_once(':'), claims.role.as_deref()) {
            (Some(("member", id)), None) => {
                Ok(Viewer::Member(MemberId::parse(id).map_err(|e| {
                    tracing::debug!(error = %e, "rejected access token subject");
                    invalid()
                })?))
            }
            (Some(("admin", id)), Some(role)) => Ok(Viewer::Admin {
                id: AdminId::parse(id).map_err(|e| {
                    tracing::debug!(error = %e, "rejected access token subject");
                    invalid()
                })?,
                role: Role::parse(role).map_err(|e| {
                    tracing::debug!(error = %e, "rejected access token role");
                    invalid()
                })?,
            }),
            _ => Err(invalid()),
        }?;
        Ok((viewer, claims.iat))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn tokens() -> TokenService {
        TokenService::new(b"0123456789abcdef0123456789abcdef", 60, 30)
    }

    #[test]
    fn a_token_round_trips_until_it_expires() {
        let now = Utc::now();
        let viewer = Viewer::Admin {
            id: AdminId::new(7),
            role: Role::Operator,
        };
        let issued = tokens().issue(viewer, now).unwrap();
        assert_eq!(tokens().verify(&issued.token, now).unwrap(), viewer);
        let later = now + TimeDelta::seconds(31);
        assert_eq!(
            tokens().verify(&issued.token, later).unwrap_err().code(),
            "UNAUTHENTICATED"
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let now = Utc::now();
        let other = TokenService::new(b"another-secret-another-secret-xx", 60, 60);
        let issued = other.issue(Viewer::Member(MemberId::new(1)), now).unwrap();
        assert!(tokens().verify(&issued.token, now).is_err());
        assert!(tokens().verify("not.a.token", now).is_err());
    }
}
