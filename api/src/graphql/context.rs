//! What a resolver can ask of its context: the caller and the services.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions};

use crate::domain::auth::Viewer;
use crate::domain::ids::MemberId;
use crate::error::AppError;
use crate::service::Services;

/// How the request authenticated, decided once by the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub enum RequestAuth {
    /// No `Authorization` header.
    Anonymous,
    Authenticated(Viewer),
    /// A token was sent but is forged, malformed or expired; public fields still work.
    Rejected(&'static str),
}

/// The caller's IP address, as the HTTP layer saw it.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Who a rate limit counts: the member or admin behind a valid token, else the address.
pub fn rate_subject(auth: RequestAuth, ip: &str) -> String {
    match auth {
        RequestAuth::Authenticated(Viewer::Member(id)) => format!("member:{id}"),
        RequestAuth::Authenticated(Viewer::Admin { id, .. }) => format!("admin:{id}"),
        RequestAuth::Anonymous | RequestAuth::Rejected(_) => format!("ip:{ip}"),
    }
}

pub trait ContextExt {
    /// The caller's IP address ("unknown" when the transport has none).
    fn client_ip(&self) -> &str;
    /// The authenticated caller, or `UNAUTHENTICATED`.
    fn viewer(&self) -> async_graphql::Result<Viewer>;
    fn services(&self) -> &Arc<Services>;
    /// The member behind the request, when a valid member token was sent (public fields that
    /// show more to members).
    fn member_if_any(&self) -> Option<MemberId>;
    /// Whether a valid admin or operator token was sent.
    fn is_admin(&self) -> bool;
}

impl ContextExt for Context<'_> {
    fn viewer(&self) -> async_graphql::Result<Viewer> {
        match self.data_opt::<RequestAuth>() {
            Some(RequestAuth::Authenticated(viewer)) => Ok(*viewer),
            Some(RequestAuth::Rejected(reason)) => Err(AppError::Unauthenticated(reason).extend()),
            Some(RequestAuth::Anonymous) | None => {
                Err(AppError::Unauthenticated("please sign in").extend())
            }
        }
    }

    fn client_ip(&self) -> &str {
        self.data_opt::<ClientIp>()
            .map_or("unknown", |ip| ip.0.as_str())
    }

    fn member_if_any(&self) -> Option<MemberId> {
        match self.data_opt::<RequestAuth>() {
            Some(RequestAuth::Authenticated(Viewer::Member(id))) => Some(*id),
            _ => None,
        }
    }

    fn is_admin(&self) -> bool {
        matches!(
            self.data_opt::<RequestAuth>(),
            Some(RequestAuth::Authenticated(Viewer::Admin { .. }))
        )
    }

    fn services(&self) -> &Arc<Services> {
        // build_schema always registers the services, so this lookup cannot miss.
        self.data_unchecked::<Arc<Services>>()
    }
}
