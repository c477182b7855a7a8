//! A GraphQL answer and the assertions tests make on it.

use serde_json::Value;

/// A GraphQL answer with its HTTP status.
#[derive(Debug)]
pub struct GqlResponse {
    pub status: u16,
    pub body: Value,
}

impl GqlResponse {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// The code of the first error.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// The `extensions.field` of the first error (what a `VALIDATION` names).
    pub fn error_field(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["field"].as_str()
    }

    /// The data, after asserting the request succeeded without errors.
    #[track_caller]
    pub fn expect_ok(&self) -> &Value {
        assert_eq!(self.status, 200, "unexpected status: {}", self.body);
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        self.data()
    }

    /// Asserts exactly one error with `code` and no data for the failing field.
    #[track_caller]
    pub fn expect_error(&self, code: &str) {
        assert_eq!(
            self.error_code(),
            Some(code),
            "unexpected answer: {}",
            self.body
        );
    }
}
