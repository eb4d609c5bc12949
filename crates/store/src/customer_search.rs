//! The search box's index (`customer_search`, migration 0003).
//!
//! A scan with `LIKE '%…%'` reads every customer; at a million customers
//! that is hundreds of milliseconds per keystroke. Instead every suffix of a
//! customer's name and employer, and the digits of each phone read from the
//! end, are stored as keys ([`domain::customer::fragment_keys`]), so a
//! fragment or the last digits of a phone become a prefix search on one
//! index. Pinyin, initials, the start of a mobile number, codes and document
//! hashes use the customers table's own indexes.
//!
//! Every writer of a customer's name, employer or phones reads [`current`]
//! before the change and calls [`sync`] after it (or writes keys in bulk, as
//! the import does) in the same transaction, so the index never disagrees
//! with what a committed read sees.

use crate::sql::Sql;
use crate::{Result, Store, Tx};
use domain::customer::{fragment_keys, KEY_EMPLOYER, KEY_NAME, KEY_PHONE, KEY_READING};
use domain::ids::CustomerId;
use sqlx::Row;

/// Keys per multi-row statement (two values each).
const KEYS_PER_STATEMENT: usize = 400;

/// The keys of a customer from the fields they are made of.
pub fn keys_of(name: &str, employer: Option<&str>, phones: [Option<&str>; 3]) -> Vec<String> {
    fragment_keys(name, employer, &phones)
}

/// The keys customer `id` has now (computed from its row): read them
/// before changing the name, employer or phones, and give them to [`sync`]
/// after.
pub async fn current(tx: &mut Tx, id: CustomerId) -> Result<Vec<String>> {
    let row = sqlx::query("SELECT name, employer, mobile, mobile2, landline FROM customers WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut ***tx)
        .await?;
    let Some(r) = row else { return Ok(Vec::new()) };
    let name: String = r.try_get(0)?;
    let employer: Option<String> = r.try_get(1)?;
    let p: [Option<String>; 3] = [r.try_get(2)?, r.try_get(3)?, r.try_get(4)?];
    Ok(keys_of(&name, employer.as_deref(), [p[0].as_deref(), p[1].as_deref(), p[2].as_deref()]))
}

/// Brings customer `id`'s keys from `before` (what [`current`] gave before
/// the change, or nothing for a new customer) to what its row holds now.
///
/// Keys are removed by what they were computed from rather than looked up by
/// customer, which spares the index a second B-tree (measured: a third of
/// the import's writes). A change to [`fragment_keys`] therefore comes with
/// a migration that empties `customer_search`, which [`build_if_empty`]
/// then fills again.
pub async fn sync(tx: &mut Tx, id: CustomerId, before: &[String]) -> Result<()> {
    let now = current(tx, id).await?;
    for gone in before.iter().filter(|k| !now.contains(k)) {
        sqlx::query("DELETE FROM customer_search WHERE k = $1 AND customer_id = $2")
            .bind(gone.as_str())
            .bind(id.0)
            .execute(&mut ***tx)
            .await?;
    }
    insert(tx, now.iter().filter(|k| !before.contains(k)).map(|k| (id.0, k.as_str()))).await
}

/// Adds keys (customer id, key) with multi-row statements.
pub(crate) async fn insert<'a>(tx: &mut Tx, keys: impl Iterator<Item = (i64, &'a str)>) -> Result<()> {
    let keys: Vec<(i64, &str)> = keys.collect();
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let mut sql = Sql::new("INSERT INTO customer_search (k, customer_id) VALUES ");
        for (i, (id, k)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(*k).push(", ").bind(*id).push(")");
        }
        sql.push(" ON CONFLICT (k, customer_id) DO NOTHING");
        sql.query().execute(&mut ***tx).await?;
    }
    Ok(())
}

