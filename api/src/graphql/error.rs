//! The only bridge from `AppError` to GraphQL errors: every error carries `extensions.code`,
//! internal errors are logged here once and reach the client as a bare "internal error".

use async_graphql::ErrorExtensions;

use crate::error::AppError;

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(source) = self {
            tracing::error!(error = ?source, "request failed with an internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::Validation { field, .. } => ext.set("field", *field),
                Self::InsufficientPoints { needed, available } => {
                    ext.set("needed", *needed);
                    ext.set("available", *available);
                }
                Self::MonthlyRedeemCapReached { remaining } => ext.set("remaining", *remaining),
                Self::TierTooLow { required } | Self::KocNotEligible { required } => {
                    ext.set("requiredTier", required.as_str());
                }
                Self::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs);
                }
                _ => {}
            }
        })
    }
}
