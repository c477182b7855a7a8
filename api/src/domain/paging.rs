//! Relay-style paging: page sizes 1-100, fetched one row beyond the page to know whether
//! another page follows.

use crate::error::AppError;

/// The largest page a list returns.
pub const MAX_PAGE: usize = 100;

/// A requested page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    /// # Errors
    /// `VALIDATION` (field `first`) outside 1..=100.
    pub fn parse(first: i32) -> Result<Self, AppError> {
        usize::try_from(first)
            .ok()
            .filter(|first| (1..=MAX_PAGE).contains(first))
            .map(Self)
            .ok_or_else(|| AppError::validation("first", "must be 1 to 100"))
    }

    /// How many rows to fetch: one more than the page.
    pub fn fetch_limit(self) -> u64 {
        u64::try_from(self.0).unwrap_or(100).saturating_add(1)
    }

    /// Cuts rows fetched with `fetch_limit` to the page; true when another page follows.
    pub fn finish<T>(self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let has_next = rows.len() > self.0;
        rows.truncate(self.0);
        (rows, has_next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_one_to_a_hundred_and_know_what_follows() {
        assert!(PageSize::parse(0).is_err());
        assert!(PageSize::parse(101).is_err());
        let size = PageSize::parse(2).unwrap();
        assert_eq!(size.fetch_limit(), 3);
        assert_eq!(size.finish(vec![1, 2, 3]), (vec![1, 2], true));
        assert_eq!(size.finish(vec![1, 2]), (vec![1, 2], false));
    }
}
