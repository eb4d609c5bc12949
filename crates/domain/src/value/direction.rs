//! The likely direction of a customer's next trip (下次出行方向): which kind
//! of product and where, with the reason in words for the sales team.
//!
//! A transparent rule cascade rather than a trained recommender, so every
//! suggestion can be explained: the customer's own stated intention first,
//! then their habit, then what similar customers did next — a first-order
//! Markov chain over product types, the "next-basket" idea of Rendle,
//! Freudenthaler & Schmidt-Thieme (2010), "Factorizing Personalized Markov
//! Chains for Next-Basket Recommendation", *WWW '10*, without the
//! personalised factorisation — and finally the season's most popular
//! trip (travel demand is strongly seasonal; see Butler (2001), "Seasonality
//! in Tourism: Issues and Implications", in Baum & Lundtorp (eds.),
//! *Seasonality in Tourism*). See [`likely`] for the order.

use crate::money::BasisPoints;
use crate::travel::product::ProductType;
use chrono::{Datelike, Days, NaiveDate};
use std::collections::HashMap;

/// Peer transitions needed before the peer rule speaks: fewer are anecdote.
pub const MIN_PEER_TRANSITIONS: u32 = 20;

/// How far ahead the season rule looks: the month of `as_of` + 30 days.
pub const SEASON_LOOKAHEAD_DAYS: u64 = 30;

const TYPES: usize = ProductType::ALL.len();

/// One past trip of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trip<'a> {
    /// The travel (departure) day.
    pub day: NaiveDate,
    /// The kind of product.
    pub product_type: ProductType,
    /// Where to, if known.
    pub destination: Option<&'a str>,
}

/// A travel intention the customer stated (出行意向), still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intention<'a> {
    /// Where they want to go.
    pub destination: &'a str,
    /// When, in their words ("春节", "暑假", "2025-10").
    pub period: Option<&'a str>,
}

/// (product type index, interned destination) of a trip.
type SeasonKey = (u8, Option<u32>);

/// What all customers' trips say, gathered once and then consulted for each
/// customer. Destinations are interned, so memory grows with the number of
/// distinct destinations, not of trips.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    /// transitions[x][y]: trips of type y that directly followed a trip of type x.
    transitions: [[u32; TYPES]; TYPES],
    /// Counts of (after, next type, next destination).
    next_destinations: HashMap<(u8, u8, u32), u32>,
    /// The most frequent destination per (after, next type), with its count.
    best_next_destination: [[Option<(u32, u32)>; TYPES]; TYPES],
    /// Per calendar month (0 = January): counts of (type, destination).
    season: [HashMap<SeasonKey, u32>; 12],
    /// Per calendar month: the most frequent (type, destination) and its count.
    best_season: [Option<(SeasonKey, u32)>; 12],
}

impl Peers {
    /// Adds one customer's trips, in any order (they are taken by day; trips
    /// on the same day in input order). Every two consecutive trips count as
    /// a transition; every trip counts for the month it travels in.
    pub fn add_customer(&mut self, trips: &[Trip]) {
        let sorted = trips.windows(2).all(|w| w[0].day <= w[1].day);
        let reordered: Vec<Trip>;
        let trips = if sorted {
            trips
        } else {
            let mut v = trips.to_vec();
            v.sort_by_key(|t| t.day);
            reordered = v;
            &reordered
        };
        for w in trips.windows(2) {
            let (x, y) = (type_index(w[0].product_type), type_index(w[1].product_type));
            self.transitions[x][y] += 1;
            if let Some(dest) = clean(w[1].destination) {
                let id = self.intern(dest);
                let count = self.next_destinations.entry((x as u8, y as u8, id)).or_insert(0);
                *count += 1;
                let count = *count;
                let best = &mut self.best_next_destination[x][y];
                if best
                    .is_none_or(|(b, c)| count > c || (count == c && self.names[id as usize] < self.names[b as usize]))
                {
                    *best = Some((id, count));
                }
            }
        }
        for t in trips {
            let month = t.day.month0() as usize;
            let key = (type_index(t.product_type) as u8, clean(t.destination).map(|d| self.intern(d)));
            let count = self.season[month].entry(key).or_insert(0);
            *count += 1;
            let count = *count;
            let best = &mut self.best_season[month];
            let wins = match *best {
                None => true,
                Some((b, c)) => count > c || (count == c && season_key_before(&self.names, key, b)),
            };
            if wins {
                *best = Some((key, count));
            }
        }
    }

