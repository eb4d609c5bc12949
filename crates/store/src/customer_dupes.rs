//! Likely duplicate customers: before a customer is saved or imported, and
//! across the whole archive for a review page.
//!
//! Every lookup is an exact match on an indexed column (mobile, e-mail, the
//! blind indexes of the ID card and passport numbers, name), so it stays fast
//! at a million customers. "Similar" phones and the same company are then
//! compared in memory among the few customers that share a name.
//!
//! Customers merged into another, erased ones, and customers the caller may
//! not see are never candidates.

use crate::customers::{self, Customer};
use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{Result, Store, StoreError};
use domain::ids::CustomerId;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// Same mobile number.
pub const SAME_MOBILE: &str = "same_mobile";
/// Same ID card number.
pub const SAME_ID_CARD: &str = "same_id_card";
/// Same passport number.
pub const SAME_PASSPORT: &str = "same_passport";
/// Same e-mail address.
pub const SAME_EMAIL: &str = "same_email";
/// Same name, and phones sharing the last four digits or differing in one digit.
pub const SAME_NAME_SIMILAR_PHONE: &str = "same_name_similar_phone";
/// Same name and same employer.
pub const SAME_NAME_SAME_COMPANY: &str = "same_name_same_company";

/// Customers sharing one name are compared pairwise; a very common name
/// (张伟) is cut off here rather than compared with thousands.
const NAME_ROWS: i64 = 200;
/// Customers sharing one key value considered for pairs.
const GROUP_ROWS: i64 = 20;

/// What a new or edited customer looks like, as far as duplicates go. Values
/// are normalised as stored (mobile as 11 digits, ID card and passport as
/// parsed); empty strings count as absent.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Name (person or company).
    pub name: String,
    /// Mobile, 11 digits.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// ID card number, normalised (`IdCardNo::as_str`).
    pub id_card: Option<String>,
    /// Passport number, normalised (`PassportNo::as_str`).
    pub passport: Option<String>,
    /// Employer (单位).
    pub employer: Option<String>,
    /// The customer being edited, which is not its own duplicate.
    pub exclude: Option<CustomerId>,
}

/// A likely duplicate and why.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The customer (documents masked).
    pub customer: Customer,
    /// The reasons, strongest first: the `SAME_*` codes of this module.
    pub reasons: Vec<&'static str>,
}

