//! Importing a customer list from a spreadsheet: CSV in any encoding Excel
//! writes on a Chinese system (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16)
//! or an Excel workbook (XLSX, XLS, ODS; first sheet).
//!
//! The file becomes a [`Sheet`] of text cells with the line numbers the user
//! sees (header = line 1). Its headers are matched to customer fields in
//! Chinese or English ([`auto_map`]), then every row is checked with the same
//! domain parsers as the form and either created, updated by customer code,
//! left alone when nothing changed, or reported with every problem it has.
//!
//! Each row is all or nothing: the customer, its tags and its audit row are
//! written by [`crate::customers`] together. Rows are written in batches of
//! one transaction; when a row fails inside the database, the batch is rolled
//! back and written again with a savepoint around each row, so good rows
//! still land and the bad one leaves nothing behind.

use crate::customer_fields::{self, FieldDef};
use crate::customer_search;
use crate::customers::{self, Customer, Draft, Sealed};
use crate::sql::Statement;
use crate::visibility::Visibility;
use crate::{Actor, Result, Store, StoreError, Tx};
use chrono::NaiveDate;
use domain::access::Scope;
use domain::audit::{Action, ChangeSet, Sensitivity};
use domain::customer::{
    self as dc, CustomerCode, CustomerKind, Gender, IdCardNo, LifecycleStage, PartnerType, PassportNo, PhoneKind,
    SourceChannel,
};
use domain::ids::{CustomerId, TeamId, UserId};
use domain::FieldError;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};

// ---------------------------------------------------------------------------
// Errors

/// Why an import could not run at all (as opposed to rows that failed).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read: not a spreadsheet, an unknown encoding, no
    /// header row, a mapping that names unknown fields.
    #[error("{0}")]
    Unreadable(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(StoreError::Db(e))
    }
}

// ---------------------------------------------------------------------------
// Reading

/// What kind of file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// Delimited text.
    Csv,
    /// An Excel (or OpenDocument) workbook.
    Workbook,
}

/// A file read into text cells.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// CSV or workbook.
    pub format: SourceFormat,
    /// The text encoding found (`UTF-8`, `GB18030` …), for CSV.
    pub encoding: Option<&'static str>,
    /// The delimiter found, for CSV.
    pub delimiter: Option<char>,
    /// The header cells, trimmed.
    pub headers: Vec<String>,
    /// The line of the header (1 unless title rows come first).
    pub header_line: u64,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// Decoded CSV text; records after the header are read again on demand
    /// so that a million-row file is never held as a million vectors.
    Csv { text: String, delimiter: u8, skip: usize },
    /// Workbook rows after the header: (line, cells).
    Rows(Vec<(u64, Vec<String>)>),
}

/// One data row: its line as the user sees it and its cells.
#[derive(Debug, Clone)]
pub struct SourceRow {
    /// 1-based line (CSV) or row number (workbook).
    pub line: u64,
    /// Cell texts, trimmed.
    pub cells: Vec<String>,
}

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 512 * 1024 * 1024;

/// Title rows above the header that are looked through to find it.
const HEADER_SEARCH_ROWS: usize = 10;

impl Sheet {
    /// Reads a CSV or workbook from its bytes, recognising the kind of file by
    /// its content (a ZIP or OLE container is a workbook).
    pub fn read(bytes: &[u8]) -> Result<Sheet, ImportError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ImportError::Unreadable(format!(
                "the file is larger than {} MiB; split it into smaller files",
                MAX_FILE_BYTES / 1024 / 1024
            )));
        }
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            Sheet::read_workbook(bytes)
        } else {
            Sheet::read_csv(bytes)
        }
    }

    /// Reads delimited text, detecting its encoding and delimiter.
    pub fn read_csv(bytes: &[u8]) -> Result<Sheet, ImportError> {
        let (text, encoding) = decode(bytes)?;
        let delimiter = detect_delimiter(&text);
        let mut rdr = csv_reader(&text, delimiter);
        let mut header = None;
        let mut first_nonblank = None;
        for (i, rec) in rdr.records().take(HEADER_SEARCH_ROWS).enumerate() {
            let rec = rec.map_err(|e| ImportError::Unreadable(format!("the CSV cannot be read: {e}")))?;
            let cells: Vec<String> = rec.iter().map(clean_cell).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            let line = rec.position().map(|p| record_line(&text, p)).unwrap_or(i as u64 + 1);
            if first_nonblank.is_none() {
                first_nonblank = Some((i, line, cells.clone()));
            }
            if recognised_headers(&cells) >= 2 {
                header = Some((i, line, cells));
                break;
            }
        }
        let (index, line, headers) = header
            .or(first_nonblank)
            .ok_or_else(|| ImportError::Unreadable("the file is empty: there is no header row".into()))?;
        Ok(Sheet {
            format: SourceFormat::Csv,
            encoding: Some(encoding),
            delimiter: Some(delimiter as char),
            headers,
            header_line: line,
            body: Body::Csv { text, delimiter, skip: index + 1 },
        })
    }

    /// Reads the first sheet of a workbook.
    pub fn read_workbook(bytes: &[u8]) -> Result<Sheet, ImportError> {
        use calamine::Reader;
        let unreadable = |e: &dyn std::fmt::Display| {
            ImportError::Unreadable(format!("the workbook cannot be read ({e}); save it again as XLSX or CSV"))
        };
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
        let range = match book.worksheet_range_at(0) {
            Some(r) => r.map_err(|e| unreadable(&e))?,
            None => return Err(ImportError::Unreadable("the workbook has no sheet".into())),
        };
        let first_row = range.start().map(|(r, _)| u64::from(r)).unwrap_or(0);
        let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
        let mut rows: Vec<(u64, Vec<String>)> = Vec::with_capacity(range.height());
        for (i, r) in range.rows().enumerate() {
            // Columns left of the used range are empty; keep positions as the
            // user sees them so "column C" stays column C.
            let mut cells = vec![String::new(); first_col];
            cells.extend(r.iter().map(cell_text));
            rows.push((first_row + i as u64 + 1, cells));
        }
        let header_at = rows
            .iter()
            .take(HEADER_SEARCH_ROWS)
            .position(|(_, c)| recognised_headers(c) >= 2)
            .or_else(|| rows.iter().position(|(_, c)| c.iter().any(|s| !s.is_empty())))
            .ok_or_else(|| ImportError::Unreadable("the first sheet is empty: there is no header row".into()))?;
        let mut rows = rows.split_off(header_at);
        let (header_line, headers) = rows.remove(0);
        Ok(Sheet {
            format: SourceFormat::Workbook,
            encoding: None,
            delimiter: None,
            headers,
            header_line,
            body: Body::Rows(rows),
        })
    }

    /// The data rows after the header, blank rows included (they are skipped
    /// by the import but keep the count honest).
    pub fn rows(&self) -> Box<dyn Iterator<Item = SourceRow> + Send + '_> {
        match &self.body {
            Body::Rows(rows) => {
                Box::new(rows.iter().map(|(line, cells)| SourceRow { line: *line, cells: cells.clone() }))
            }
            Body::Csv { text, delimiter, skip } => {
                let rdr = csv_reader(text, *delimiter);
                let mut last_line = self.header_line;
                Box::new(rdr.into_records().skip(*skip).filter_map(move |rec| {
                    // Flexible records and decoded text leave only I/O errors,
                    // which a byte slice cannot produce.
                    let rec = rec.ok()?;
                    let line = rec.position().map(|p| record_line(text, p)).unwrap_or(last_line + 1);
                    last_line = line;
                    Some(SourceRow { line, cells: rec.iter().map(clean_cell).collect() })
                }))
            }
        }
    }

    /// How many data rows there are: exact for workbooks; for CSV the number
    /// of line breaks after the header (a quoted cell spanning lines makes it
    /// a slight overestimate), which is all a progress display needs.
    pub fn estimated_rows(&self) -> u64 {
        match &self.body {
            Body::Rows(rows) => rows.len() as u64,
            Body::Csv { text, .. } => {
                let lines = text.as_bytes().iter().filter(|&&b| b == b'\n').count() as u64
                    + u64::from(!text.ends_with('\n') && !text.is_empty());
                lines.saturating_sub(self.header_line)
            }
        }
    }
}

/// The line a record starts on. The reader's position may lie before blank
/// lines it skipped, so those are counted here.
fn record_line(text: &str, pos: &csv::Position) -> u64 {
    let mut line = pos.line();
    for b in text.as_bytes().iter().skip(pos.byte() as usize) {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
    }
    line
}

fn csv_reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes())
}

/// Decodes text the way Excel and Chinese Windows write it: a BOM says UTF-8
/// or UTF-16; otherwise valid UTF-8 is UTF-8, and anything else GB18030
/// (which contains GBK and GB2312).
fn decode(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest).map(|s| (s, "UTF-8 (BOM)"));
    }
    for (bom, enc) in [(&b"\xFF\xFE"[..], encoding_rs::UTF_16LE), (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return enc
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|s| (s.into_owned(), enc.name()))
                .ok_or_else(|| ImportError::Unreadable("the file says it is UTF-16 but is not".into()));
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8"));
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| (s.into_owned(), "GB18030"))
        .ok_or_else(|| {
            ImportError::Unreadable(
                "the file is neither UTF-8 nor GBK/GB18030 text; in Excel choose \"Save as\" → \
                 \"CSV UTF-8\" or \"Excel workbook (.xlsx)\""
                    .into(),
            )
        })
}

fn utf8(bytes: &[u8]) -> Result<String, ImportError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ImportError::Unreadable("the file starts like UTF-8 but contains invalid characters".into()))
}

/// Picks the delimiter that splits the first lines into the most cells
/// outside quotes: comma, semicolon (European Excel) or tab. Several lines
/// are looked at because a title row above the header has no delimiter.
fn detect_delimiter(text: &str) -> u8 {
    let mut best = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(HEADER_SEARCH_ROWS) {
        let mut counts = [0usize; 3];
        let mut quoted = false;
        for b in line.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if !quoted {
                for (i, (d, _)) in best.iter().enumerate() {
                    if *d == b {
                        counts[i] += 1;
                    }
                }
            }
        }
        for (i, n) in counts.into_iter().enumerate() {
            best[i].1 = best[i].1.max(n);
        }
    }
    best.iter().max_by_key(|(d, n)| (*n, *d == b',')).map(|(d, _)| *d).unwrap_or(b',')
}

/// Trims a cell and undoes the apostrophe our exports put before text that a
/// spreadsheet would otherwise run as a formula.
fn clean_cell(s: &str) -> String {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_string(),
        _ => t.to_string(),
    }
}