    /// Transitions observed after a trip of type `after`: to each type, in
    /// [`ProductType::ALL`] order.
    pub fn transitions_after(&self, after: ProductType) -> [u32; TYPES] {
        self.transitions[type_index(after)]
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    fn name(&self, id: Option<u32>) -> Option<String> {
        id.map(|id| self.names[id as usize].clone())
    }
}

/// Ties on count go to the earlier type in [`ProductType::ALL`], then to a
/// trip without destination, then to the destination first in string order.
fn season_key_before(names: &[String], a: SeasonKey, b: SeasonKey) -> bool {
    let name = |k: Option<u32>| k.map(|id| names[id as usize].as_str());
    (a.0, name(a.1)) < (b.0, name(b.1))
}

fn type_index(t: ProductType) -> usize {
    ProductType::ALL.iter().position(|&x| x == t).unwrap_or(0)
}

fn clean(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A likely next trip: a product type, a destination or both, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Direction {
    /// The likely kind of product, if the reason says.
    pub product_type: Option<ProductType>,
    /// The likely destination, if the reason says.
    pub destination: Option<String>,
    /// Why this direction.
    pub reason: Reason,
}

impl Direction {
    /// A compact form for CSV export: `"international/日本"`, `"long_haul"`
    /// without destination, `"/云南"` with a destination but no type, and an
    /// empty string if neither is known.
    pub fn short_code(&self) -> String {
        match (self.product_type, self.destination.as_deref()) {
            (Some(t), Some(d)) => format!("{}/{d}", t.code()),
            (Some(t), None) => t.code().to_owned(),
            (None, Some(d)) => format!("/{d}"),
            (None, None) => String::new(),
        }
    }
}

/// Why a direction was suggested.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The customer told us (登记的出行意向).
    Intention {
        /// Where they want to go.
        destination: String,
        /// When, in their words.
        period: Option<String>,
    },
    /// The customer keeps buying this kind of trip.
    Habit {
        /// The kind of trip.
        product_type: ProductType,
        /// How many of their trips were of this kind.
        times: u32,
        /// Their most frequent destination on such trips.
        destination: Option<String>,
    },
    /// What customers did next after the same kind of trip.
    Peers {
        /// The customer's last kind of trip.
        after: ProductType,
        /// The kind of trip peers most often took next.
        product_type: ProductType,
        /// Its share of the transitions, in basis points.
        share_bp: u32,
    },
    /// The most popular trip in the coming month.
    Season {
        /// Calendar month, 1..=12.
        month: u32,
        /// The popular kind of trip.
        product_type: ProductType,
        /// Its destination, if recorded.
        destination: Option<String>,
    },
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn percent(bp: u32) -> String {
    BasisPoints::new(bp).unwrap_or(BasisPoints::FULL).to_string()
}

impl Reason {
    /// The reason in Chinese, e.g. "登记的出行意向：云南（春节）".
    pub fn text_zh(&self) -> String {
        match self {
            Reason::Intention { destination, period: Some(p) } => format!("登记的出行意向：{destination}（{p}）"),
            Reason::Intention { destination, period: None } => format!("登记的出行意向：{destination}"),
            Reason::Habit { product_type, times, destination } => {
                let t = product_type.label_zh();
                match destination {
                    Some(d) => format!("以往出行以{t}为主（{times} 次，多去{d}）"),
                    None => format!("以往出行以{t}为主（{times} 次）"),
                }
            }
            Reason::Peers { after, product_type, share_bp } => format!(
                "同类客户在{}之后多选择{}（占 {}）",
                after.label_zh(),
                product_type.label_zh(),
                percent(*share_bp)
            ),
            Reason::Season { month, product_type, destination } => match destination {
                Some(d) => format!("{month} 月份热门：{d} {}", product_type.label_zh()),
                None => format!("{month} 月份热门：{}", product_type.label_zh()),
            },
        }
    }

    /// The reason in English, e.g. "Stated travel intention: 云南 (春节)".
    pub fn text_en(&self) -> String {
        match self {
            Reason::Intention { destination, period: Some(p) } => {
                format!("Stated travel intention: {destination} ({p})")
            }
            Reason::Intention { destination, period: None } => format!("Stated travel intention: {destination}"),
            Reason::Habit { product_type, times, destination } => {
                let t = product_type.label_en();
                match destination {
                    Some(d) => format!("Mostly {t} trips so far ({times} times, mostly to {d})"),
                    None => format!("Mostly {t} trips so far ({times} times)"),
                }
            }
            Reason::Peers { after, product_type, share_bp } => format!(
                "After {}, similar customers most often chose {} ({})",
                after.label_en(),
                product_type.label_en(),
                percent(*share_bp)
            ),
            Reason::Season { month, product_type, destination } => {
                let m = MONTHS_EN.get((*month as usize).wrapping_sub(1)).copied().unwrap_or("?");
                match destination {
                    Some(d) => format!("Popular in {m}: {d} {}", product_type.label_en()),
                    None => format!("Popular in {m}: {}", product_type.label_en()),
                }
            }
        }
    }
}

/// The likely direction of the customer's next trip, by the first rule that
/// applies:
///
/// 1. **Intention**: the first open stated intention with a destination (the
///    caller passes open intentions only, most relevant first).
/// 2. **Habit**: a product type that is at least two trips and at least half
///    of all trips, with its most frequent destination. Ties on count go to
///    the type (or destination) travelled most recently.
/// 3. **Peers**: after the type of the customer's last trip, the type peers
///    most often bought next, if [`MIN_PEER_TRANSITIONS`] transitions were
///    observed from that type; the destination is the one peers most often
///    chose for that move. Ties go to the earlier type in
///    [`ProductType::ALL`] and the first destination in string order.
/// 4. **Season**: the most popular (type, destination) among all trips in
///    the calendar month of `as_of` + [`SEASON_LOOKAHEAD_DAYS`].
///
/// `None` when nothing is known. `trips` may be in any order; nothing is
/// allocated but the answer.
pub fn likely(trips: &[Trip], intentions: &[Intention], as_of: NaiveDate, peers: &Peers) -> Option<Direction> {
    if let Some(i) = intentions.iter().find(|i| clean(Some(i.destination)).is_some()) {
        let destination = i.destination.trim().to_owned();
        let period = clean(i.period).map(str::to_owned);
        return Some(Direction {
            product_type: None,
            destination: Some(destination.clone()),
            reason: Reason::Intention { destination, period },
        });
    }
    if let Some(d) = habit(trips) {
        return Some(d);
    }
    if let Some(d) = from_peers(trips, peers) {
        return Some(d);
    }
    from_season(as_of, peers)
}

/// Position of the most recent trip among `trips` matching `keep`: latest
/// day, and the later in input order on the same day.
fn latest(trips: &[Trip], keep: impl Fn(&Trip) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, t) in trips.iter().enumerate() {
        if keep(t) && best.is_none_or(|b| t.day >= trips[b].day) {
            best = Some(i);
        }
    }
    best
}

fn habit(trips: &[Trip]) -> Option<Direction> {
    let mut counts = [0u32; TYPES];
    for t in trips {
        counts[type_index(t.product_type)] += 1;
    }
    let total = trips.len() as u32;
    let qualifies = |t: &Trip| {
        let c = counts[type_index(t.product_type)];
        c >= 2 && 2 * c >= total
    };
    let top = trips.iter().filter(|t| qualifies(t)).map(|t| counts[type_index(t.product_type)]).max()?;
    let last = latest(trips, |t| qualifies(t) && counts[type_index(t.product_type)] == top)?;
    let product_type = trips[last].product_type;
    // The most frequent destination of this type, the most recent on ties:
    // per destination its count and its latest trip (by day, then input
    // order), in one pass (a regular has hundreds of trips).
    let mut per_destination: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, t) in trips.iter().enumerate() {
        let Some(d) = clean(t.destination).filter(|_| t.product_type == product_type) else {
            continue;
        };
        let (count, latest) = per_destination.entry(d).or_insert((0, i));
        *count += 1;
        if t.day >= trips[*latest].day {
            *latest = i;
        }
    }
    let destination =
        per_destination.into_iter().max_by_key(|&(_, (count, i))| (count, trips[i].day, i)).map(|(d, _)| d.to_owned());
    Some(Direction {
        product_type: Some(product_type),
        destination: destination.clone(),
        reason: Reason::Habit { product_type, times: top, destination },
    })
}

