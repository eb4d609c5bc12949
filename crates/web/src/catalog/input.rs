//! The catalogue's fields as sent (JSON object or HTML form), checked into
//! the store's drafts with every problem named by field.
//!
//! Both the API and the pages build a JSON object of the fields: the API
//! from the body (on `PATCH` laid over the stored record), the pages from
//! the form, whose multi-line boxes (contacts, room types, itinerary) are
//! turned into arrays first. One checker per record reads that object.

use crate::error::AppError;
use crate::AppState;
use domain::ids::{ProductId, ResourceId, SupplierId, UserId};
use domain::money::{BasisPoints, Money};
use domain::travel::departure::DepartureStatus;
use domain::travel::product::{Product, ProductCode, ProductType};
use domain::travel::resource::{
    Accommodation, Itinerary, Meals, ResourceKind, RoomType, RouteDay, StarRating, SupplierKind, Transport,
    TransportMode,
};
use domain::{FieldError, FieldErrors};
use serde_json::{json, Map, Value};
use store::departures::DepartureDraft;
use store::products::ProductDraft;
use store::resources::{ResourceDraft, SupplierContact, SupplierDraft};

pub(crate) type Fields = Map<String, Value>;

/// Refuses keys outside `allowed` (typos must not pass silently).
pub(crate) fn known(f: &Fields, allowed: &[&str], errs: &mut FieldErrors) {
    for k in f.keys() {
        if !allowed.contains(&k.as_str()) && k != "version" && k != "csrf" {
            errs.push(FieldError::new(k, "unknown_field", format!("{k} is not a field of this record")));
        }
    }
}

/// `b`'s keys laid over `a`.
pub(crate) fn overlay(mut a: Fields, b: Fields) -> Fields {
    for (k, v) in b {
        a.insert(k, v);
    }
    a
}

/// A record's stored fields as the checker reads them.
pub(crate) fn fields_of<T: serde::Serialize>(v: &T) -> Fields {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// A text field: trimmed, `None` when absent, null or blank.
fn text(f: &Fields, k: &str) -> Option<String> {
    match f.get(k) {
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// An optional text of at most `max` characters.
fn opt_text(f: &Fields, k: &str, max: usize, errs: &mut FieldErrors) -> Option<String> {
    if let Some(v) = f.get(k) {
        if v.is_array() || v.is_object() {
            errs.push(FieldError::new(k, "invalid_type", format!("{k} must be text")));
            return None;
        }
    }
    let t = text(f, k)?;
    if t.chars().count() > max {
        errs.push(FieldError::new(k, "too_long", format!("{k} must have at most {max} characters")));
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        errs.push(FieldError::new(k, "invalid", format!("{k} must not contain control characters")));
    }
    Some(t)
}

fn req_text(f: &Fields, k: &str, max: usize, errs: &mut FieldErrors) -> String {
    let t = opt_text(f, k, max, errs);
    if t.is_none() {
        errs.push(FieldError::required(k));
    }
    t.unwrap_or_default()
}

fn flag(f: &Fields, k: &str, default: bool, errs: &mut FieldErrors) -> bool {
    match f.get(k) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => match s.trim() {
            "true" | "1" | "on" | "yes" => true,
            "false" | "0" | "off" | "no" | "" => false,
            _ => {
                errs.push(FieldError::new(k, "invalid", format!("{k} must be true or false")));
                default
            }
        },
        Some(_) => {
            errs.push(FieldError::new(k, "invalid_type", format!("{k} must be true or false")));
            default
        }
    }
}

fn opt_id(f: &Fields, k: &str, errs: &mut FieldErrors) -> Option<i64> {
    let t = text(f, k)?;
    match t.parse::<i64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errs.push(FieldError::new(k, "invalid", format!("{k} must be an id")));
            None
        }
    }
}

fn int_in(f: &Fields, k: &str, range: std::ops::RangeInclusive<i64>, errs: &mut FieldErrors) -> Option<i64> {
    let t = text(f, k)?;
    match t.parse::<i64>() {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            errs.push(FieldError::new(
                k,
                "out_of_range",
                format!("{k} must be a whole number from {} to {}", range.start(), range.end()),
            ));
            None
        }
    }
}

fn money(f: &Fields, k: &str, errs: &mut FieldErrors) -> Option<Money> {
    let t = text(f, k)?;
    errs.check(Money::parse(k, &t).and_then(|m| m.non_negative(k)))
}

fn date(f: &Fields, k: &str, errs: &mut FieldErrors) -> Option<chrono::NaiveDate> {
    let t = text(f, k)?;
    match chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errs.push(FieldError::new(k, "invalid_date", format!("{k} must be a date such as 2026-12-01")));
            None
        }
    }
}