/// The text of a workbook cell: numbers as their digits (a phone number
/// stored as a number is `13812345678`, not `1.3812345678e10`), dates as
/// ISO dates.
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => clean_cell(s),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => float_text(dt.as_f64()),
        },
        Data::DateTimeIso(s) => s.split('T').next().unwrap_or(s).to_string(),
        Data::DurationIso(s) => s.clone(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

// ---------------------------------------------------------------------------
// Fields and header mapping

/// A customer field a column can fill.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Stable key, also the English header.
    pub key: &'static str,
    /// Chinese header written by exports.
    pub label_zh: &'static str,
    /// English header written by exports.
    pub label_en: &'static str,
    /// Other headers recognised (compared without case, spaces, `_`, `-`, `*`).
    pub aliases: &'static [&'static str],
}

macro_rules! fields {
    ($($key:literal, $zh:literal, $en:literal, [$($alias:literal),* $(,)?];)+) => {
        /// Every built-in field an import column can fill, in export order.
        pub const FIELDS: &[FieldSpec] = &[
            $(FieldSpec { key: $key, label_zh: $zh, label_en: $en, aliases: &[$($alias),*] },)+
        ];
    };
}

fields! {
    "code", "编号", "Code", ["客户编号", "客户代码", "客户号", "customer code", "customer no", "customer_code"];
    "name", "姓名", "Name", ["名称", "客户名称", "客户姓名", "客户名", "姓名/名称", "全名", "full name", "customer name"];
    "kind", "类型", "Kind", ["客户类型", "类别", "客户类别", "type", "customer type"];
    "gender", "性别", "Gender", ["sex"];
    "phone", "手机", "Phone", ["手机号", "手机号码", "电话", "联系电话", "电话号码", "移动电话", "联系方式", "tel", "telephone", "phone number"];
    "mobile", "手机号（仅手机）", "Mobile", ["mobile phone", "cell", "cellphone"];
    "mobile2", "备用手机", "Second mobile", ["手机2", "第二手机", "备用电话", "其他手机"];
    "landline", "固定电话", "Landline", ["固话", "座机", "办公电话", "单位电话", "家庭电话"];
    "email", "邮箱", "E-mail", ["电子邮件", "电子邮箱", "邮件", "e-mail", "mail", "email address"];
    "birthday", "生日", "Birthday", ["出生日期", "出生年月日", "公历生日", "阳历生日", "date of birth", "dob", "birth date"];
    "lunar_birthday", "农历生日", "Lunar birthday", ["阴历生日"];
    "province", "省份", "Province", ["省", "所在省份", "所在省", "省/直辖市"];
    "city", "城市", "City", ["市", "所在城市", "所在市"];
    "district", "区县", "District", ["区", "县", "区/县", "县区"];
    "address", "地址", "Address", ["详细地址", "通讯地址", "联系地址", "家庭地址", "街道地址"];
    "company", "单位", "Company", ["工作单位", "公司", "所在单位", "公司名称", "单位名称", "employer", "organization"];
    "title", "职务", "Title", ["职位", "职称", "job title", "position"];
    "id_card", "身份证号", "ID card", ["身份证", "身份证号码", "身份证件号码", "id number", "id no", "id card no"];
    "passport", "护照号", "Passport", ["护照", "护照号码", "passport no", "passport number"];
    "passport_expiry", "护照有效期", "Passport expiry", ["护照到期日", "护照有效期至", "护照截止日期", "passport expiry date"];
    "source", "来源", "Source", ["客户来源", "来源渠道", "渠道", "source channel"];
    "source_detail", "来源说明", "Source detail", ["来源详情", "介绍人", "推荐人"];
    "wechat", "微信", "WeChat", ["微信号", "wechat id", "weixin"];
    "fax", "传真", "Fax", ["传真号码"];
    "hobbies", "爱好", "Hobbies", ["兴趣爱好", "兴趣"];
    "diet", "饮食", "Diet", ["饮食偏好", "饮食习惯", "饮食禁忌"];
    "room_pref", "房型偏好", "Room preference", ["住宿偏好", "房间偏好"];
    "seat_pref", "座位偏好", "Seat preference", ["座位要求"];
    "partner_type", "同业类型", "Partner type", ["合作类型"];
    "industry", "行业", "Industry", ["所属行业"];
    "license_no", "营业执照号", "Licence number", ["经营许可证号", "许可证号", "统一社会信用代码", "license no", "licence no"];
    "stage", "阶段", "Stage", ["客户阶段", "生命周期", "lifecycle stage"];
    "grade", "等级", "Grade", ["客户等级", "级别", "客户级别"];
    "tags", "标签", "Tags", ["tag", "客户标签"];
    "owner", "负责人", "Owner", ["归属", "所属销售", "销售顾问", "客户经理", "owner username"];
    "consent_email", "同意邮件", "E-mail consent", ["邮件营销"];
    "consent_sms", "同意短信", "SMS consent", ["短信营销"];
    "consent_wechat", "同意微信", "WeChat consent", ["微信营销"];
    "consent_phone", "同意电话", "Phone consent", ["电话营销"];
    "notes", "备注", "Notes", ["说明", "note", "remarks", "remark", "comments"];
}

/// The built-in field with this key.
pub fn field_spec(key: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|f| f.key == key)
}

/// Fields that several columns may fill (their values are combined).
const MULTI: &[&str] = &["phone", "tags"];

/// Compares headers without case, spaces, `_`, `-`, `*` (required marks),
/// colons and full-width forms.
fn norm_header(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '*' | ':' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn builtin_for_header(h: &str) -> Option<&'static str> {
    let n = norm_header(h);
    if n.is_empty() {
        return None;
    }
    FIELDS
        .iter()
        .find(|f| {
            norm_header(f.key) == n
                || norm_header(f.label_zh) == n
                || norm_header(f.label_en) == n
                || f.aliases.iter().any(|a| norm_header(a) == n)
        })
        .map(|f| f.key)
}

fn recognised_headers(cells: &[String]) -> usize {
    cells.iter().filter(|c| builtin_for_header(c).is_some()).count()
}

/// What a column fills: a built-in field key or `custom.<key>`.
pub type Target = String;

/// Matches headers to fields: built-in fields by key, Chinese or English
/// label or a common variant; custom fields by key or either label. A field
/// already taken by an earlier column leaves later ones unmapped (except the
/// fields several columns may fill: phone, tags).
pub fn auto_map(headers: &[String], custom: &[FieldDef]) -> Vec<Option<Target>> {
    let mut taken = HashSet::new();
    headers
        .iter()
        .map(|h| {
            let target = builtin_for_header(h).map(str::to_string).or_else(|| {
                let n = norm_header(h);
                custom
                    .iter()
                    .find(|d| {
                        norm_header(&d.key) == n || norm_header(&d.label_zh) == n || norm_header(&d.label_en) == n
                    })
                    .map(|d| format!("custom.{}", d.key))
            })?;
            (MULTI.contains(&target.as_str()) || taken.insert(target.clone())).then_some(target)
        })
        .collect()
}

/// Parses `表头=field,表头2=field2` (also `；`/`;` and full-width `＝`); an
/// empty field or `-` ignores the column.
pub fn parse_mapping(spec: &str) -> Result<Vec<(String, String)>, ImportError> {
    let mut out = Vec::new();
    for part in spec.split([',', '，', ';', '；']).map(str::trim).filter(|p| !p.is_empty()) {
        let (h, f) = part.split_once(['=', '＝']).ok_or_else(|| {
            ImportError::Unreadable(format!("mapping {part:?} must be written header=field, e.g. 客户电话=phone"))
        })?;
        out.push((h.trim().to_string(), f.trim().to_string()));
    }
    Ok(out)
}

/// Applies explicit choices (header → field, `""` or `-` to ignore) over the
/// automatic mapping. Unknown headers or fields are errors; so is a field
/// chosen for two columns (except phone and tags).
pub fn apply_mapping(
    headers: &[String],
    auto: Vec<Option<Target>>,
    explicit: &[(String, String)],
    custom: &[FieldDef],
) -> Result<Vec<Option<Target>>, ImportError> {
    let mut map = auto;
    for (h, f) in explicit {
        let col = headers
            .iter()
            .position(|x| x == h)
            .or_else(|| headers.iter().position(|x| norm_header(x) == norm_header(h)))
            .ok_or_else(|| ImportError::Unreadable(format!("mapping: the file has no column {h:?}")))?;
        map[col] = resolve_target(f, custom)?;
    }
    check_unique(headers, &map)?;
    Ok(map)
}

/// A field chosen for two columns is an error (except phone and tags).
fn check_unique(headers: &[String], map: &[Option<Target>]) -> Result<(), ImportError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, t) in map.iter().enumerate() {
        if let Some(t) = t.as_deref().filter(|t| !MULTI.contains(t)) {
            if let Some(first) = seen.insert(t, i) {
                return Err(ImportError::Unreadable(format!(
                    "mapping: columns {:?} and {:?} both fill {t}",
                    headers.get(first).map(String::as_str).unwrap_or(""),
                    headers.get(i).map(String::as_str).unwrap_or("")
                )));
            }
        }
    }
    Ok(())
}

/// The field of every column for `opts`: its explicit choice per column, or
/// the automatic mapping with `opts.mapping` over it.
pub async fn columns_for(
    store: &Store,
    headers: &[String],
    opts: &ImportOptions,
) -> Result<Vec<Option<Target>>, ImportError> {
    let custom = all_custom_fields(store).await?;
    let Some(chosen) = &opts.columns else {
        return apply_mapping(headers, auto_map(headers, &custom), &opts.mapping, &custom);
    };
    let mut map = Vec::with_capacity(headers.len());
    for i in 0..headers.len() {
        let f = chosen.get(i).cloned().flatten().unwrap_or_default();
        map.push(resolve_target(&f, &custom)?);
    }
    check_unique(headers, &map)?;
    Ok(map)
}

/// A field name as typed in a mapping: a key, a label, `custom.<key>` or a
/// custom field's key or label. `""`/`-` is `None` (ignore).
pub fn resolve_target(f: &str, custom: &[FieldDef]) -> Result<Option<Target>, ImportError> {
    let f = f.trim();
    if f.is_empty() || f == "-" || f.eq_ignore_ascii_case("ignore") || f == "忽略" {
        return Ok(None);
    }
    if let Some(k) = builtin_for_header(f) {
        return Ok(Some(k.to_string()));
    }
    let bare = f.strip_prefix("custom.").unwrap_or(f);
    let n = norm_header(bare);
    custom
        .iter()
        .find(|d| d.key == bare || norm_header(&d.label_zh) == n || norm_header(&d.label_en) == n)
        .map(|d| Some(format!("custom.{}", d.key)))
        .ok_or_else(|| ImportError::Unreadable(format!("mapping: {f:?} is not a customer field")))
}

