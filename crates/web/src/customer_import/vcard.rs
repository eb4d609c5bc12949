//! Customers and contact persons as vCard 4.0 (RFC 6350), for phones.

use crate::ctx::Req;
use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::access::Permission;
use domain::ids::CustomerId;

/// Two-character surnames (复姓): the family name is both characters.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "长孙", "慕容", "令狐", "司徒", "司空", "夏侯",
    "轩辕", "宇文", "独孤", "南宫", "西门", "端木", "百里", "呼延", "澹台", "公冶", "太史", "申屠", "闻人", "赫连",
    "淳于", "单于", "万俟", "钟离", "宗政", "濮阳", "公羊", "仲孙", "拓跋", "第五",
];

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// Splits a name into family and given names: Chinese names by their first
/// character (or a two-character compound surname such as 欧阳), others by
/// the last word (`Emily Chen` → `Chen`, `Emily`).
pub(crate) fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    if name.chars().next().is_some_and(is_cjk) {
        let cut = COMPOUND_SURNAMES
            .iter()
            .find(|s| name.starts_with(*s) && name.chars().count() > 2)
            .map(|s| s.len())
            .unwrap_or_else(|| name.chars().next().map(char::len_utf8).unwrap_or(0));
        let (family, given) = name.split_at(cut);
        return (family.to_string(), given.trim_start_matches(['·', ' ']).to_string());
    }
    match name.rsplit_once(' ') {
        Some((given, family)) => (family.trim().to_string(), given.trim().to_string()),
        None => (name.to_string(), String::new()),
    }
}

/// Escapes a text value (RFC 6350 §3.4): backslash, comma, semicolon, newline.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (never inside a character), CRLF and a
/// space before each continuation (RFC 6350 §3.2).
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

/// A phone number as a `tel:` URI (RFC 3966) with the mainland country code.
fn tel_uri(number: &str) -> String {
    let parts: Vec<&str> = number.split('-').collect();
    match parts.as_slice() {
        [area, local, ext] => format!("tel:+86-{}-{local};ext={ext}", area.trim_start_matches('0')),
        [area, local] => format!("tel:+86-{}-{local}", area.trim_start_matches('0')),
        _ => format!("tel:+86-{number}"),
    }
}

/// What one card says.
#[derive(Debug, Default)]
pub(crate) struct Card {
    pub kind_org: bool,
    pub name: String,
    pub mobiles: Vec<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    pub org: Option<String>,
    pub title: Option<String>,
    pub role: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub street: Option<String>,
    pub birthday: Option<String>,
    pub note: String,
    pub uid: String,
}

/// The vCard text.
pub(crate) fn render(c: &Card) -> String {
    let mut lines = vec!["BEGIN:VCARD".to_string(), "VERSION:4.0".to_string(), "PRODID:-//Keyuan//CRM//ZH".to_string()];
    lines.push(format!("UID:{}", c.uid));
    lines.push(format!("KIND:{}", if c.kind_org { "org" } else { "individual" }));
    lines.push(format!("FN:{}", escape(&c.name)));
    if !c.kind_org {
        let (family, given) = split_name(&c.name);
        lines.push(format!("N:{};{};;;", escape(&family), escape(&given)));
    }
    for m in &c.mobiles {
        lines.push(format!("TEL;VALUE=uri;TYPE=cell:{}", tel_uri(m)));
    }
    if let Some(l) = &c.landline {
        lines.push(format!("TEL;VALUE=uri;TYPE=work:{}", tel_uri(l)));
    }
    if let Some(e) = &c.email {
        lines.push(format!("EMAIL;TYPE=work:{}", escape(e)));
    }
    if let Some(o) = &c.org {
        lines.push(format!("ORG:{}", escape(o)));
    }
    if let Some(t) = &c.title {
        lines.push(format!("TITLE:{}", escape(t)));
    }
    if let Some(r) = &c.role {
        lines.push(format!("ROLE:{}", escape(r)));
    }
    if c.province.is_some() || c.city.is_some() || c.street.is_some() {
        let p = |v: &Option<String>| escape(v.as_deref().unwrap_or(""));
        lines.push(format!("ADR;TYPE=work:;;{};{};{};;{}", p(&c.street), p(&c.city), p(&c.province), escape("中国")));
    }
    if let Some(b) = &c.birthday {
        lines.push(format!("BDAY:{}", b.replace('-', "")));
    }
    lines.push(format!("NOTE:{}", escape(&c.note)));
    lines.push("END:VCARD".to_string());
    lines.iter().map(|l| fold(l)).collect()
}

fn response(card: &Card, file: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/vcard; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}.vcf\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        render(card),
    )
        .into_response()
}

fn join(parts: &[&Option<String>]) -> Option<String> {
    let s: Vec<&str> = parts.iter().filter_map(|p| p.as_deref()).filter(|s| !s.is_empty()).collect();
    (!s.is_empty()).then(|| s.join(" "))
}

