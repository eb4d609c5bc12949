//! What the audit trail records about a change, and how sensitive values are
//! masked before they are written there.

use serde::{Deserialize, Serialize};

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A record was created.
    Create,
    /// A record was changed.
    Update,
    /// A record was deleted (or deactivated).
    Delete,
    /// Records were exported.
    Export,
    /// A masked personal value was shown in full.
    Reveal,
}

impl Action {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Export => "export",
            Action::Reveal => "reveal",
        }
    }

    /// Every action, for filters.
    pub const ALL: [Action; 5] = [Action::Create, Action::Update, Action::Delete, Action::Export, Action::Reveal];

    /// Parses a stored code.
    pub fn from_code(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == s)
    }
}

/// One field's value before and after a change (`None`: absent or empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field's name.
    pub field: String,
    /// Its value before (masked if sensitive).
    pub before: Option<String>,
    /// Its value after (masked if sensitive).
    pub after: Option<String>,
}

/// How a field's value must appear in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Shown as it is.
    Plain,
    /// Personal data: shown masked (`138****5678`).
    Personal,
    /// A secret such as a password hash: only "changed" is recorded.
    Secret,
}

/// Collects field-level changes between two versions of a record.
#[derive(Debug, Default, Clone)]
pub struct ChangeSet(pub Vec<FieldChange>);

impl ChangeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` if its value differs, masked as `sensitivity` says.
    pub fn diff(&mut self, field: &str, before: Option<&str>, after: Option<&str>, sensitivity: Sensitivity) {
        let norm = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        let (b, a) = (norm(before), norm(after));
        if b == a {
            return;
        }
        let shown = |v: Option<String>| match sensitivity {
            Sensitivity::Plain => v,
            Sensitivity::Personal => v.map(|s| mask(&s)),
            Sensitivity::Secret => v.map(|_| "***".to_string()),
        };
        self.0.push(FieldChange { field: field.to_string(), before: shown(b), after: shown(a) });
    }

    /// Records every field of a new record.
    pub fn created(&mut self, field: &str, value: Option<&str>, sensitivity: Sensitivity) {
        self.diff(field, None, value, sensitivity);
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Masks personal data, keeping just enough to recognise it:
/// a mainland mobile keeps 3 + 4 digits (`138****5678`), an 18-digit ID card
/// 6 + 4 (`110105********1234`), an e-mail its first letter and domain, and
/// anything else its first and last quarter.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if let Some((local, domain)) = value.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let (keep_head, keep_tail) = match n {
        0..=2 => (0, 0),
        3..=6 => (1, 1),
        11 => (3, 4),
        18 => (6, 4),
        _ => (n / 4, n / 4),
    };
    let masked = n - keep_head - keep_tail;
    let mut out: String = chars[..keep_head].iter().collect();
    out.push_str(&"*".repeat(masked.max(if n == 0 { 0 } else { 1 })));
    out.extend(&chars[n - keep_tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_chinese_forms_do() {
        assert_eq!(mask("13812345678"), "138****5678");
        assert_eq!(mask("110105199001011234"), "110105********1234");
        assert_eq!(mask("zhang.san@example.cn"), "z***@example.cn");
        assert_eq!(mask("E12345678"), "E1*****78");
        assert_eq!(mask("ab"), "**");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn change_sets_hold_only_real_changes_masked() {
        let mut c = ChangeSet::new();
        c.diff("name", Some("王芳"), Some("王芳"), Sensitivity::Plain);
        c.diff("email", Some(""), None, Sensitivity::Plain);
        c.diff("phone", Some("13812345678"), Some("13987654321"), Sensitivity::Personal);
        c.diff("password", Some("$argon2id$old"), Some("$argon2id$new"), Sensitivity::Secret);
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0[0].before.as_deref(), Some("138****5678"));
        assert_eq!(c.0[0].after.as_deref(), Some("139****4321"));
        assert_eq!(c.0[1].after.as_deref(), Some("***"));
    }

    #[test]
    fn action_codes_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_code(a.code()), Some(a));
        }
    }
}