/// Every custom field of every kind, one per key (for mapping and export).
pub async fn all_custom_fields(store: &Store) -> Result<Vec<FieldDef>> {
    let mut out: Vec<FieldDef> = Vec::new();
    for kind in CustomerKind::ALL {
        for d in customer_fields::definitions(store, kind.code(), false).await? {
            if !out.iter().any(|o| o.key == d.key) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Report

/// What happened (or, in a dry run, would happen) to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// A new customer.
    Create,
    /// An existing customer (same code) changed.
    Update,
    /// An existing customer whose stored data already equals the row.
    Unchanged,
    /// A blank row.
    Skip,
    /// The row was refused; nothing of it was written.
    Error,
}

/// One problem of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The customer field (`mobile`, `id_card`, `custom.vip_no`).
    pub field: String,
    /// The header of the column in the file, when one column holds the value.
    pub column: Option<String>,
    /// Stable reason code (`invalid_mobile`, `invalid_checksum` …).
    pub code: String,
    /// Explanation in English.
    pub message: String,
}

/// The outcome of one row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowOutcome {
    /// Line in the file (header = line 1).
    pub line: u64,
    /// Customer code: given in the file, or assigned on creation.
    pub code: Option<String>,
    /// What happened.
    pub action: RowAction,
    /// Every problem, when refused.
    pub errors: Vec<RowError>,
}

/// How one column was used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnUse {
    /// The header in the file.
    pub header: String,
    /// The field it filled (`None`: ignored).
    pub field: Option<String>,
}

/// The result of an import or a dry run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Nothing was written.
    pub dry_run: bool,
    /// Data rows read (blank rows included).
    pub total: u64,
    /// Customers created.
    pub created: u64,
    /// Customers updated.
    pub updated: u64,
    /// Rows equal to the stored customer (nothing written).
    pub unchanged: u64,
    /// Blank rows.
    pub skipped: u64,
    /// Rows refused.
    pub failed: u64,
    /// How each column was used.
    pub columns: Vec<ColumnUse>,
    /// Headers that matched no field and were ignored.
    pub unknown_columns: Vec<String>,
    /// Rows, in file order: every refused row, and the others when asked for.
    pub rows: Vec<RowOutcome>,
}

impl Report {
    /// The refused rows.
    pub fn errors(&self) -> impl Iterator<Item = &RowOutcome> {
        self.rows.iter().filter(|r| r.action == RowAction::Error)
    }

    /// Every problem as CSV (`line,field,column,reason`), UTF-8 with a BOM
    /// so that Excel shows the Chinese text correctly.
    pub fn errors_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(b"\xEF\xBB\xBF".to_vec());
        let _ = w.write_record(["line", "field", "column", "reason"]);
        for r in self.errors() {
            for e in &r.errors {
                let line = r.line.to_string();
                let column = crate::customer_export::neutralise(e.column.as_deref().unwrap_or(""));
                let _ = w.write_record([line.as_str(), &e.field, &column, &e.message]);
            }
        }
        w.into_inner().unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------
// Options

/// How to run an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Check everything and report, writing nothing.
    pub dry_run: bool,
    /// Owner of created customers whose row names none.
    pub default_owner: Option<UserId>,
    /// Whose customers the importer may write (the `customers.write` grant):
    /// updates outside it are refused, and owners must lie within it.
    pub vis: Visibility,
    /// Explicit column choices (header → field) over the automatic mapping.
    pub mapping: Vec<(String, String)>,
    /// Or the field of every column, in order (`None`: ignore the column),
    /// as the mapping step of the web import submits it.
    pub columns: Option<Vec<Option<Target>>>,
    /// Today, for dates that must not be in the future.
    pub today: NaiveDate,
    /// Keep the outcome of good rows in the report (errors are always kept).
    pub keep_ok_rows: bool,
    /// Rows per transaction (larger is faster on SQLite, where a batch
    /// also holds the single writer's turn that long).
    pub batch_size: usize,
    /// What is imported (a file name), for the audit trail.
    pub source: String,
    /// SQLite page cache for the whole import, in KiB, kept on the
    /// connection afterwards (a command that ends with the import). `None`:
    /// a smaller cache per batch, given back after it (a server).
    pub sqlite_cache_kib: Option<i64>,
}

impl ImportOptions {
    /// Options for someone who may write every customer (the command line).
    pub fn everything(today: NaiveDate) -> ImportOptions {
        ImportOptions {
            dry_run: false,
            default_owner: None,
            vis: Visibility { scope: Scope::All, user_id: UserId(0), teams: Vec::new() },
            mapping: Vec::new(),
            columns: None,
            today,
            keep_ok_rows: true,
            batch_size: 2000,
            source: String::new(),
            sqlite_cache_kib: None,
        }
    }
}

/// Today's date in China (imports run on servers in any zone).
pub fn today_in_china() -> NaiveDate {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::FixedOffset::east_opt(0).unwrap());
    chrono::Utc::now().with_timezone(&offset).date_naive()
}

// ---------------------------------------------------------------------------
// Planning a row

/// A column's part of a row: not in the file, empty, or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell<'a> {
    Absent,
    Empty,
    Value(&'a str),
}

struct Columns {
    /// Field → column indexes.
    by_field: HashMap<String, Vec<usize>>,
    headers: Vec<String>,
}

impl Columns {
    fn new(headers: &[String], map: &[Option<Target>]) -> Columns {
        let mut by_field: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in map.iter().enumerate() {
            if let Some(t) = t {
                by_field.entry(t.clone()).or_default().push(i);
            }
        }
        Columns { by_field, headers: headers.to_vec() }
    }

    fn has(&self, field: &str) -> bool {
        self.by_field.contains_key(field)
    }

    fn cell<'a>(&self, row: &'a [String], field: &str) -> Cell<'a> {
        match self.by_field.get(field).and_then(|c| c.first()) {
            None => Cell::Absent,
            Some(&i) => match row.get(i).map(String::as_str).filter(|s| !s.is_empty()) {
                Some(v) => Cell::Value(v),
                None => Cell::Empty,
            },
        }
    }

    fn cells<'a>(&self, row: &'a [String], field: &str) -> Vec<(usize, &'a str)> {
        self.by_field
            .get(field)
            .map(|cols| {
                cols.iter().filter_map(|&i| row.get(i).filter(|s| !s.is_empty()).map(|s| (i, s.as_str()))).collect()
            })
            .unwrap_or_default()
    }

    fn header_of(&self, field: &str) -> Option<String> {
        let cols = self.by_field.get(field)?;
        Some(cols.iter().filter_map(|&i| self.headers.get(i)).cloned().collect::<Vec<_>>().join(" / "))
    }
}

/// A stored customer a row updates, with what is needed to compare documents.
struct Existing {
    customer: Customer,
    id_card_hash: Option<String>,
    passport_hash: Option<String>,
}

/// A staff member named in an owner column.
#[derive(Debug, Clone)]
struct Owner {
    id: UserId,
    team: Option<TeamId>,
    active: bool,
}

/// Lookups shared by every row of one import.
struct Context<'a> {
    store: &'a Store,
    opts: &'a ImportOptions,
    owners: HashMap<String, Option<Owner>>,
    owner_teams: HashMap<UserId, Option<TeamId>>,
    /// Owners of new customers: their team if the account is active.
    create_owners: HashMap<UserId, Option<Option<TeamId>>>,
    defs: HashMap<String, Vec<FieldDef>>,
    required: HashMap<String, Vec<String>>,
}

impl Context<'_> {
    async fn owner_by_username(&mut self, username: &str) -> Result<Option<Owner>> {
        let key = username.trim().to_lowercase();
        if let Some(o) = self.owners.get(&key) {
            return Ok(o.clone());
        }
        let row = sqlx::query("SELECT id, team_id, active FROM users WHERE username = $1")
            .bind(key.as_str())
            .fetch_optional(self.store.pool())
            .await?;
        let owner = match row {
            Some(r) => Some(Owner {
                id: UserId(r.try_get("id")?),
                team: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
                active: r.try_get::<i64, _>("active")? != 0,
            }),
            None => None,
        };
        self.owners.insert(key, owner.clone());
        Ok(owner)
    }

    async fn team_of(&mut self, user: UserId) -> Result<Option<TeamId>> {
        if let Some(t) = self.owner_teams.get(&user) {
            return Ok(*t);
        }
        let t: Option<Option<i64>> = sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(self.store.pool())
            .await?;
        let t = t.flatten().map(TeamId);
        self.owner_teams.insert(user, t);
        Ok(t)
    }

    /// The team new customers of `owner` join, or `None` when the account
    /// is missing or deactivated (checked once per import, as
    /// `customers::create` checks it per row).
    async fn owner_for_create(&mut self, owner: UserId) -> Result<Option<Option<TeamId>>> {
        if let Some(t) = self.create_owners.get(&owner) {
            return Ok(*t);
        }
        let row: Option<(Option<i64>, i64)> = sqlx::query_as("SELECT team_id, active FROM users WHERE id = $1")
            .bind(owner.0)
            .fetch_optional(self.store.pool())
            .await?;
        let t = match row {
            Some((team, 1)) => Some(team.map(TeamId)),
            _ => None,
        };
        self.create_owners.insert(owner, t);
        Ok(t)
    }

    async fn defs(&mut self, kind: &str) -> Result<&[FieldDef]> {
        if !self.defs.contains_key(kind) {
            let d = customer_fields::definitions(self.store, kind, false).await?;
            self.defs.insert(kind.to_string(), d);
        }
        Ok(self.defs.get(kind).map(Vec::as_slice).unwrap_or_default())
    }

    async fn required(&mut self, kind: &str) -> Result<Vec<String>> {
        if !self.required.contains_key(kind) {
            let r = customer_fields::required_builtin(self.store, kind).await?;
            self.required.insert(kind.to_string(), r);
        }
        Ok(self.required.get(kind).cloned().unwrap_or_default())
    }

    /// Whether the importer may give customers to `owner`.
    async fn may_assign(&mut self, owner: UserId) -> Result<bool> {
        let vis = &self.opts.vis;
        Ok(match vis.scope {
            Scope::All => true,
            Scope::Own => owner == vis.user_id,
            Scope::Team => owner == vis.user_id || self.team_of(owner).await?.is_some_and(|t| vis.teams.contains(&t)),
        })
    }
}

/// Whether `vis` reaches a customer owned by `owner` in `team`.
fn visible(vis: &Visibility, owner: UserId, team: Option<TeamId>) -> bool {
    match vis.scope {
        Scope::All => true,
        Scope::Own => owner == vis.user_id,
        Scope::Team => owner == vis.user_id || team.is_some_and(|t| vis.teams.contains(&t)),
    }
}

