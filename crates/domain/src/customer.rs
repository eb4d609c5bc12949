//! Customer values: kinds and classifications, phone numbers, the resident ID
//! card and passport numbers, dates of birth, customer codes, pinyin search
//! keys and tags.
//!
//! Everything here is parsed at the edge (forms, API, imports) into a type that
//! can only hold a valid value. Parse functions take the name of the field they
//! report on and answer a [`FieldError`] whose `code` is stable and whose
//! message names the field and the reason.
//!
//! Imports come from Excel sheets typed on Chinese systems, so the parsers
//! accept full-width digits and punctuation (`１３８`, `（０２１）`) and Chinese
//! labels as well as the stored codes.

use crate::{audit, user, FieldError};
use chrono::{Months, NaiveDate};
use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};
use std::fmt;

// ---------------------------------------------------------------------------
// Code enums
// ---------------------------------------------------------------------------

use crate::codes::code_enum;

code_enum! {
    /// What kind of customer a record describes.
    pub enum CustomerKind {
        /// 散客: a private traveller or family.
        Individual => ("individual", "散客", "Individual", ["个人"]),
        /// 集团/企业: a company or institution buying for its staff, with contact persons.
        Organization => ("organization", "集团/企业", "Organization", ["企业", "集团", "单位"]),
        /// 同业: another firm in the trade (see [`PartnerType`]).
        Partner => ("partner", "同业", "Trade partner", ["同行"]),
    }
}

code_enum! {
    /// The role of a trade partner (同业) towards us.
    pub enum PartnerType {
        /// 上游组团社: the agency that sells tours and sends its groups to us.
        UpstreamAgency => ("upstream_agency", "上游组团社", "Upstream agency", ["组团社"]),
        /// 地接社: the agency that receives our groups at the destination.
        GroundHandler => ("ground_handler", "地接社", "Ground handler", ["地接"]),
        /// 代理/中介: an agent or intermediary selling on commission.
        Agent => ("agent", "代理/中介", "Agent / intermediary", ["代理", "中介", "代理商"]),
    }
}

code_enum! {
    /// A person's gender as recorded on forms; use `parse_optional` when the
    /// field may be left empty.
    pub enum Gender {
        /// 男.
        Male => ("male", "男", "Male", ["m", "男性"]),
        /// 女.
        Female => ("female", "女", "Female", ["f", "女性"]),
        /// 未知: not given or not disclosed.
        Unknown => ("unknown", "未知", "Unknown", ["保密"]),
    }
}

code_enum! {
    /// Where a customer stands in the relationship, from first contact to loss.
    pub enum LifecycleStage {
        /// 潜在: known to us, has not bought.
        Potential => ("potential", "潜在", "Potential", ["潜在客户"]),
        /// 商机: an open opportunity or quote.
        Opportunity => ("opportunity", "商机", "Opportunity", ["意向客户"]),
        /// 回头客: has bought more than once.
        Repeat => ("repeat", "回头客", "Repeat", ["复购"]),
        /// 忠诚: buys regularly and recommends us.
        Loyal => ("loyal", "忠诚", "Loyal", ["忠诚客户"]),
        /// 流失: has stopped buying.
        Churned => ("churned", "流失", "Churned", ["流失客户"]),
    }
}

code_enum! {
    /// How a customer first came to us.
    pub enum SourceChannel {
        /// 报纸广告.
        NewspaperAd => ("newspaper_ad", "报纸广告", "Newspaper ad", ["报纸"]),
        /// 电视广告.
        TvAd => ("tv_ad", "电视广告", "TV ad", ["电视"]),
        /// 电台广告.
        RadioAd => ("radio_ad", "电台广告", "Radio ad", ["电台", "广播"]),
        /// 朋友介绍: recommended by a friend or an existing customer.
        Referral => ("referral", "朋友介绍", "Friend referral", ["介绍", "转介绍"]),
        /// 网站.
        Website => ("website", "网站", "Website", ["官网"]),
        /// 微信.
        Wechat => ("wechat", "微信", "WeChat", []),
        /// 门店来访: walked into the shop.
        WalkIn => ("walk_in", "门店来访", "Walk-in", ["到店", "门店"]),
        /// 同业推荐: recommended by a trade partner.
        Partner => ("partner", "同业推荐", "Partner referral", ["同业"]),
        /// 营销活动: a marketing campaign.
        Campaign => ("campaign", "营销活动", "Campaign", ["活动"]),
        /// 其他.
        Other => ("other", "其他", "Other", ["其它"]),
    }
}

code_enum! {
    /// The medium of an interaction (接触记录).
    pub enum Channel {
        /// 电话.
        Phone => ("phone", "电话", "Phone", ["telephone"]),
        /// 面谈: a meeting in person.
        FaceToFace => ("face_to_face", "面谈", "Face to face", ["当面", "见面"]),
        /// 邮件.
        Email => ("email", "邮件", "E-mail", ["电子邮件"]),
        /// 微信.
        Wechat => ("wechat", "微信", "WeChat", []),
        /// 短信.
        Sms => ("sms", "短信", "SMS", []),
        /// 传真.
        Fax => ("fax", "传真", "Fax", []),
        /// 网站: a web form or online chat.
        Web => ("web", "网站", "Web", ["网页"]),
        /// 呼叫中心.
        CallCentre => ("call_centre", "呼叫中心", "Call centre", ["call_center"]),
    }
}

code_enum! {
    /// Who started an interaction.
    pub enum Direction {
        /// 呼入: the customer contacted us.
        Inbound => ("inbound", "呼入", "Inbound", ["来电", "来访"]),
        /// 呼出: we contacted the customer.
        Outbound => ("outbound", "呼出", "Outbound", ["去电", "外呼"]),
    }
}

code_enum! {
    /// The department that recorded an interaction or a guest preference.
    pub enum Department {
        /// 销售.
        Sales => ("sales", "销售", "Sales", ["销售部"]),
        /// 计调/运营: operations, who build and run the tours.
        Operations => ("operations", "计调", "Operations", ["运营", "计调/运营"]),
        /// 客服.
        Service => ("service", "客服", "Customer service", ["客服部"]),
        /// 前台 (hotel).
        FrontDesk => ("front_desk", "前台", "Front desk", ["前厅"]),
        /// 客房 (hotel).
        Housekeeping => ("housekeeping", "客房", "Housekeeping", ["客房部"]),
        /// 餐饮 (hotel).
        FoodBeverage => ("food_beverage", "餐饮", "Food & beverage", ["f&b", "餐饮部"]),
    }
}

code_enum! {
    /// The role of a contact person at an organization customer; these are the
    /// people who book the company outing.
    pub enum ContactRole {
        /// 办公室主任.
        OfficeDirector => ("office_director", "办公室主任", "Office director", []),
        /// 秘书.
        Secretary => ("secretary", "秘书", "Secretary", []),
        /// 工会主席: the trade union chair, who often organises staff trips.
        UnionChair => ("union_chair", "工会主席", "Union chair", ["工会"]),
        /// 总经理.
        GeneralManager => ("general_manager", "总经理", "General manager", ["gm"]),
        /// 人事.
        Hr => ("hr", "人事", "HR", ["人力资源"]),
        /// 财务.
        Finance => ("finance", "财务", "Finance", []),
        /// 其他.
        Other => ("other", "其他", "Other", ["其它"]),
    }
}