fn array<'a>(f: &'a Fields, k: &str, errs: &mut FieldErrors) -> &'a [Value] {
    match f.get(k) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            errs.push(FieldError::new(k, "invalid_type", format!("{k} must be a list")));
            &[]
        }
    }
}

fn as_fields(v: &Value) -> Fields {
    match v {
        Value::Object(m) => m.clone(),
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("name".into(), json!(s));
            m
        }
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------
// Suppliers

pub(crate) const SUPPLIER_FIELDS: &[&str] = &[
    "kind",
    "name",
    "phone",
    "email",
    "province",
    "city",
    "address",
    "contract_no",
    "contract_from",
    "contract_to",
    "payment_terms",
    "commission_bp",
    "commission",
    "notes",
    "active",
    "contacts",
];

/// Checks a supplier.
pub(crate) fn supplier(f: &Fields) -> Result<SupplierDraft, AppError> {
    let mut errs = FieldErrors::new();
    known(f, SUPPLIER_FIELDS, &mut errs);
    let kind = match text(f, "kind") {
        None => {
            errs.push(FieldError::required("kind"));
            String::new()
        }
        Some(k) => errs.check(SupplierKind::parse("kind", &k)).map(|k| k.code().to_string()).unwrap_or_default(),
    };
    let name = req_text(f, "name", 100, &mut errs);
    let from = date(f, "contract_from", &mut errs);
    let to = date(f, "contract_to", &mut errs);
    if let (Some(a), Some(b)) = (from, to) {
        if b < a {
            errs.push(FieldError::new("contract_to", "ends_before_start", "the contract ends before it starts"));
        }
    }
    // `commission` is a percentage as people type it (10, 9.5%); the API
    // may send basis points directly.
    let commission_bp = match text(f, "commission") {
        Some(p) => errs.check(BasisPoints::parse_percent("commission", &p)).map(|b| i64::from(b.get())),
        None => int_in(f, "commission_bp", 0..=10_000, &mut errs),
    };
    let mut contacts = Vec::new();
    for (i, c) in array(f, "contacts", &mut errs).iter().enumerate() {
        let c = as_fields(c);
        let mut sub = FieldErrors::new();
        let name = req_text(&c, "name", 50, &mut sub);
        let contact = SupplierContact {
            name,
            role: opt_text(&c, "role", 30, &mut sub),
            mobile: opt_text(&c, "mobile", 30, &mut sub),
            email: opt_text(&c, "email", 100, &mut sub),
            wechat: opt_text(&c, "wechat", 50, &mut sub),
        };
        for e in sub.0 {
            errs.push(FieldError::new(format!("contacts.{i}.{}", e.field), e.code, e.message));
        }
        contacts.push(contact);
    }
    let d = SupplierDraft {
        kind,
        name,
        phone: opt_text(f, "phone", 30, &mut errs),
        email: opt_text(f, "email", 100, &mut errs),
        province: opt_text(f, "province", 30, &mut errs),
        city: opt_text(f, "city", 30, &mut errs),
        address: opt_text(f, "address", 200, &mut errs),
        contract_no: opt_text(f, "contract_no", 50, &mut errs),
        contract_from: from.map(|d| d.to_string()),
        contract_to: to.map(|d| d.to_string()),
        payment_terms: opt_text(f, "payment_terms", 200, &mut errs),
        commission_bp,
        notes: opt_text(f, "notes", 2000, &mut errs),
        active: flag(f, "active", true, &mut errs),
        contacts,
    };
    errs.into_result()?;
    Ok(d)
}

// ---------------------------------------------------------------------------
// Resources

pub(crate) const RESOURCE_FIELDS: &[&str] =
    &["kind", "name", "country", "province", "city", "address", "supplier_id", "details", "description", "active"];

/// The library kinds a resource may have (suppliers are their own records).
pub(crate) const RESOURCE_KINDS: [ResourceKind; 4] =
    [ResourceKind::Attraction, ResourceKind::Accommodation, ResourceKind::Transport, ResourceKind::Route];

/// Checks a resource and its kind's `details`; route stops and lodging
/// given as library ids are stored with their names.
pub(crate) async fn resource(state: &AppState, f: &Fields) -> Result<ResourceDraft, AppError> {
    let mut errs = FieldErrors::new();
    known(f, RESOURCE_FIELDS, &mut errs);
    let kind = match text(f, "kind") {
        None => {
            errs.push(FieldError::required("kind"));
            None
        }
        Some(k) => match errs.check(ResourceKind::parse("kind", &k)) {
            Some(ResourceKind::Supplier) => {
                errs.push(FieldError::new("kind", "invalid_choice", "suppliers are kept under /suppliers"));
                None
            }
            other => other,
        },
    };
    let name = req_text(f, "name", 100, &mut errs);
    let city = opt_text(f, "city", 30, &mut errs);
    let details = match f.get("details") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            errs.push(FieldError::new("details", "invalid_type", "details must be an object"));
            Map::new()
        }
    };
    let details = match kind {
        Some(k) => kind_details(state, k, &name, city.as_deref(), &details, &mut errs).await?,
        None => json!({}),
    };
    let d = ResourceDraft {
        kind: kind.map(|k| k.code().to_string()).unwrap_or_default(),
        name,
        country: opt_text(f, "country", 30, &mut errs),
        province: opt_text(f, "province", 30, &mut errs),
        city,
        address: opt_text(f, "address", 200, &mut errs),
        supplier_id: opt_id(f, "supplier_id", &mut errs).map(SupplierId),
        details,
        description: opt_text(f, "description", 4000, &mut errs),
        active: flag(f, "active", true, &mut errs),
    };
    errs.into_result()?;
    Ok(d)
}