/// What to do with one row.
enum Plan {
    Create { draft: Box<Draft>, code: Option<String> },
    Update { id: CustomerId, version: i64, draft: Box<Draft>, code: String },
    Unchanged { code: String },
    Skip,
    Refuse { code: Option<String>, errors: Vec<RowError> },
}

/// Collects a row's problems, each named by field and column.
struct Problems<'a> {
    cols: &'a Columns,
    list: Vec<RowError>,
}

impl Problems<'_> {
    fn push(&mut self, e: FieldError) {
        let column = self.cols.header_of(e.field.as_str());
        self.list.push(RowError { field: e.field, column, code: e.code.to_string(), message: e.message });
    }

    fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }
}

/// Longest text accepted per free-text field (characters).
fn max_len(field: &str) -> usize {
    match field {
        "notes" => 2000,
        "address" | "hobbies" | "diet" | "room_pref" | "seat_pref" | "source_detail" => 500,
        "lunar_birthday" => 20,
        _ => 100,
    }
}

fn parse_text(field: &str, v: &str) -> Result<String, FieldError> {
    let limit = max_len(field);
    if v.chars().count() > limit {
        return Err(FieldError::new(field, "too_long", format!("{field} must have at most {limit} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldError::new(field, "invalid_text", format!("{field} contains control characters")));
    }
    Ok(v.to_string())
}

fn parse_bool(field: &str, v: &str) -> Result<bool, FieldError> {
    match v.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "是" | "同意" | "√" | "✓" | "x" => Ok(true),
        "0" | "false" | "no" | "n" | "否" | "不同意" | "拒绝" => Ok(false),
        _ => Err(FieldError::new(field, "invalid_boolean", format!("{field} must be 是/否 (yes/no)"))),
    }
}

fn parse_grade(field: &str, v: &str) -> Result<String, FieldError> {
    let g = v.trim().to_uppercase();
    let g = g.trim_end_matches(['类', '级']);
    if matches!(g, "A" | "B" | "C" | "D") {
        Ok(g.to_string())
    } else {
        Err(FieldError::new(field, "invalid_choice", format!("{field} must be one of: A, B, C, D")))
    }
}

fn empty_draft(kind: &str, owner: UserId) -> Draft {
    Draft::new(kind, "", owner)
}

fn draft_of(c: &Customer) -> Draft {
    let d = &c.data;
    Draft {
        kind: d.kind.clone(),
        name: d.name.clone(),
        name_pinyin: d.name_pinyin.clone(),
        name_initials: d.name_initials.clone(),
        gender: d.gender.clone(),
        birthday: d.birthday.clone(),
        lunar_birthday: d.lunar_birthday.clone(),
        id_card: Sealed::Keep,
        id_card_masked: d.id_card_masked.clone(),
        passport: Sealed::Keep,
        passport_masked: d.passport_masked.clone(),
        passport_expiry: d.passport_expiry.clone(),
        employer: d.employer.clone(),
        title: d.title.clone(),
        mobile: d.mobile.clone(),
        mobile2: d.mobile2.clone(),
        landline: d.landline.clone(),
        email: d.email.clone(),
        wechat: d.wechat.clone(),
        fax: d.fax.clone(),
        province: d.province.clone(),
        city: d.city.clone(),
        district: d.district.clone(),
        address: d.address.clone(),
        hobbies: d.hobbies.clone(),
        diet: d.diet.clone(),
        room_pref: d.room_pref.clone(),
        seat_pref: d.seat_pref.clone(),
        source: d.source.clone(),
        source_detail: d.source_detail.clone(),
        partner_type: d.partner_type.clone(),
        industry: d.industry.clone(),
        license_no: d.license_no.clone(),
        notes: d.notes.clone(),
        consent: d.consent,
        owner_id: d.owner_id,
        stage: d.stage.clone(),
        grade: d.grade.clone(),
        tags: d.tags.clone(),
        custom: d.custom.clone(),
    }
}

/// The plain text fields a column sets directly, with the draft slot.
fn text_slot<'d>(d: &'d mut Draft, field: &str) -> Option<&'d mut Option<String>> {
    Some(match field {
        "lunar_birthday" => &mut d.lunar_birthday,
        "title" => &mut d.title,
        "wechat" => &mut d.wechat,
        "fax" => &mut d.fax,
        "province" => &mut d.province,
        "city" => &mut d.city,
        "district" => &mut d.district,
        "address" => &mut d.address,
        "hobbies" => &mut d.hobbies,
        "diet" => &mut d.diet,
        "room_pref" => &mut d.room_pref,
        "seat_pref" => &mut d.seat_pref,
        "source_detail" => &mut d.source_detail,
        "industry" => &mut d.industry,
        "license_no" => &mut d.license_no,
        "notes" => &mut d.notes,
        _ => return None,
    })
}

/// Whether a draft says exactly what is stored (so re-importing an
/// unchanged row writes nothing and audits nothing).
fn same_as_stored(d: &Draft, e: &Existing) -> bool {
    let c = &e.customer.data;
    let mut tags_new = d.tags.clone();
    tags_new.sort();
    let mut tags_old = c.tags.clone();
    tags_old.sort();
    d.id_card == Sealed::Keep
        && d.passport == Sealed::Keep
        && d.kind == c.kind
        && d.name == c.name
        && d.gender == c.gender
        && d.birthday == c.birthday
        && d.lunar_birthday == c.lunar_birthday
        && d.passport_expiry == c.passport_expiry
        && d.employer == c.employer
        && d.title == c.title
        && d.mobile == c.mobile
        && d.mobile2 == c.mobile2
        && d.landline == c.landline
        && d.email == c.email
        && d.wechat == c.wechat
        && d.fax == c.fax
        && d.province == c.province
        && d.city == c.city
        && d.district == c.district
        && d.address == c.address
        && d.hobbies == c.hobbies
        && d.diet == c.diet
        && d.room_pref == c.room_pref
        && d.seat_pref == c.seat_pref
        && d.source == c.source
        && d.source_detail == c.source_detail
        && d.partner_type == c.partner_type
        && d.industry == c.industry
        && d.license_no == c.license_no
        && d.notes == c.notes
        && d.consent == c.consent
        && d.owner_id == c.owner_id
        && d.stage == c.stage
        && d.grade == c.grade
        && tags_new == tags_old
        && d.custom == c.custom
}

