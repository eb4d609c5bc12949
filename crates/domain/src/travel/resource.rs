//! The resource library (资源库) that operators (计调) build products from:
//! attractions, accommodation, transport, routes with their day-by-day
//! itineraries, and suppliers.

use super::{check_non_negative, check_optional_text, check_text, code_enum};
use crate::customer::Phone;
use crate::money::Money;
use crate::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

code_enum! {
    /// The sections of the resource library.
    pub enum ResourceKind {
        /// 景点.
        Attraction => ("attraction", "景点", "Attraction", ["景区"]),
        /// 住宿: hotels, inns, homestays.
        Accommodation => ("accommodation", "住宿", "Accommodation", ["酒店", "hotel"]),
        /// 交通.
        Transport => ("transport", "交通", "Transport", []),
        /// 线路: a day-by-day itinerary.
        Route => ("route", "线路", "Route", ["行程"]),
        /// 供应商.
        Supplier => ("supplier", "供应商", "Supplier", []),
    }
}

code_enum! {
    /// How a leg of a trip travels.
    pub enum TransportMode {
        /// 飞机.
        Air => ("air", "飞机", "Air", ["航空", "flight", "plane", "双飞"]),
        /// 火车/高铁.
        Rail => ("rail", "火车/高铁", "Rail", ["火车", "高铁", "动车", "train"]),
        /// 大巴.
        Coach => ("coach", "大巴", "Coach", ["汽车", "巴士", "bus"]),
        /// 轮船/邮轮.
        Ship => ("ship", "轮船/邮轮", "Ship", ["轮船", "邮轮", "船", "cruise", "ferry"]),
    }
}

code_enum! {
    /// What a supplier provides.
    pub enum SupplierKind {
        /// 地接社: the agency that runs our groups at the destination.
        GroundHandler => ("ground_handler", "地接社", "Ground handler", ["地接"]),
        /// 酒店.
        Hotel => ("hotel", "酒店", "Hotel", ["住宿"]),
        /// 承运商: airline, railway, coach company or shipping line.
        Carrier => ("carrier", "承运商", "Carrier", ["航空公司", "车队", "交通"]),
        /// 景区.
        Attraction => ("attraction", "景区", "Attraction", ["景点"]),
        /// 其他.
        Other => ("other", "其他", "Other", ["其它"]),
    }
}

/// A hotel's official star rating, 1 to 5 (星级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct StarRating(u8);

impl StarRating {
    /// The rating `stars`, or an `invalid_star_rating` error outside 1–5.
    pub fn new(field: &str, stars: u8) -> Result<StarRating, FieldError> {
        if (1..=5).contains(&stars) {
            Ok(StarRating(stars))
        } else {
            Err(FieldError::new(field, "invalid_star_rating", format!("{field} must be from 1 to 5 stars")))
        }
    }

    /// Parses `4`, `4星`, `四星级`, `4 stars`, `4-star` or `★★★★`.
    pub fn parse(field: &str, text: &str) -> Result<StarRating, FieldError> {
        let t = text.trim().to_lowercase();
        if t.is_empty() {
            return Err(FieldError::required(field));
        }
        let t = ["星级", "星", "stars", "star", "-"].iter().fold(t.as_str(), |t, s| t.trim_end_matches(s).trim());
        let n = if !t.is_empty() && t.chars().all(|c| c == '★') {
            t.chars().count()
        } else {
            match t {
                "1" | "一" => 1,
                "2" | "二" | "两" => 2,
                "3" | "三" => 3,
                "4" | "四" => 4,
                "5" | "五" => 5,
                _ => 0,
            }
        };
        StarRating::new(field, u8::try_from(n).unwrap_or(0))
    }

    /// The number of stars.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for StarRating {
    /// As many `★` as stars.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&"★".repeat(usize::from(self.0)))
    }
}

impl TryFrom<u8> for StarRating {
    type Error = FieldError;

    fn try_from(n: u8) -> Result<StarRating, FieldError> {
        StarRating::new("star_rating", n)
    }
}

impl From<StarRating> for u8 {
    fn from(s: StarRating) -> u8 {
        s.0
    }
}

/// A sight the trips visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attraction {
    /// Its name (故宫博物院).
    pub name: String,
    /// The city it is in.
    pub city: Option<String>,
    /// The gate price for an adult, when there is one.
    pub ticket_price: Option<Money>,
}

impl Attraction {
    /// Name required; a ticket price is not negative.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "name", &self.name, 100);
        check_optional_text(&mut errors, "city", self.city.as_deref(), 50);
        if let Some(price) = self.ticket_price {
            check_non_negative(&mut errors, "ticket_price", price);
        }
        errors.into_result()
    }
}