code_enum! {
    /// A channel a customer may agree (or refuse) to be contacted on for marketing.
    pub enum ConsentChannel {
        /// 邮件.
        Email => ("email", "邮件", "E-mail", ["电子邮件"]),
        /// 短信.
        Sms => ("sms", "短信", "SMS", []),
        /// 微信.
        Wechat => ("wechat", "微信", "WeChat", []),
        /// 电话.
        Phone => ("phone", "电话", "Phone", []),
    }
}

// ---------------------------------------------------------------------------
// Input normalisation
// ---------------------------------------------------------------------------

/// Maps full-width ASCII forms (`１`, `Ａ`, `（`, `－`) and the ideographic
/// space to their ASCII counterparts, as Chinese input methods often type them.
fn half_width_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn half_width(s: &str) -> String {
    s.chars().map(half_width_char).collect()
}

// ---------------------------------------------------------------------------
// Phones
// ---------------------------------------------------------------------------

/// Parses a mainland China mobile number into its 11 digits.
///
/// Mobile numbers are 11 digits beginning `13`–`19`. Spaces and dashes are
/// ignored, and a country code `+86`, `0086` or `86` in front is removed:
/// `+86 138-1234-5678` becomes `13812345678`.
pub fn parse_mobile(field: &str, s: &str) -> Result<String, FieldError> {
    let s = half_width(s);
    if s.trim().is_empty() {
        return Err(FieldError::required(field));
    }
    mobile_digits(&s).ok_or_else(|| {
        FieldError::new(
            field,
            "invalid_mobile",
            format!("{field} must be a mainland mobile number: 11 digits starting 13 to 19"),
        )
    })
}

fn mobile_digits(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let digits = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(&compact);
    let b = digits.as_bytes();
    let ok = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
    ok.then(|| digits.to_string())
}

/// A landline split into area code (with its 0), subscriber number and extension.
struct Landline {
    area: String,
    number: String,
    ext: Option<String>,
}

impl Landline {
    fn formatted(&self) -> String {
        match &self.ext {
            Some(ext) => format!("{}-{}-{}", self.area, self.number, ext),
            None => format!("{}-{}", self.area, self.number),
        }
    }
}

/// Words that introduce an extension: `021-63210000 转 123`, `ext. 123`, `#123`.
const EXTENSION_MARKERS: [&str; 5] = ["转", "分机", "ext", "x", "#"];

fn landline_parts(s: &str) -> Option<Landline> {
    let s = half_width(s);
    let lower = s.trim().to_ascii_lowercase();
    let (main, marked_ext) = match EXTENSION_MARKERS.iter().find_map(|m| lower.split_once(m)) {
        Some((main, ext)) => {
            let ext = ext.trim_start_matches(['.', ':', ' ']).trim();
            (main.to_string(), Some(ext.to_string()))
        }
        None => (lower.clone(), None),
    };
    let main = main.trim();
    let (main, international) = match main.strip_prefix("+86").or_else(|| main.strip_prefix("0086")) {
        Some(rest) => (rest, true),
        None => (main, false),
    };
    let groups: Vec<&str> = main.split([' ', '-', '(', ')', '.']).filter(|g| !g.is_empty()).collect();
    if groups.is_empty() || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut digits: String = groups.concat();
    if international && !digits.starts_with('0') {
        // Dialled from abroad the area code loses its trunk prefix 0: +86 21 6321 0000.
        digits.insert(0, '0');
    }
    // Area codes: 010 (Beijing) and 020–029 have two digits after the 0, all
    // others (0311, 0571 …) three; so the split needs no separator.
    let b = digits.as_bytes();
    let area_len = match (b.first(), b.get(1), b.get(2)) {
        (Some(b'0'), Some(b'1'), Some(b'0')) | (Some(b'0'), Some(b'2'), _) => 3,
        (Some(b'0'), Some(b'3'..=b'9'), _) => 4,
        _ => return None,
    };
    let (area, rest) = digits.split_at(area_len.min(digits.len()));
    let subscriber_ok = |n: &str| (7..=8).contains(&n.len()) && !n.starts_with(['0', '1']);
    let (number, ext) = match marked_ext {
        Some(ext) => (rest.to_string(), Some(ext)),
        // An unmarked extension is a short last group after a complete number
        // (0571 8888 6666-123). Tried first: in 0755-2345678-9 the writer's
        // dash says "extension 9", not one 8-digit number.
        None => {
            let last = groups.last().copied().unwrap_or_default();
            match rest.len().checked_sub(last.len()).map(|n| &rest[..n]) {
                Some(head) if groups.len() >= 2 && last.len() <= 6 && subscriber_ok(head) => {
                    (head.to_string(), Some(last.to_string()))
                }
                _ => (rest.to_string(), None),
            }
        }
    };
    if !subscriber_ok(&number) {
        return None;
    }
    if let Some(ext) = &ext {
        if !(1..=6).contains(&ext.len()) || !ext.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some(Landline { area: area.to_string(), number, ext })
}

/// Parses a mainland landline into `021-63210000` or `0571-88886666-123`.
///
/// The area code is required: `0` then two digits for Beijing (010) and the
/// 02X cities, three digits elsewhere. The local number has 7 or 8 digits and
/// does not start with 0 or 1. An extension of up to 6 digits may follow a
/// dash, `转`, `ext` or `#`. Accepted: `010-62345678`, `0571 8888 6666-123`,
/// `(021)63210000`, `+86 21 6321 0000`.
pub fn parse_landline(field: &str, s: &str) -> Result<String, FieldError> {
    if s.trim().is_empty() {
        return Err(FieldError::required(field));
    }
    landline_parts(s).map(|l| l.formatted()).ok_or_else(|| {
        FieldError::new(
            field,
            "invalid_landline",
            format!("{field} must be a landline with its area code, such as 010-62345678 or 0571-88886666-123"),
        )
    })
}

/// Whether a [`Phone`] is a mobile or a landline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// An 11-digit mainland mobile.
    Mobile,
    /// A landline with area code.
    Landline,
}

impl PhoneKind {
    /// Stored code: `mobile` or `landline`.
    pub fn code(self) -> &'static str {
        match self {
            PhoneKind::Mobile => "mobile",
            PhoneKind::Landline => "landline",
        }
    }
}

/// A validated mainland phone number in normalised form (`13812345678`,
/// `021-63210000`). Serialised as that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Phone {
    kind: PhoneKind,
    number: String,
}

impl Phone {
    /// Mobile or landline.
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The number masked for lists and the audit trail (see [`mask_phone`]).
    pub fn masked(&self) -> String {
        mask_phone(&self.number)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.number
    }
}

impl TryFrom<String> for Phone {
    type Error = FieldError;