/// Indexes every customer when the index is empty but customers exist (an
/// archive created before the index, or restored from such a backup).
/// Returns how many customers were indexed.
pub async fn build_if_empty(store: &Store) -> Result<u64> {
    let needed: bool = sqlx::query_scalar::<_, i64>(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM customer_search) \
         THEN 1 ELSE 0 END",
    )
    .fetch_one(store.pool())
    .await?
        == 1;
    if !needed {
        return Ok(0);
    }
    let mut after = 0i64;
    let mut done = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT id, name, employer, mobile, mobile2, landline FROM customers WHERE id > $1 ORDER BY id LIMIT 5000",
        )
        .bind(after)
        .fetch_all(store.pool())
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        let mut keys: Vec<(i64, String)> = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let name: String = r.try_get(1)?;
            let employer: Option<String> = r.try_get(2)?;
            let p: [Option<String>; 3] = [r.try_get(3)?, r.try_get(4)?, r.try_get(5)?];
            for k in keys_of(&name, employer.as_deref(), [p[0].as_deref(), p[1].as_deref(), p[2].as_deref()]) {
                keys.push((id, k));
            }
        }
        let mut tx = store.begin().await?;
        insert(&mut tx, keys.iter().map(|(id, k)| (*id, k.as_str()))).await?;
        tx.commit().await?;
        done += rows.len() as u64;
    }
    if store.backend() == crate::Backend::Postgres {
        // Plans made with the empty table's statistics walk every customer.
        sqlx::query("ANALYZE customer_search").execute(store.pool()).await?;
    }
    Ok(done)
}

/// The smallest text greater than every text that starts with `prefix` (in
/// byte order, which both engines use for these columns).
fn upper_bound(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// Above this many matches (estimated per way of matching, each count
/// stopping there) a search is broad: with the newest first, walking the
/// customers from the newest and testing each finds a page sooner than
/// collecting every match to sort it.
pub const BROAD: i64 = 5000;

/// How many customers a search finds, from the index alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Breadth {
    /// The most any one way of matching finds (at most `BROAD + 1`).
    pub widest: i64,
    /// All ways together: at least the number of customers found (one found
    /// two ways counts twice; merged ones and visibility are not applied).
    pub sum: i64,
}

impl Breadth {
    /// Whether the search is broad (see [`BROAD`]).
    pub fn is_broad(self) -> bool {
        self.widest > BROAD
    }
}

/// Up to this many index matches a search's total is counted exactly;
/// above it, the index's count is shown as an estimate (约), which spares
/// collecting every match twice.
pub const EXACT_COUNT: i64 = 300;

/// How search text `q` is matched.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    lower: String,
    /// The ASCII letters of `q` when it is only that (pinyin or initials).
    letters: Option<String>,
    /// The digits of `q` when it is only that (a phone or part of one).
    digits: Option<String>,
    code: Option<String>,
    document_hash: Option<String>,
}

impl Search {
    /// `documents`: whether `q` may match ID card and passport numbers.
    pub(crate) fn new(store: &Store, q: &str, documents: bool) -> Search {
        let lower = q.trim().to_lowercase();
        let compact: String = lower.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        let letters = (!compact.is_empty() && compact.chars().all(|c| c.is_ascii_lowercase())).then(|| compact.clone());
        let digits = compact.trim_start_matches('+');
        let digits = (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| digits.to_string());
        let code = (compact.starts_with('c') && compact.len() > 1 && compact[1..].chars().all(|c| c.is_ascii_digit()))
            .then(|| compact.to_uppercase());
        let document_hash = (documents && compact.len() >= 5).then(|| store.data_key().index(&compact.to_uppercase()));
        Search { lower, letters, digits, code, document_hash }
    }