/// Checks one row and decides what to do with it.
async fn plan_row(
    ctx: &mut Context<'_>,
    cols: &Columns,
    row: &[String],
    existing: Option<&Existing>,
    code: Option<String>,
) -> Result<Plan> {
    let today = ctx.opts.today;
    let mut p = Problems { cols, list: Vec::new() };
    let cell = |f: &str| cols.cell(row, f);

    // Kind first: it decides defaults, custom fields and required fields.
    let kind = match cell("kind") {
        Cell::Value(v) => p.check(CustomerKind::parse("kind", v)).map(CustomerKind::code),
        _ => Some(existing.map(|e| e.customer.data.kind.as_str()).unwrap_or(CustomerKind::Individual.code())),
    };
    let kind = kind.unwrap_or(CustomerKind::Individual.code()).to_string();
    let is_update = existing.is_some();
    let fallback_owner = ctx.opts.default_owner.unwrap_or(UserId(0));
    let mut d = match existing {
        Some(e) => draft_of(&e.customer),
        None => empty_draft(&kind, fallback_owner),
    };
    d.kind = kind.clone();

    // Owner: a named username, else the stored owner, else the importer.
    match cell("owner") {
        Cell::Value(v) => match ctx.owner_by_username(v).await? {
            None => p.push(FieldError::new("owner", "not_found", format!("owner: there is no staff account {v:?}"))),
            Some(o) if !o.active => p.push(FieldError::new(
                "owner",
                "inactive",
                format!("owner: {v:?} is deactivated; choose an active colleague"),
            )),
            Some(o) => {
                if !visible(&ctx.opts.vis, o.id, o.team) {
                    p.push(FieldError::new(
                        "owner",
                        "not_allowed",
                        format!("owner: you may not give customers to {v:?}"),
                    ));
                }
                d.owner_id = o.id;
            }
        },
        _ if is_update => {}
        _ => match ctx.opts.default_owner {
            Some(o) => d.owner_id = o,
            None => p.push(FieldError::new(
                "owner",
                "required",
                "owner is required: add an owner (负责人) column with usernames or choose a default owner",
            )),
        },
    }
    if !is_update && cell("owner") == Cell::Absent && ctx.opts.default_owner.is_some() {
        let o = d.owner_id;
        if !ctx.may_assign(o).await? {
            p.push(FieldError::new("owner", "not_allowed", "owner: you may not give customers to this person"));
        }
    }

    // Name; for companies and partners the company column may hold it.
    let company = match cell("company") {
        Cell::Value(v) => p.check(parse_text("company", v)),
        _ => None,
    };
    match cell("name") {
        Cell::Value(v) => {
            if let Some(n) = p.check(parse_text("name", v)) {
                d.name = n;
            }
        }
        _ if kind != CustomerKind::Individual.code() && company.is_some() => {
            d.name = company.clone().unwrap_or_default();
        }
        _ if is_update => {}
        _ => p.push(FieldError::required("name")),
    }
    match cell("company") {
        Cell::Value(_) => d.employer = company.filter(|c| *c != d.name),
        Cell::Empty => d.employer = None,
        Cell::Absent => {}
    }
    let (pinyin, initials) = dc::to_pinyin(&d.name);
    d.name_pinyin = pinyin;
    d.name_initials = initials;

    // Choices.
    match cell("gender") {
        Cell::Value(v) => d.gender = p.check(Gender::parse("gender", v)).map(|g| g.code().to_string()),
        Cell::Empty => d.gender = None,
        Cell::Absent => {}
    }
    match cell("source") {
        Cell::Value(v) => d.source = p.check(SourceChannel::parse("source", v)).map(|s| s.code().to_string()),
        Cell::Empty => d.source = None,
        Cell::Absent => {}
    }
    match cell("partner_type") {
        Cell::Value(v) => d.partner_type = p.check(PartnerType::parse("partner_type", v)).map(|s| s.code().to_string()),
        Cell::Empty => d.partner_type = None,
        Cell::Absent => {}
    }
    if let Cell::Value(v) = cell("stage") {
        if let Some(s) = p.check(LifecycleStage::parse("stage", v)) {
            d.stage = s.code().to_string();
        }
    }
    match cell("grade") {
        Cell::Value(v) => d.grade = p.check(parse_grade("grade", v)),
        Cell::Empty => d.grade = None,
        Cell::Absent => {}
    }

    // Dates.
    let mut birthday_given = None;
    match cell("birthday") {
        Cell::Value(v) => {
            birthday_given = p.check(dc::parse_birthday("birthday", v, today));
            d.birthday = birthday_given.map(|b| b.to_string());
        }
        Cell::Empty => d.birthday = None,
        Cell::Absent => {}
    }
    match cell("passport_expiry") {
        Cell::Value(v) => {
            d.passport_expiry = p.check(dc::parse_passport_expiry("passport_expiry", v, today)).map(|x| x.to_string())
        }
        Cell::Empty => d.passport_expiry = None,
        Cell::Absent => {}
    }

    // Documents: an empty cell keeps what is stored; so does the masked form
    // our own exports write.
    if let Cell::Value(v) = cell("id_card") {
        let stored_masked = existing.and_then(|e| e.customer.data.id_card_masked.as_deref());
        if v.contains('*') {
            if stored_masked != Some(v) {
                p.push(FieldError::new(
                    "id_card",
                    "masked",
                    "id_card is masked (contains *); enter the full number or leave the cell empty",
                ));
            }
        } else if let Some(id) = p.check(IdCardNo::parse("id_card", v, today)) {
            let unchanged = existing
                .and_then(|e| e.id_card_hash.as_deref())
                .is_some_and(|h| h == ctx.store.data_key().index(id.as_str()));
            if !unchanged {
                d.id_card = Sealed::Set(id.as_str().to_string());
                d.id_card_masked = Some(id.masked());
            }
            match birthday_given {
                Some(b) => {
                    p.check(dc::check_birthday_matches("birthday", &id, b));
                }
                None if d.birthday.is_none() => d.birthday = Some(id.birth_date().to_string()),
                None => {}
            }
            if d.gender.is_none() {
                d.gender = Some(id.gender().code().to_string());
            }
        }
    }
    if let Cell::Value(v) = cell("passport") {
        let stored_masked = existing.and_then(|e| e.customer.data.passport_masked.as_deref());
        if v.contains('*') {
            if stored_masked != Some(v) {
                p.push(FieldError::new(
                    "passport",
                    "masked",
                    "passport is masked (contains *); enter the full number or leave the cell empty",
                ));
            }
        } else if let Some(pp) = p.check(PassportNo::parse("passport", v)) {
            let unchanged = existing
                .and_then(|e| e.passport_hash.as_deref())
                .is_some_and(|h| h == ctx.store.data_key().index(pp.as_str()));
            if !unchanged {
                d.passport = Sealed::Set(pp.as_str().to_string());
                d.passport_masked = Some(pp.masked());
            }
        }
    }

    // Phones: explicit mobile / landline columns, then "phone" columns put
    // each number where its shape says.
    for (field, slot) in [("mobile", 0), ("mobile2", 1)] {
        match cell(field) {
            Cell::Value(v) => {
                let n = p.check(dc::parse_mobile(field, v));
                if slot == 0 {
                    d.mobile = n
                } else {
                    d.mobile2 = n
                }
            }
            Cell::Empty => {
                if slot == 0 {
                    d.mobile = None
                } else {
                    d.mobile2 = None
                }
            }
            Cell::Absent => {}
        }
    }
    match cell("landline") {
        Cell::Value(v) => d.landline = p.check(dc::parse_landline("landline", v)),
        Cell::Empty => d.landline = None,
        Cell::Absent => {}
    }
    let mut mobile_taken = cols.has("mobile");
    let mut mobile2_taken = cols.has("mobile2");
    let mut landline_taken = cols.has("landline");
    for (_, v) in cols.cells(row, "phone") {
        let Some(phone) = p.check(dc::parse_phone("phone", v)) else { continue };
        let n = phone.as_str().to_string();
        match phone.kind() {
            PhoneKind::Mobile if !mobile_taken => {
                d.mobile = Some(n);
                mobile_taken = true;
            }
            PhoneKind::Mobile if d.mobile.as_deref() == Some(&n) => {}
            PhoneKind::Mobile if !mobile2_taken => {
                d.mobile2 = Some(n);
                mobile2_taken = true;
            }
            PhoneKind::Landline if !landline_taken => {
                d.landline = Some(n);
                landline_taken = true;
            }
            _ => p.push(FieldError::new(
                "phone",
                "too_many",
                "phone: more numbers than mobile, second mobile and landline",
            )),
        }
    }

    match cell("email") {
        Cell::Value(v) => d.email = p.check(dc::parse_email("email", v)),
        Cell::Empty => d.email = None,
        Cell::Absent => {}
    }
    for f in FIELDS.iter().map(|f| f.key) {
        let Some(slot) = text_slot(&mut d, f) else { continue };
        match cols.cell(row, f) {
            Cell::Value(v) => *slot = p.check(parse_text(f, v)),
            Cell::Empty => *slot = None,
            Cell::Absent => {}
        }
    }

    // Tags from every tags column, combined.
    if cols.has("tags") {
        let joined = cols.cells(row, "tags").into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(",");
        if let Some(tags) = p.check(dc::parse_tags("tags", &joined)) {
            d.tags = tags.into_iter().map(String::from).collect();
        }
    }

    // Consent flags.
    for (field, which) in [("consent_email", 0), ("consent_sms", 1), ("consent_wechat", 2), ("consent_phone", 3)] {
        let v = match cell(field) {
            Cell::Value(v) => p.check(parse_bool(field, v)),
            Cell::Empty => Some(false),
            Cell::Absent => None,
        };
        if let Some(v) = v {
            match which {
                0 => d.consent.email = v,
                1 => d.consent.sms = v,
                2 => d.consent.wechat = v,
                _ => d.consent.phone = v,
            }
        }
    }

    // Custom fields of this kind, checked as the form checks them; stored
    // values of columns not in the file are kept.
    let defs = ctx.defs(&kind).await?.to_vec();
    let mut raw: BTreeMap<String, String> = BTreeMap::new();
    for def in &defs {
        if let Some(v) = existing.and_then(|e| e.customer.data.custom.get(&def.key)) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            raw.insert(def.key.clone(), text);
        }
    }
    for (target, cols_of) in &cols.by_field {
        let Some(key) = target.strip_prefix("custom.") else { continue };
        let v = cols_of.first().and_then(|&i| row.get(i)).map(String::as_str).unwrap_or("");
        let def = defs.iter().find(|d| d.key == key);
        if v.is_empty() {
            raw.remove(key);
            continue;
        }
        let v = match def.map(|d| d.field_type.as_str()) {
            // Dates in any form people write them, as the built-in fields.
            Some("date") => dc::parse_date(target, v).map(|x| x.to_string()).unwrap_or_else(|_| v.to_string()),
            _ => v.to_string(),
        };
        raw.insert(key.to_string(), v);
    }
    match customer_fields::check_custom(&defs, &raw) {
        Ok(mut values) => {
            // Values of fields since switched off stay as they were.
            if let Some(e) = existing {
                for (k, v) in &e.customer.data.custom {
                    if !defs.iter().any(|d| &d.key == k) {
                        values.insert(k.clone(), v.clone());
                    }
                }
            }
            d.custom = values;
        }
        Err(errs) => {
            for e in errs.0 {
                p.push(e);
            }
        }
    }

    // Fields the administrator made required for this kind.
    for f in ctx.required(&kind).await? {
        let present = match f.as_str() {
            "gender" => d.gender.is_some(),
            "birthday" => d.birthday.is_some(),
            "id_card" => matches!(d.id_card, Sealed::Set(_)) || existing.is_some_and(|e| e.customer.has_id_card),
            "passport" => matches!(d.passport, Sealed::Set(_)) || existing.is_some_and(|e| e.customer.has_passport),
            "employer" => d.employer.is_some(),
            "mobile" => d.mobile.is_some(),
            "landline" => d.landline.is_some(),
            "email" => d.email.is_some(),
            "source" => d.source.is_some(),
            "partner_type" => d.partner_type.is_some(),
            other => text_slot(&mut d, other).is_none_or(|s| s.is_some()),
        };
        let already = p.list.iter().any(|e| e.field == f);
        if !present && !already {
            let field = if f == "employer" && !cols.has("employer") { "company".to_string() } else { f.clone() };
            p.push(FieldError::new(field, "required", format!("{f} is required for this kind of customer")));
        }
    }

    if !p.list.is_empty() {
        return Ok(Plan::Refuse { code, errors: p.list });
    }
    Ok(match existing {
        Some(e) if same_as_stored(&d, e) => Plan::Unchanged { code: e.customer.code.clone() },
        Some(e) => Plan::Update {
            id: e.customer.id,
            version: e.customer.version,
            draft: Box::new(d),
            code: e.customer.code.clone(),
        },
        None => Plan::Create { draft: Box::new(d), code },
    })
}

// ---------------------------------------------------------------------------
// Running an import

/// Progress of a running import: rows done and (estimated) rows in all.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Rows handled so far.
    pub done: u64,
    /// Rows in the file (see [`Sheet::estimated_rows`]).
    pub total: u64,
}