    fn try_from(s: String) -> Result<Phone, FieldError> {
        parse_phone("phone", &s)
    }
}

/// Parses a mobile ([`parse_mobile`]) or, failing that, a landline
/// ([`parse_landline`]).
pub fn parse_phone(field: &str, s: &str) -> Result<Phone, FieldError> {
    if s.trim().is_empty() {
        return Err(FieldError::required(field));
    }
    if let Some(number) = mobile_digits(&half_width(s)) {
        return Ok(Phone { kind: PhoneKind::Mobile, number });
    }
    if let Some(l) = landline_parts(s) {
        return Ok(Phone { kind: PhoneKind::Landline, number: l.formatted() });
    }
    Err(FieldError::new(
        field,
        "invalid_phone",
        format!(
            "{field} must be a mobile number (11 digits starting 13 to 19) or a landline with area code (010-62345678)"
        ),
    ))
}

/// Masks a phone number for display: a mobile keeps 3 + 4 digits
/// (`138****5678`), a landline its area code, the last 4 digits and any
/// extension (`021-****0000`). Anything else is masked by [`audit::mask`].
pub fn mask_phone(s: &str) -> String {
    if let Some(mobile) = mobile_digits(&half_width(s)) {
        return audit::mask(&mobile);
    }
    if let Some(l) = landline_parts(s) {
        let last4 = &l.number[l.number.len() - 4..];
        return match l.ext {
            Some(ext) => format!("{}-****{last4}-{ext}", l.area),
            None => format!("{}-****{last4}", l.area),
        };
    }
    audit::mask(s.trim())
}

// ---------------------------------------------------------------------------
// Resident ID card
// ---------------------------------------------------------------------------

/// Weights of the first 17 digits: 2^(18−i) mod 11 for position i = 1..17
/// (GB 11643-1999 "Citizen identification number",
/// with the MOD 11-2 system of ISO 7064:1983 / GB/T 17710).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for each remainder of the weighted sum mod 11, i.e.
/// (12 − remainder) mod 11 with 10 written as `X` (GB 11643-1999).
const ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Province-level codes in use (GB/T 2260): the mainland provinces, 71 Taiwan,
/// 81 Hong Kong and 82 Macao (residence permits), and 83 for the residence
/// permits of Taiwan residents.
fn is_province_code(code: u8) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

fn id_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    ID_CHECK_CHARS[(sum % 11) as usize]
}

/// An 18-digit resident identity card number (居民身份证号码, GB 11643-1999):
/// 6 digits of region, 8 of birth date, 3 of sequence (odd for men) and a
/// check character.
///
/// Personal data: `Debug` shows it masked, there is no `Display`, and the full
/// number is only available through [`IdCardNo::as_str`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNo {
    number: String,
    birth_date: NaiveDate,
}

impl IdCardNo {
    /// Parses and checks a number: 17 digits and a check digit or `X`
    /// (lower-case `x` and spaces accepted), a real province code, a valid
    /// birth date between 1900-01-01 and `today`, and the MOD 11-2 checksum.
    pub fn parse(field: &str, s: &str, today: NaiveDate) -> Result<IdCardNo, FieldError> {
        let s: String = half_width(s).chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let b = s.as_bytes();
        if s.len() == 15 && b.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::new(
                field,
                "invalid_length",
                format!("{field} is an old 15-digit number; enter the 18-digit number of the current card"),
            ));
        }
        if s.chars().count() != 18 {
            return Err(FieldError::new(field, "invalid_length", format!("{field} must have 18 characters")));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(FieldError::new(
                field,
                "invalid_format",
                format!("{field} must be 17 digits followed by a digit or X"),
            ));
        }
        if !is_province_code((b[0] - b'0') * 10 + (b[1] - b'0')) {
            return Err(FieldError::new(field, "invalid_region", format!("{field} does not start with a region code")));
        }
        let birth_date = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .ok()
            .filter(|d| *d >= earliest_birthday())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_birth_date",
                    format!("{field} does not contain a valid date of birth (digits 7 to 14)"),
                )
            })?;
        if birth_date > today {
            return Err(FieldError::new(field, "in_future", format!("{field} contains a date of birth in the future")));
        }
        if id_check_char(&b[..17]) != b[17] {
            return Err(FieldError::new(
                field,
                "invalid_checksum",
                format!("{field} has a wrong check digit (the last character); please check the number"),
            ));
        }
        Ok(IdCardNo { number: s, birth_date })
    }

    /// The full 18-character number (upper-case `X`). Show it only to staff
    /// allowed to see it, and audit the reveal.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The date of birth encoded in digits 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The gender encoded in the 17th digit: odd for male, even for female.
    pub fn gender(&self) -> Gender {
        if (self.number.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The number with the birth date and sequence hidden: `110105********002X`.
    pub fn masked(&self) -> String {
        audit::mask(&self.number)
    }

    /// The last four characters, which staff use to confirm a caller's identity.
    pub fn last4(&self) -> &str {
        &self.number[14..]
    }
}

impl fmt::Debug for IdCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdCardNo").field(&self.masked()).finish()
    }
}

/// Checks that a birthday entered on the form is the one in the ID card number.
pub fn check_birthday_matches(field: &str, id: &IdCardNo, birthday: NaiveDate) -> Result<(), FieldError> {
    if id.birth_date() == birthday {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "birthday_mismatch",
            format!("{field} does not match the date of birth in the ID card number"),
        ))
    }
}

// ---------------------------------------------------------------------------
// Passport
// ---------------------------------------------------------------------------

/// A passport number: 5–9 upper-case letters and digits, with the shape of a
/// Chinese ordinary passport enforced when it starts with `E` or `G`
/// (`E12345678`, `EA1234567`, `G12345678`).
///
/// Personal data: `Debug` shows it masked and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PassportNo(String);

impl PassportNo {
    /// Parses a passport number, upper-casing it and removing spaces.
    ///
    /// Official passports (P, D, S followed by digits) and foreign passports
    /// pass the generic 5–9 character check. A foreign number that starts with
    /// E or G in another shape (Singapore's `E1234567N`) is refused: the
    /// check catches a dropped digit on the far commoner Chinese passports.
    pub fn parse(field: &str, s: &str) -> Result<PassportNo, FieldError> {
        let s: String = half_width(s).chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let b = s.as_bytes();
        if !(5..=9).contains(&b.len()) || !b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "invalid_passport",
                format!("{field} must have 5 to 9 letters or digits"),
            ));
        }
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        let chinese_ordinary_ok = match b[0] {
            b'G' => b.len() == 9 && digits(&b[1..]),
            b'E' => b.len() == 9 && (digits(&b[1..]) || (b[1].is_ascii_uppercase() && digits(&b[2..]))),
            _ => true,
        };
        if !chinese_ordinary_ok {
            return Err(FieldError::new(
                field,
                "invalid_passport",
                format!("{field} starting with E or G must be E or G and 8 digits, or E, a letter and 7 digits"),
            ));
        }
        Ok(PassportNo(s))
    }

    /// The full number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first and last two characters with the rest hidden: `E1*****78`.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!("{}{}{}", &self.0[..2], "*".repeat(n - 4), &self.0[n - 2..])
    }
}

