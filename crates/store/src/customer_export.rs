//! Exporting customers to CSV or XLSX with the columns imports read back
//! ([`crate::customer_import::FIELDS`] and the custom fields).
//!
//! Two sources: [`export_all`], an administrator's full export from the
//! command line (every customer, documents in full), and [`export_list`], the
//! web list's current filter within the viewer's visibility, with documents
//! masked outside the viewer's `customers.pii` reach. Both write one audit
//! row (`export`) with the row count and the filter.
//!
//! Every cell that a spreadsheet would run as a formula (starting with
//! `= + - @`, tab or CR) gets a leading apostrophe ([`neutralise`]); imports
//! remove it again. XLSX cells are all text, so phone and ID numbers never
//! turn into `1.38E+10`; in CSV, long digit strings get a leading tab, which
//! makes Excel keep them as text.

use crate::customer_fields::FieldDef;
use crate::customer_import::{all_custom_fields, FIELDS};
use crate::customers::{self, Consent, Customer, CustomerData, Filter};
use crate::sql::Sql;
use crate::visibility::Visibility;
use crate::{audit, Actor, Result, Store, StoreError};
use domain::access::Scope;
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::customer::{CustomerKind, Gender, LifecycleStage, PartnerType, SourceChannel};
use domain::ids::{CustomerId, TeamId, UserId};
use sqlx::Row;
use std::borrow::Cow;
use std::collections::HashMap;

/// The file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated text.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// From `csv` or `xlsx` (a file extension or a query parameter).
    pub fn from_code(s: &str) -> Option<ExportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// The text encoding of a CSV export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark, which current Excel opens correctly.
    Utf8Bom,
    /// GB18030 (a superset of GBK), for old Excel on Chinese Windows.
    Gbk,
}

/// How headers and choice values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// Field keys and stored codes (`kind` = `individual`).
    Codes,
    /// Chinese headers and labels (`类型` = `散客`).
    Zh,
    /// English headers and labels (`Kind` = `Individual`).
    En,
}

/// How to write an export.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    /// CSV or XLSX.
    pub format: ExportFormat,
    /// CSV encoding.
    pub encoding: CsvEncoding,
    /// Headers and values.
    pub labels: Labels,
}

/// Prefixes an apostrophe to text a spreadsheet would treat as a formula.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// One customer ready to write: documents already in the form the reader
/// may see (full or masked).
pub struct ExportRow {
    /// The customer.
    pub customer: Customer,
    /// The owner's username.
    pub owner: String,
    /// ID card number as it may be shown.
    pub id_card: Option<String>,
    /// Passport number as it may be shown.
    pub passport: Option<String>,
}

/// Exported columns: every built-in field (the `phone` column holds the
/// mobile; `mobile` itself is not repeated) and every custom field.
fn builtin_columns() -> impl Iterator<Item = &'static crate::customer_import::FieldSpec> {
    FIELDS.iter().filter(|f| f.key != "mobile")
}

/// The header row.
pub fn headers(labels: Labels, custom: &[FieldDef]) -> Vec<String> {
    let mut out: Vec<String> = builtin_columns()
        .map(|f| match labels {
            Labels::Codes => f.key,
            Labels::Zh => f.label_zh,
            Labels::En => f.label_en,
        })
        .map(str::to_string)
        .collect();
    out.extend(custom.iter().map(|d| match labels {
        Labels::Codes => d.key.clone(),
        Labels::Zh => d.label_zh.clone(),
        Labels::En => d.label_en.clone(),
    }));
    out
}

fn choice<T: Copy>(
    labels: Labels,
    code: Option<&str>,
    from: fn(&str) -> Option<T>,
    zh: fn(T) -> &'static str,
    en: fn(T) -> &'static str,
) -> String {
    let Some(code) = code else { return String::new() };
    match (labels, from(code)) {
        (Labels::Zh, Some(v)) => zh(v).to_string(),
        (Labels::En, Some(v)) => en(v).to_string(),
        _ => code.to_string(),
    }
}