/// The lookup keys of a probe, with documents already as blind indexes.
struct Keys {
    name: String,
    mobile: Option<String>,
    emails: Vec<String>,
    id_hash: Option<String>,
    passport_hash: Option<String>,
    employer: Option<String>,
    exclude: Option<CustomerId>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// How much a reason says: documents are near proof, a phone or e-mail
/// strong, a name with something else a hint.
fn weight(reason: &str) -> u32 {
    match reason {
        SAME_ID_CARD | SAME_PASSPORT => 8,
        SAME_MOBILE => 4,
        SAME_EMAIL => 3,
        _ => 1,
    }
}

fn score(reasons: &[&'static str]) -> u32 {
    reasons.iter().map(|r| weight(r)).sum()
}

fn add_reason(reasons: &mut Vec<&'static str>, r: &'static str) {
    if !reasons.contains(&r) {
        reasons.push(r);
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(weight(r)));
}

/// The digits of a phone number, as written or stored.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether two phone numbers are "similar": not equal, but sharing the last
/// four digits (a typo in the prefix, another number of the same family
/// plan), or of the same length and differing in exactly one digit (a typo).
pub fn similar_phones(a: &str, b: &str) -> bool {
    let (a, b) = (digits(a), digits(b));
    if a.len() < 4 || b.len() < 4 || a == b {
        return false;
    }
    if a[a.len() - 4..] == b[b.len() - 4..] {
        return true;
    }
    a.len() == b.len() && a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count() == 1
}

fn same_company(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<String>().to_lowercase();
    let (a, b) = (norm(a), norm(b));
    !a.is_empty() && a == b
}

/// The condition every candidate meets: live, not erased, visible.
fn live(sql: &mut Sql, vis: &Visibility) {
    sql.push(" AND c.merged_into_id IS NULL AND c.erased_at IS NULL");
    vis.restrict(sql, "c.owner_id", "c.team_id");
}

/// The likely duplicates of `p` among the customers `vis` lets the caller
/// see, strongest first.
pub async fn likely(store: &Store, vis: &Visibility, p: &Probe) -> Result<Vec<Candidate>> {
    let key = store.data_key();
    let mut emails = Vec::new();
    if let Some(e) = present(&p.email) {
        emails.push(e.to_string());
        if e.to_lowercase() != e {
            emails.push(e.to_lowercase());
        }
    }
    let keys = Keys {
        name: p.name.trim().to_string(),
        mobile: present(&p.mobile).map(digits).filter(|d| !d.is_empty()),
        emails,
        id_hash: present(&p.id_card).map(|v| key.index(&v.to_uppercase())),
        passport_hash: present(&p.passport).map(|v| key.index(&v.to_uppercase())),
        employer: present(&p.employer).map(str::to_string),
        exclude: p.exclude,
    };
    candidates(store, vis, &keys).await
}

/// The likely duplicates of a stored customer (by its own stored values).
pub async fn of_customer(store: &Store, vis: &Visibility, id: CustomerId) -> Result<Vec<Candidate>> {
    let c = customers::get(store, vis, id).await?;
    let row = sqlx::query("SELECT id_card_hash, passport_hash FROM customers WHERE id = $1")
        .bind(id.0)
        .fetch_optional(store.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
    let d = &c.data;
    let keys = Keys {
        name: d.name.clone(),
        mobile: d.mobile.clone(),
        emails: d.email.iter().cloned().collect(),
        id_hash: row.try_get("id_card_hash")?,
        passport_hash: row.try_get("passport_hash")?,
        employer: d.employer.clone(),
        exclude: Some(id),
    };
    candidates(store, vis, &keys).await
}

async fn candidates(store: &Store, vis: &Visibility, k: &Keys) -> Result<Vec<Candidate>> {
    let mut found: BTreeMap<i64, Vec<&'static str>> = BTreeMap::new();
    let exact: [(&str, &'static str, Vec<&str>); 4] = [
        ("c.mobile", SAME_MOBILE, k.mobile.iter().map(String::as_str).collect()),
        ("c.email", SAME_EMAIL, k.emails.iter().map(String::as_str).collect()),
        ("c.id_card_hash", SAME_ID_CARD, k.id_hash.iter().map(String::as_str).collect()),
        ("c.passport_hash", SAME_PASSPORT, k.passport_hash.iter().map(String::as_str).collect()),
    ];
    for (col, reason, values) in exact {
        if values.is_empty() {
            continue;
        }
        let mut sql = Sql::new(&format!("SELECT c.id FROM customers c WHERE {col} IN "));
        sql.bind_list(values);
        live(&mut sql, vis);
        if let Some(x) = k.exclude {
            sql.push(" AND c.id <> ").bind(x.0);
        }
        sql.push(" ORDER BY c.id LIMIT ").bind(GROUP_ROWS);
        for r in sql.query().fetch_all(store.pool()).await? {
            add_reason(found.entry(r.try_get(0)?).or_default(), reason);
        }
    }
    if !k.name.is_empty() && (k.mobile.is_some() || k.employer.is_some()) {
        let mut sql =
            Sql::new("SELECT c.id, c.mobile, c.mobile2, c.landline, c.employer FROM customers c WHERE c.name = ");
        sql.bind(k.name.as_str());
        live(&mut sql, vis);
        if let Some(x) = k.exclude {
            sql.push(" AND c.id <> ").bind(x.0);
        }
        sql.push(" ORDER BY c.id LIMIT ").bind(NAME_ROWS);
        for r in sql.query().fetch_all(store.pool()).await? {
            let id: i64 = r.try_get(0)?;
            let phones: Vec<Option<String>> = vec![r.try_get(1)?, r.try_get(2)?, r.try_get(3)?];
            let employer: Option<String> = r.try_get(4)?;
            let reasons = found.entry(id).or_default();
            if let Some(m) = &k.mobile {
                if !reasons.contains(&SAME_MOBILE) && phones.iter().flatten().any(|p| similar_phones(m, p)) {
                    add_reason(reasons, SAME_NAME_SIMILAR_PHONE);
                }
            }
            if let (Some(a), Some(b)) = (&k.employer, &employer) {
                if same_company(a, b) {
                    add_reason(reasons, SAME_NAME_SAME_COMPANY);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (id, reasons) in found.into_iter().filter(|(_, r)| !r.is_empty()) {
        let customer = customers::get(store, vis, CustomerId(id)).await?;
        out.push(Candidate { customer, reasons });
    }
    out.sort_by(|a, b| score(&b.reasons).cmp(&score(&a.reasons)).then(a.customer.id.cmp(&b.customer.id)));
    Ok(out)
}

/// Likely duplicate pairs across the archive, within what `vis` lets the
/// caller see (both customers of a pair are visible), strongest first, at
/// most `limit`. Each pair is `(older, newer)` by id.
pub async fn pairs(store: &Store, vis: &Visibility, limit: i64) -> Result<Vec<(Candidate, Candidate)>> {
    let limit = limit.clamp(1, 500);
    let mut found: BTreeMap<(i64, i64), Vec<&'static str>> = BTreeMap::new();
    let mut note = |a: i64, b: i64, reason: &'static str| {
        let key = if a < b { (a, b) } else { (b, a) };
        add_reason(found.entry(key).or_default(), reason);
    };
    for (col, reason) in [
        ("c.id_card_hash", SAME_ID_CARD),
        ("c.passport_hash", SAME_PASSPORT),
        ("c.mobile", SAME_MOBILE),
        ("c.email", SAME_EMAIL),
    ] {
        for value in shared_values(store, vis, col, limit).await? {
            let mut sql = Sql::new(&format!("SELECT c.id FROM customers c WHERE {col} = "));
            sql.bind(value);
            live(&mut sql, vis);
            sql.push(" ORDER BY c.id LIMIT ").bind(GROUP_ROWS);
            let ids: Vec<i64> =
                sql.query().fetch_all(store.pool()).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
            for (i, &a) in ids.iter().enumerate() {
                for &b in &ids[i + 1..] {
                    note(a, b, reason);
                }
            }
        }
    }
    // Shared names are common; look at more of them, since most groups are
    // namesakes with nothing else in common.
    for name in shared_values(store, vis, "c.name", limit * 5).await? {
        let mut sql =
            Sql::new("SELECT c.id, c.mobile, c.mobile2, c.landline, c.employer FROM customers c WHERE c.name = ");
        sql.bind(name);
        live(&mut sql, vis);
        sql.push(" ORDER BY c.id LIMIT ").bind(GROUP_ROWS);
        let mut rows = Vec::new();
        for r in sql.query().fetch_all(store.pool()).await? {
            let phones: Vec<String> =
                [r.try_get::<Option<String>, _>(1)?, r.try_get(2)?, r.try_get(3)?].into_iter().flatten().collect();
            rows.push((r.try_get::<i64, _>(0)?, phones, r.try_get::<Option<String>, _>(4)?));
        }
        for (i, (a, pa, ea)) in rows.iter().enumerate() {
            for (b, pb, eb) in &rows[i + 1..] {
                if pa.iter().any(|x| pb.iter().any(|y| similar_phones(x, y))) {
                    note(*a, *b, SAME_NAME_SIMILAR_PHONE);
                }
                if let (Some(x), Some(y)) = (ea, eb) {
                    if same_company(x, y) {
                        note(*a, *b, SAME_NAME_SAME_COMPANY);
                    }
                }
            }
        }
    }
    let mut ranked: Vec<((i64, i64), Vec<&'static str>)> = found.into_iter().collect();
    ranked.sort_by(|(ka, ra), (kb, rb)| score(rb).cmp(&score(ra)).then(ka.cmp(kb)));
    ranked.truncate(limit as usize);
    let mut loaded: HashMap<i64, Customer> = HashMap::new();
    let mut out = Vec::with_capacity(ranked.len());
    for ((a, b), reasons) in ranked {
        for id in [a, b] {
            if let std::collections::hash_map::Entry::Vacant(e) = loaded.entry(id) {
                e.insert(customers::get(store, vis, CustomerId(id)).await?);
            }
        }
        out.push((
            Candidate { customer: loaded[&a].clone(), reasons: reasons.clone() },
            Candidate { customer: loaded[&b].clone(), reasons },
        ));
    }
    Ok(out)
}

/// Values of `col` that more than one live, visible customer holds.
async fn shared_values(store: &Store, vis: &Visibility, col: &str, limit: i64) -> Result<Vec<String>> {
    let mut sql = Sql::new(&format!("SELECT {col} FROM customers c WHERE {col} IS NOT NULL AND {col} <> ''"));
    live(&mut sql, vis);
    sql.push(&format!(" GROUP BY {col} HAVING COUNT(*) > 1 ORDER BY {col} LIMIT ")).bind(limit);
    let rows = sql.query().fetch_all(store.pool()).await?;
    Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_phones_share_the_last_four_or_differ_in_one_digit() {
        assert!(similar_phones("13812345678", "13912345678"), "one digit");
        assert!(similar_phones("13812345678", "15000005678"), "last four");
        assert!(similar_phones("13812345678", "021-6321-5678"), "a landline ending the same");
        assert!(!similar_phones("13812345678", "13812345678"), "equal is not similar: it is the same");
        assert!(!similar_phones("13812345678", "13812346687"), "two digits apart");
        assert!(!similar_phones("13812345678", "123"));
    }

    #[test]
    fn reasons_are_ordered_strongest_first_and_unique() {
        let mut r = Vec::new();
        add_reason(&mut r, SAME_NAME_SAME_COMPANY);
        add_reason(&mut r, SAME_MOBILE);
        add_reason(&mut r, SAME_ID_CARD);
        add_reason(&mut r, SAME_MOBILE);
        assert_eq!(r, vec![SAME_ID_CARD, SAME_MOBILE, SAME_NAME_SAME_COMPANY]);
        assert!(same_company("ABC 旅行社", "abc旅行社"));
        assert!(!same_company(" ", " "));
    }
}
