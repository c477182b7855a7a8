//! Subscribe messages (订阅消息, SPEC §17): the templates a member allows messages of, which
//! template each notice kind is sent with, and how a notice fills a template's fields.

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;

use crate::domain::notification::{Notice, NoticeKind};
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

/// The type of a template field, named by its key (`thing1`, `character_string2` …), and
/// WeChat's limit on its value in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum FieldType {
    Thing,
    Number,
    Letter,
    Symbol,
    CharacterString,
    Time,
    Date,
    Amount,
    PhoneNumber,
    CarNumber,
    Name,
    Phrase,
}

impl FieldType {
    /// The type a key names: the key without its trailing digits.
    pub fn of_key(key: &str) -> Option<Self> {
        let name = key.trim_end_matches(|c: char| c.is_ascii_digit());
        if name.len() == key.len() {
            return None;
        }
        name.parse().ok()
    }

    /// WeChat's limit in characters (subscribeMessage.send, 参数值内容限制).
    pub fn max_chars(self) -> usize {
        match self {
            Self::Thing => 20,
            Self::Number | Self::Letter | Self::CharacterString => 32,
            Self::Symbol | Self::Phrase => 5,
            // "2026年12月31日 23:59~2027年1月1日 00:00" fits.
            Self::Time | Self::Date => 40,
            // A currency sign, ten digits, a decimal point and 元.
            Self::Amount => 13,
            Self::PhoneNumber => 17,
            Self::CarNumber => 8,
            Self::Name => 10,
        }
    }
}

/// The placeholders a field pattern may hold.
const PLACEHOLDERS: [&str; 6] = ["title", "body", "points", "balance", "date", "time"];

/// Most fields a template maps (WeChat's templates have at most five keywords).
const MAX_FIELDS: usize = 10;

/// One template field: its key and the pattern its value is made from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TemplateField {
    pub key: String,
    pub value: String,
}

/// The subscribe-message template a notice kind is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    pub kind: NoticeKind,
    pub template_id: String,
    /// The mini-program page the message opens (may be empty: no jump).
    pub page: String,
    pub fields: Vec<TemplateField>,
}

impl MessageTemplate {
    /// A checked mapping: a WeChat-shaped template id, a page inside the mini-program, and
    /// 1–10 fields with typed keys, each named once, whose patterns use only known
    /// placeholders.
    ///
    /// # Errors
    /// `VALIDATION` on `templateId`, `page`, `fields`, `fields.key` or `fields.value`.
    pub fn new(
        kind: NoticeKind,
        template_id: &str,
        page: &str,
        fields: Vec<TemplateField>,
    ) -> Result<Self, AppError> {
        let template_id = check_template_id(template_id)?.to_owned();
        let page = page.trim();
        if page.chars().count() > 512
            || page.starts_with('/')
            || page.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(AppError::validation(
                "page",
                "must be a mini-program page path like pages/points/index, without a leading '/', spaces or control characters, at most 512 characters",
            ));
        }
        if fields.is_empty() || fields.len() > MAX_FIELDS {
            return Err(AppError::validation(
                "fields",
                format!("a template maps 1 to {MAX_FIELDS} fields"),
            ));
        }
        for (i, field) in fields.iter().enumerate() {
            if FieldType::of_key(&field.key).is_none() {
                return Err(AppError::validation(
                    "fields.key",
                    format!(
                        "{:?} is not a WeChat field key (thing1, number2, date3, time4, phrase5, character_string6 …)",
                        field.key
                    ),
                ));
            }
            if fields
                .iter()
                .take(i)
                .any(|earlier| earlier.key == field.key)
            {
                return Err(AppError::validation(
                    "fields.key",
                    format!("{} is mapped twice", field.key),
                ));
            }
            check_pattern(&field.value)?;
        }
        Ok(Self {
            kind,
            template_id,
            page: page.to_owned(),
            fields,
        })
    }

    /// The `data` of a `subscribe/send` for `notice` at `at` (business time): each field's
    /// pattern filled in and cut to its type's limit.
    pub fn render(&self, notice: &Notice, at: DateTime<Tz>) -> serde_json::Value {
        let data: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|field| {
                let filled = fill(&field.value, notice, at);
                let limit = FieldType::of_key(&field.key).map_or(20, FieldType::max_chars);
                (
                    field.key.clone(),
                    serde_json::json!({ "value": cut(&filled, limit) }),
                )
            })
            .collect();
        serde_json::Value::Object(data)
    }
}

