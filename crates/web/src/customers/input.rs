//! One customer's fields as a person typed them (form or JSON), and the check
//! that turns them into a store draft: every field parsed with the domain's
//! parsers, the kind's fields only, the configured required fields, custom
//! fields, the owner rule, and every problem reported at once.

use super::{company_tz, text, today_in};
use crate::ctx::Principal;
use crate::error::AppError;
use crate::AppState;
use domain::access::Permission;
use domain::customer::{
    check_birthday_matches, parse_birthday, parse_landline, parse_mobile, parse_passport_expiry, parse_phone,
    parse_tags, to_pinyin, CustomerKind, Gender, IdCardNo, LifecycleStage, PartnerType, PassportNo, SourceChannel, Tag,
};
use domain::ids::UserId;
use domain::user::parse_optional_email;
use domain::{FieldError, FieldErrors};
use std::collections::BTreeMap;
use store::customers::{Consent, Customer, Document, Draft, Sealed};
use store::StoreError;

/// What to do with a stored document number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum DocInput {
    /// Leave it (an empty field on an edit form).
    #[default]
    Keep,
    /// Remove it.
    Clear,
    /// Store this number (as typed; checked here).
    Set(String),
}

/// Tags as one text box (`VIP，亲子`) or a JSON list.
#[derive(Debug, Clone)]
pub(crate) enum TagsInput {
    Text(String),
    List(Vec<String>),
}

impl Default for TagsInput {
    fn default() -> Self {
        TagsInput::Text(String::new())
    }
}

/// A customer as typed: every text as entered, empty meaning "none".
#[derive(Debug, Clone, Default)]
pub(crate) struct Input {
    pub kind: String,
    pub name: String,
    pub gender: String,
    pub birthday: String,
    pub lunar_birthday: String,
    pub id_card: DocInput,
    pub passport: DocInput,
    pub passport_expiry: String,
    pub employer: String,
    pub title: String,
    pub mobile: String,
    pub mobile2: String,
    pub landline: String,
    pub email: String,
    pub wechat: String,
    pub fax: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub address: String,
    pub hobbies: String,
    pub diet: String,
    pub room_pref: String,
    pub seat_pref: String,
    pub source: String,
    pub source_detail: String,
    pub partner_type: String,
    pub industry: String,
    pub license_no: String,
    pub notes: String,
    pub stage: String,
    pub grade: String,
    pub tags: TagsInput,
    pub consent: Consent,
    /// Owner's user id; empty keeps the current owner (or makes the caller the owner).
    pub owner_id: String,
    /// Custom values given (key → text); keys not given keep their stored value.
    pub custom: BTreeMap<String, String>,
}

/// Fields only individuals have.
pub(crate) const INDIVIDUAL_ONLY: &[&str] = &[
    "gender",
    "birthday",
    "lunar_birthday",
    "id_card",
    "passport",
    "passport_expiry",
    "employer",
    "title",
    "diet",
    "room_pref",
    "seat_pref",
    "hobbies",
];
/// Fields only organizations have.
pub(crate) const ORGANIZATION_ONLY: &[&str] = &["industry"];
/// Fields only trade partners have.
pub(crate) const PARTNER_ONLY: &[&str] = &["partner_type", "license_no"];