/// Imports (or with `dry_run` checks) every row of `sheet`.
///
/// `progress` is called after each batch. Fails only when the mapping is
/// unusable or the database fails; bad rows are in the [`Report`].
pub async fn import(
    store: &Store,
    actor: &Actor,
    sheet: &Sheet,
    opts: &ImportOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Report, ImportError> {
    let map = columns_for(store, &sheet.headers, opts).await?;
    let cols = Columns::new(&sheet.headers, &map);
    if !cols.has("name") && !cols.has("code") && !cols.has("company") {
        return Err(ImportError::Unreadable(format!(
            "no column holds the customer's name (姓名/name) or code (编号/code); the headers are: {}",
            sheet.headers.join(", ")
        )));
    }
    let mut report = Report {
        dry_run: opts.dry_run,
        columns: sheet
            .headers
            .iter()
            .zip(&map)
            .map(|(h, f)| ColumnUse { header: h.clone(), field: f.clone() })
            .collect(),
        unknown_columns: sheet
            .headers
            .iter()
            .zip(&map)
            .filter(|(h, f)| f.is_none() && !h.is_empty())
            .map(|(h, _)| h.clone())
            .collect(),
        ..Report::default()
    };
    let mut ctx = Context {
        store,
        opts,
        owners: HashMap::new(),
        owner_teams: HashMap::new(),
        create_owners: HashMap::new(),
        defs: HashMap::new(),
        required: HashMap::new(),
    };
    let total = sheet.estimated_rows();
    let batch_size = opts.batch_size.max(1);
    let mut seen_codes: HashMap<String, u64> = HashMap::new();
    // Codes the file names, so that new customers without one are not
    // given a code a later row means for another customer.
    let reserved: HashSet<String> = if cols.has("code") && !opts.dry_run {
        sheet
            .rows()
            .filter_map(|r| match cols.cell(&r.cells, "code") {
                Cell::Value(v) => CustomerCode::parse("code", v).ok().map(|c| c.to_string()),
                _ => None,
            })
            .collect()
    } else {
        HashSet::new()
    };
    let mut rows = sheet.rows();
    let mut done = 0u64;
    let mut analyzed_at = 0u64;
    loop {
        let batch: Vec<SourceRow> = rows.by_ref().take(batch_size).collect();
        if batch.is_empty() {
            break;
        }
        done += batch.len() as u64;
        run_batch(&mut ctx, &cols, actor, batch, &mut seen_codes, &reserved, &mut report).await?;
        if store.backend() == crate::Backend::Postgres && report.created >= 2 * analyzed_at.max(500) {
            // PostgreSQL plans the code look-ups with the statistics of the
            // table before the import; on a table that was empty they scan
            // it whole, and the import slows down quadratically (measured:
            // 70 s for 100,000 rows, 4 s with this). Refreshing them as the
            // table doubles keeps the plans on the indexes.
            sqlx::query("ANALYZE customers, customer_tags, customer_search").execute(store.pool()).await?;
            analyzed_at = report.created;
        }
        progress(Progress { done, total: total.max(done) });
    }
    if store.backend() == crate::Backend::Postgres && report.created > analyzed_at {
        // The same for the searches that follow: with the statistics of a
        // smaller table, a phone-suffix search was planned as a walk over
        // every customer (measured at a million: 900 ms instead of 5 ms).
        sqlx::query("ANALYZE customers, customer_tags, customer_search").execute(store.pool()).await?;
    }
    Ok(report)
}

async fn run_batch(
    ctx: &mut Context<'_>,
    cols: &Columns,
    actor: &Actor,
    batch: Vec<SourceRow>,
    seen_codes: &mut HashMap<String, u64>,
    reserved: &HashSet<String>,
    report: &mut Report,
) -> Result<(), ImportError> {
    // Codes first: duplicates within the file, then one query for the
    // customers this batch updates.
    let mut codes: Vec<Option<Result<String, RowError>>> = Vec::with_capacity(batch.len());
    for r in &batch {
        let c = match cols.cell(&r.cells, "code") {
            Cell::Value(v) => Some(match CustomerCode::parse("code", v) {
                Ok(c) => {
                    let c = c.to_string();
                    match seen_codes.get(&c) {
                        Some(first) => Err(RowError {
                            field: "code".into(),
                            column: cols.header_of("code"),
                            code: "duplicate_in_file".into(),
                            message: format!("code {c} appears again: it was already on line {first}"),
                        }),
                        None => {
                            seen_codes.insert(c.clone(), r.line);
                            Ok(c)
                        }
                    }
                }
                Err(e) => Err(RowError {
                    field: "code".into(),
                    column: cols.header_of("code"),
                    code: e.code.into(),
                    message: e.message,
                }),
            }),
            _ => None,
        };
        codes.push(c);
    }
    let wanted: Vec<&str> = codes.iter().filter_map(|c| c.as_ref()?.as_ref().ok()).map(String::as_str).collect();
    let existing = load_existing(ctx.store, &wanted).await?;

    let mut plans: Vec<(u64, Plan)> = Vec::with_capacity(batch.len());
    for (r, code) in batch.iter().zip(codes) {
        if r.cells.iter().all(String::is_empty) {
            plans.push((r.line, Plan::Skip));
            continue;
        }
        let code = match code {
            Some(Err(e)) => {
                // Check the rest too, so the user sees every problem at once.
                let mut plan = plan_row(ctx, cols, &r.cells, None, None).await?;
                let mut errors = vec![e];
                if let Plan::Refuse { errors: more, .. } = &mut plan {
                    errors.append(more);
                }
                plans.push((r.line, Plan::Refuse { code: None, errors }));
                continue;
            }
            Some(Ok(c)) => Some(c),
            None => None,
        };
        let found = code.as_deref().and_then(|c| existing.get(c));
        if let Some(e) = found {
            let c = &e.customer;
            let problem = if c.merged_into_id.is_some() {
                Some(("merged", format!("customer {} was merged into another customer; use that one's code", c.code)))
            } else if c.erased_at.is_some() {
                Some(("erased", format!("customer {}'s personal data was erased on request", c.code)))
            } else if !visible(&ctx.opts.vis, c.data.owner_id, c.team_id) {
                Some((
                    "not_allowed",
                    format!("customer {} belongs to someone whose customers you may not edit", c.code),
                ))
            } else {
                None
            };
            if let Some((why, message)) = problem {
                let errors =
                    vec![RowError { field: "code".into(), column: cols.header_of("code"), code: why.into(), message }];
                plans.push((r.line, Plan::Refuse { code, errors }));
                continue;
            }
        }
        let plan = plan_row(ctx, cols, &r.cells, found, code).await?;
        plans.push((r.line, plan));
    }

    let outcomes = if ctx.opts.dry_run { dry_outcomes(plans) } else { write(ctx, actor, plans, reserved).await? };
    for o in outcomes {
        match o.action {
            RowAction::Create => report.created += 1,
            RowAction::Update => report.updated += 1,
            RowAction::Unchanged => report.unchanged += 1,
            RowAction::Skip => report.skipped += 1,
            RowAction::Error => report.failed += 1,
        }
        report.total += 1;
        if o.action == RowAction::Error || ctx.opts.keep_ok_rows {
            report.rows.push(o);
        }
    }
    Ok(())
}

async fn load_existing(store: &Store, codes: &[&str]) -> Result<HashMap<String, Existing>> {
    let mut out = HashMap::new();
    let backend = store.backend();
    for chunk in codes.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Statement::new(backend, "SELECT * FROM customers WHERE code IN (");
        for (i, c) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).text(Some(c));
        }
        sql.push(")");
        let rows = sql.query().fetch_all(store.pool()).await?;
        if rows.is_empty() {
            continue;
        }
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            found.push((
                crate::customer_export::customer_from_row(r)?,
                r.try_get::<Option<String>, _>("id_card_hash")?,
                r.try_get::<Option<String>, _>("passport_hash")?,
            ));
        }
        let mut tags = Statement::new(backend, "SELECT customer_id, tag FROM customer_tags WHERE customer_id IN (");
        for (i, (c, _, _)) in found.iter().enumerate() {
            tags.push(if i == 0 { "" } else { ", " }).int(c.id.0);
        }
        tags.push(") ORDER BY customer_id, tag");
        let mut by_id: HashMap<i64, Vec<String>> = HashMap::new();
        for t in tags.query().fetch_all(store.pool()).await? {
            by_id.entry(t.try_get(0)?).or_default().push(t.try_get(1)?);
        }
        for (mut customer, id_card_hash, passport_hash) in found {
            customer.data.tags = by_id.remove(&customer.id.0).unwrap_or_default();
            out.insert(customer.code.clone(), Existing { customer, id_card_hash, passport_hash });
        }
    }
    Ok(out)
}

fn outcome(line: u64, code: Option<String>, action: RowAction) -> RowOutcome {
    RowOutcome { line, code, action, errors: Vec::new() }
}

fn dry_outcomes(plans: Vec<(u64, Plan)>) -> Vec<RowOutcome> {
    plans
        .into_iter()
        .map(|(line, p)| match p {
            Plan::Create { code, .. } => outcome(line, code, RowAction::Create),
            Plan::Update { code, .. } => outcome(line, Some(code), RowAction::Update),
            Plan::Unchanged { code } => outcome(line, Some(code), RowAction::Unchanged),
            Plan::Skip => outcome(line, None, RowAction::Skip),
            Plan::Refuse { code, errors } => RowOutcome { line, code, action: RowAction::Error, errors },
        })
        .collect()
}

/// Whether a store error belongs to the row (and is reported) rather than
/// to the database (and stops the import).
fn row_error(e: &StoreError) -> Option<Vec<RowError>> {
    let one = |field: &str, code: &str, message: String| {
        vec![RowError { field: field.into(), column: None, code: code.into(), message }]
    };
    match e {
        StoreError::Invalid(f) => Some(
            f.0.iter()
                .map(|e| RowError {
                    field: e.field.clone(),
                    column: None,
                    code: e.code.to_string(),
                    message: e.message.clone(),
                })
                .collect(),
        ),
        StoreError::Duplicate { field } => Some(one(field, "taken", format!("{field} is already taken"))),
        StoreError::Stale { .. } => Some(one(
            "code",
            "changed_meanwhile",
            "the customer was changed by someone else during the import; import the row again".into(),
        )),
        StoreError::NotFound => Some(one("code", "not_found", "the customer no longer exists".into())),
        _ => None,
    }
}

async fn exec(
    tx: &mut Tx,
    ctx: &Context<'_>,
    actor: &Actor,
    plan: &Plan,
    new_code: Option<&str>,
) -> Result<Option<(String, RowAction)>> {
    match plan {
        Plan::Create { draft, code } => {
            let c = customers::create(tx, ctx.store, actor, draft, code.as_deref().or(new_code)).await?;
            Ok(Some((c.code, RowAction::Create)))
        }
        Plan::Update { id, version, draft, code } => {
            customers::update(tx, ctx.store, actor, &ctx.opts.vis, *id, *version, draft).await?;
            Ok(Some((code.clone(), RowAction::Update)))
        }
        _ => Ok(None),
    }
}

/// Takes `count` customer codes from the sequence, skipping codes already
/// stored and codes that rows of the file name (a later row's code must not
/// be given to an earlier new customer).
async fn assign_codes(
    tx: &mut Tx,
    backend: crate::Backend,
    count: usize,
    reserved: &HashSet<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return Ok(out);
    }
    let now = crate::now_ms();
    sqlx::query(
        "INSERT INTO customer_code_seq (name, next_value, created_at, updated_at) VALUES ('customer', 1, $1, $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(now)
    .execute(&mut ***tx)
    .await?;
    while out.len() < count {
        let want = (count - out.len()) as i64;
        let first: i64 = sqlx::query_scalar(
            "UPDATE customer_code_seq SET next_value = next_value + $1, updated_at = $2 WHERE name = 'customer' \
             RETURNING next_value - $1",
        )
        .bind(want)
        .bind(now)
        .fetch_one(&mut ***tx)
        .await?;
        let candidates: Vec<String> = (first..first + want).map(|n| format!("C{n:06}")).collect();
        let mut taken: HashSet<String> = HashSet::new();
        for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
            let mut sql = Statement::new(backend, "SELECT code FROM customers WHERE code IN (");
            for (i, c) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).text(Some(c));
            }
            sql.push(")");
            for r in sql.query().fetch_all(&mut ***tx).await? {
                taken.insert(r.try_get(0)?);
            }
        }
        out.extend(candidates.into_iter().filter(|c| !taken.contains(c) && !reserved.contains(c)));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Creating many customers at once

