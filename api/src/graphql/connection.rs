//! Relay connections over id-ordered lists: cursors are row ids, newest first.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge, EmptyFields};

use crate::error::AppError;

/// A page of `T`.
pub type Page<T> = Connection<String, T, EmptyFields, EmptyFields>;

/// The cost of a list field for the complexity limit: what one item asks for, times the items
/// asked for (SPEC §11), so 100 aliases of `first: 100` cannot pass as cheap.
pub fn list_cost(first: i32, child_complexity: usize) -> usize {
    let items = usize::try_from(first.clamp(1, 100)).unwrap_or(100);
    items
        .saturating_mul(child_complexity.max(1))
        .saturating_add(1)
}

/// The row id an `after` cursor names.
///
/// # Errors
/// `VALIDATION` (field `after`) for a cursor this API did not hand out.
pub fn after_id(after: Option<String>) -> Result<Option<i64>, AppError> {
    after
        .map(|cursor| {
            cursor
                .parse::<i64>()
                .ok()
                .ok_or(AppError::validation("after", "is not a cursor"))
        })
        .transpose()
}

/// A connection of `(id, item)` pairs.
pub fn page<T: OutputType>(items: Vec<(i64, T)>, after: Option<i64>, has_next: bool) -> Page<T> {
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(
        items
            .into_iter()
            .map(|(id, item)| Edge::new(id.to_string(), item)),
    );
    connection
}
