//! The staff password policy.
//!
//! 12 to 128 characters (counted as characters, not bytes, and never
//! truncated), not built around the username, and not among the passwords
//! attackers try first. "Commonly used" is judged by zxcvbn (Wheeler, 2016,
//! "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security), whose
//! dictionaries include the most frequent passwords from public breaches; a
//! password it scores below 3 ("safely unguessable: moderate protection from
//! offline slow-hash scenario") is refused with its own hint.

use crate::FieldError;

/// Fewest characters accepted.
pub const MIN_CHARS: usize = 12;
/// Most characters accepted; longer ones are refused, never cut.
pub const MAX_CHARS: usize = 128;

/// A password that passed the policy. The text is kept only until it is hashed.
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    /// Checks `candidate` for the account `username` (and its display name,
    /// which attackers try too).
    pub fn parse(candidate: &str, username: &str, display_name: &str) -> Result<Self, FieldError> {
        let n = candidate.chars().count();
        if n < MIN_CHARS {
            return Err(FieldError::new(
                "password",
                "too_short",
                format!("password must have at least {MIN_CHARS} characters (it has {n})"),
            ));
        }
        if n > MAX_CHARS {
            return Err(FieldError::new(
                "password",
                "too_long",
                format!("password must have at most {MAX_CHARS} characters (it has {n})"),
            ));
        }
        if candidate.chars().any(char::is_control) {
            return Err(FieldError::new("password", "invalid", "password must not contain control characters"));
        }
        let lower = candidate.to_lowercase();
        let user = username.trim().to_lowercase();
        if user.chars().count() >= 3 && lower.contains(&user) {
            return Err(FieldError::new("password", "contains_username", "password must not contain the username"));
        }
        let inputs: Vec<&str> = [username, display_name].into_iter().filter(|s| !s.is_empty()).collect();
        // zxcvbn's work grows with length; its matchers were tuned on short
        // inputs and the first 100 characters decide guessability anyway.
        let probe: String = candidate.chars().take(100).collect();
        let estimate = zxcvbn::zxcvbn(&probe, &inputs);
        if (estimate.score() as u8) < 3 {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning().map(|w| w.to_string()))
                .unwrap_or_else(|| "it is too easy to guess".to_string());
            return Err(FieldError::new(
                "password",
                "too_common",
                format!("password is among those attackers try first: {hint}"),
            ));
        }
        Ok(NewPassword(candidate.to_string()))
    }

    /// The accepted text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(p: &str) -> &'static str {
        NewPassword::parse(p, "wangfang", "王芳").err().map(|e| e.code).unwrap_or("ok")
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(code("短密码"), "too_short");
        // 12 CJK characters are 36 bytes but 12 characters: accepted length.
        assert_eq!(code("春眠不觉晓处处闻啼鸟夜来风"), "ok");
        assert_eq!(code(&"x".repeat(11)), "too_short");
    }

    #[test]
    fn long_passwords_are_kept_whole_up_to_the_limit() {
        let p128: String = "Tq7#mZ".chars().cycle().take(128).collect();
        let ok = NewPassword::parse(&p128, "wangfang", "").expect("128 chars accepted");
        assert_eq!(ok.expose().chars().count(), 128);
        let p129: String = "Tq7#mZ".chars().cycle().take(129).collect();
        assert_eq!(code(&p129), "too_long");
    }

    #[test]
    fn the_most_common_passwords_are_refused() {
        for p in ["123456789012", "password1234", "qwertyuiop123", "111111111111", "iloveyou1234", "1q2w3e4r5t6y"] {
            assert_eq!(code(p), "too_common", "{p}");
        }
    }

    #[test]
    fn the_username_is_refused() {
        assert_eq!(code("wangfang-2026-travel"), "contains_username");
    }

    #[test]
    fn a_good_passphrase_passes() {
        assert_eq!(code("lantern-oyster-Guilin-47"), "ok");
    }

    #[test]
    fn debug_never_prints_the_password() {
        let p = NewPassword::parse("lantern-oyster-Guilin-47", "u", "").unwrap();
        assert!(!format!("{p:?}").contains("lantern"));
    }
}
