//! Per-request DataLoaders: nested fields load their rows in one batched query.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, Loader};

use crate::domain::tier::TierSummary;
use crate::service::Services;

/// Loads tiers by code.
pub struct TierLoader(Arc<Services>);

impl Loader<String> for TierLoader {
    type Value = TierSummary;
    type Error = async_graphql::Error;

    async fn load(&self, codes: &[String]) -> Result<HashMap<String, TierSummary>, Self::Error> {
        let tiers = self
            .0
            .members
            .tiers_by_code(codes.to_vec())
            .await
            .map_err(|e| e.extend())?;
        Ok(tiers
            .into_iter()
            .map(|tier| (tier.code.clone(), tier))
            .collect())
    }
}

/// Attaches fresh loaders to one request, so nothing is cached across requests.
pub fn attach(request: async_graphql::Request, services: &Arc<Services>) -> async_graphql::Request {
    request.data(DataLoader::new(
        TierLoader(Arc::clone(services)),
        tokio::spawn,
    ))
}