impl fmt::Debug for PassportNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PassportNo").field(&self.masked()).finish()
    }
}

/// Passports are issued for at most 10 years (China, and most countries); a
/// margin allows for renewals that carry over remaining months.
const PASSPORT_MAX_YEARS_AHEAD: u32 = 11;

/// Parses a passport's expiry date (formats as [`parse_date`]).
///
/// An expiry in the past is accepted (the record is still true); see
/// [`passport_expiry_warning`]. One more than 11 years ahead is a typo.
pub fn parse_passport_expiry(field: &str, s: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = parse_date(field, s)?;
    let limit = today.checked_add_months(Months::new(12 * PASSPORT_MAX_YEARS_AHEAD)).unwrap_or(NaiveDate::MAX);
    if date > limit {
        return Err(FieldError::new(
            field,
            "too_far_in_future",
            format!(
                "{field} is more than {PASSPORT_MAX_YEARS_AHEAD} years away; passports are valid for at most 10 years"
            ),
        ));
    }
    Ok(date)
}

/// Warns about a passport that will not do for travel on `as_of` (today, or a
/// departure date): `"expired"` if it expired before that day, or
/// `"expires_within_6_months"` if it expires less than six months after it,
/// which many countries refuse at entry.
pub fn passport_expiry_warning(expiry: NaiveDate, as_of: NaiveDate) -> Option<&'static str> {
    if expiry < as_of {
        Some("expired")
    } else if as_of.checked_add_months(Months::new(6)).is_none_or(|limit| expiry < limit) {
        Some("expires_within_6_months")
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Dates and e-mail
// ---------------------------------------------------------------------------

fn earliest_birthday() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Parses a calendar date written as `1990-08-15`, `1990/8/15`, `1990.8.15`,
/// `1990年8月15日` or `19900815`.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, FieldError> {
    let s = half_width(s);
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::required(field));
    }
    let bad = || FieldError::new(field, "invalid_date", format!("{field} must be a date such as 1990-08-15"));
    let t = s.strip_suffix('日').unwrap_or(s).replace(['年', '月', '/', '.'], "-");
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let (y, m, d) = if t.len() == 8 && all_digits(&t) {
        (&t[..4], &t[4..6], &t[6..])
    } else {
        let parts: Vec<&str> = t.split('-').map(str::trim).collect();
        match parts[..] {
            [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => (y, m, d),
            _ => return Err(bad()),
        }
    };
    if ![y, m, d].iter().all(|p| all_digits(p)) {
        return Err(bad());
    }
    let (y, m, d) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)
}

/// Parses a date ([`parse_date`]) that must not be after `today`.
pub fn parse_date_not_future(field: &str, s: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = parse_date(field, s)?;
    if date > today {
        return Err(FieldError::new(field, "in_future", format!("{field} must not be in the future")));
    }
    Ok(date)
}

/// Parses a solar date of birth: not in the future and not before 1900-01-01.
pub fn parse_birthday(field: &str, s: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = parse_date_not_future(field, s, today)?;
    if date < earliest_birthday() {
        return Err(FieldError::new(field, "too_early", format!("{field} must not be before 1900-01-01")));
    }
    Ok(date)
}

/// Parses a required e-mail address, with the rules of
/// [`user::parse_optional_email`].
pub fn parse_email(field: &str, s: &str) -> Result<String, FieldError> {
    user::parse_optional_email(field, s)?.ok_or_else(|| FieldError::required(field))
}

// ---------------------------------------------------------------------------
// Customer code
// ---------------------------------------------------------------------------

/// The customer number printed on quotes and cards: `C` and at least six
/// digits (`C000123`). Serialised as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CustomerCode(u64);

impl CustomerCode {
    /// The code of customer number `n`.
    pub fn from_number(n: u64) -> CustomerCode {
        CustomerCode(n)
    }

    /// Parses `C000123` (or `c000123`, surrounding spaces ignored). Leading
    /// zeros beyond six digits are dropped: `C0000123` is `C000123`.
    pub fn parse(field: &str, s: &str) -> Result<CustomerCode, FieldError> {
        let s = half_width(s);
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let digits = s.strip_prefix(['C', 'c']).unwrap_or_default();
        if !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "invalid_customer_code",
                format!("{field} must be C followed by at least 6 digits, such as C000123"),
            ));
        }
        digits
            .parse()
            .map(CustomerCode)
            .map_err(|_| FieldError::new(field, "invalid_customer_code", format!("{field} has too many digits")))
    }

    /// The number after the `C`.
    pub fn number(self) -> u64 {
        self.0
    }
}

impl fmt::Display for CustomerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C{:06}", self.0)
    }
}