fn from_peers(trips: &[Trip], peers: &Peers) -> Option<Direction> {
    let after = trips[latest(trips, |_| true)?].product_type;
    let x = type_index(after);
    let row = &peers.transitions[x];
    let total: u64 = row.iter().map(|&c| u64::from(c)).sum();
    if total < u64::from(MIN_PEER_TRANSITIONS) {
        return None;
    }
    // max_by_key keeps the last maximum; walk in reverse to keep the first.
    let (y, &count) = row.iter().enumerate().rev().max_by_key(|&(_, c)| *c)?;
    let share_bp = ((u64::from(count) * 10_000 + total / 2) / total) as u32;
    let product_type = ProductType::ALL[y];
    let destination = peers.name(peers.best_next_destination[x][y].map(|(id, _)| id));
    Some(Direction {
        product_type: Some(product_type),
        destination,
        reason: Reason::Peers { after, product_type, share_bp },
    })
}

fn from_season(as_of: NaiveDate, peers: &Peers) -> Option<Direction> {
    let ahead = as_of.checked_add_days(Days::new(SEASON_LOOKAHEAD_DAYS)).unwrap_or(as_of);
    let ((t, dest), _) = peers.best_season[ahead.month0() as usize]?;
    let product_type = ProductType::ALL[usize::from(t)];
    let destination = peers.name(dest);
    Some(Direction {
        product_type: Some(product_type),
        destination: destination.clone(),
        reason: Reason::Season { month: ahead.month(), product_type, destination },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProductType::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn trip<'a>(day: &str, product_type: ProductType, destination: Option<&'a str>) -> Trip<'a> {
        Trip { day: d(day), product_type, destination }
    }

    fn peers_with(n: usize, pairs: &[(Trip<'static>, Trip<'static>)]) -> Peers {
        let mut p = Peers::default();
        for _ in 0..n {
            for (a, b) in pairs {
                p.add_customer(&[*a, *b]);
            }
        }
        p
    }

    #[test]
    fn a_stated_intention_wins() {
        let trips = [trip("2024-01-01", International, Some("日本")), trip("2024-06-01", International, Some("日本"))];
        let intentions = [
            Intention { destination: "  ", period: Some("暑假") },
            Intention { destination: " 云南 ", period: Some("春节") },
            Intention { destination: "西藏", period: None },
        ];
        let got = likely(&trips, &intentions, d("2024-12-01"), &Peers::default()).unwrap();
        assert_eq!(got.product_type, None);
        assert_eq!(got.destination.as_deref(), Some("云南"));
        assert_eq!(got.reason.text_zh(), "登记的出行意向：云南（春节）");
        assert_eq!(got.reason.text_en(), "Stated travel intention: 云南 (春节)");
        assert_eq!(got.short_code(), "/云南");
        let got = likely(&[], &intentions[2..], d("2024-12-01"), &Peers::default()).unwrap();
        assert_eq!(got.reason.text_zh(), "登记的出行意向：西藏");
        let blank_period = [Intention { destination: "西藏", period: Some(" ") }];
        let got = likely(&[], &blank_period, d("2024-12-01"), &Peers::default()).unwrap();
        assert_eq!(got.reason, Reason::Intention { destination: "西藏".into(), period: None });
    }

    #[test]
    fn a_habit_needs_two_trips_and_half_of_them() {
        let p = Peers::default();
        let as_of = d("2024-12-01");
        let trips = [
            trip("2023-02-01", International, Some("日本")),
            trip("2023-05-01", LongHaul, Some("云南")),
            trip("2024-02-01", International, Some("泰国")),
            trip("2024-03-01", International, Some("日本")),
        ];
        let got = likely(&trips, &[], as_of, &p).unwrap();
        assert_eq!(got.product_type, Some(International));
        assert_eq!(got.destination.as_deref(), Some("日本"));
        assert_eq!(
            got.reason,
            Reason::Habit { product_type: International, times: 3, destination: Some("日本".into()) }
        );
        assert_eq!(got.reason.text_zh(), "以往出行以出境游为主（3 次，多去日本）");
        assert_eq!(got.short_code(), "international/日本");
        // One trip is not a habit, nor two of five.
        assert_eq!(likely(&trips[..1], &[], as_of, &p), None);
        let spread = [
            trip("2024-01-01", International, None),
            trip("2024-02-01", International, None),
            trip("2024-03-01", LongHaul, None),
            trip("2024-04-01", Nearby, None),
            trip("2024-05-01", DayTrip, None),
        ];
        assert_eq!(likely(&spread, &[], as_of, &p), None);
        // Exactly half is enough; a tie between two halves goes to the latest.
        let halves = [
            trip("2024-01-01", International, None),
            trip("2024-02-01", LongHaul, Some("海南")),
            trip("2024-03-01", International, None),
            trip("2024-04-01", LongHaul, None),
        ];
        let got = likely(&halves, &[], as_of, &p).unwrap();
        assert_eq!(got.reason, Reason::Habit { product_type: LongHaul, times: 2, destination: Some("海南".into()) });
        // Input order does not matter.
        let mut reversed = halves;
        reversed.reverse();
        assert_eq!(likely(&reversed, &[], as_of, &p), Some(got));
        // Destination ties go to the latest trip; no destination at all is fine.
        let tie = [trip("2024-01-01", Nearby, Some("苏州")), trip("2024-02-01", Nearby, Some("杭州"))];
        assert_eq!(likely(&tie, &[], as_of, &p).unwrap().destination.as_deref(), Some("杭州"));
        // A regular with hundreds of trips: the most frequent destination
        // wins over the latest one, whatever the input order.
        let places = ["苏州", "杭州", "南京"];
        let start: NaiveDate = "2020-01-01".parse().unwrap();
        let days: Vec<String> = (0..601).map(|k| (start + chrono::Duration::days(k)).to_string()).collect();
        let mut many: Vec<Trip> = (0..600).map(|k| trip(&days[k + 1], Nearby, Some(places[k % 3]))).collect();
        many.push(trip(&days[0], Nearby, Some(" 苏州 ")));
        assert_eq!(likely(&many, &[], as_of, &p).unwrap().destination.as_deref(), Some("苏州"));
        many.reverse();
        assert_eq!(likely(&many, &[], as_of, &p).unwrap().destination.as_deref(), Some("苏州"));
        let bare = [trip("2024-01-01", Nearby, None), trip("2024-02-01", Nearby, Some(" "))];
        let got = likely(&bare, &[], as_of, &p).unwrap();
        assert_eq!(got.destination, None);
        assert_eq!(got.short_code(), "nearby");
        assert_eq!(got.reason.text_zh(), "以往出行以周边游为主（2 次）");
    }

    #[test]
    fn peers_speak_after_enough_transitions() {
        let lh = trip("2024-01-01", LongHaul, Some("云南"));
        let intl_jp = trip("2024-05-01", International, Some("日本"));
        let intl_th = trip("2024-05-01", International, Some("泰国"));
        let nearby = trip("2024-05-01", Nearby, None);
        // 19 transitions from long-haul: not enough.
        let mut pairs = vec![(lh, intl_jp); 8];
        pairs.extend([(lh, intl_th); 3]);
        pairs.extend([(lh, nearby); 8]);
        let p = peers_with(1, &pairs);
        assert_eq!(p.transitions_after(LongHaul).iter().sum::<u32>(), 19);
        let me = [trip("2024-03-01", LongHaul, Some("西藏"))];
        // So the season rule answers: May, where Nearby (8) ties International to 日本 (8).
        let as_of = d("2024-04-15");
        let got = likely(&me, &[], as_of, &p).unwrap();
        assert_eq!(got.reason, Reason::Season { month: 5, product_type: Nearby, destination: None });
        // The 20th makes International 12 of 20.
        let mut p2 = p.clone();
        p2.add_customer(&[lh, intl_jp]);
        let got = likely(&me, &[], as_of, &p2).unwrap();
        assert_eq!(got.reason, Reason::Peers { after: LongHaul, product_type: International, share_bp: 6_000 });
        assert_eq!(got.destination.as_deref(), Some("日本"));
        assert_eq!(got.reason.text_zh(), "同类客户在国内长线之后多选择出境游（占 60%）");
        assert_eq!(
            got.reason.text_en(),
            "After Domestic long-haul, similar customers most often chose International (60%)"
        );
        // Only the customer's last trip matters.
        let me = [trip("2024-03-01", LongHaul, None), trip("2023-03-01", Nearby, None)];
        assert!(matches!(likely(&me, &[], as_of, &p2).unwrap().reason, Reason::Peers { after: LongHaul, .. }));
    }

    #[test]
    fn peer_ties_are_deterministic() {
        let lh = trip("2024-01-01", LongHaul, None);
        // Nearby comes before International in ProductType::ALL.
        let pairs = [(lh, trip("2024-02-01", International, Some("日本"))), (lh, trip("2024-02-01", Nearby, None))];
        let p = peers_with(10, &pairs);
        let got = likely(&[lh], &[], d("2024-06-01"), &p).unwrap();
        assert_eq!(got.reason, Reason::Peers { after: LongHaul, product_type: Nearby, share_bp: 5_000 });
        // Destination ties go to string order whatever the arrival order.
        for order in [["日本", "韩国"], ["韩国", "日本"]] {
            let mut p = Peers::default();
            for _ in 0..10 {
                for dest in order {
                    p.add_customer(&[lh, trip("2024-02-01", International, Some(dest))]);
                }
            }
            let got = likely(&[lh], &[], d("2024-06-01"), &p).unwrap();
            assert_eq!(got.destination.as_deref(), Some("日本"));
            assert_eq!(got.short_code(), "international/日本");
        }
    }

    #[test]
    fn season_looks_a_month_ahead() {
        let mut p = Peers::default();
        for _ in 0..3 {
            p.add_customer(&[trip("2023-12-20", LongHaul, Some("海南"))]);
        }
        p.add_customer(&[trip("2022-12-01", International, Some("日本")), trip("2023-12-02", Nearby, None)]);
        p.add_customer(&[trip("2023-11-10", Nearby, Some("苏州"))]);
        // 2024-11-15 + 30 days is in December.
        let got = likely(&[], &[], d("2024-11-15"), &p).unwrap();
        assert_eq!(got.reason, Reason::Season { month: 12, product_type: LongHaul, destination: Some("海南".into()) });
        assert_eq!(got.reason.text_zh(), "12 月份热门：海南 国内长线");
        assert_eq!(got.reason.text_en(), "Popular in December: 海南 Domestic long-haul");
        assert_eq!(got.short_code(), "long_haul/海南");
        // 2024-10-01 + 30 days is still October: nothing known.
        assert_eq!(likely(&[], &[], d("2024-10-01"), &p), None);
        let got = likely(&[], &[], d("2024-10-20"), &p).unwrap();
        assert_eq!(got.reason.text_zh(), "11 月份热门：苏州 周边游");
        // Across the year end.
        let got = likely(&[], &[], d("2024-12-31"), &p);
        assert_eq!(got, None);
    }

    #[test]
    fn season_ties_and_missing_destinations() {
        let mut p = Peers::default();
        p.add_customer(&[trip("2024-07-01", International, Some("日本"))]);
        p.add_customer(&[trip("2024-07-01", Nearby, None)]);
        p.add_customer(&[trip("2024-07-01", International, Some("泰国"))]);
        // All count 1: Nearby is earlier in ProductType::ALL.
        let got = likely(&[], &[], d("2024-06-10"), &p).unwrap();
        assert_eq!(got.reason, Reason::Season { month: 7, product_type: Nearby, destination: None });
        assert_eq!(got.reason.text_zh(), "7 月份热门：周边游");
        // Ranking by count overrides the order.
        p.add_customer(&[trip("2023-07-05", International, Some("泰国"))]);
        let got = likely(&[], &[], d("2024-06-10"), &p).unwrap();
        assert_eq!(got.destination.as_deref(), Some("泰国"));
    }

    #[test]
    fn unsorted_trips_make_the_same_transitions() {
        let a = [
            trip("2024-01-01", Nearby, None),
            trip("2024-02-01", LongHaul, Some("云南")),
            trip("2024-03-01", International, Some("日本")),
        ];
        let b = [a[2], a[0], a[1]];
        let (mut pa, mut pb) = (Peers::default(), Peers::default());
        pa.add_customer(&a);
        pb.add_customer(&b);
        assert_eq!(pa.transitions, pb.transitions);
        assert_eq!(pa.transitions_after(Nearby)[type_index(LongHaul)], 1);
        assert_eq!(pa.transitions_after(LongHaul)[type_index(International)], 1);
        assert_eq!(pa.transitions_after(International).iter().sum::<u32>(), 0);
        // Destinations are stored once.
        pa.add_customer(&a);
        assert_eq!(pa.names.len(), 2);
        pa.add_customer(&[]);
    }

    #[test]
    fn nothing_known_is_none() {
        assert_eq!(likely(&[], &[], d("2024-01-01"), &Peers::default()), None);
        let direction = Direction {
            product_type: None,
            destination: None,
            reason: Reason::Intention { destination: String::new(), period: None },
        };
        assert_eq!(direction.short_code(), "");
    }
}