/// A kind of room a hotel sells (标准间, 大床房, 家庭房 …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomType {
    /// Its name as the hotel calls it.
    pub name: String,
    /// How many people may sleep in it.
    pub max_occupancy: u8,
}

/// A hotel or other place to stay, with its room types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accommodation {
    /// Its name.
    pub name: String,
    /// The city it is in.
    pub city: Option<String>,
    /// Its official rating; inns and homestays have none.
    pub star_rating: Option<StarRating>,
    /// The rooms it sells, each name once.
    pub room_types: Vec<RoomType>,
}

impl Accommodation {
    /// Name required; each room type named, named once, for at least one person.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "name", &self.name, 100);
        check_optional_text(&mut errors, "city", self.city.as_deref(), 50);
        let mut seen = BTreeSet::new();
        for (i, room) in self.room_types.iter().enumerate() {
            let field = format!("room_types.{i}.name");
            check_text(&mut errors, &field, &room.name, 30);
            if !room.name.trim().is_empty() && !seen.insert(room.name.trim().to_lowercase()) {
                errors.push(FieldError::new(
                    &field,
                    "duplicate",
                    format!("room type \"{}\" is listed twice", room.name),
                ));
            }
            if room.max_occupancy == 0 {
                let field = format!("room_types.{i}.max_occupancy");
                errors.push(FieldError::new(&field, "invalid", format!("{field} must be at least 1")));
            }
        }
        errors.into_result()
    }
}

/// A means of transport offered by a carrier: a flight, a train, a coach
/// service or a ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transport {
    /// Air, rail, coach or ship.
    pub mode: TransportMode,
    /// The airline, railway, coach company or shipping line.
    pub carrier: String,
    /// The flight or train number (`CA1501`, `G7`), if scheduled.
    pub service_no: Option<String>,
    /// Where it leaves from.
    pub from: Option<String>,
    /// Where it goes.
    pub to: Option<String>,
}

impl Transport {
    /// Carrier required; the other texts bounded.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "carrier", &self.carrier, 100);
        check_optional_text(&mut errors, "service_no", self.service_no.as_deref(), 20);
        check_optional_text(&mut errors, "from", self.from.as_deref(), 50);
        check_optional_text(&mut errors, "to", self.to.as_deref(), 50);
        errors.into_result()
    }
}

/// A firm we buy from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    /// Its name.
    pub name: String,
    /// What it provides.
    pub kind: SupplierKind,
    /// The person we deal with.
    pub contact: Option<String>,
    /// Their phone number.
    pub phone: Option<Phone>,
}

impl Supplier {
    /// Name required; contact bounded.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "name", &self.name, 100);
        check_optional_text(&mut errors, "contact", self.contact.as_deref(), 50);
        errors.into_result()
    }
}

/// The meals a day of an itinerary includes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Meals {
    /// 早餐.
    pub breakfast: bool,
    /// 午餐.
    pub lunch: bool,
    /// 晚餐.
    pub dinner: bool,
}

impl Meals {
    /// Parses the shorthand of itinerary sheets: `早中晚`, `早/午`, `B L D`,
    /// `BD`; empty, `无` or `不含` for none.
    pub fn parse(field: &str, text: &str) -> Result<Meals, FieldError> {
        let mut meals = Meals::default();
        let t = text.trim().to_uppercase();
        if matches!(t.as_str(), "" | "无" | "不含" | "NONE" | "-") {
            return Ok(meals);
        }
        for c in t.chars() {
            match c {
                '早' | 'B' => meals.breakfast = true,
                '中' | '午' | 'L' => meals.lunch = true,
                '晚' | 'D' => meals.dinner = true,
                '餐' | '/' | '、' | ',' | '，' | ' ' | '+' => {}
                _ => {
                    return Err(FieldError::new(
                        field,
                        "invalid_meals",
                        format!("{field} must list 早/午/晚 or B/L/D, such as 早午晚"),
                    ))
                }
            }
        }
        Ok(meals)
    }

    /// How many meals are included.
    pub fn count(self) -> u8 {
        u8::from(self.breakfast) + u8::from(self.lunch) + u8::from(self.dinner)
    }

    /// `早、午、晚` / `B, L, D` for the meals included; `不含餐` / `No meals`.
    pub fn label(self, zh: bool) -> String {
        let names = if zh { ["早", "午", "晚"] } else { ["B", "L", "D"] };
        let parts: Vec<&str> = [self.breakfast, self.lunch, self.dinner]
            .iter()
            .zip(names)
            .filter(|(on, _)| **on)
            .map(|(_, n)| n)
            .collect();
        match (parts.is_empty(), zh) {
            (true, true) => "不含餐".to_string(),
            (true, false) => "No meals".to_string(),
            (false, true) => parts.join("、"),
            (false, false) => parts.join(", "),
        }
    }
}