impl From<CustomerCode> for String {
    fn from(c: CustomerCode) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for CustomerCode {
    type Error = FieldError;

    fn try_from(s: String) -> Result<CustomerCode, FieldError> {
        CustomerCode::parse("code", &s)
    }
}

// ---------------------------------------------------------------------------
// Pinyin
// ---------------------------------------------------------------------------

/// Converts a name into toneless lower-case pinyin and its initials, for
/// search: `张三` → `("zhangsan", "zs")`, `Emily Chen` → `("emilychen", "ec")`.
///
/// Each Chinese character is a word; a run of ASCII letters and digits is a
/// word (lower-cased); everything else is dropped. `ü` is written `v`, as
/// pinyin input methods type it (`吕` → `lv`).
///
/// A character with several readings takes the first reading of the `pinyin`
/// crate, which is not always the surname reading: `曾` → `ceng`, `单` → `dan`.
/// [`search_keys`] adds the surname reading for the common cases.
pub fn to_pinyin(name: &str) -> (String, String) {
    let mut full = String::new();
    let mut initials = String::new();
    let mut in_word = false;
    for c in name.chars().map(half_width_char) {
        if c.is_ascii_alphanumeric() {
            let c = c.to_ascii_lowercase();
            if !in_word {
                initials.push(c);
            }
            full.push(c);
            in_word = true;
        } else {
            if let Some(p) = c.to_pinyin() {
                push_syllable(&mut full, &mut initials, p.plain());
            }
            in_word = false;
        }
    }
    (full, initials)
}

fn push_syllable(full: &mut String, initials: &mut String, syllable: &str) {
    let letters = syllable.chars().map(|c| if c == 'ü' { 'v' } else { c }).filter(char::is_ascii_lowercase);
    let start = full.len();
    full.extend(letters);
    initials.extend(full[start..].chars().next());
}

/// Surnames whose reading differs from the `pinyin` crate's first reading of
/// the character (曾 is Zēng as a surname, cēng otherwise).
const SURNAME_READINGS: [(char, &str); 22] = [
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('朴', "piao"),
    ('区', "ou"),
    ('查', "zha"),
    ('缪', "miao"),
    ('翟', "zhai"),
    ('乐', "yue"),
    ('覃', "qin"),
    ('盖', "ge"),
    ('秘', "bi"),
    ('召', "shao"),
    ('种', "chong"),
    ('重', "chong"),
    ('藏', "zang"),
    ('员', "yun"),
    ('繁', "po"),
    ('句', "gou"),
    ('能', "nai"),
    ('折', "she"),
];

/// The texts a customer's name is found by in the search box: the lower-case
/// name, its full pinyin and its initials ([`to_pinyin`]), without empties or
/// repeats. When the name starts with a surname such as 曾 or 单 whose
/// surname reading is not the crate's first reading, the pinyin and initials
/// with the surname reading follow (`曾国藩` → `zengguofan`, `zgf`).
pub fn search_keys(name: &str) -> Vec<String> {
    let name = name.trim();
    let (full, initials) = to_pinyin(name);
    let mut keys = vec![name.to_lowercase(), full, initials];
    let mut chars = name.chars();
    if let Some(reading) = chars.next().and_then(|c| SURNAME_READINGS.iter().find(|(s, _)| *s == c)).map(|(_, r)| r) {
        let (rest_full, rest_initials) = to_pinyin(chars.as_str());
        keys.push(format!("{reading}{rest_full}"));
        keys.push(format!("{}{rest_initials}", &reading[..1]));
    }
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for k in keys {
        if !k.is_empty() && !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// The longest name or employer (in characters) whose every fragment is
/// searchable; characters beyond it are found only through longer fragments
/// that start within it.
pub const FRAGMENT_TEXT_MAX: usize = 40;

/// The tag of a fragment key: a suffix of the lower-case name.
pub const KEY_NAME: char = 'n';
/// The tag of a fragment key: a suffix (two characters or more) of the
/// lower-case employer or company.
pub const KEY_EMPLOYER: char = 'e';
/// The tag of a fragment key: the digits of a phone number, last digit first.
pub const KEY_PHONE: char = 't';
/// The tag of a fragment key: the pinyin or initials with a surname reading
/// that differs from the stored one (see [`search_keys`]).
pub const KEY_READING: char = 'p';

/// The keys of the search index for one customer. A search for a fragment
/// `f` of a name is a prefix search for `n` + `f` (every suffix of the name
/// is a key, so every fragment is the prefix of one); the last digits `d` of
/// a phone are a prefix search for `t` + `d` reversed. Keys are lower-case,
/// without repeats; the order is unspecified.
pub fn fragment_keys(name: &str, employer: Option<&str>, phones: &[Option<&str>]) -> Vec<String> {
    let mut keys = Vec::new();
    let name = name.trim().to_lowercase();
    push_suffixes(&mut keys, KEY_NAME, &name, 1);
    if let Some(e) = employer.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()) {
        push_suffixes(&mut keys, KEY_EMPLOYER, &e, 2);
    }
    for digits in phones.iter().flatten().map(|p| p.chars().filter(char::is_ascii_digit).rev().collect::<String>()) {
        if !digits.is_empty() {
            keys.push(format!("{KEY_PHONE}{digits}"));
        }
    }
    let (full, initials) = to_pinyin(&name);
    for k in search_keys(&name) {
        if k != name && k != full && k != initials {
            keys.push(format!("{KEY_READING}{k}"));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn push_suffixes(keys: &mut Vec<String>, tag: char, text: &str, min_chars: usize) {
    let chars: Vec<char> = text.chars().take(FRAGMENT_TEXT_MAX).collect();
    for start in 0..chars.len() {
        let rest = &chars[start..];
        if rest.len() < min_chars || rest[0].is_whitespace() {
            continue;
        }
        let mut key = String::with_capacity(1 + rest.len() * 3);
        key.push(tag);
        key.extend(rest);
        keys.push(key);
    }
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

/// Characters that separate tags in one input: ASCII and full-width commas and
/// semicolons, the Chinese enumeration comma 、 and line breaks.
const TAG_SEPARATORS: [char; 7] = [',', '，', ';', '；', '、', '\n', '\r'];

/// A free label on a customer (`VIP`, `亲子`, `摄影爱好者`): 1–20 characters,
/// inner whitespace collapsed to one space, no separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Tag(String);

impl Tag {
    /// Parses one tag.
    pub fn parse(field: &str, s: &str) -> Result<Tag, FieldError> {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        if s.chars().count() > 20 {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("{field}: tag \"{s}\" is longer than 20 characters"),
            ));
        }
        if s.contains(TAG_SEPARATORS) || s.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid_tag",
                format!("{field}: tag \"{s}\" must not contain commas, semicolons or control characters"),
            ));
        }
        Ok(Tag(s))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> String {
        t.0
    }
}

impl TryFrom<String> for Tag {
    type Error = FieldError;

    fn try_from(s: String) -> Result<Tag, FieldError> {
        Tag::parse("tag", &s)
    }
}

/// Splits a list of tags typed in one box (`VIP，亲子; 海岛、VIP`) on commas,
/// semicolons (ASCII or full-width), `、` and line breaks; empty pieces are
/// skipped and repeats (ignoring case) dropped, keeping the first.
pub fn parse_tags(field: &str, s: &str) -> Result<Vec<Tag>, FieldError> {
    let mut tags: Vec<Tag> = Vec::new();
    for piece in s.split(TAG_SEPARATORS).filter(|p| !p.trim().is_empty()) {
        let tag = Tag::parse(field, piece)?;
        if !tags.iter().any(|t| t.0.to_lowercase() == tag.0.to_lowercase()) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn today() -> NaiveDate {
        d("2026-11-20")
    }

    /// The check character computed from the standard's definition rather
    /// than the tables above: weights 2^(18−i) mod 11, and the character that
    /// makes the full weighted sum (with weight 1 on it) ≡ 1 mod 11.
    fn independent_check_char(first17: &str) -> char {
        let sum: u64 = first17
            .chars()
            .enumerate()
            .map(|(i, c)| u64::from(c.to_digit(10).unwrap()) * (2u64.pow(17 - i as u32) % 11))
            .sum();
        let check = (0..=10u64).find(|a| (sum + a) % 11 == 1).unwrap();
        if check == 10 {
            'X'
        } else {
            char::from_digit(check as u32, 10).unwrap()
        }
    }

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", independent_check_char(first17))
    }

    #[test]
    fn every_enum_parses_its_code_labels_and_aliases_unambiguously() {
        fn check<T: Copy + PartialEq + fmt::Debug + Serialize>(
            all: &[T],
            parse: impl Fn(&str) -> Result<T, FieldError>,
            from_code: impl Fn(&str) -> Option<T>,
            spellings: impl Fn(T) -> Vec<&'static str>,
            code: impl Fn(T) -> &'static str,
        ) {
            for &v in all {
                assert_eq!(from_code(code(v)), Some(v));
                assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{}\"", code(v)));
                for s in spellings(v) {
                    assert_eq!(parse(s).unwrap(), v, "{s}");
                    assert_eq!(parse(&format!("  {}\u{3000}", s.to_uppercase())).unwrap(), v, "{s}");
                }
            }
            let err = parse("nonsense").unwrap_err();
            assert_eq!(err.code, "invalid_choice");
            assert!(err.message.contains(code(all[0])), "{}", err.message);
        }
        macro_rules! check_enum {
            ($t:ident) => {
                check(
                    &$t::ALL,
                    |s| $t::parse("f", s),
                    $t::from_code,
                    |v| [v.code(), v.label_zh(), v.label_en()].into_iter().chain(v.aliases().iter().copied()).collect(),
                    $t::code,
                )
            };
        }
        check_enum!(CustomerKind);
        check_enum!(PartnerType);
        check_enum!(Gender);
        check_enum!(LifecycleStage);
        check_enum!(SourceChannel);
        check_enum!(Channel);
        check_enum!(Direction);
        check_enum!(Department);
        check_enum!(ContactRole);
        check_enum!(ConsentChannel);
    }