/// Whether `field` belongs on a customer of `kind`.
pub(crate) fn field_for_kind(field: &str, kind: CustomerKind) -> bool {
    let own = match kind {
        CustomerKind::Individual => INDIVIDUAL_ONLY,
        CustomerKind::Organization => ORGANIZATION_ONLY,
        CustomerKind::Partner => PARTNER_ONLY,
    };
    own.contains(&field)
        || !(INDIVIDUAL_ONLY.contains(&field) || ORGANIZATION_ONLY.contains(&field) || PARTNER_ONLY.contains(&field))
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// A stored custom value as text.
pub(crate) fn custom_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Input {
    /// The stored customer as an edit starts from (documents kept).
    pub(crate) fn of(c: &Customer) -> Input {
        let d = &c.data;
        Input {
            kind: d.kind.clone(),
            name: d.name.clone(),
            gender: opt(&d.gender),
            birthday: opt(&d.birthday),
            lunar_birthday: opt(&d.lunar_birthday),
            id_card: DocInput::Keep,
            passport: DocInput::Keep,
            passport_expiry: opt(&d.passport_expiry),
            employer: opt(&d.employer),
            title: opt(&d.title),
            mobile: opt(&d.mobile),
            mobile2: opt(&d.mobile2),
            landline: opt(&d.landline),
            email: opt(&d.email),
            wechat: opt(&d.wechat),
            fax: opt(&d.fax),
            province: opt(&d.province),
            city: opt(&d.city),
            district: opt(&d.district),
            address: opt(&d.address),
            hobbies: opt(&d.hobbies),
            diet: opt(&d.diet),
            room_pref: opt(&d.room_pref),
            seat_pref: opt(&d.seat_pref),
            source: opt(&d.source),
            source_detail: opt(&d.source_detail),
            partner_type: opt(&d.partner_type),
            industry: opt(&d.industry),
            license_no: opt(&d.license_no),
            notes: opt(&d.notes),
            stage: d.stage.clone(),
            grade: opt(&d.grade),
            tags: TagsInput::List(d.tags.clone()),
            consent: d.consent,
            owner_id: d.owner_id.to_string(),
            custom: BTreeMap::new(),
        }
    }

    /// The plain text fields by name, as forms name their inputs.
    pub(crate) fn texts(&self) -> [(&'static str, &str); 30] {
        [
            ("name", &self.name),
            ("gender", &self.gender),
            ("birthday", &self.birthday),
            ("lunar_birthday", &self.lunar_birthday),
            ("passport_expiry", &self.passport_expiry),
            ("employer", &self.employer),
            ("title", &self.title),
            ("mobile", &self.mobile),
            ("mobile2", &self.mobile2),
            ("landline", &self.landline),
            ("email", &self.email),
            ("wechat", &self.wechat),
            ("fax", &self.fax),
            ("province", &self.province),
            ("city", &self.city),
            ("district", &self.district),
            ("address", &self.address),
            ("hobbies", &self.hobbies),
            ("diet", &self.diet),
            ("room_pref", &self.room_pref),
            ("seat_pref", &self.seat_pref),
            ("source", &self.source),
            ("source_detail", &self.source_detail),
            ("partner_type", &self.partner_type),
            ("industry", &self.industry),
            ("license_no", &self.license_no),
            ("notes", &self.notes),
            ("stage", &self.stage),
            ("grade", &self.grade),
            ("owner_id", &self.owner_id),
        ]
    }
}

impl Input {
    /// Sets the plain text field `field` (see [`Input::texts`]); `false` if
    /// there is no such field.
    pub(crate) fn set_text(&mut self, field: &str, value: String) -> bool {
        let slot = match field {
            "name" => &mut self.name,
            "gender" => &mut self.gender,
            "birthday" => &mut self.birthday,
            "lunar_birthday" => &mut self.lunar_birthday,
            "passport_expiry" => &mut self.passport_expiry,
            "employer" => &mut self.employer,
            "title" => &mut self.title,
            "mobile" => &mut self.mobile,
            "mobile2" => &mut self.mobile2,
            "landline" => &mut self.landline,
            "email" => &mut self.email,
            "wechat" => &mut self.wechat,
            "fax" => &mut self.fax,
            "province" => &mut self.province,
            "city" => &mut self.city,
            "district" => &mut self.district,
            "address" => &mut self.address,
            "hobbies" => &mut self.hobbies,
            "diet" => &mut self.diet,
            "room_pref" => &mut self.room_pref,
            "seat_pref" => &mut self.seat_pref,
            "source" => &mut self.source,
            "source_detail" => &mut self.source_detail,
            "partner_type" => &mut self.partner_type,
            "industry" => &mut self.industry,
            "license_no" => &mut self.license_no,
            "notes" => &mut self.notes,
            "stage" => &mut self.stage,
            "grade" => &mut self.grade,
            "owner_id" => &mut self.owner_id,
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// A checked customer: the store draft plus the document numbers in clear
/// (for the duplicate check only; never shown back).
pub(crate) struct Checked {
    pub draft: Draft,
    pub id_card: Option<String>,
    pub passport: Option<String>,
}

/// Parses an optional value with `parse` (empty is `None`).
fn parsed(errs: &mut FieldErrors, v: &str, parse: impl FnOnce(&str) -> Result<String, FieldError>) -> Option<String> {
    if v.trim().is_empty() {
        return None;
    }
    errs.check(parse(v))
}

/// Checks `input` for a new customer (`current` is `None`) or a change to
/// `current`, with the rules of the caller `me`. `errs` may already hold
/// problems found while reading the request. Every problem is reported at once.
pub(crate) async fn check(
    state: &AppState,
    me: &Principal,
    input: &Input,
    current: Option<&Customer>,
    mut errs: FieldErrors,
) -> Result<Checked, AppError> {
    let today = today_in(company_tz(state).await?);

    let kind = match current {
        Some(c) => {
            let stored = CustomerKind::from_code(&c.data.kind);
            if !input.kind.trim().is_empty() {
                if let Some(k) = errs.check(CustomerKind::parse("kind", &input.kind)) {
                    if Some(k) != stored {
                        errs.push(FieldError::new(
                            "kind",
                            "immutable",
                            "kind cannot change; create a new customer of the other kind and merge",
                        ));
                    }
                }
            }
            stored
        }
        None => errs.check(CustomerKind::parse("kind", &input.kind)),
    };
    if let Some(k) = kind {
        for (field, value) in input.texts() {
            if !value.trim().is_empty() && !field_for_kind(field, k) {
                errs.push(not_for_kind(field, k));
            }
        }
        for (field, doc) in [("id_card", &input.id_card), ("passport", &input.passport)] {
            if matches!(doc, DocInput::Set(v) if !v.trim().is_empty()) && !field_for_kind(field, k) {
                errs.push(not_for_kind(field, k));
            }
        }
    }

    let name = match errs.check(text("name", &input.name, 100)) {
        Some(None) => {
            errs.push(FieldError::required("name"));
            None
        }
        other => other.flatten(),
    };
    let mut v: BTreeMap<&'static str, Option<String>> = BTreeMap::new();
    v.insert("gender", errs.check(Gender::parse_optional("gender", &input.gender)).flatten().map(|g| g.code().into()));
    let birthday = parsed(&mut errs, &input.birthday, |s| parse_birthday("birthday", s, today).map(|d| d.to_string()));
    for (field, value, max) in [
        ("lunar_birthday", &input.lunar_birthday, 20),
        ("employer", &input.employer, 100),
        ("title", &input.title, 64),
        ("wechat", &input.wechat, 64),
        ("province", &input.province, 32),
        ("city", &input.city, 32),
        ("district", &input.district, 32),
        ("address", &input.address, 200),
        ("hobbies", &input.hobbies, 200),
        ("diet", &input.diet, 200),
        ("room_pref", &input.room_pref, 200),
        ("seat_pref", &input.seat_pref, 200),
        ("source_detail", &input.source_detail, 100),
        ("industry", &input.industry, 64),
        ("license_no", &input.license_no, 64),
        ("notes", &input.notes, 2000),
    ] {
        v.insert(field, errs.check(text(field, value, max)).flatten());
    }
    v.insert("mobile", parsed(&mut errs, &input.mobile, |s| parse_mobile("mobile", s)));
    v.insert("mobile2", parsed(&mut errs, &input.mobile2, |s| parse_mobile("mobile2", s)));
    v.insert("landline", parsed(&mut errs, &input.landline, |s| parse_landline("landline", s)));
    v.insert("fax", parsed(&mut errs, &input.fax, |s| parse_phone("fax", s).map(|p| p.as_str().to_string())));
    v.insert("email", errs.check(parse_optional_email("email", &input.email)).flatten());
    v.insert(
        "source",
        errs.check(SourceChannel::parse_optional("source", &input.source)).flatten().map(|s| s.code().into()),
    );
    v.insert(
        "partner_type",
        errs.check(PartnerType::parse_optional("partner_type", &input.partner_type)).flatten().map(|s| s.code().into()),
    );
    let stage = errs
        .check(LifecycleStage::parse_optional("stage", &input.stage))
        .flatten()
        .unwrap_or(LifecycleStage::Potential)
        .code()
        .to_string();
    let grade = match input.grade.trim().to_uppercase() {
        g if g.is_empty() => None,
        g if super::GRADES.contains(&g.as_str()) => Some(g),
        _ => {
            errs.push(FieldError::new("grade", "invalid_choice", "grade must be one of: A, B, C, D"));
            None
        }
    };
    let tags = match &input.tags {
        TagsInput::Text(s) => errs.check(parse_tags("tags", s)).unwrap_or_default(),
        TagsInput::List(list) => {
            let mut out: Vec<Tag> = Vec::new();
            for t in list {
                if let Some(tag) = errs.check(Tag::parse("tags", t)) {
                    if !out.iter().any(|o| o.as_str().to_lowercase() == tag.as_str().to_lowercase()) {
                        out.push(tag);
                    }
                }
            }
            out
        }
    };

    // Documents. A new ID card number gives the birthday (and gender) when
    // they are empty, and must agree with them when they are not.
    let has = |doc: Document| {
        current.is_some_and(|c| match doc {
            Document::IdCard => c.has_id_card,
            Document::Passport => c.has_passport,
        })
    };
    let mut id_card = (Sealed::Keep, current.and_then(|c| c.data.id_card_masked.clone()), None::<String>);
    let mut birthday = birthday;
    match &input.id_card {
        DocInput::Set(raw) if !raw.trim().is_empty() => {
            if let Some(id) = errs.check(IdCardNo::parse("id_card", raw, today)) {
                if input.birthday.trim().is_empty() {
                    birthday = Some(id.birth_date().to_string());
                } else if let Some(b) = birthday.as_deref().and_then(|b| b.parse().ok()) {
                    errs.check(check_birthday_matches("birthday", &id, b));
                }
                if v.get("gender").is_some_and(Option::is_none) && input.gender.trim().is_empty() {
                    v.insert("gender", Some(id.gender().code().to_string()));
                }
                id_card = (Sealed::Set(id.as_str().to_string()), Some(id.masked()), Some(id.as_str().to_string()));
            }
        }
        DocInput::Clear => id_card = (Sealed::Clear, None, None),
        DocInput::Set(_) | DocInput::Keep => {
            // A changed birthday must still agree with the kept number.
            if let (Some(c), Some(b)) = (current.filter(|_| has(Document::IdCard)), birthday.as_deref()) {
                if c.data.birthday.as_deref() != Some(b) {
                    if let Some(stored) = store::customers::open_for_check(&state.store, c.id, Document::IdCard).await?
                    {
                        if let (Ok(id), Ok(date)) = (IdCardNo::parse("id_card", &stored, today), b.parse()) {
                            errs.check(check_birthday_matches("birthday", &id, date));
                        }
                    }
                }
            }
        }
    }
    v.insert("birthday", birthday);
    let mut passport = (Sealed::Keep, current.and_then(|c| c.data.passport_masked.clone()), None::<String>);
    match &input.passport {
        DocInput::Set(raw) if !raw.trim().is_empty() => {
            if let Some(p) = errs.check(PassportNo::parse("passport", raw)) {
                passport = (Sealed::Set(p.as_str().to_string()), Some(p.masked()), Some(p.as_str().to_string()));
            }
        }
        DocInput::Clear => passport = (Sealed::Clear, None, None),
        DocInput::Set(_) | DocInput::Keep => {}
    }
    let has_passport = match &passport.0 {
        Sealed::Set(_) => true,
        Sealed::Clear => false,
        Sealed::Keep => has(Document::Passport) || matches!(&input.passport, DocInput::Set(s) if !s.trim().is_empty()),
    };
    let expiry = parsed(&mut errs, &input.passport_expiry, |s| {
        parse_passport_expiry("passport_expiry", s, today).map(|d| d.to_string())
    });
    if expiry.is_some() && !has_passport {
        errs.push(FieldError::new("passport_expiry", "requires_passport", "passport_expiry needs a passport number"));
    }
    v.insert("passport_expiry", expiry);

    // The owner: the caller (new) or the current owner, unless someone with
    // customers.reassign chooses another active colleague.
    let default_owner = current.map(|c| c.data.owner_id).unwrap_or(me.user.id);
    let owner = match input.owner_id.trim() {
        "" => Some(default_owner),
        s => match s.parse::<i64>() {
            Ok(id) => Some(UserId(id)),
            Err(_) => {
                errs.push(FieldError::new("owner_id", "invalid", "owner_id must be a staff member's id"));
                None
            }
        },
    };
    if let Some(o) = owner.filter(|o| *o != default_owner) {
        if !me.can(Permission::CustomersReassign) {
            errs.push(FieldError::new(
                "owner_id",
                "not_allowed",
                "choosing another owner needs the customers.reassign permission",
            ));
        } else {
            match store::users::get(&state.store, o).await {
                Ok(u) if u.active => {}
                Ok(_) => errs.push(FieldError::new(
                    "owner_id",
                    "inactive",
                    "the chosen owner's account is deactivated; choose an active colleague",
                )),
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new("owner_id", "not_found", "there is no such staff member"))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    // Custom fields: stored values, overlaid with what was given, checked
    // against the kind's active definitions; values of inactive fields stay.
    let mut custom = BTreeMap::new();
    if let Some(k) = kind {
        let defs = store::customer_fields::definitions(&state.store, k.code(), true).await?;
        let active = |key: &str| defs.iter().any(|d| d.key == key && d.active);
        let mut raw: BTreeMap<String, String> = BTreeMap::new();
        if let Some(c) = current {
            for (key, value) in &c.data.custom {
                if active(key) {
                    raw.insert(key.clone(), custom_text(value));
                } else {
                    custom.insert(key.clone(), value.clone());
                }
            }
        }
        raw.extend(input.custom.iter().map(|(k, v)| (k.clone(), v.clone())));
        match store::customer_fields::check_custom(&defs, &raw) {
            Ok(values) => custom.extend(values),
            Err(e) => errs.0.extend(e.0),
        }
        let required = store::customer_fields::required_builtin(&state.store, k.code()).await?;
        for field in required {
            if errs.0.iter().any(|e| e.field == field) {
                continue;
            }
            let present = match field.as_str() {
                "id_card" => match &id_card.0 {
                    Sealed::Set(_) => true,
                    Sealed::Clear => false,
                    Sealed::Keep => has(Document::IdCard),
                },
                "passport" => has_passport,
                other => v.get(other).is_some_and(Option::is_some),
            };
            if !present {
                errs.push(FieldError::required(field));
            }
        }
    }

    errs.into_result()?;
    let (Some(kind), Some(name), Some(owner)) = (kind, name, owner) else {
        return Err(AppError::Internal("checked customer fields missing".into()));
    };
    let (name_pinyin, name_initials) = to_pinyin(&name);
    let mut take = |k: &str| v.remove(k).flatten();
    let draft = Draft {
        kind: kind.code().to_string(),
        name,
        name_pinyin,
        name_initials,
        gender: take("gender"),
        birthday: take("birthday"),
        lunar_birthday: take("lunar_birthday"),
        id_card: id_card.0,
        id_card_masked: id_card.1,
        passport: passport.0,
        passport_masked: passport.1,
        passport_expiry: take("passport_expiry"),
        employer: take("employer"),
        title: take("title"),
        mobile: take("mobile"),
        mobile2: take("mobile2"),
        landline: take("landline"),
        email: take("email"),
        wechat: take("wechat"),
        fax: take("fax"),
        province: take("province"),
        city: take("city"),
        district: take("district"),
        address: take("address"),
        hobbies: take("hobbies"),
        diet: take("diet"),
        room_pref: take("room_pref"),
        seat_pref: take("seat_pref"),
        source: take("source"),
        source_detail: take("source_detail"),
        partner_type: take("partner_type"),
        industry: take("industry"),
        license_no: take("license_no"),
        notes: take("notes"),
        consent: input.consent,
        owner_id: owner,
        stage,
        grade,
        tags: tags.into_iter().map(String::from).collect(),
        custom,
    };
    Ok(Checked { draft, id_card: id_card.2, passport: passport.2 })
}

fn not_for_kind(field: &str, kind: CustomerKind) -> FieldError {
    FieldError::new(field, "not_for_kind", format!("{field} is not a field of {} customers", kind.code()))
}

/// A stored customer as a draft that changes nothing (documents kept), for
/// updates of a single aspect such as a preference.
pub(crate) fn draft_of(c: &Customer) -> Draft {
    let d = c.data.clone();
    Draft {
        kind: d.kind,
        name: d.name,
        name_pinyin: d.name_pinyin,
        name_initials: d.name_initials,
        gender: d.gender,
        birthday: d.birthday,
        lunar_birthday: d.lunar_birthday,
        id_card: Sealed::Keep,
        id_card_masked: d.id_card_masked,
        passport: Sealed::Keep,
        passport_masked: d.passport_masked,
        passport_expiry: d.passport_expiry,
        employer: d.employer,
        title: d.title,
        mobile: d.mobile,
        mobile2: d.mobile2,
        landline: d.landline,
        email: d.email,
        wechat: d.wechat,
        fax: d.fax,
        province: d.province,
        city: d.city,
        district: d.district,
        address: d.address,
        hobbies: d.hobbies,
        diet: d.diet,
        room_pref: d.room_pref,
        seat_pref: d.seat_pref,
        source: d.source,
        source_detail: d.source_detail,
        partner_type: d.partner_type,
        industry: d.industry,
        license_no: d.license_no,
        notes: d.notes,
        consent: d.consent,
        owner_id: d.owner_id,
        stage: d.stage,
        grade: d.grade,
        tags: d.tags,
        custom: d.custom,
    }
}

/// The likely duplicates of a checked new customer among those the caller
/// may see (`store::customer_dupes`).
pub(crate) async fn duplicates(
    state: &AppState,
    vis: &store::visibility::Visibility,
    c: &Checked,
) -> Result<Vec<store::customer_dupes::Candidate>, AppError> {
    let d = &c.draft;
    let probe = store::customer_dupes::Probe {
        name: d.name.clone(),
        mobile: d.mobile.clone(),
        email: d.email.clone(),
        id_card: c.id_card.clone(),
        passport: c.passport.clone(),
        employer: d.employer.clone(),
        exclude: None,
    };
    Ok(store::customer_dupes::likely(&state.store, vis, &probe).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_fields_and_shares_the_rest() {
        assert!(field_for_kind("birthday", CustomerKind::Individual));
        assert!(!field_for_kind("birthday", CustomerKind::Organization));
        assert!(field_for_kind("industry", CustomerKind::Organization));
        assert!(!field_for_kind("industry", CustomerKind::Partner));
        assert!(field_for_kind("license_no", CustomerKind::Partner));
        for k in CustomerKind::ALL {
            assert!(field_for_kind("mobile", k) && field_for_kind("tags", k) && field_for_kind("source", k));
        }
    }
}