/// A customer as a vCard: a person for individuals, an organization otherwise.
#[utoipa::path(get, path = "/customers/{id}/vcard", tag = "pages", security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "vCard 4.0", content_type = "text/vcard"),
        (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn customer_vcard(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let d = &c.data;
    let org = d.kind != "individual";
    let card = Card {
        kind_org: org,
        name: d.name.clone(),
        mobiles: [&d.mobile, &d.mobile2].into_iter().flatten().cloned().collect(),
        landline: d.landline.clone(),
        email: d.email.clone(),
        org: if org { Some(d.name.clone()) } else { d.employer.clone() },
        title: d.title.clone(),
        role: None,
        province: d.province.clone(),
        city: d.city.clone(),
        street: join(&[&d.district, &d.address]),
        birthday: if org { None } else { d.birthday.clone() },
        note: format!("{} {}", req.lang.t("export.vcard_code"), c.code),
        uid: format!("urn:keyuan:customer:{}", c.code),
    };
    Ok(response(&card, &c.code))
}

/// A contact person of a company or trade partner as a vCard.
#[utoipa::path(get, path = "/customers/{id}/contacts/{contact_id}/vcard", tag = "pages",
    security(("keyuan" = ["customers.read"])),
    params(("id" = i64, Path, description = "customer id"), ("contact_id" = i64, Path, description = "contact id")),
    responses((status = 200, description = "vCard 4.0", content_type = "text/vcard"),
        (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn contact_vcard(
    State(state): State<AppState>,
    req: Req,
    Path((id, contact_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let c = store::customers::get(&state.store, &vis, CustomerId(id)).await?;
    let contacts = store::customers::contacts(&state.store, c.id).await?;
    let p = contacts.into_iter().find(|p| p.id.0 == contact_id).ok_or(AppError::NotFound)?;
    let role = domain::customer::ContactRole::from_code(&p.role).map(|r| r.label(req.lang == crate::i18n::Lang::Zh));
    let card = Card {
        kind_org: false,
        name: p.name.clone(),
        mobiles: p.mobile.iter().cloned().collect(),
        landline: p.landline.clone(),
        email: p.email.clone(),
        org: Some(c.data.name.clone()),
        title: p.title.clone(),
        role: role.map(str::to_string),
        province: c.data.province.clone(),
        city: c.data.city.clone(),
        street: join(&[&c.data.district, &c.data.address]),
        birthday: None,
        note: format!("{} {}", req.lang.t("export.vcard_code"), c.code),
        uid: format!("urn:keyuan:contact:{}", p.id.0),
    };
    Ok(response(&card, &format!("{}-{}", c.code, p.id.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_split_at_the_surname() {
        let s = |n: &str| split_name(n);
        assert_eq!(s("欧阳娜娜"), ("欧阳".into(), "娜娜".into()));
        assert_eq!(s("司马懿"), ("司马".into(), "懿".into()));
        assert_eq!(s("诸葛亮"), ("诸葛".into(), "亮".into()));
        assert_eq!(s("张三"), ("张".into(), "三".into()));
        assert_eq!(s("王建国"), ("王".into(), "建国".into()));
        assert_eq!(s("欧阳"), ("欧".into(), "阳".into()), "two characters: 欧 is the surname");
        assert_eq!(s("Emily Chen"), ("Chen".into(), "Emily".into()));
        assert_eq!(s("Madonna"), ("Madonna".into(), String::new()));
    }

    #[test]
    fn lines_are_escaped_folded_and_end_in_crlf() {
        let card = Card {
            name: "欧阳娜娜".into(),
            mobiles: vec!["13812345678".into()],
            landline: Some("0571-88886666-123".into()),
            email: Some("nana@example.cn".into()),
            org: Some("杭州西湖国旅, 总部; A\\B".into()),
            title: Some("经理".into()),
            province: Some("浙江".into()),
            city: Some("杭州".into()),
            street: Some("西湖区 文三路 1 号".into()),
            birthday: Some("1990-08-15".into()),
            note: format!("客户编号 C000123 {}", "很长的备注".repeat(10)),
            uid: "urn:keyuan:customer:C000123".into(),
            ..Card::default()
        };
        let v = render(&card);
        assert!(v.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
        assert!(v.ends_with("END:VCARD\r\n"));
        assert!(!v.replace("\r\n", "").contains('\n'), "only CRLF line ends");
        for line in v.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        let unfolded = v.replace("\r\n ", "");
        assert!(unfolded.contains("\r\nN:欧阳;娜娜;;;\r\n"));
        assert!(unfolded.contains("\r\nFN:欧阳娜娜\r\n"));
        assert!(unfolded.contains("ORG:杭州西湖国旅\\, 总部\\; A\\\\B\r\n"));
        assert!(unfolded.contains("TEL;VALUE=uri;TYPE=cell:tel:+86-13812345678\r\n"));
        assert!(unfolded.contains("TEL;VALUE=uri;TYPE=work:tel:+86-571-88886666;ext=123\r\n"));
        assert!(unfolded.contains("BDAY:19900815\r\n"));
        assert!(unfolded.contains("ADR;TYPE=work:;;西湖区 文三路 1 号;杭州;浙江;;中国\r\n"));
        assert!(unfolded.contains(&format!("NOTE:客户编号 C000123 {}\r\n", "很长的备注".repeat(10))));
    }
}
