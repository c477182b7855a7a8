//! Subscribe messages (订阅消息, SPEC §17): the templates a member allows messages of.

use crate::error::AppError;

/// Most templates one `recordMessageSubscriptions` call reports (WeChat asks for at most 3 at
/// a time; a few calls' worth is plenty).
pub const MAX_REPORTED: usize = 20;

/// A subscribe-message template id as WeChat issues it: letters, digits, `-` and `_`, at most
/// 64 characters.
///
/// # Errors
/// `VALIDATION` on `templateId`.
pub fn check_template_id(raw: &str) -> Result<&str, AppError> {
    let id = raw.trim();
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(id)
    } else {
        Err(AppError::validation(
            "templateId",
            "must be 1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_are_wechat_shaped() {
        assert_eq!(
            check_template_id(" 2ey9Z-qgVdJmI_e4 ").unwrap(),
            "2ey9Z-qgVdJmI_e4"
        );
        for bad in ["", "has space", "模板", &"x".repeat(65)] {
            assert!(check_template_id(bad).is_err(), "accepted {bad:?}");
        }
    }
}