/// A pattern: at most 200 characters, `{…}` only around a known placeholder.
fn check_pattern(pattern: &str) -> Result<(), AppError> {
    let invalid = |why: String| Err(AppError::validation("fields.value", why));
    if pattern.trim().is_empty() || pattern.chars().count() > 200 {
        return invalid("a pattern is 1 to 200 characters".to_owned());
    }
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let after = &rest[open.saturating_add(1)..];
        let Some(close) = after.find('}') else {
            return invalid(format!("unclosed '{{' in {pattern:?}"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return invalid(format!(
                "{{{name}}} is not a placeholder; use {{title}}, {{body}}, {{points}}, {{balance}}, {{date}} or {{time}}"
            ));
        }
        rest = &after[close.saturating_add(1)..];
    }
    Ok(())
}

fn fill(pattern: &str, notice: &Notice, at: DateTime<Tz>) -> String {
    let number = |n: Option<i64>| n.map_or_else(String::new, |n| n.to_string());
    let date = format!("{}年{}月{}日", at.year(), at.month(), at.day());
    let time = format!("{date} {:02}:{:02}", at.hour(), at.minute());
    pattern
        .replace("{title}", &notice.title)
        .replace("{body}", &notice.body)
        .replace("{points}", &number(notice.points))
        .replace("{balance}", &number(notice.balance))
        .replace("{date}", &date)
        .replace("{time}", &time)
}

/// `text` within `limit` characters; a cut text ends with an ellipsis so the member sees it
/// goes on in the app.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(limit.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            kind: NoticeKind::PointsEarned,
            points: Some(5),
            balance: Some(15),
            title: "积分到账".to_owned(),
            body: "每日签到 +5 积分，当前余额 15 积分，连续签到第 7 天".to_owned(),
        }
    }

    fn field(key: &str, value: &str) -> TemplateField {
        TemplateField {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn keys_name_their_type() {
        assert_eq!(FieldType::of_key("thing1"), Some(FieldType::Thing));
        assert_eq!(
            FieldType::of_key("character_string12"),
            Some(FieldType::CharacterString)
        );
        for bad in ["thing", "1", "colour2", ""] {
            assert_eq!(FieldType::of_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_are_filled_and_cut_to_their_type() {
        let template = MessageTemplate::new(
            NoticeKind::PointsEarned,
            "tpl-points",
            "pages/points/index",
            vec![
                field("thing1", "{body}"),
                field("number2", "{points}"),
                field("number3", "{balance}"),
                field("time4", "{time}"),
                field("phrase5", "积分到账了呀"),
            ],
        )
        .unwrap();
        let at =
            chrono::TimeZone::with_ymd_and_hms(&chrono_tz::Asia::Shanghai, 2026, 12, 3, 9, 5, 0)
                .unwrap();
        let data = template.render(&notice(), at);
        let body = data["thing1"]["value"].as_str().unwrap();
        assert_eq!(body.chars().count(), 20);
        assert!(body.ends_with('…'));
        assert_eq!(data["number2"]["value"], "5");
        assert_eq!(data["number3"]["value"], "15");
        assert_eq!(data["time4"]["value"], "2026年12月3日 09:05");
        assert_eq!(
            data["phrase5"]["value"].as_str().unwrap().chars().count(),
            5
        );
    }

    #[test]
    fn bad_mappings_are_refused_by_field() {
        let with = |fields: Vec<TemplateField>, page: &str| match MessageTemplate::new(
            NoticeKind::PointsEarned,
            "tpl",
            page,
            fields,
        ) {
            Err(AppError::Validation { field, .. }) => Some(field.to_owned()),
            _ => None,
        };
        assert_eq!(with(vec![], "p"), Some("fields".to_owned()));
        assert_eq!(
            with(vec![field("colour1", "x")], "p"),
            Some("fields.key".to_owned())
        );
        assert_eq!(
            with(vec![field("thing1", "x"), field("thing1", "y")], "p"),
            Some("fields.key".to_owned())
        );
        assert_eq!(
            with(vec![field("thing1", "{nope}")], "p"),
            Some("fields.value".to_owned())
        );
        assert_eq!(
            with(vec![field("thing1", "{title")], "p"),
            Some("fields.value".to_owned())
        );
        assert_eq!(
            with(vec![field("thing1", "x")], "/abs"),
            Some("page".to_owned())
        );
        assert_eq!(with(vec![field("thing1", "{title}")], "pages/a?x=1"), None);
    }

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
