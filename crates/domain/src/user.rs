//! Staff account values: usernames, display names, interface language.

use crate::FieldError;
use serde::{Deserialize, Serialize};

/// A login name: 3–32 characters of `a-z 0-9 . _ -`, stored lower-case so
/// `WangFang` and `wangfang` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses and normalises a username.
    pub fn parse(s: &str) -> Result<Username, FieldError> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return Err(FieldError::required("username"));
        }
        let n = s.chars().count();
        if !(3..=32).contains(&n) {
            return Err(FieldError::new("username", "invalid_length", "username must have 3 to 32 characters"));
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err(FieldError::new(
                "username",
                "invalid",
                "username may contain only letters a-z, digits and . _ -",
            ));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new("username", "invalid", "username must start with a letter or digit"));
        }
        Ok(Username(s))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as colleagues see it (王芳, Fang Wang): 1–64 characters.
pub fn parse_display_name(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::required(field));
    }
    if s.chars().count() > 64 {
        return Err(FieldError::new(field, "too_long", format!("{field} must have at most 64 characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
    }
    Ok(s.to_string())
}

/// A plausible e-mail address (one `@`, a dotted domain, no spaces), or empty.
pub fn parse_optional_email(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || FieldError::new(field, "invalid_email", format!("{field} is not an e-mail address"));
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || s.chars().any(char::is_whitespace)
        || s.len() > 254
    {
        return Err(bad());
    }
    Ok(Some(s.to_string()))
}

/// The interface language of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Locale {
    /// Simplified Chinese, the default.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Parses a stored or submitted code; anything unknown is an error.
    pub fn parse(s: &str) -> Result<Locale, FieldError> {
        match s {
            "zh-CN" | "zh" => Ok(Locale::ZhCn),
            "en" => Ok(Locale::En),
            _ => Err(FieldError::new("locale", "invalid", "locale must be zh-CN or en")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" WangFang ").unwrap().as_str(), "wangfang");
        assert_eq!(Username::parse("").unwrap_err().code, "required");
        assert_eq!(Username::parse("ab").unwrap_err().code, "invalid_length");
        assert_eq!(Username::parse("王芳芳").unwrap_err().code, "invalid");
        assert_eq!(Username::parse("-dash").unwrap_err().code, "invalid");
        assert!(Username::parse("li.ming_02").is_ok());
    }

    #[test]
    fn emails_and_names() {
        assert_eq!(parse_optional_email("email", "").unwrap(), None);
        assert!(parse_optional_email("email", "a@b.cn").unwrap().is_some());
        for bad in ["a@", "@b.cn", "a b@c.cn", "a@b", "a@@b.cn"] {
            assert!(parse_optional_email("email", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_display_name("display_name", "  王芳 ").unwrap(), "王芳");
        assert_eq!(parse_display_name("display_name", " ").unwrap_err().code, "required");
    }

    #[test]
    fn locales() {
        assert_eq!(Locale::parse("en").unwrap(), Locale::En);
        assert_eq!(Locale::default().code(), "zh-CN");
        assert!(Locale::parse("fr").is_err());
    }
}