    #[test]
    fn enums_read_import_spellings() {
        assert_eq!(CustomerKind::parse("kind", "个人").unwrap(), CustomerKind::Individual);
        assert_eq!(CustomerKind::parse("kind", "集团").unwrap(), CustomerKind::Organization);
        assert_eq!(CustomerKind::parse("kind", "单位").unwrap(), CustomerKind::Organization);
        assert_eq!(CustomerKind::parse("kind", " Partner ").unwrap(), CustomerKind::Partner);
        assert_eq!(CustomerKind::Organization.label(true), "集团/企业");
        assert_eq!(CustomerKind::Organization.label(false), "Organization");
        assert_eq!(CustomerKind::ALL.len(), 3);
        assert_eq!(PartnerType::parse("t", "地接社").unwrap(), PartnerType::GroundHandler);
        assert_eq!(PartnerType::parse("t", "中介").unwrap(), PartnerType::Agent);
        assert_eq!(Gender::parse("g", "M").unwrap(), Gender::Male);
        assert_eq!(Gender::parse("g", "女").unwrap(), Gender::Female);
        assert_eq!(Gender::parse_optional("g", "  ").unwrap(), None);
        assert_eq!(Gender::parse("g", "").unwrap_err().code, "required");
        assert_eq!(LifecycleStage::parse("s", "回头客").unwrap(), LifecycleStage::Repeat);
        assert_eq!(SourceChannel::parse("s", "Walk-in").unwrap(), SourceChannel::WalkIn);
        assert_eq!(SourceChannel::parse("s", "朋友介绍").unwrap(), SourceChannel::Referral);
        assert_eq!(Channel::parse("c", "face to face").unwrap(), Channel::FaceToFace);
        assert_eq!(Channel::parse("c", "呼叫中心").unwrap(), Channel::CallCentre);
        assert_eq!(Department::parse("d", "运营").unwrap(), Department::Operations);
        assert_eq!(Department::parse("d", "F&B").unwrap(), Department::FoodBeverage);
        assert_eq!(ContactRole::parse("r", "工会主席").unwrap(), ContactRole::UnionChair);
        assert_eq!(Direction::from_code("Inbound"), None, "stored codes are exact");
        assert_eq!(serde_json::from_str::<ConsentChannel>("\"wechat\"").unwrap(), ConsentChannel::Wechat);
    }

    #[test]
    fn mobiles_are_normalised_to_eleven_digits() {
        assert_eq!(parse_mobile("mobile", "+86 138 1234 5678").unwrap(), "13812345678");
        assert_eq!(parse_mobile("mobile", "0086-139-8765-4321").unwrap(), "13987654321");
        assert_eq!(parse_mobile("mobile", "8615912345678").unwrap(), "15912345678");
        assert_eq!(parse_mobile("mobile", "１８６　１２３４　５６７８").unwrap(), "18612345678");
        for bad in ["12812345678", "1381234567", "138123456789", "138-1234-567a", "+1 138 1234 5678"] {
            let e = parse_mobile("mobile", bad).unwrap_err();
            assert_eq!((e.code, e.field.as_str()), ("invalid_mobile", "mobile"), "{bad}");
        }
        assert_eq!(parse_mobile("mobile", " ").unwrap_err().code, "required");
    }

    #[test]
    fn landlines_keep_area_code_and_extension() {
        assert_eq!(parse_landline("tel", "010-62345678").unwrap(), "010-62345678");
        assert_eq!(parse_landline("tel", "0571 8888 6666-123").unwrap(), "0571-88886666-123");
        assert_eq!(parse_landline("tel", "(021)63210000").unwrap(), "021-63210000");
        assert_eq!(parse_landline("tel", "（０２１）６３２１００００").unwrap(), "021-63210000");
        assert_eq!(parse_landline("tel", "021-63210000 转 8021").unwrap(), "021-63210000-8021");
        assert_eq!(parse_landline("tel", "0755-2345678 ext. 9").unwrap(), "0755-2345678-9");
        assert_eq!(parse_landline("tel", "0755-2345678-9").unwrap(), "0755-2345678-9");
        assert_eq!(parse_landline("tel", "0755-2345-6789").unwrap(), "0755-23456789");
        assert_eq!(parse_landline("tel", "02163210000-123").unwrap(), "021-63210000-123");
        assert_eq!(parse_landline("tel", "010 6234 5678 分机 66").unwrap(), "010-62345678-66");
        assert_eq!(parse_landline("tel", "+86 21 6321 0000").unwrap(), "021-63210000");
        assert_eq!(parse_landline("tel", "057188886666").unwrap(), "0571-88886666");
        for bad in ["63210000", "013812345678", "021-0321000", "021-632100", "0571-8888-6666-1234567", "021-6321000a"] {
            assert_eq!(parse_landline("tel", bad).unwrap_err().code, "invalid_landline", "{bad}");
        }
    }