/// One day of a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDay {
    /// Its number, from 1.
    pub day: u16,
    /// What the day is (`北京—八达岭长城—明十三陵`).
    pub title: String,
    /// The places visited, in order.
    pub stops: Vec<String>,
    /// The meals included.
    pub meals: Meals,
    /// Where the group sleeps; `None` on the last day.
    pub lodging: Option<String>,
}

/// A route's days, numbered 1 to n with no gaps and no repeats, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<RouteDay>", into = "Vec<RouteDay>")]
pub struct Itinerary(Vec<RouteDay>);

impl Itinerary {
    /// Checks and orders the days (they may arrive in any order). Errors name
    /// the row as given (`days.2.title`, 0-based): a day numbered 0, a number
    /// used twice (`duplicate_day`, on the later row), a number missing
    /// between 1 and the highest (`missing_day`, on `days`), a day without a
    /// title, a blank stop. No days at all is `required`.
    pub fn new(days: Vec<RouteDay>) -> Result<Itinerary, FieldErrors> {
        let mut errors = FieldErrors::new();
        if days.is_empty() {
            errors.push(FieldError::new("days", "required", "a route needs at least one day"));
        }
        let mut seen = BTreeSet::new();
        for (i, d) in days.iter().enumerate() {
            if d.day == 0 {
                errors.push(FieldError::new(format!("days.{i}.day"), "invalid_day", "days are numbered from 1"));
            } else if !seen.insert(d.day) {
                errors.push(FieldError::new(
                    format!("days.{i}.day"),
                    "duplicate_day",
                    format!("day {} appears more than once", d.day),
                ));
            }
            check_text(&mut errors, &format!("days.{i}.title"), &d.title, 100);
            for (j, stop) in d.stops.iter().enumerate() {
                check_text(&mut errors, &format!("days.{i}.stops.{j}"), stop, 100);
            }
            check_optional_text(&mut errors, &format!("days.{i}.lodging"), d.lodging.as_deref(), 100);
        }
        let highest = seen.last().copied().unwrap_or(0);
        for missing in (1..highest).filter(|n| !seen.contains(n)) {
            errors.push(FieldError::new("days", "missing_day", format!("day {missing} is missing")));
        }
        errors.into_result()?;
        let mut days = days;
        days.sort_by_key(|d| d.day);
        Ok(Itinerary(days))
    }

    /// The days, day 1 first.
    pub fn days(&self) -> &[RouteDay] {
        &self.0
    }

    /// How many days the route lasts.
    pub fn day_count(&self) -> usize {
        self.0.len()
    }

    /// How many nights have lodging.
    pub fn nights(&self) -> usize {
        self.0.iter().filter(|d| d.lodging.is_some()).count()
    }
}

impl TryFrom<Vec<RouteDay>> for Itinerary {
    type Error = FieldErrors;

    fn try_from(days: Vec<RouteDay>) -> Result<Itinerary, FieldErrors> {
        Itinerary::new(days)
    }
}

impl From<Itinerary> for Vec<RouteDay> {
    fn from(i: Itinerary) -> Vec<RouteDay> {
        i.0
    }
}

/// A reusable itinerary that products are built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Its name (`北京经典5日游`).
    pub name: String,
    /// Where it goes.
    pub destination: Option<String>,
    /// Day by day.
    pub itinerary: Itinerary,
}

impl Route {
    /// Name required; the itinerary is valid by construction.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_text(&mut errors, "name", &self.name, 100);
        check_optional_text(&mut errors, "destination", self.destination.as_deref(), 50);
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::check_code_enum;

    fn day(n: u16, title: &str) -> RouteDay {
        RouteDay { day: n, title: title.into(), stops: vec![], meals: Meals::default(), lodging: Some("酒店".into()) }
    }

