//! Member profile values. Each is parsed once at the edge and trusted afterwards.

use std::fmt;

use chrono::NaiveDate;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::AppError;

/// Letters and digits that cannot be confused when read aloud or typed from a poster:
/// no 0/O, 1/I/L.
pub const INVITE_CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const INVITE_CODE_LENGTH: usize = 8;

/// A display name, shown on public leaderboards: 1 to 32 characters after trimming and NFC
/// normalisation; letters, marks, numbers, punctuation, symbols (emoji) and spaces. Refused:
/// control and format characters — right-to-left overrides and isolates, zero-width spaces
/// and joiners, soft hyphens, tags — except the zero-width joiner inside emoji sequences
/// (👨‍👩‍👧); line and paragraph separators; private-use and unassigned code points. These let a
/// name reorder or hide text on a board other members read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

impl Nickname {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let normalized: String = raw.nfc().collect();
        let trimmed = normalized.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(AppError::validation("nickname", "must not be empty"));
        }
        if chars > Self::MAX_CHARS {
            return Err(AppError::validation(
                "nickname",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if !displayable(trimmed) {
            return Err(AppError::validation(
                "nickname",
                "must not contain control, direction, zero-width or unassigned characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Whether every character of `text` shows as itself (see `Nickname`).
fn displayable(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .all(|(i, &c)| match c.general_category() {
            GeneralCategory::Format if c == ZERO_WIDTH_JOINER => {
                // Only between two symbols (the pieces of an emoji sequence).
                let symbol = |c: Option<&char>| {
                    c.is_some_and(|c| {
                        matches!(
                            c.general_category(),
                            GeneralCategory::OtherSymbol | GeneralCategory::NonspacingMark
                        ) || ('\u{fe00}'..='\u{fe0f}').contains(c)
                    })
                };
                i > 0 && symbol(chars.get(i - 1)) && symbol(chars.get(i + 1))
            }
            GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned => false,
            _ => true,
        })
}

const ZERO_WIDTH_JOINER: char = '\u{200d}';

/// An avatar image address: an absolute http(s) URL of at most 512 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarUrl(String);

impl AvatarUrl {
    pub const MAX_LEN: usize = 512;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let raw = raw.trim();
        if raw.len() > Self::MAX_LEN {
            return Err(AppError::validation(
                "avatarUrl",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        match url::Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {
                Ok(Self(url.into()))
            }
            _ => Err(AppError::validation(
                "avatarUrl",
                "must be an absolute http(s) URL",
            )),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A mainland-China mobile number, stored as its 11 digits. `+86`/`86` prefixes, spaces and
/// dashes are accepted on input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let national = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
            .unwrap_or(&compact);
        let bytes = national.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes.first() == Some(&b'1')
            && bytes
                .get(1)
                .is_some_and(|second| (b'3'..=b'9').contains(second));
        if valid {
            Ok(Self(national.to_owned()))
        } else {
            Err(AppError::validation(
                "phone",
                "must be a mainland China mobile number (11 digits starting with 13-19)",
            ))
        }
    }

    /// The form a number WeChat verified is stored in: a mainland number (country code 86) as
    /// its 11 digits, like a typed one; any other as `+<country code><number>`. None for
    /// something that is not a phone number.
    pub fn verified(country_code: &str, number: &str) -> Option<Self> {
        let digits = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
            lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if country_code == "86" {
            return Self::parse(number).ok();
        }
        (digits(country_code, 1..=3) && digits(number, 4..=14))
            .then(|| Self(format!("+{country_code}{number}")))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A birthday as a day of the year, written `MM-DD` (02-29 included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birthday {
    month: u32,
    day: u32,
}

impl Birthday {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let invalid = || AppError::validation("birthday", "must be a valid MM-DD date");
        let (month, day) = raw.trim().split_once('-').ok_or_else(invalid)?;
        if month.len() != 2 || day.len() != 2 {
            return Err(invalid());
        }
        let month: u32 = month.parse().ok().ok_or_else(invalid)?;
        let day: u32 = day.parse().ok().ok_or_else(invalid)?;
        // A leap year, so that 02-29 is a real birthday.
        NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(invalid)?;
        Ok(Self { month, day })
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn day(self) -> u32 {
        self.day
    }
}

impl fmt::Display for Birthday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// The profile fields a member may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub nickname: Option<Nickname>,
    pub avatar_url: Option<AvatarUrl>,
    pub phone: Option<Phone>,
    pub birthday: Option<Birthday>,
    pub hide_from_leaderboards: Option<bool>,
    pub marketing_opt_out: Option<bool>,
}

/// A birthday can be set once; setting the same day again is harmless, changing it is not.
pub fn check_birthday_change(
    current: Option<&str>,
    requested: Birthday,
) -> Result<BirthdayChange, AppError> {
    match current {
        None => Ok(BirthdayChange::Set),
        Some(existing) if existing == requested.to_string() => Ok(BirthdayChange::Unchanged),
        Some(_) => Err(AppError::validation(
            "birthday",
            "is already set and cannot be changed",
        )),
    }
}

/// What a requested birthday does to the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthdayChange {
    Set,
    Unchanged,
}

/// A member's profile as the rest of the service reads it.
#[derive(Debug, Clone)]
pub struct MemberProfile {
    pub id: crate::domain::ids::MemberId,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    /// Whether WeChat verified the phone number (`bindPhoneByWeChat`); false when typed.
    pub phone_verified: bool,
    /// "MM-DD"
    pub birthday: Option<String>,
    pub hide_from_leaderboards: bool,
    pub invite_code: String,
    pub tier_code: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Set while frozen (风控), with the operator's reason.
    pub frozen: Option<(chrono::DateTime<chrono::Utc>, String)>,
    /// The member refuses personalised marketing.
    pub marketing_opt_out: bool,
    /// Sign-ins in the trailing 30 business days (a segment fact).
    pub sign_ins_30d: i32,
}

/// Whether the member filled in their profile (完善资料): nickname, avatar and birthday.
pub fn profile_complete(profile: &MemberProfile) -> bool {
    profile.nickname.is_some() && profile.avatar_url.is_some() && profile.birthday.is_some()
}

/// What an operator typed to find a member: part of a nickname or phone number, or a whole
/// invite code. A full phone number in any accepted spelling is searched in its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSearch(String);

impl MemberSearch {
    pub const MAX_CHARS: usize = 64;

    /// # Errors
    /// `VALIDATION` (field `search`) when empty or longer than 64 characters.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let text = raw.trim();
        if text.is_empty() || text.chars().count() > Self::MAX_CHARS {
            return Err(AppError::validation("search", "must be 1 to 64 characters"));
        }
        Ok(Self(
            Phone::parse(text).map_or_else(|_| text.to_owned(), Phone::into_inner),
        ))
    }

    /// A case-insensitive `LIKE` pattern for "contains" (wildcards in the text match
    /// themselves, escaped with `\`).
    pub fn contains_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len().saturating_add(2));
        pattern.push('%');
        for c in self.0.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }

    /// The text as an invite code would be stored.
    pub fn as_invite_code(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

/// Which members an operator lists.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub search: Option<MemberSearch>,
    pub tier_code: Option<String>,
    /// `Some(true)`: KOCs only; `Some(false)`: everyone but KOCs.
    pub koc: Option<bool>,
}

/// A member as a row of the operators' member list: what the list shows, read from the member
/// row alone.
#[derive(Debug, Clone)]
pub struct MemberSummary {
    pub profile: MemberProfile,
    pub points_balance: i64,
    pub growth_total: i64,
    pub koc_level: Option<i32>,
    pub current_streak: i32,
    pub last_sign_in_day: Option<NaiveDate>,
    pub total_sign_ins: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_searches_escape_wildcards_and_find_phones_in_stored_form() {
        let search = MemberSearch::parse(" 50%_a\\B ").unwrap();
        assert_eq!(search.contains_pattern(), "%50\\%\\_a\\\\b%");
        assert_eq!(search.as_invite_code(), "50%_A\\B");
        let phone = MemberSearch::parse("+86 138-0013-8000").unwrap();
        assert_eq!(phone.contains_pattern(), "%13800138000%");
        assert!(MemberSearch::parse("  ").is_err());
        assert!(MemberSearch::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn nicknames_are_trimmed_and_bounded() {
        assert_eq!(Nickname::parse("  小明 ").unwrap().into_inner(), "小明");
        assert!(Nickname::parse("   ").is_err());
        assert!(Nickname::parse(&"字".repeat(33)).is_err());
        assert!(Nickname::parse(&"字".repeat(32)).is_ok());
        assert!(Nickname::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn nicknames_cannot_reorder_or_hide_text() {
        for hostile in [
            "evil\u{202e}nimda",  // right-to-left override
            "a\u{2066}b\u{2069}", // isolates
            "ad\u{200b}min",      // zero-width space
            "ad\u{200d}min",      // a joiner between letters
            "\u{feff}boss",       // byte-order mark
            "a\u{2028}b",         // line separator
            "x\u{e000}",          // private use
            "soft\u{ad}hyphen",
        ] {
            assert_eq!(
                Nickname::parse(hostile).unwrap_err().code(),
                "VALIDATION",
                "{hostile:?}"
            );
        }
        for friendly in [
            "小明 🌸",
            "👨\u{200d}👩\u{200d}👧",
            "❤\u{fe0f}\u{200d}🔥",
            "Zoë",
            "李　华",
        ] {
            assert!(Nickname::parse(friendly).is_ok(), "{friendly:?}");
        }
        // Composed and decomposed spellings are one name.
        assert_eq!(
            Nickname::parse("Zoe\u{308}").unwrap().into_inner(),
            "Zo\u{eb}"
        );
    }

    #[test]
    fn phones_accept_common_spellings_of_a_mobile_number() {
        for raw in [
            "13800138000",
            "+86 138-0013-8000",
            "8613800138000",
            "008613800138000",
        ] {
            assert_eq!(
                Phone::parse(raw).unwrap().into_inner(),
                "13800138000",
                "{raw}"
            );
        }
        for raw in [
            "12800138000",
            "1380013800",
            "138001380001",
            "1380013800a",
            "",
        ] {
            assert!(Phone::parse(raw).is_err(), "accepted {raw}");
        }
    }

    #[test]
    fn birthdays_are_real_days_of_the_year() {
        assert_eq!(Birthday::parse("02-29").unwrap().to_string(), "02-29");
        for raw in ["2-29", "13-01", "04-31", "00-10", "1990-01-01", "ab-cd"] {
            assert!(Birthday::parse(raw).is_err(), "accepted {raw}");
        }
    }

    #[test]
    fn avatar_urls_must_be_absolute_http() {
        assert!(AvatarUrl::parse("https://cdn.example.com/a.png").is_ok());
        for raw in ["javascript:alert(1)", "/a.png", "ftp://x/a.png"] {
            assert!(AvatarUrl::parse(raw).is_err(), "accepted {raw}");
        }
    }

    #[test]
    fn a_birthday_is_set_once() {
        let day = Birthday::parse("05-20").unwrap();
        assert_eq!(
            check_birthday_change(None, day).unwrap(),
            BirthdayChange::Set
        );
        assert_eq!(
            check_birthday_change(Some("05-20"), day).unwrap(),
            BirthdayChange::Unchanged
        );
        assert!(check_birthday_change(Some("05-21"), day).is_err());
    }

    #[test]
    fn verified_numbers_keep_their_country_code_unless_mainland() {
        let stored = |cc: &str, n: &str| Phone::verified(cc, n).map(Phone::into_inner);
        assert_eq!(stored("86", "13800138000").as_deref(), Some("13800138000"));
        assert_eq!(stored("1", "4155550100").as_deref(), Some("+14155550100"));
        assert_eq!(stored("852", "61234567").as_deref(), Some("+85261234567"));
        assert_eq!(stored("86", "12345"), None);
        assert_eq!(stored("1", "41-555"), None);
        assert_eq!(stored("", "4155550100"), None);
    }
}