    #[test]
    fn phones_try_mobile_first() {
        let p = parse_phone("phone", "138 1234 5678").unwrap();
        assert_eq!((p.kind(), p.as_str()), (PhoneKind::Mobile, "13812345678"));
        let p = parse_phone("phone", "0571-88886666-123").unwrap();
        assert_eq!((p.kind(), p.as_str()), (PhoneKind::Landline, "0571-88886666-123"));
        assert_eq!(p.kind().code(), "landline");
        assert_eq!(parse_phone("phone", "12345").unwrap_err().code, "invalid_phone");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"0571-88886666-123\"");
        let back: Phone = serde_json::from_str("\"+8613812345678\"").unwrap();
        assert_eq!(back.as_str(), "13812345678");
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+86 138 1234 5678"), "138****5678");
        assert_eq!(mask_phone("021-63210000"), "021-****0000");
        assert_eq!(mask_phone("0571-88886666-123"), "0571-****6666-123");
        assert_eq!(mask_phone("12345"), "1***5");
        assert_eq!(parse_phone("p", "(021)63210000").unwrap().masked(), "021-****0000");
    }

    #[test]
    fn id_check_digit_agrees_with_an_independent_computation() {
        // Public sample from GB 11643-1999: Beijing Chaoyang, 1949-12-31, female.
        assert_eq!(independent_check_char("11010519491231002"), 'X');
        let id = IdCardNo::parse("id_card", "11010519491231002x", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), d("1949-12-31"));
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(id.last4(), "002X");
        for first17 in ["44030619900815123", "33010619851231001", "81000019780229000", "50010320001001567"] {
            let number = with_check(first17);
            let r = IdCardNo::parse("id_card", &number, today());
            if first17 == "81000019780229000" {
                // 1978 was not a leap year.
                assert_eq!(r.unwrap_err().code, "invalid_birth_date");
            } else {
                assert_eq!(r.unwrap().as_str(), number);
            }
        }
        let male = IdCardNo::parse("id_card", &with_check("44030619900815123"), today()).unwrap();
        assert_eq!(male.gender(), Gender::Male);
        assert_eq!(male.birth_date(), d("1990-08-15"));
    }

    #[test]
    fn bad_id_numbers_say_why() {
        let code = |s: &str| IdCardNo::parse("id_card", s, today()).unwrap_err().code;
        assert_eq!(code("11010519491231002"), "invalid_length");
        assert_eq!(code("110105491231002"), "invalid_length", "old 15-digit number");
        assert_eq!(code("1101051949123100X2"), "invalid_format");
        assert_eq!(code(&with_check("99010519491231002")), "invalid_region");
        assert_eq!(code(&with_check("19010519491231002")), "invalid_region");
        assert_eq!(code(&with_check("11010519491331002")), "invalid_birth_date");
        assert_eq!(code(&with_check("11010518991231002")), "invalid_birth_date");
        assert_eq!(code(&with_check("11010520301231002")), "in_future");
        assert_eq!(code("110105194912310021"), "invalid_checksum");
        assert_eq!(code("110105194912310020"), "invalid_checksum");
        assert_eq!(code(""), "required");
        let e = IdCardNo::parse("id_card", "110105194912310021", today()).unwrap_err();
        assert!(e.message.starts_with("id_card "), "{}", e.message);
        assert!(!e.message.contains("1949"), "the message must not repeat the number");
    }

    #[test]
    fn id_numbers_never_print_in_full() {
        let id = IdCardNo::parse("id_card", "110105 19491231 002X", today()).unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains("19491231"), "{shown}");
        assert!(shown.contains("110105********002X"), "{shown}");
    }

    #[test]
    fn birthday_must_match_the_id_number() {
        let id = IdCardNo::parse("id_card", "11010519491231002X", today()).unwrap();
        assert!(check_birthday_matches("birthday", &id, d("1949-12-31")).is_ok());
        let e = check_birthday_matches("birthday", &id, d("1949-12-30")).unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("birthday_mismatch", "birthday"));
    }

    #[test]
    fn passports() {
        let p = PassportNo::parse("passport", "e1234 5678").unwrap();
        assert_eq!(p.as_str(), "E12345678");
        assert_eq!(p.masked(), "E1*****78");
        assert!(!format!("{p:?}").contains("E12345678"));
        assert_eq!(PassportNo::parse("passport", "EA1234567").unwrap().as_str(), "EA1234567");
        assert_eq!(PassportNo::parse("passport", "G12345678").unwrap().as_str(), "G12345678");
        assert_eq!(PassportNo::parse("passport", "P1234567").unwrap().as_str(), "P1234567");
        assert_eq!(PassportNo::parse("passport", "533380006").unwrap().as_str(), "533380006");
        assert_eq!(PassportNo::parse("passport", "C01X00T47").unwrap().masked(), "C0*****47");
        for bad in ["E1234567", "G1234567A", "EAB123456", "E123", "1234567890", "E12-345678"] {
            let e = PassportNo::parse("passport", bad).unwrap_err();
            assert_eq!(e.code, "invalid_passport", "{bad}");
        }
        assert_eq!(PassportNo::parse("passport", "").unwrap_err().code, "required");
    }

    #[test]
    fn passport_expiry_is_kept_even_when_past_and_flagged() {
        let t = today();
        assert_eq!(parse_passport_expiry("expiry", "2020-01-31", t).unwrap(), d("2020-01-31"));
        assert_eq!(parse_passport_expiry("expiry", "2036/11/19", t).unwrap(), d("2036-11-19"));
        assert_eq!(parse_passport_expiry("expiry", "2093-01-01", t).unwrap_err().code, "too_far_in_future");
        assert_eq!(parse_passport_expiry("expiry", "2027-02-30", t).unwrap_err().code, "invalid_date");
        assert_eq!(passport_expiry_warning(d("2026-11-19"), t), Some("expired"));
        assert_eq!(passport_expiry_warning(d("2026-11-20"), t), Some("expires_within_6_months"));
        assert_eq!(passport_expiry_warning(d("2027-05-19"), t), Some("expires_within_6_months"));
        assert_eq!(passport_expiry_warning(d("2027-05-20"), t), None);
        // Checked against a departure date rather than today.
        assert_eq!(passport_expiry_warning(d("2027-05-20"), d("2027-01-01")), Some("expires_within_6_months"));
    }

    #[test]
    fn dates_in_the_forms_people_write() {
        for s in ["1990-08-15", "1990/8/15", "1990.08.15", "1990年8月15日", "19900815", "１９９０－０８－１５"]
        {
            assert_eq!(parse_date("date", s).unwrap(), d("1990-08-15"), "{s}");
        }
        for bad in ["1990-02-30", "15/08/1990", "90-8-15", "1990-8", "1990815", "1990-08-15-01", "yesterday"] {
            assert_eq!(parse_date("date", bad).unwrap_err().code, "invalid_date", "{bad}");
        }
        assert_eq!(parse_date("date", "").unwrap_err().code, "required");
    }

    #[test]
    fn birthdays_are_not_in_the_future_nor_before_1900() {
        assert_eq!(parse_birthday("birthday", "1990年8月15日", today()).unwrap(), d("1990-08-15"));
        assert_eq!(parse_birthday("birthday", "2026-11-20", today()).unwrap(), today());
        let e = parse_birthday("birthday", "2026-11-21", today()).unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("in_future", "birthday"));
        assert_eq!(parse_birthday("birthday", "1899-12-31", today()).unwrap_err().code, "too_early");
        assert_eq!(parse_date_not_future("visited_on", "2030-01-01", today()).unwrap_err().code, "in_future");
        assert_eq!(parse_date_not_future("visited_on", "1850-01-01", today()).unwrap(), d("1850-01-01"));
    }

    #[test]
    fn email_is_required() {
        assert_eq!(parse_email("email", " li.na@example.cn ").unwrap(), "li.na@example.cn");
        assert_eq!(parse_email("email", "").unwrap_err().code, "required");
        assert_eq!(parse_email("email", "li.na@").unwrap_err().code, "invalid_email");
    }

    #[test]
    fn customer_codes() {
        let c = CustomerCode::from_number(123);
        assert_eq!(c.to_string(), "C000123");
        assert_eq!(CustomerCode::parse("code", " c000123 ").unwrap(), c);
        assert_eq!(CustomerCode::parse("code", "C1234567").unwrap().number(), 1_234_567);
        assert_eq!(CustomerCode::from_number(1_234_567).to_string(), "C1234567");
        assert_eq!(CustomerCode::parse("code", "C0000123").unwrap().to_string(), "C000123");
        for bad in ["C12345", "000123", "CX00123", "C-000123", "C0001234567890123"] {
            assert_eq!(CustomerCode::parse("code", bad).unwrap_err().code, "invalid_customer_code", "{bad}");
        }
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"C000123\"");
        assert_eq!(serde_json::from_str::<CustomerCode>("\"C000123\"").unwrap(), c);
    }

    #[test]
    fn names_become_pinyin_and_initials() {
        let p = to_pinyin;
        assert_eq!(p("张三"), ("zhangsan".into(), "zs".into()));
        assert_eq!(p("李娜"), ("lina".into(), "ln".into()));
        assert_eq!(p("王建国"), ("wangjianguo".into(), "wjg".into()));
        assert_eq!(p("Emily Chen"), ("emilychen".into(), "ec".into()));
        assert_eq!(p("吕女士"), ("lvnvshi".into(), "lns".into()));
        assert_eq!(p("买买提·艾力"), ("maimaitiaili".into(), "mmtal".into()));
        assert_eq!(p("张Emily 2号"), ("zhangemily2hao".into(), "ze2h".into()));
        assert_eq!(p("ＡＢＣ旅行社"), ("abclvxingshe".into(), "alxs".into()));
        // Polyphonic: the crate's first reading, not the surname reading.
        assert_eq!(p("曾国藩"), ("cengguofan".into(), "cgf".into()));
        assert_eq!(p("长城"), ("zhangcheng".into(), "zc".into()));
        assert_eq!(p("!?"), (String::new(), String::new()));
    }

    #[test]
    fn search_keys_cover_name_pinyin_initials_and_surname_readings() {
        assert_eq!(search_keys(" 张三 "), ["张三", "zhangsan", "zs"]);
        assert_eq!(search_keys("Emily Chen"), ["emily chen", "emilychen", "ec"]);
        assert_eq!(search_keys("曾国藩"), ["曾国藩", "cengguofan", "cgf", "zengguofan", "zgf"]);
        assert_eq!(search_keys("单雄信"), ["单雄信", "danxiongxin", "dxx", "shanxiongxin", "sxx"]);
        assert_eq!(search_keys("emily"), ["emily", "e"]);
        assert!(search_keys("").is_empty());
    }

    #[test]
    fn surname_table_lists_only_real_differences() {
        for (c, reading) in SURNAME_READINGS {
            let first = c.to_pinyin().unwrap().plain();
            assert_ne!(first, reading, "{c} already reads {reading}");
            let multi = pinyin::ToPinyinMulti::to_pinyin_multi(&c).unwrap();
            assert!(multi.into_iter().any(|p| p.plain() == reading), "{c} has no reading {reading}");
        }
    }

    #[test]
    fn tags_split_on_chinese_and_ascii_punctuation() {
        let tags = parse_tags("tags", "VIP，亲子; 海岛、 摄影 爱好者 ；vip,,\n老客户").unwrap();
        let texts: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(texts, ["VIP", "亲子", "海岛", "摄影 爱好者", "老客户"]);
        assert!(parse_tags("tags", " ，； ").unwrap().is_empty());
        let e = parse_tags("tags", "VIP，一二三四五六七八九十一二三四五六七八九十一").unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("too_long", "tags"));
        assert_eq!(Tag::parse("tag", "a,b").unwrap_err().code, "invalid_tag");
        assert_eq!(Tag::parse("tag", "  ").unwrap_err().code, "required");
        assert_eq!(Tag::parse("tag", "一二三四五六七八九十一二三四五六七八九十").unwrap().as_str().chars().count(), 20);
        assert_eq!(serde_json::to_string(&Tag::parse("tag", "亲子").unwrap()).unwrap(), "\"亲子\"");
    }
}

