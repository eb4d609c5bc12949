//! Closed sets of values (kinds, statuses, channels …) with a stored code,
//! Chinese and English labels, and the spellings imports and forms accept.

use crate::FieldError;

/// Declares a closed set of values with a stored code, a Chinese and an English
/// label, and extra spellings accepted on input.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident => ($code:literal, $zh:literal, $en:literal, [$($alias:literal),* $(,)?])
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $code)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The stored code (`snake_case` English).
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The value of a stored code, matched exactly.
            pub fn from_code(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The name shown in the Chinese interface.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $zh,)+
                }
            }

            /// The name shown in the English interface.
            pub fn label_en(self) -> &'static str {
                match self {
                    $($name::$variant => $en,)+
                }
            }

            /// The Chinese label when `zh`, otherwise the English one.
            pub fn label(self, zh: bool) -> &'static str {
                if zh {
                    self.label_zh()
                } else {
                    self.label_en()
                }
            }

            /// Other spellings accepted on input besides code and labels.
            fn aliases(self) -> &'static [&'static str] {
                match self {
                    $($name::$variant => &[$($alias),*],)+
                }
            }

            /// Parses user or import input: the code (case-insensitive, with
            /// spaces or dashes for underscores), the Chinese or English label,
            /// or a common synonym. Empty input is `required`.
            pub fn parse(field: &str, text: &str) -> Result<$name, $crate::FieldError> {
                Self::parse_optional(field, text)?.ok_or_else(|| $crate::FieldError::required(field))
            }

            /// Like [`Self::parse`], but empty input is `None`.
            pub fn parse_optional(field: &str, text: &str) -> Result<Option<$name>, $crate::FieldError> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(None);
                }
                $crate::codes::lookup(&Self::ALL, text, |v| (v.code(), v.label_zh(), v.label_en(), v.aliases()))
                    .map(Some)
                    .ok_or_else(|| $crate::codes::invalid_choice(field, Self::ALL.iter().map(|v| v.code())))
            }
        }
    };
}
pub(crate) use code_enum;

/// Finds the value whose code, label or alias `text` spells.
pub(crate) fn lookup<T: Copy>(
    all: &[T],
    text: &str,
    spellings: impl Fn(T) -> (&'static str, &'static str, &'static str, &'static [&'static str]),
) -> Option<T> {
    let lower = text.trim().to_lowercase();
    let as_code = lower.replace([' ', '-'], "_");
    all.iter().copied().find(|&v| {
        let (code, zh, en, aliases) = spellings(v);
        code == as_code
            || zh == lower
            || en.to_lowercase() == lower
            || aliases.iter().any(|a| a.to_lowercase() == lower)
    })
}

pub(crate) fn invalid_choice<'a>(field: &str, codes: impl Iterator<Item = &'a str>) -> FieldError {
    let codes: Vec<&str> = codes.collect();
    FieldError::new(field, "invalid_choice", format!("{field} must be one of: {}", codes.join(", ")))
}
