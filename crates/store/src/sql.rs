//! Building SQL with a varying number of conditions, with numbered `$N`
//! placeholders that both engines understand.

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::Any;

/// One bound value.
#[derive(Debug, Clone)]
pub enum Value {
    /// A 64-bit integer (ids, instants, money in 分, flags).
    Int(i64),
    /// Text.
    Text(String),
    /// A double (model outputs such as probabilities; never money).
    Real(f64),
    /// NULL in an integer column.
    NullInt,
    /// NULL in a text column.
    NullText,
    /// NULL in a double column.
    NullReal,
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(s.to_string()))
    }
}
impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Value::NullReal, Value::Real)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

/// SQL text plus its bound values, in placeholder order.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Starts with `text`.
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), values: Vec::new() }
    }

    /// Appends SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        self.text.push_str(&format!("${}", self.values.len()));
        self
    }

    /// Appends another statement's text and values (its placeholders are
    /// renumbered to follow this one's).
    pub fn append(&mut self, other: Sql) -> &mut Self {
        let offset = self.values.len();
        let mut chars = other.text.chars().peekable();
        while let Some(c) = chars.next() {
            self.text.push(c);
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                self.text.push_str(&(n + offset).to_string());
            }
        }
        self.values.extend(other.values);
        self
    }

    /// Appends `(p1, p2, …)` bound to `vs` (`(NULL)` when empty, which
    /// matches nothing).
    pub fn bind_list<V: Into<Value>>(&mut self, vs: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push('(');
        let mut first = true;
        for v in vs {
            if !first {
                self.text.push_str(", ");
            }
            first = false;
            self.bind(v);
        }
        if first {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    /// The SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A query with the values bound.
    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for v in &self.values {
            q = match v {
                Value::Int(i) => q.bind(*i),
                Value::Text(s) => q.bind(s.as_str()),
                Value::Real(r) => q.bind(*r),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<String>),
                Value::NullReal => bind_real(q, None),
            };
        }
        q
    }

    /// A typed query with the values bound.
    pub fn query_as<T>(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as::<Any, T>(&self.text);
        for v in &self.values {
            q = match v {
                Value::Int(i) => q.bind(*i),
                Value::Text(s) => q.bind(s.as_str()),
                Value::Real(r) => q.bind(*r),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<String>),
                // As in `bind_real` (a typed query is another type).
                Value::NullReal => q.bind(None::<f32>),
            };
        }
        q
    }
}

/// A query over any engine.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Binds a double that may be NULL. sqlx 0.8.6's Any driver sends a NULL f64
/// to PostgreSQL as float4 and a NULL f32 as float8 (the two are swapped), so
/// a statement prepared with a NULL double would refuse the next real value;
/// binding the f32 NULL declares float8.
pub(crate) fn bind_real(q: AnyQuery<'_>, v: Option<f64>) -> AnyQuery<'_> {
    match v {
        Some(v) => q.bind(v),
        None => q.bind(None::<f32>),
    }
}

/// A value of a multi-row statement. NULLs are bound like any other value
/// so that every full chunk has the same SQL text and its prepared statement
/// is reused (a `NULL` written into the text made each statement new, and
/// preparing thousands of placeholders per batch cost more than the insert).
enum Bound<'a> {
    Int(Option<i64>),
    Text(Option<std::borrow::Cow<'a, str>>),
    Real(Option<f64>),
}

/// SQL text with placeholders and their values.
///
/// On SQLite the placeholders are anonymous (`?`): sqlx looks up the name
/// of every numbered one (`$7`) with a scan of all the statement's names, so
/// binding a multi-row insert by number took time quadratic in its size
/// (measured: 80 % of an import's time). PostgreSQL needs `$N`.
pub(crate) struct Statement<'a> {
    text: String,
    values: Vec<Bound<'a>>,
    numbered: bool,
}

impl<'a> Statement<'a> {
    pub(crate) fn new(backend: crate::Backend, text: &str) -> Self {
        Statement { text: text.to_string(), values: Vec::new(), numbered: backend == crate::Backend::Postgres }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn value(&mut self, v: Bound<'a>) -> &mut Self {
        self.values.push(v);
        if self.numbered {
            self.text.push('$');
            self.text.push_str(&self.values.len().to_string());
        } else {
            self.text.push('?');
        }
        self
    }

    pub(crate) fn int(&mut self, v: impl Into<Option<i64>>) -> &mut Self {
        self.value(Bound::Int(v.into()))
    }

    pub(crate) fn text(&mut self, v: Option<&'a str>) -> &mut Self {
        self.value(Bound::Text(v.map(std::borrow::Cow::Borrowed)))
    }

    pub(crate) fn owned(&mut self, v: Option<String>) -> &mut Self {
        self.value(Bound::Text(v.map(std::borrow::Cow::Owned)))
    }

    pub(crate) fn real(&mut self, v: Option<f64>) -> &mut Self {
        self.value(Bound::Real(v))
    }

    pub(crate) fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for v in &self.values {
            q = match v {
                Bound::Int(i) => q.bind(*i),
                Bound::Text(t) => q.bind(t.as_deref()),
                Bound::Real(r) => bind_real(q, *r),
            };
        }
        q
    }

    /// Runs the statement on a connection of SQLite's own interface (see
    /// `native`), preparing it once per distinct text.
    pub(crate) fn execute_native(&self, conn: &rusqlite::Connection) -> rusqlite::Result<usize> {
        let mut statement = conn.prepare_cached(&self.text)?;
        for (i, v) in self.values.iter().enumerate() {
            match v {
                Bound::Int(v) => statement.raw_bind_parameter(i + 1, v)?,
                Bound::Text(v) => statement.raw_bind_parameter(i + 1, v.as_deref())?,
                Bound::Real(v) => statement.raw_bind_parameter(i + 1, v)?,
            }
        }
        statement.raw_execute()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut s = Sql::new("SELECT * FROM t WHERE a = ");
        s.bind(1).push(" AND b IN ").bind_list(["x", "y"]).push(" AND c IN ").bind_list(Vec::<i64>::new());
        assert_eq!(s.text(), "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) AND c IN (NULL)");
    }

    #[test]
    fn appended_statements_are_renumbered() {
        let mut a = Sql::new("SELECT id FROM t WHERE a = ");
        a.bind(1).push(" AND id IN (");
        let mut b = Sql::new("SELECT x FROM u WHERE y = ");
        for i in 0..11 {
            b.push(if i == 0 { "" } else { " OR y = " }).bind(i);
        }
        a.append(b).push(") AND z = ").bind("last");
        assert!(a
            .text()
            .starts_with("SELECT id FROM t WHERE a = $1 AND id IN (SELECT x FROM u WHERE y = $2 OR y = $3"));
        assert!(a.text().ends_with("OR y = $11 OR y = $12) AND z = $13"), "{}", a.text());
        assert_eq!(a.values.len(), 13);
    }
}