/// Moves the domain's errors under `details.`.
fn nest(errs: &mut FieldErrors, e: FieldErrors) {
    for e in e.0 {
        errs.push(FieldError::new(format!("details.{}", e.field), e.code, e.message));
    }
}

async fn kind_details(
    state: &AppState,
    kind: ResourceKind,
    name: &str,
    city: Option<&str>,
    d: &Fields,
    errs: &mut FieldErrors,
) -> Result<Value, AppError> {
    let mut sub = FieldErrors::new();
    let out = match kind {
        ResourceKind::Attraction => {
            let price = money(d, "ticket_price", &mut sub);
            json!({"ticket_price": price, "opening_hours": opt_text(d, "opening_hours", 100, &mut sub)})
        }
        ResourceKind::Accommodation => {
            let stars = text(d, "star_rating").and_then(|s| sub.check(StarRating::parse("star_rating", &s)));
            let mut rooms = Vec::new();
            for (i, r) in array(d, "room_types", &mut sub).iter().enumerate() {
                let r = as_fields(r);
                let occ = int_in(&r, "max_occupancy", 1..=20, &mut sub).unwrap_or(2);
                let _ = i;
                rooms.push(RoomType {
                    name: text(&r, "name").unwrap_or_default(),
                    max_occupancy: u8::try_from(occ).unwrap_or(2),
                });
            }
            let a = Accommodation {
                name: name.to_string(),
                city: city.map(str::to_string),
                star_rating: stars,
                room_types: rooms,
            };
            if let Err(e) = a.validate() {
                // The name and city are checked on their own fields.
                let e = FieldErrors(e.0.into_iter().filter(|e| e.field != "name" && e.field != "city").collect());
                sub.0.extend(e.0);
            }
            json!({"star_rating": a.star_rating, "room_types": a.room_types})
        }
        ResourceKind::Transport => {
            let mode = match text(d, "mode") {
                None => {
                    sub.push(FieldError::required("mode"));
                    None
                }
                Some(m) => sub.check(TransportMode::parse("mode", &m)),
            };
            let t = Transport {
                mode: mode.unwrap_or(TransportMode::Coach),
                carrier: text(d, "carrier").unwrap_or_default(),
                service_no: text(d, "service_no"),
                from: text(d, "from"),
                to: text(d, "to"),
            };
            if let Err(e) = t.validate() {
                sub.0.extend(e.0);
            }
            json!({"mode": mode.map(|m| m.code()), "carrier": t.carrier, "service_no": t.service_no, "from": t.from, "to": t.to})
        }
        ResourceKind::Route | ResourceKind::Supplier => route_details(state, d, &mut sub).await?,
    };
    nest(errs, sub);
    Ok(out)
}