fn flag(labels: Labels, v: bool) -> String {
    match (labels, v) {
        (Labels::Zh, true) => "是",
        (Labels::Zh, false) => "否",
        (Labels::En, true) => "yes",
        (Labels::En, false) => "no",
        (Labels::Codes, true) => "true",
        (Labels::Codes, false) => "false",
    }
    .to_string()
}

/// The cells of one customer, in [`headers`] order (not yet neutralised).
pub fn cells(row: &ExportRow, labels: Labels, custom: &[FieldDef]) -> Vec<String> {
    let d: &CustomerData = &row.customer.data;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let Consent { email, sms, wechat, phone } = d.consent;
    let mut out: Vec<String> = builtin_columns()
        .map(|f| match f.key {
            "code" => row.customer.code.clone(),
            "name" => d.name.clone(),
            "kind" => {
                choice(labels, Some(&d.kind), CustomerKind::from_code, CustomerKind::label_zh, CustomerKind::label_en)
            }
            "gender" => choice(labels, d.gender.as_deref(), Gender::from_code, Gender::label_zh, Gender::label_en),
            "phone" => s(&d.mobile),
            "mobile2" => s(&d.mobile2),
            "landline" => s(&d.landline),
            "email" => s(&d.email),
            "birthday" => s(&d.birthday),
            "lunar_birthday" => s(&d.lunar_birthday),
            "province" => s(&d.province),
            "city" => s(&d.city),
            "district" => s(&d.district),
            "address" => s(&d.address),
            "company" => s(&d.employer),
            "title" => s(&d.title),
            "id_card" => s(&row.id_card),
            "passport" => s(&row.passport),
            "passport_expiry" => s(&d.passport_expiry),
            "source" => choice(
                labels,
                d.source.as_deref(),
                SourceChannel::from_code,
                SourceChannel::label_zh,
                SourceChannel::label_en,
            ),
            "source_detail" => s(&d.source_detail),
            "wechat" => s(&d.wechat),
            "fax" => s(&d.fax),
            "hobbies" => s(&d.hobbies),
            "diet" => s(&d.diet),
            "room_pref" => s(&d.room_pref),
            "seat_pref" => s(&d.seat_pref),
            "partner_type" => choice(
                labels,
                d.partner_type.as_deref(),
                PartnerType::from_code,
                PartnerType::label_zh,
                PartnerType::label_en,
            ),
            "industry" => s(&d.industry),
            "license_no" => s(&d.license_no),
            "stage" => choice(
                labels,
                Some(&d.stage),
                LifecycleStage::from_code,
                LifecycleStage::label_zh,
                LifecycleStage::label_en,
            ),
            "grade" => s(&d.grade),
            "tags" => d.tags.join(if labels == Labels::Zh { "，" } else { "," }),
            "owner" => row.owner.clone(),
            "consent_email" => flag(labels, email),
            "consent_sms" => flag(labels, sms),
            "consent_wechat" => flag(labels, wechat),
            "consent_phone" => flag(labels, phone),
            "notes" => s(&d.notes),
            _ => String::new(),
        })
        .collect();
    out.extend(custom.iter().map(|def| match d.custom.get(&def.key) {
        None => String::new(),
        Some(serde_json::Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
    }));
    out
}

/// Columns whose digit strings Excel would turn into numbers.
const NUMERIC_TEXT: &[&str] = &["phone", "mobile2", "id_card", "passport"];

/// Excel's row limit per sheet (with the header).
const XLSX_MAX_ROWS: u64 = 1_048_576;

/// Accumulates rows and produces the file.
pub struct SheetWriter {
    opts: ExportOptions,
    numeric_text: Vec<bool>,
    csv: Option<csv::Writer<Vec<u8>>>,
    book: Option<rust_xlsxwriter::Workbook>,
    rows: u64,
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> StoreError {
    StoreError::Backup(format!("cannot write the workbook: {e}"))
}

impl SheetWriter {
    /// Starts a file with its header row.
    pub fn new(opts: ExportOptions, headers: &[String]) -> Result<SheetWriter> {
        let numeric_text = builtin_columns()
            .map(|f| NUMERIC_TEXT.contains(&f.key))
            .chain(std::iter::repeat(false))
            .take(headers.len())
            .collect();
        let mut w = SheetWriter { opts, numeric_text, csv: None, book: None, rows: 0 };
        match opts.format {
            ExportFormat::Csv => {
                let bom = if opts.encoding == CsvEncoding::Utf8Bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
                w.csv = Some(csv::WriterBuilder::new().from_writer(bom));
            }
            ExportFormat::Xlsx => {
                let mut book = rust_xlsxwriter::Workbook::new();
                let bold = rust_xlsxwriter::Format::new().set_bold();
                let sheet = book.add_worksheet_with_constant_memory();
                sheet.set_name("客户 Customers").map_err(xlsx_err)?;
                for (i, h) in headers.iter().enumerate() {
                    let col = i as u16;
                    sheet.write_string_with_format(0, col, neutralise(h).as_ref(), &bold).map_err(xlsx_err)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
                w.book = Some(book);
            }
        }
        if let Some(c) = &mut w.csv {
            c.write_record(headers.iter().map(|h| neutralise(h).into_owned())).map_err(csv_err)?;
        }
        Ok(w)
    }

    /// Adds one row of cells.
    pub fn push(&mut self, cells: &[String]) -> Result<()> {
        self.rows += 1;
        if let Some(c) = &mut self.csv {
            let out = cells.iter().zip(&self.numeric_text).map(|(v, numeric)| {
                let safe = neutralise(v);
                // A leading tab keeps Excel from reading 18-digit ID numbers
                // and mobiles as numbers (and losing digits).
                if *numeric && safe.len() >= 11 && safe.bytes().all(|b| b.is_ascii_digit()) {
                    format!("\t{safe}")
                } else {
                    safe.into_owned()
                }
            });
            c.write_record(out).map_err(csv_err)?;
        }
        if let Some(book) = &mut self.book {
            if self.rows >= XLSX_MAX_ROWS {
                return Err(StoreError::Backup(format!(
                    "an XLSX sheet holds at most {} rows; export to CSV instead",
                    XLSX_MAX_ROWS - 1
                )));
            }
            let sheet = book.worksheet_from_index(0).map_err(xlsx_err)?;
            for (i, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    sheet.write_string(self.rows as u32, i as u16, neutralise(v).as_ref()).map_err(xlsx_err)?;
                }
            }
        }
        Ok(())
    }

    /// Rows written (without the header).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The finished file.
    pub fn finish(self) -> Result<Vec<u8>> {
        if let Some(c) = self.csv {
            let bytes = c.into_inner().map_err(|e| StoreError::Backup(format!("cannot write the CSV: {e}")))?;
            return Ok(match self.opts.encoding {
                CsvEncoding::Utf8Bom => bytes,
                CsvEncoding::Gbk => {
                    let text = String::from_utf8(bytes).unwrap_or_default();
                    encoding_rs::GB18030.encode(&text).0.into_owned()
                }
            });
        }
        match self.book {
            Some(mut b) => b.save_to_buffer().map_err(xlsx_err),
            None => Ok(Vec::new()),
        }
    }
}

fn csv_err(e: csv::Error) -> StoreError {
    StoreError::Backup(format!("cannot write the CSV: {e}"))
}

async fn usernames(store: &Store) -> Result<HashMap<i64, String>> {
    let rows = sqlx::query("SELECT id, username FROM users").fetch_all(store.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

async fn audit_export(store: &Store, actor: &Actor, rows: u64, what: &str, filter: &str, docs: &str) -> Result<()> {
    let mut c = ChangeSet::new();
    c.created("rows", Some(&rows.to_string()), Sensitivity::Plain);
    c.created("format", Some(what), Sensitivity::Plain);
    c.created("filter", Some(filter), Sensitivity::Plain);
    c.created("documents", Some(docs), Sensitivity::Plain);
    let mut tx = store.begin().await?;
    audit::record(
        &mut tx,
        actor,
        Action::Export,
        "customer",
        "list",
        &format!("exported {rows} customers ({what})"),
        &c,
    )
    .await?;
    tx.commit().await
}

/// Every customer (not merged away), documents in full, as an administrator
/// exports from the command line. Returns the file and the row count.
pub async fn export_all(store: &Store, actor: &Actor, opts: ExportOptions) -> Result<(Vec<u8>, u64)> {
    let custom = all_custom_fields(store).await?;
    let owners = usernames(store).await?;
    let key = store.data_key();
    let mut w = SheetWriter::new(opts, &headers(opts.labels, &custom))?;
    let mut last = 0i64;
    loop {
        let rows =
            sqlx::query("SELECT * FROM customers WHERE id > $1 AND merged_into_id IS NULL ORDER BY id LIMIT 2000")
                .bind(last)
                .fetch_all(store.pool())
                .await?;
        let Some(tail) = rows.last() else { break };
        let first: i64 = rows[0].try_get("id")?;
        last = tail.try_get("id")?;
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for t in sqlx::query(
            "SELECT customer_id, tag FROM customer_tags WHERE customer_id >= $1 AND customer_id <= $2 \
             ORDER BY customer_id, tag",
        )
        .bind(first)
        .bind(last)
        .fetch_all(store.pool())
        .await?
        {
            tags.entry(t.try_get(0)?).or_default().push(t.try_get(1)?);
        }
        for r in &rows {
            let mut customer = customer_from_row(r)?;
            customer.data.tags = tags.remove(&customer.id.0).unwrap_or_default();
            let open = |col: &str| -> Result<Option<String>> {
                r.try_get::<Option<String>, _>(col)?.map(|s| key.open(&s)).transpose()
            };
            let row = ExportRow {
                owner: owners.get(&customer.data.owner_id.0).cloned().unwrap_or_default(),
                id_card: open("id_card_enc")?,
                passport: open("passport_enc")?,
                customer,
            };
            w.push(&cells(&row, opts.labels, &custom))?;
        }
    }
    let n = w.rows();
    let bytes = w.finish()?;
    audit_export(store, actor, n, opts.format.extension(), "all customers", "full").await?;
    Ok((bytes, n))
}

/// Whether `vis` reaches a customer of `owner` in `team`.
fn reaches(vis: &Visibility, owner: UserId, team: Option<TeamId>) -> bool {
    match vis.scope {
        Scope::All => true,
        Scope::Own => owner == vis.user_id,
        Scope::Team => owner == vis.user_id || team.is_some_and(|t| vis.teams.contains(&t)),
    }
}

/// The customers of a list (its filter and sort) within `vis`. ID card and
/// passport numbers are written in full for customers within `pii` (the
/// viewer's `customers.pii` reach, if any) and masked otherwise. `described`
/// is the filter as the audit row shows it.
pub async fn export_list(
    store: &Store,
    actor: &Actor,
    vis: &Visibility,
    pii: Option<&Visibility>,
    filter: &Filter,
    described: &str,
    opts: ExportOptions,
) -> Result<(Vec<u8>, u64)> {
    let custom = all_custom_fields(store).await?;
    let owners = usernames(store).await?;
    let key = store.data_key();
    let mut w = SheetWriter::new(opts, &headers(opts.labels, &custom))?;
    let mut f = filter.clone();
    f.per_page = 500;
    f.page = 1;
    let mut revealed = 0u64;
    loop {
        let page = customers::list(store, vis, &f).await?;
        let in_pii: Vec<CustomerId> = page
            .items
            .iter()
            .filter(|c| c.has_id_card || c.has_passport)
            .filter(|c| pii.is_some_and(|p| reaches(p, c.data.owner_id, c.team_id)))
            .map(|c| c.id)
            .collect();
        let mut docs: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
        if !in_pii.is_empty() {
            let mut sql = Sql::new("SELECT id, id_card_enc, passport_enc FROM customers WHERE id IN ");
            sql.bind_list(in_pii.iter().map(|c| c.0));
            for r in sql.query().fetch_all(store.pool()).await? {
                let id_card = r.try_get::<Option<String>, _>(1)?.map(|s| key.open(&s)).transpose()?;
                let passport = r.try_get::<Option<String>, _>(2)?.map(|s| key.open(&s)).transpose()?;
                docs.insert(r.try_get(0)?, (id_card, passport));
            }
        }
        for c in page.items {
            let (id_card, passport) = match docs.remove(&c.id.0) {
                Some(full) => {
                    revealed += 1;
                    full
                }
                None => (c.data.id_card_masked.clone(), c.data.passport_masked.clone()),
            };
            let row = ExportRow {
                owner: owners.get(&c.data.owner_id.0).cloned().unwrap_or_default(),
                id_card,
                passport,
                customer: c,
            };
            w.push(&cells(&row, opts.labels, &custom))?;
        }
        match page.next_page {
            Some(n) => f.page = n,
            None => break,
        }
    }
    let n = w.rows();
    let bytes = w.finish()?;
    let docs = if revealed > 0 { format!("full for {revealed} customers, masked otherwise") } else { "masked".into() };
    audit_export(store, actor, n, opts.format.extension(), described, &docs).await?;
    Ok((bytes, n))
}

/// A customer from a `SELECT * FROM customers` row (tags left empty).
pub(crate) fn customer_from_row(r: &sqlx::any::AnyRow) -> Result<Customer, sqlx::Error> {
    let custom: String = r.try_get("custom")?;
    let opt = |c: &str| r.try_get::<Option<String>, _>(c);
    Ok(Customer {
        id: CustomerId(r.try_get("id")?),
        code: r.try_get("code")?,
        data: CustomerData {
            kind: r.try_get("kind")?,
            name: r.try_get("name")?,
            name_pinyin: r.try_get("name_pinyin")?,
            name_initials: r.try_get("name_initials")?,
            gender: opt("gender")?,
            birthday: opt("birthday")?,
            lunar_birthday: opt("lunar_birthday")?,
            id_card_masked: opt("id_card_masked")?,
            passport_masked: opt("passport_masked")?,
            passport_expiry: opt("passport_expiry")?,
            employer: opt("employer")?,
            title: opt("title")?,
            mobile: opt("mobile")?,
            mobile2: opt("mobile2")?,
            landline: opt("landline")?,
            email: opt("email")?,
            wechat: opt("wechat")?,
            fax: opt("fax")?,
            province: opt("province")?,
            city: opt("city")?,
            district: opt("district")?,
            address: opt("address")?,
            hobbies: opt("hobbies")?,
            diet: opt("diet")?,
            room_pref: opt("room_pref")?,
            seat_pref: opt("seat_pref")?,
            source: opt("source")?,
            source_detail: opt("source_detail")?,
            partner_type: opt("partner_type")?,
            industry: opt("industry")?,
            license_no: opt("license_no")?,
            notes: opt("notes")?,
            consent: Consent {
                email: r.try_get::<i64, _>("consent_email")? != 0,
                sms: r.try_get::<i64, _>("consent_sms")? != 0,
                wechat: r.try_get::<i64, _>("consent_wechat")? != 0,
                phone: r.try_get::<i64, _>("consent_phone")? != 0,
            },
            owner_id: UserId(r.try_get("owner_id")?),
            stage: r.try_get("stage")?,
            grade: opt("grade")?,
            tags: Vec::new(),
            custom: serde_json::from_str(&custom).unwrap_or_default(),
        },
        team_id: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        last_contact_at: r.try_get("last_contact_at")?,
        merged_into_id: r.try_get::<Option<i64>, _>("merged_into_id")?.map(CustomerId),
        restricted: r.try_get::<i64, _>("restricted")? != 0,
        erased_at: r.try_get("erased_at")?,
        has_id_card: r.try_get::<Option<String>, _>("id_card_enc")?.is_some(),
        has_passport: r.try_get::<Option<String>, _>("passport_enc")?.is_some(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for (input, out) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@x", "'@x"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("张三", "张三"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(neutralise(input), out);
        }
    }

    #[test]
    fn every_export_header_is_read_back_by_the_import() {
        for labels in [Labels::Codes, Labels::Zh, Labels::En] {
            let h = headers(labels, &[]);
            let mapped = crate::customer_import::auto_map(&h, &[]);
            for (header, m) in h.iter().zip(&mapped) {
                assert!(m.is_some(), "{header} ({labels:?}) is not recognised");
            }
        }
    }
}