/// The plain text columns of `customers` a new customer is written with, in
/// the order of [`text_values`]. These mirror `customers::create`; a story of
/// the end-to-end suite compares what both write, column by column.
const TEXT_COLUMNS: [&str; 32] = [
    "kind",
    "name",
    "name_pinyin",
    "name_initials",
    "gender",
    "birthday",
    "lunar_birthday",
    "passport_expiry",
    "employer",
    "title",
    "mobile",
    "mobile2",
    "landline",
    "email",
    "wechat",
    "fax",
    "province",
    "city",
    "district",
    "address",
    "hobbies",
    "diet",
    "room_pref",
    "seat_pref",
    "source",
    "source_detail",
    "partner_type",
    "industry",
    "license_no",
    "notes",
    "stage",
    "grade",
];

/// Every other column written on creation, after the text columns.
const OTHER_COLUMNS: &[&str] = &[
    "id_card_enc",
    "id_card_hash",
    "id_card_masked",
    "passport_enc",
    "passport_hash",
    "passport_masked",
    "consent_email",
    "consent_sms",
    "consent_wechat",
    "consent_phone",
    "consent_at",
    "owner_id",
    "team_id",
    "custom",
    "created_by",
    "created_at",
    "updated_at",
    "version",
];

fn text_values(d: &Draft) -> [Option<&str>; 32] {
    [
        Some(d.kind.as_str()),
        Some(d.name.as_str()),
        Some(d.name_pinyin.as_str()),
        Some(d.name_initials.as_str()),
        d.gender.as_deref(),
        d.birthday.as_deref(),
        d.lunar_birthday.as_deref(),
        d.passport_expiry.as_deref(),
        d.employer.as_deref(),
        d.title.as_deref(),
        d.mobile.as_deref(),
        d.mobile2.as_deref(),
        d.landline.as_deref(),
        d.email.as_deref(),
        d.wechat.as_deref(),
        d.fax.as_deref(),
        d.province.as_deref(),
        d.city.as_deref(),
        d.district.as_deref(),
        d.address.as_deref(),
        d.hobbies.as_deref(),
        d.diet.as_deref(),
        d.room_pref.as_deref(),
        d.seat_pref.as_deref(),
        d.source.as_deref(),
        d.source_detail.as_deref(),
        d.partner_type.as_deref(),
        d.industry.as_deref(),
        d.license_no.as_deref(),
        d.notes.as_deref(),
        Some(d.stage.as_str()),
        d.grade.as_deref(),
    ]
}

/// SQLite page cache while writing a batch, in KiB.
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

/// Rows per multi-row statement: well below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const CUSTOMERS_PER_STATEMENT: usize = 500;
const ROWS_PER_STATEMENT: usize = 500;
/// Search keys (two values each) per statement.
const KEYS_PER_STATEMENT: usize = 5000;
/// Audit rows (twelve values each) per statement.
const AUDIT_ROWS_PER_STATEMENT: usize = 2000;

/// Why the bulk path gave up on a batch: a row the database refused, or an
/// owner who can no longer own customers. The batch is then written row by
/// row, which names the row and the reason.
enum BulkFailed {
    Row,
    Fatal(StoreError),
}

impl From<sqlx::Error> for BulkFailed {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // A constraint the planner did not foresee (a code taken
            // meanwhile …): find the row on the row-by-row path.
            sqlx::Error::Database(_) => BulkFailed::Row,
            other => BulkFailed::Fatal(StoreError::Db(other)),
        }
    }
}

impl From<StoreError> for BulkFailed {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            other => BulkFailed::Fatal(other),
        }
    }
}

/// Creates customers with a few multi-row statements (customers, tags,
/// search keys, one audit row each), writing exactly what `customers::create` writes per row.
async fn create_many(
    tx: &mut Tx,
    ctx: &mut Context<'_>,
    actor: &Actor,
    rows: &[(u64, &Draft, String)],
) -> std::result::Result<(), BulkFailed> {
    let key = ctx.store.data_key();
    let backend = ctx.store.backend();
    let now = crate::now_ms();
    let mut teams = Vec::with_capacity(rows.len());
    for (_, d, _) in rows {
        match ctx.owner_for_create(d.owner_id).await? {
            Some(team) => teams.push(team),
            None => return Err(BulkFailed::Row),
        }
    }
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for (chunk, chunk_teams) in rows.chunks(CUSTOMERS_PER_STATEMENT).zip(teams.chunks(CUSTOMERS_PER_STATEMENT)) {
        let mut sql = Statement::new(backend, "INSERT INTO customers (code, ");
        sql.push(&TEXT_COLUMNS.join(", ")).push(", ").push(&OTHER_COLUMNS.join(", ")).push(") VALUES ");
        for (i, ((_, d, code), team)) in chunk.iter().zip(chunk_teams).enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.text(Some(code.as_str()));
            for v in text_values(d) {
                sql.push(", ").text(v);
            }
            let sealed = |s: &Sealed| match s {
                Sealed::Set(v) => (Some(key.seal(v)), Some(key.index(v))),
                _ => (None, None),
            };
            let (id_enc, id_hash) = sealed(&d.id_card);
            let (pp_enc, pp_hash) = sealed(&d.passport);
            sql.push(", ").owned(id_enc).push(", ").owned(id_hash).push(", ").text(d.id_card_masked.as_deref());
            sql.push(", ").owned(pp_enc).push(", ").owned(pp_hash).push(", ").text(d.passport_masked.as_deref());
            let c = d.consent;
            for flag in [c.email, c.sms, c.wechat, c.phone] {
                sql.push(", ").int(i64::from(flag));
            }
            sql.push(", ").int(now).push(", ").int(d.owner_id.0).push(", ").int(team.map(|t| t.0));
            sql.push(", ").owned(Some(serde_json::to_string(&d.custom).unwrap_or_else(|_| "{}".into())));
            sql.push(", ").int(actor.user_id.map(|u| u.0));
            sql.push(", ").int(now).push(", ").int(now).push(", 1)");
        }
        sql.push(" RETURNING id, code");
        for r in sql.query().fetch_all(&mut ***tx).await? {
            ids.insert(r.try_get(1)?, r.try_get(0)?);
        }
    }
    let id_of = |code: &str| ids.get(code).copied().ok_or(BulkFailed::Row);

    let mut tags: Vec<(i64, &str)> = Vec::new();
    for (_, d, code) in rows {
        let id = id_of(code)?;
        tags.extend(d.tags.iter().map(|t| (id, t.as_str())));
    }
    for chunk in tags.chunks(ROWS_PER_STATEMENT) {
        let mut sql =
            Statement::new(backend, "INSERT INTO customer_tags (customer_id, tag, created_at, updated_at) VALUES ");
        for (i, (id, tag)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.int(*id).push(", ").text(Some(tag)).push(", ").int(now).push(", ").int(now).push(")");
        }
        sql.push(" ON CONFLICT (customer_id, tag) DO NOTHING");
        sql.query().execute(&mut ***tx).await?;
    }

    let mut keys: Vec<(i64, String)> = Vec::with_capacity(rows.len() * 8);
    for (_, d, code) in rows {
        let id = id_of(code)?;
        let phones = [d.mobile.as_deref(), d.mobile2.as_deref(), d.landline.as_deref()];
        keys.extend(customer_search::keys_of(&d.name, d.employer.as_deref(), phones).into_iter().map(|k| (id, k)));
    }
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let mut sql = Statement::new(backend, "INSERT INTO customer_search (k, customer_id) VALUES ");
        for (i, (id, k)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.text(Some(k)).push(", ").int(*id).push(")");
        }
        sql.query().execute(&mut ***tx).await?;
    }

    for chunk in rows.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let mut sql = Statement::new(
            backend,
            "INSERT INTO audit_log (actor_id, actor_name, actor_team_id, action, entity, entity_id, summary, changes, \
             ip, request_id, created_at, updated_at) VALUES ",
        );
        for (i, (line, d, code)) in chunk.iter().enumerate() {
            // The values are the customer row itself (and, after a change,
            // the "before" of that change's audit row): the creation entry
            // says where they came from instead of copying them.
            let mut changes = ChangeSet::new();
            changes.created("source", Some(&format!("{} line {line}", ctx.opts.source)), Sensitivity::Plain);
            changes.created("owner_id", Some(&d.owner_id.to_string()), Sensitivity::Plain);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.int(actor.user_id.map(|u| u.0)).push(", ").text(Some(&actor.name)).push(", ");
            sql.int(actor.team_id.map(|t| t.0)).push(", ").text(Some(Action::Create.code())).push(", ");
            sql.text(Some("customer")).push(", ").owned(Some(CustomerId(id_of(code)?).to_string())).push(", ");
            sql.owned(Some(format!("customer {code} {} imported", d.name))).push(", ");
            sql.owned(Some(serde_json::to_string(&changes.0).unwrap_or_else(|_| "[]".into()))).push(", ");
            sql.text(actor.ip.as_deref()).push(", ").text(actor.request_id.as_deref()).push(", ");
            sql.int(now).push(", ").int(now).push(")");
        }
        sql.query().execute(&mut ***tx).await?;
    }
    Ok(())
}

/// What writing one row gave: its code and action (`None` for rows that
/// write nothing), or the row's problems.
type Written = std::result::Result<Option<(String, RowAction)>, Vec<RowError>>;

/// The first attempt at a batch: new customers in bulk, updates one by one.
async fn write_fast(
    tx: &mut Tx,
    ctx: &mut Context<'_>,
    actor: &Actor,
    plans: &[(u64, Plan)],
    unnamed: usize,
    reserved: &HashSet<String>,
) -> std::result::Result<Vec<Written>, BulkFailed> {
    let mut codes = assign_codes(tx, ctx.store.backend(), unnamed, reserved).await?.into_iter();
    let mut results = Vec::with_capacity(plans.len());
    let mut creates: Vec<(u64, &Draft, String)> = Vec::new();
    for (line, plan) in plans {
        match plan {
            Plan::Create { draft, code } => {
                let code = match code {
                    Some(c) => c.clone(),
                    None => codes.next().ok_or(BulkFailed::Row)?,
                };
                results.push(Ok(Some((code.clone(), RowAction::Create))));
                creates.push((*line, draft, code));
            }
            Plan::Update { .. } => match exec(tx, ctx, actor, plan, None).await {
                Ok(r) => results.push(Ok(r)),
                Err(e) if row_error(&e).is_some() => return Err(BulkFailed::Row),
                Err(e) => return Err(e.into()),
            },
            _ => results.push(Ok(None)),
        }
    }
    create_many(tx, ctx, actor, &creates).await?;
    Ok(results)
}