/// A stop or lodging: a library id (its name is looked up), a name, or both.
async fn place(
    state: &AppState,
    v: &Value,
    field: &str,
    kind: &str,
    errs: &mut FieldErrors,
) -> Result<Option<(String, Option<i64>)>, AppError> {
    let f = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => {
            let mut m = Map::new();
            m.insert("resource_id".into(), json!(n));
            m
        }
        other => as_fields(other),
    };
    let id = opt_id(&f, "resource_id", errs);
    if let Some(id) = id {
        match store::resources::names_of(&state.store, field, kind, ResourceId(id)).await {
            Ok(name) => return Ok(Some((name, Some(id)))),
            Err(store::StoreError::Invalid(e)) => {
                errs.0.extend(e.0);
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(text(&f, "name").map(|n| (n, None)))
}

async fn route_details(state: &AppState, d: &Fields, errs: &mut FieldErrors) -> Result<Value, AppError> {
    let mut days = Vec::new();
    let mut stored = Vec::new();
    for (i, day) in array(d, "days", errs).iter().enumerate() {
        let f = as_fields(day);
        let n = int_in(&f, "day", 1..=365, errs).unwrap_or(i as i64 + 1);
        let meals = match f.get("meals") {
            Some(Value::Object(_)) => serde_json::from_value::<Meals>(f["meals"].clone()).unwrap_or_default(),
            _ => errs
                .check(Meals::parse(&format!("days.{i}.meals"), &text(&f, "meals").unwrap_or_default()))
                .unwrap_or_default(),
        };
        let mut stops = Vec::new();
        for (j, s) in array(&f, "stops", errs).iter().enumerate() {
            if let Some(p) = place(state, s, &format!("days.{i}.stops.{j}"), "attraction", errs).await? {
                stops.push(p);
            }
        }
        let lodging = match f.get("lodging") {
            Some(v) => place(state, v, &format!("days.{i}.lodging"), "accommodation", errs).await?,
            None => None,
        };
        days.push(RouteDay {
            day: u16::try_from(n).unwrap_or(1),
            title: text(&f, "title").unwrap_or_default(),
            stops: stops.iter().map(|(n, _)| n.clone()).collect(),
            meals,
            lodging: lodging.as_ref().map(|(n, _)| n.clone()),
        });
        stored.push(json!({
            "day": n,
            "title": text(&f, "title").unwrap_or_default(),
            "stops": stops.iter().map(|(n, id)| json!({"name": n, "resource_id": id})).collect::<Vec<_>>(),
            "meals": meals,
            "lodging": lodging.map(|(n, id)| json!({"name": n, "resource_id": id})),
        }));
    }
    if let Err(e) = Itinerary::new(days) {
        errs.0.extend(e.0);
    }
    stored.sort_by_key(|d| d["day"].as_i64().unwrap_or(0));
    Ok(json!({ "days": stored }))
}

// ---------------------------------------------------------------------------
// Products

pub(crate) const PRODUCT_FIELDS: &[&str] = &[
    "code",
    "name",
    "product_type",
    "country",
    "region",
    "city",
    "destination",
    "route_id",
    "supplier_id",
    "days",
    "adult_price",
    "child_price",
    "cost_price",
    "inclusions",
    "exclusions",
    "description",
    "active",
];

/// Checks a product with the domain's rules.
pub(crate) fn product(f: &Fields) -> Result<ProductDraft, AppError> {
    let mut errs = FieldErrors::new();
    known(f, PRODUCT_FIELDS, &mut errs);
    let code = errs.check(ProductCode::parse("code", &text(f, "code").unwrap_or_default()));
    let ptype = match text(f, "product_type") {
        None => {
            errs.push(FieldError::required("product_type"));
            None
        }
        Some(t) => errs.check(ProductType::parse("product_type", &t)),
    };
    let name = req_text(f, "name", 100, &mut errs);
    let days = int_in(f, "days", 1..=365, &mut errs);
    if text(f, "days").is_none() {
        errs.push(FieldError::required("days"));
    }
    let adult = money(f, "adult_price", &mut errs);
    if text(f, "adult_price").is_none() {
        errs.push(FieldError::required("adult_price"));
    }
    let child = money(f, "child_price", &mut errs);
    let cost = money(f, "cost_price", &mut errs);
    let destination = opt_text(f, "destination", 50, &mut errs);
    if let (Some(code), Some(t), Some(days), Some(adult)) = (&code, ptype, days, adult) {
        let p = Product {
            code: code.clone(),
            name: name.clone(),
            product_type: t,
            destination: destination.clone(),
            days: u16::try_from(days).unwrap_or(1),
            adult_price: adult,
            child_price: child.unwrap_or(adult),
            cost_price: cost.unwrap_or(Money::ZERO),
        };
        if let Err(e) = p.validate() {
            for e in e.0 {
                if !errs.0.iter().any(|x| x.field == e.field) {
                    errs.push(e);
                }
            }
        }
    }
    let d = ProductDraft {
        code: code.map(|c| c.as_str().to_string()).unwrap_or_default(),
        name,
        product_type: ptype.map(|t| t.code().to_string()).unwrap_or_default(),
        country: opt_text(f, "country", 30, &mut errs),
        region: opt_text(f, "region", 30, &mut errs),
        city: opt_text(f, "city", 30, &mut errs),
        destination,
        route_id: opt_id(f, "route_id", &mut errs).map(ResourceId),
        supplier_id: opt_id(f, "supplier_id", &mut errs).map(SupplierId),
        days: days.unwrap_or(1),
        adult_price: adult.unwrap_or(Money::ZERO),
        child_price: child.or(adult).unwrap_or(Money::ZERO),
        cost_price: cost.unwrap_or(Money::ZERO),
        inclusions: opt_text(f, "inclusions", 4000, &mut errs),
        exclusions: opt_text(f, "exclusions", 4000, &mut errs),
        description: opt_text(f, "description", 8000, &mut errs),
        active: flag(f, "active", true, &mut errs),
    };
    errs.into_result()?;
    Ok(d)
}

// ---------------------------------------------------------------------------
// Departures

pub(crate) const DEPARTURE_FIELDS: &[&str] = &[
    "product_id",
    "departure_date",
    "return_date",
    "leader_id",
    "guide_name",
    "capacity",
    "adult_price",
    "child_price",
    "notes",
    "status",
];

/// Checks a departure; prices default to the product's.
pub(crate) async fn departure(
    state: &AppState,
    f: &Fields,
) -> Result<(DepartureDraft, Option<DepartureStatus>), AppError> {
    let mut errs = FieldErrors::new();
    known(f, DEPARTURE_FIELDS, &mut errs);
    let product_id = opt_id(f, "product_id", &mut errs);
    if text(f, "product_id").is_none() {
        errs.push(FieldError::required("product_id"));
    }
    let product = match product_id {
        Some(p) => match store::products::get(&state.store, ProductId(p)).await {
            Ok(p) => Some(p),
            Err(store::StoreError::NotFound) => {
                errs.push(FieldError::new("product_id", "not_found", format!("product {p} does not exist")));
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let start = date(f, "departure_date", &mut errs);
    if text(f, "departure_date").is_none() {
        errs.push(FieldError::required("departure_date"));
    }
    let end = match date(f, "return_date", &mut errs) {
        Some(e) => Some(e),
        // A product of n days returns n - 1 days after leaving.
        None if text(f, "return_date").is_none() => match (start, &product) {
            (Some(s), Some(p)) => s.checked_add_days(chrono::Days::new(u64::try_from(p.data.days - 1).unwrap_or(0))),
            _ => None,
        },
        None => None,
    };
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errs.push(FieldError::new(
                "return_date",
                "ends_before_start",
                "the return date is before the departure date",
            ));
        }
    }
    let capacity = int_in(f, "capacity", 1..=10_000, &mut errs);
    if text(f, "capacity").is_none() {
        errs.push(FieldError::required("capacity"));
    }
    let adult = money(f, "adult_price", &mut errs);
    let child = money(f, "child_price", &mut errs);
    let status = match text(f, "status") {
        None => None,
        Some(s) => errs.check(DepartureStatus::parse("status", &s)),
    };
    let d = DepartureDraft {
        product_id: ProductId(product_id.unwrap_or(0)),
        departure_date: start.unwrap_or_default(),
        return_date: end.or(start).unwrap_or_default(),
        leader_id: opt_id(f, "leader_id", &mut errs).map(UserId),
        guide_name: opt_text(f, "guide_name", 50, &mut errs),
        capacity: capacity.unwrap_or(1),
        adult_price: adult.or(product.as_ref().map(|p| p.data.adult_price)).unwrap_or(Money::ZERO),
        child_price: child.or(product.as_ref().map(|p| p.data.child_price)).unwrap_or(Money::ZERO),
        notes: opt_text(f, "notes", 2000, &mut errs),
    };
    errs.into_result()?;
    Ok((d, status))
}

/// A departure's stored fields, as [`departure`] reads them.
pub(crate) fn departure_fields(d: &store::departures::Departure) -> Fields {
    let mut m = Map::new();
    m.insert("product_id".into(), json!(d.product_id.0));
    m.insert("departure_date".into(), json!(d.departure_date));
    m.insert("return_date".into(), json!(d.return_date));
    m.insert("leader_id".into(), json!(d.leader_id.map(|u| u.0)));
    m.insert("guide_name".into(), json!(d.guide_name));
    m.insert("capacity".into(), json!(d.capacity));
    m.insert("adult_price".into(), json!(d.adult_price));
    m.insert("child_price".into(), json!(d.child_price));
    m.insert("notes".into(), json!(d.notes));
    m
}