#[cfg(test)]
mod fragment_key_tests {
    use super::*;

    fn found(keys: &[String], tag: char, fragment: &str) -> bool {
        let prefix = format!("{tag}{fragment}");
        keys.iter().any(|k| k.starts_with(&prefix))
    }

    #[test]
    fn every_fragment_of_a_name_is_a_key_prefix() {
        let keys = fragment_keys("欧阳建国", None, &[]);
        for f in ["欧", "欧阳", "阳建", "建国", "国", "欧阳建国", "阳建国"] {
            assert!(found(&keys, KEY_NAME, f), "{f} in {keys:?}");
        }
        assert!(!found(&keys, KEY_NAME, "建军"));
        assert_eq!(keys.iter().filter(|k| k.starts_with(KEY_NAME)).count(), 4);
    }

    #[test]
    fn names_are_lower_case_and_employers_need_two_characters() {
        let keys = fragment_keys(" John SMITH ", Some("北京华为技术有限公司"), &[]);
        assert!(found(&keys, KEY_NAME, "smith"));
        assert!(found(&keys, KEY_NAME, "john s"));
        assert!(!keys.iter().any(|k| k.starts_with("n ")), "{keys:?}");
        assert!(found(&keys, KEY_EMPLOYER, "华为"));
        assert!(found(&keys, KEY_EMPLOYER, "有限公司"));
        assert!(!keys.contains(&"e司".to_string()));
    }

    #[test]
    fn phones_are_keyed_last_digit_first() {
        let keys = fragment_keys("张三", None, &[Some("13812345678"), None, Some("010-6543 2100")]);
        assert!(found(&keys, KEY_PHONE, &"5678".chars().rev().collect::<String>()));
        assert!(found(&keys, KEY_PHONE, &"13812345678".chars().rev().collect::<String>()));
        assert!(found(&keys, KEY_PHONE, &"2100".chars().rev().collect::<String>()));
        assert!(keys.contains(&"t00123456010".to_string()), "{keys:?}");
    }

    #[test]
    fn a_second_surname_reading_is_a_key_and_the_stored_ones_are_not() {
        let keys = fragment_keys("曾国藩", None, &[]);
        assert!(keys.contains(&"pzengguofan".to_string()), "{keys:?}");
        assert!(keys.contains(&"pzgf".to_string()), "{keys:?}");
        let (full, initials) = to_pinyin("曾国藩");
        assert!(!keys.contains(&format!("p{full}")) && !keys.contains(&format!("p{initials}")));
        assert!(!fragment_keys("王丽", None, &[]).iter().any(|k| k.starts_with(KEY_READING)));
    }

    #[test]
    fn long_texts_are_cut_and_keys_do_not_repeat() {
        let long = "很".repeat(100);
        let keys = fragment_keys(&long, None, &[]);
        assert_eq!(keys.len(), FRAGMENT_TEXT_MAX, "one key per distinct suffix length");
        let keys = fragment_keys("李李", Some("李李"), &[Some("123"), Some("123")]);
        let mut sorted = keys.clone();
        sorted.dedup();
        assert_eq!(sorted, keys);
        assert_eq!(keys.iter().filter(|k| k.starts_with(KEY_PHONE)).count(), 1);
    }
}