    fn problems(e: FieldErrors) -> Vec<(String, &'static str)> {
        e.0.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn enums_parse_codes_labels_and_aliases() {
        check_code_enum!(ResourceKind, TransportMode, SupplierKind);
        assert_eq!(TransportMode::parse("mode", "高铁").unwrap(), TransportMode::Rail);
        assert_eq!(SupplierKind::parse("kind", "地接社").unwrap(), SupplierKind::GroundHandler);
        assert_eq!(SupplierKind::GroundHandler.label(false), "Ground handler");
    }

    #[test]
    fn star_ratings_are_one_to_five() {
        for (text, n) in [("4", 4), ("四星级", 4), ("5星", 5), ("3 Stars", 3), ("2-star", 2), ("★★★★★", 5), ("一星", 1)]
        {
            assert_eq!(StarRating::parse("star", text).unwrap().get(), n, "{text}");
        }
        for bad in ["0", "6", "六星", "★★★★★★", "four", "星"] {
            assert_eq!(StarRating::parse("star", bad).unwrap_err().code, "invalid_star_rating", "{bad}");
        }
        assert_eq!(StarRating::parse("star", "").unwrap_err().code, "required");
        assert_eq!(StarRating::new("star", 3).unwrap().to_string(), "★★★");
        assert!(serde_json::from_str::<StarRating>("6").is_err());
    }

    #[test]
    fn days_are_numbered_one_to_n_and_sorted() {
        let it = Itinerary::new(vec![day(2, "长城"), day(1, "抵京"), day(3, "返程")]).unwrap();
        let order: Vec<u16> = it.days().iter().map(|d| d.day).collect();
        assert_eq!(order, [1, 2, 3]);
        assert_eq!((it.day_count(), it.nights()), (3, 3));

        let e = Itinerary::new(vec![day(1, "a"), day(3, "c"), day(4, "d"), day(6, "f")]).unwrap_err();
        assert_eq!(problems(e), [("days".into(), "missing_day"), ("days".into(), "missing_day")]);
        let e = Itinerary::new(vec![day(1, "a"), day(2, "b"), day(2, "b again")]).unwrap_err();
        assert_eq!(problems(e), [("days.2.day".into(), "duplicate_day")]);
        let e = Itinerary::new(vec![day(0, "zero"), day(1, " ")]).unwrap_err();
        assert_eq!(problems(e), [("days.0.day".into(), "invalid_day"), ("days.1.title".into(), "required")]);
        assert_eq!(problems(Itinerary::new(vec![]).unwrap_err()), [("days".into(), "required")]);
        let mut with_blank_stop = day(1, "a");
        with_blank_stop.stops = vec!["故宫".into(), "".into()];
        assert_eq!(
            problems(Itinerary::new(vec![with_blank_stop]).unwrap_err()),
            [("days.0.stops.1".into(), "required")]
        );
    }

    #[test]
    fn itineraries_deserialize_only_when_valid() {
        let it = Itinerary::new(vec![day(1, "抵京"), day(2, "返程")]).unwrap();
        let json = serde_json::to_string(&it).unwrap();
        assert_eq!(serde_json::from_str::<Itinerary>(&json).unwrap(), it);
        let gap = json.replace("\"day\":2", "\"day\":3");
        assert!(serde_json::from_str::<Itinerary>(&gap).is_err());
    }

    #[test]
    fn meals_read_itinerary_shorthand() {
        let all = Meals { breakfast: true, lunch: true, dinner: true };
        assert_eq!(Meals::parse("meals", "早中晚").unwrap(), all);
        assert_eq!(Meals::parse("meals", "B/L/D").unwrap(), all);
        let bd = Meals::parse("meals", "早餐、晚餐").unwrap();
        assert_eq!(bd, Meals { breakfast: true, lunch: false, dinner: true });
        assert_eq!((bd.count(), bd.label(true), bd.label(false)), (2, "早、晚".into(), "B, D".into()));
        assert_eq!(Meals::parse("meals", "无").unwrap().label(true), "不含餐");
        assert_eq!(Meals::parse("meals", "早X").unwrap_err().code, "invalid_meals");
    }

    #[test]
    fn records_name_their_bad_fields() {
        let a = Attraction { name: "故宫".into(), city: Some("北京".into()), ticket_price: Some(Money(-1)) };
        assert_eq!(problems(a.validate().unwrap_err()), [("ticket_price".into(), "negative")]);
        let room = |n: &str, o| RoomType { name: n.into(), max_occupancy: o };
        let mut h = Accommodation {
            name: "亚龙湾度假酒店".into(),
            city: None,
            star_rating: Some(StarRating::new("star", 5).unwrap()),
            room_types: vec![room("大床房", 2), room("家庭房", 4)],
        };
        assert!(h.validate().is_ok());
        h.room_types.push(room("大床房 ", 2));
        h.room_types.push(room("", 0));
        assert_eq!(
            problems(h.validate().unwrap_err()),
            [
                ("room_types.2.name".into(), "duplicate"),
                ("room_types.3.name".into(), "required"),
                ("room_types.3.max_occupancy".into(), "invalid")
            ]
        );
        let t = Transport { mode: TransportMode::Air, carrier: " ".into(), service_no: None, from: None, to: None };
        assert_eq!(problems(t.validate().unwrap_err()), [("carrier".into(), "required")]);
        let s = Supplier { name: "".into(), kind: SupplierKind::GroundHandler, contact: None, phone: None };
        assert_eq!(problems(s.validate().unwrap_err()), [("name".into(), "required")]);
        let it = Itinerary::new(vec![day(1, "a")]).unwrap();
        let r = Route { name: "".into(), destination: None, itinerary: it };
        assert_eq!(problems(r.validate().unwrap_err()), [("name".into(), "required")]);
    }
}