    /// Each way `q` can match, as a query of customer ids.
    fn branches(&self) -> Vec<Sql> {
        let key_range = |prefix: String| {
            let above = upper_bound(&prefix);
            let mut sql = Sql::new("SELECT s.customer_id AS id FROM customer_search s WHERE s.k >= ");
            sql.bind(prefix).push(" AND s.k < ").bind(above);
            sql
        };
        let column_range = |column: &str, prefix: &str| {
            let mut sql = Sql::new(&format!("SELECT c2.id AS id FROM customers c2 WHERE c2.{column} >= "));
            sql.bind(prefix).push(&format!(" AND c2.{column} < ")).bind(upper_bound(prefix));
            sql
        };
        let equal = |column: &str, value: &str| {
            let mut sql = Sql::new(&format!("SELECT c2.id AS id FROM customers c2 WHERE c2.{column} = "));
            sql.bind(value);
            sql
        };
        let mut out = vec![key_range(format!("{KEY_NAME}{}", self.lower))];
        if self.lower.chars().count() >= 2 {
            out.push(key_range(format!("{KEY_EMPLOYER}{}", self.lower)));
        }
        if let Some(l) = &self.letters {
            out.push(column_range("name_pinyin", l));
            out.push(column_range("name_initials", l));
            out.push(key_range(format!("{KEY_READING}{l}")));
        }
        if let Some(d) = &self.digits {
            out.push(key_range(format!("{KEY_PHONE}{}", d.chars().rev().collect::<String>())));
            if d.len() >= 3 {
                out.push(column_range("mobile", d));
            }
        }
        if let Some(c) = &self.code {
            out.push(equal("code", c));
        }
        if let Some(h) = &self.document_hash {
            out.push(equal("id_card_hash", h));
            out.push(equal("passport_hash", h));
        }
        out
    }

    /// Appends ` AND c.id IN (…)`: every customer one of the ways finds.
    pub(crate) fn push_keys(&self, sql: &mut Sql) {
        sql.push(" AND c.id IN (");
        for (i, b) in self.branches().into_iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ");
            }
            sql.append(b);
        }
        sql.push(")");
    }

    /// Appends the same test as [`Self::push_keys`] as a condition on the
    /// row itself, for walking the customers in order (see [`BROAD`]).
    /// Second surname readings are left to the keys.
    pub(crate) fn push_row_test(&self, sql: &mut Sql) {
        let contains = format!("%{}%", like_escape(&self.lower));
        sql.push(" AND (LOWER(c.name) LIKE ").bind(contains.as_str()).push(" ESCAPE '\\'");
        if self.lower.chars().count() >= 2 {
            sql.push(" OR LOWER(c.employer) LIKE ").bind(contains).push(" ESCAPE '\\'");
        }
        if let Some(l) = &self.letters {
            sql.push(" OR c.name_pinyin LIKE ").bind(format!("{l}%"));
            sql.push(" OR c.name_initials LIKE ").bind(format!("{l}%"));
        }
        if let Some(d) = &self.digits {
            let tail = format!("%{d}");
            sql.push(" OR c.mobile LIKE ").bind(tail.as_str());
            sql.push(" OR c.mobile2 LIKE ").bind(tail.as_str());
            sql.push(" OR REPLACE(REPLACE(c.landline, '-', ''), ' ', '') LIKE ").bind(tail);
            if d.len() >= 3 {
                sql.push(" OR c.mobile LIKE ").bind(format!("{d}%"));
            }
        }
        if let Some(c) = &self.code {
            sql.push(" OR c.code = ").bind(c.as_str());
        }
        if let Some(h) = &self.document_hash {
            sql.push(" OR c.id_card_hash = ").bind(h.as_str());
            sql.push(" OR c.passport_hash = ").bind(h.as_str());
        }
        sql.push(")");
    }

    /// How many customers each way of matching finds, each count stopping
    /// above [`BROAD`] (one statement; it reads index entries only).
    pub(crate) async fn breadth(&self, store: &Store) -> Result<Breadth> {
        let mut sql = Sql::new("SELECT ");
        for (i, b) in self.branches().into_iter().enumerate() {
            sql.push(if i == 0 { "(SELECT COUNT(*) FROM (" } else { ", (SELECT COUNT(*) FROM (" });
            sql.append(b);
            sql.push(" LIMIT ").bind(BROAD + 1).push(") AS matches)");
        }
        let row = sql.query().fetch_one(store.pool()).await?;
        let mut out = Breadth { widest: 0, sum: 0 };
        for i in 0..row.len() {
            let n: i64 = row.try_get(i)?;
            out.widest = out.widest.max(n);
            out.sum += n;
        }
        Ok(out)
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bound_is_above_every_continuation() {
        let b = upper_bound("n王");
        for t in ["n王", "n王丽", "n王\u{10fffe}", "n王zzzz"] {
            assert!(t < b.as_str(), "{t}");
        }
        assert!("n\u{738c}" > b.as_str(), "the next character (王 + 1) is past the range");
    }
}