/// Writes a batch in one transaction. If a row fails in the database, the
/// batch goes back to its savepoint and is written again with a savepoint
/// per row, so that the bad row leaves nothing and the others land.
async fn write(
    ctx: &mut Context<'_>,
    actor: &Actor,
    plans: Vec<(u64, Plan)>,
    reserved: &HashSet<String>,
) -> Result<Vec<RowOutcome>, ImportError> {
    let writes = |p: &Plan| matches!(p, Plan::Create { .. } | Plan::Update { .. });
    if !plans.iter().any(|(_, p)| writes(p)) {
        return Ok(dry_outcomes(plans));
    }
    let unnamed = plans.iter().filter(|(_, p)| matches!(p, Plan::Create { code: None, .. })).count();
    let mut tx = begin_batch(ctx).await?;
    let fast = match write_fast(&mut tx, ctx, actor, &plans, unnamed, reserved).await {
        Ok(r) => Some(r),
        Err(BulkFailed::Row) => None,
        Err(BulkFailed::Fatal(e)) => return Err(e.into()),
    };
    let results = match fast {
        Some(r) => r,
        None => {
            // The batch is its own transaction: start it again, a row at a
            // time. (A savepoint around the fast attempt would do the same
            // but makes SQLite copy every page it touches into a statement
            // journal first.)
            tx.rollback().await?;
            tx = begin_batch(ctx).await?;
            write_rows(&mut tx, ctx, actor, &plans, unnamed, reserved).await?
        }
    };
    end_batch(ctx, &mut tx).await?;
    tx.commit().await?;
    Ok(finish(plans, results))
}

/// Starts a batch's transaction, with the page cache an import needs.
async fn begin_batch(ctx: &Context<'_>) -> Result<Tx> {
    let mut tx = ctx.store.begin().await?;
    if ctx.store.backend() == crate::Backend::Sqlite {
        // A batch touches pages all over ten indexes; with SQLite's default
        // 2 MB cache they spill to the WAL again and again before the commit
        // (measured: 2 million page writes for 100,000 rows).
        let kib = ctx.opts.sqlite_cache_kib.unwrap_or(IMPORT_CACHE_KIB);
        sqlx::query(&format!("PRAGMA cache_size = -{kib}")).execute(&mut **tx).await?;
    }
    Ok(tx)
}

/// Gives a server's pooled connection its usual cache back (dirty pages stay
/// until the commit writes them).
async fn end_batch(ctx: &Context<'_>, tx: &mut Tx) -> Result<()> {
    if ctx.store.backend() == crate::Backend::Sqlite && ctx.opts.sqlite_cache_kib.is_none() {
        sqlx::query(&format!("PRAGMA cache_size = {}", crate::db::SQLITE_CACHE_SIZE)).execute(&mut ***tx).await?;
    }
    Ok(())
}

/// The slow path of a batch: a savepoint per row, so that a row the database
/// refuses leaves nothing and the others land.
async fn write_rows(
    tx: &mut Tx,
    ctx: &mut Context<'_>,
    actor: &Actor,
    plans: &[(u64, Plan)],
    unnamed: usize,
    reserved: &HashSet<String>,
) -> Result<Vec<Written>, ImportError> {
    let writes = |p: &Plan| matches!(p, Plan::Create { .. } | Plan::Update { .. });
    let mut results = Vec::with_capacity(plans.len());
    let mut codes = assign_codes(tx, ctx.store.backend(), unnamed, reserved).await?.into_iter();
    for (_, plan) in plans {
        if !writes(plan) {
            results.push(Ok(None));
            continue;
        }
        let new_code = if matches!(plan, Plan::Create { code: None, .. }) { codes.next() } else { None };
        sqlx::query("SAVEPOINT import_row").execute(&mut ***tx).await?;
        match exec(tx, ctx, actor, plan, new_code.as_deref()).await {
            Ok(r) => {
                sqlx::query("RELEASE SAVEPOINT import_row").execute(&mut ***tx).await?;
                results.push(Ok(r));
            }
            Err(e) => match row_error(&e) {
                Some(errs) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT import_row").execute(&mut ***tx).await?;
                    sqlx::query("RELEASE SAVEPOINT import_row").execute(&mut ***tx).await?;
                    results.push(Err(errs));
                }
                None => return Err(e.into()),
            },
        }
    }
    Ok(results)
}

fn finish(plans: Vec<(u64, Plan)>, results: Vec<Written>) -> Vec<RowOutcome> {
    plans
        .into_iter()
        .zip(results)
        .map(|((line, plan), r)| match (plan, r) {
            (_, Ok(Some((code, action)))) => outcome(line, Some(code), action),
            (plan, Ok(None)) => dry_outcomes(vec![(line, plan)]).remove(0),
            (plan, Err(errors)) => {
                let code = match plan {
                    Plan::Create { code, .. } => code,
                    Plan::Update { code, .. } => Some(code),
                    _ => None,
                };
                RowOutcome { line, code, action: RowAction::Error, errors }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &[u8]) -> Sheet {
        Sheet::read(text).unwrap()
    }

    fn rows(s: &Sheet) -> Vec<(u64, Vec<String>)> {
        s.rows().map(|r| (r.line, r.cells)).collect()
    }

    #[test]
    fn encodings_are_detected() {
        let text = "姓名,手机\n张三,13812345678\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        for (bytes, enc) in [
            (text.as_bytes().to_vec(), "UTF-8"),
            ([b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(), "UTF-8 (BOM)"),
            (gbk.into_owned(), "GB18030"),
        ] {
            let s = sheet(&bytes);
            assert_eq!(s.encoding, Some(enc));
            assert_eq!(s.headers, ["姓名", "手机"]);
            assert_eq!(rows(&s), [(2, vec!["张三".to_string(), "13812345678".to_string()])]);
        }
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "姓名\t手机\r\n李四\t13912345678\r\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let s = sheet(&utf16);
        assert_eq!(s.delimiter, Some('\t'));
        assert_eq!(rows(&s)[0].1, ["李四", "13912345678"]);
        assert!(matches!(Sheet::read(b"\xff\xfe\xff"), Err(ImportError::Unreadable(_))));
    }

    #[test]
    fn delimiters_and_lines_as_the_user_sees_them() {
        let s =
            sheet("客户名单\n\n姓名;电话;备注\n王五;13812345678;\"两行\n备注\"\n;;\n赵六;010-62345678;\n".as_bytes());
        assert_eq!(s.delimiter, Some(';'));
        assert_eq!(s.header_line, 3);
        let r = rows(&s);
        assert_eq!(r[0].0, 4);
        assert_eq!(r[0].1[2], "两行\n备注");
        assert_eq!(r[1].0, 6, "a blank row keeps its line");
        assert_eq!(r[2].0, 7);
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("\"a,b\";c;d"), b';');
        assert_eq!(detect_delimiter("name"), b',');
    }

    #[test]
    fn headers_in_chinese_or_english_with_variants() {
        let headers: Vec<String> = [
            "客户编号",
            "客户名称",
            "类型",
            "性别",
            "手机号码",
            "电子邮件",
            "出生日期",
            "省份",
            "城市",
            "工作单位",
            "身份证",
            "客户来源",
            "护照号",
            "护照有效期",
            "微信",
            "地址",
            "标签",
            "备注",
            "固定电话",
            "Room_Pref",
            "会员卡号",
            "奇怪的列",
            "*姓名",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let custom = vec![FieldDef {
            id: 1,
            kind: "individual".into(),
            key: "vip_no".into(),
            label_zh: "会员卡号".into(),
            label_en: "VIP number".into(),
            field_type: "text".into(),
            choices: vec![],
            required: false,
            position: 0,
            active: true,
            version: 1,
        }];
        let m = auto_map(&headers, &custom);
        let keys: Vec<&str> = m.iter().map(|t| t.as_deref().unwrap_or("-")).collect();
        assert_eq!(
            keys,
            [
                "code",
                "name",
                "kind",
                "gender",
                "phone",
                "email",
                "birthday",
                "province",
                "city",
                "company",
                "id_card",
                "source",
                "passport",
                "passport_expiry",
                "wechat",
                "address",
                "tags",
                "notes",
                "landline",
                "room_pref",
                "custom.vip_no",
                "-",
                "-"
            ],
            "the second name column is left unmapped"
        );
        let english: Vec<String> = [
            "code", "name", "kind", "gender", "phone", "email", "birthday", "province", "city", "company", "id_card",
            "source",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(auto_map(&english, &[]).iter().all(Option::is_some));
        // Every export header, in either language, comes back to its field.
        for f in FIELDS {
            assert_eq!(builtin_for_header(f.label_zh), Some(f.key), "{}", f.label_zh);
            assert_eq!(builtin_for_header(f.label_en), Some(f.key), "{}", f.label_en);
            assert_eq!(builtin_for_header(f.key), Some(f.key));
        }
        let explicit = parse_mapping("奇怪的列=notes，*姓名=-").unwrap();
        let m2 = apply_mapping(&headers, m.clone(), &explicit, &custom);
        assert!(m2.is_err(), "notes twice");
        let explicit = parse_mapping("奇怪的列=备注, 备注=ignore").unwrap();
        let m2 = apply_mapping(&headers, m, &explicit, &custom).unwrap();
        assert_eq!(m2[21].as_deref(), Some("notes"));
        assert_eq!(m2[17], None);
        assert!(parse_mapping("no equals sign").is_err());
    }

    #[test]
    fn cells_are_cleaned_and_numbers_keep_their_digits() {
        assert_eq!(clean_cell("  '=1+1 "), "=1+1");
        assert_eq!(clean_cell("'abc"), "'abc");
        assert_eq!(float_text(13812345678.0), "13812345678");
        assert_eq!(float_text(440306199008151232.0), "440306199008151232");
        assert_eq!(float_text(3.5), "3.5");
    }

    #[test]
    fn errors_csv_has_a_bom_and_one_line_per_problem() {
        let r = Report {
            rows: vec![RowOutcome {
                line: 3,
                code: None,
                action: RowAction::Error,
                errors: vec![
                    RowError {
                        field: "mobile".into(),
                        column: Some("手机".into()),
                        code: "invalid_mobile".into(),
                        message: "bad".into(),
                    },
                    RowError {
                        field: "kind".into(),
                        column: Some("=类型".into()),
                        code: "invalid_choice".into(),
                        message: "no".into(),
                    },
                ],
            }],
            ..Report::default()
        };
        let csv = String::from_utf8(r.errors_csv()).unwrap();
        assert!(csv.starts_with("\u{feff}line,field,column,reason\n"));
        assert!(csv.contains("3,mobile,手机,bad\n"));
        assert!(csv.contains("3,kind,'=类型,no\n"));
    }
}
