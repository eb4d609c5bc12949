//! A deterministic generator of realistic synthetic Chinese customers, and a
//! streaming CSV writer for them in UTF-8 or GBK.
//!
//! The same seed gives the same rows on every machine and every version of
//! the dependencies: the generator uses its own SplitMix64 stream rather than
//! a library RNG whose algorithm may change.
//!
//! Rows come one at a time from an iterator, so a file of any size is written
//! without holding its rows in memory. The only state that grows is the set of
//! ID-card numbers already issued (one `u64` per number), kept so that no
//! number repeats; mobiles and e-mail addresses are unique by construction.

use chrono::{Days, NaiveDate};
use domain::customer::{CustomerKind, Gender, SourceChannel};
use std::collections::HashSet;
use std::io::{self, Write};

// ---------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified here,
/// so a seed means the same rows forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`). Multiply-shift: the bias is below 2⁻³²
    /// for the small ranges used here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice, uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A table of weighted choices with its cumulative weights, built once.
struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T: Copy> Weighted<T> {
    fn new(choices: impl IntoIterator<Item = (T, u32)>) -> Weighted<T> {
        let mut total = 0u64;
        let (items, cumulative) = choices
            .into_iter()
            .map(|(item, w)| {
                total += u64::from(w);
                (item, total)
            })
            .unzip();
        Weighted { items, cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> T {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let r = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= r);
        self.items[i]
    }
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// Surnames with their approximate share of the population in units of
/// 0.01 % (2020 census order: 王 李 张 刘 陈 …), and a few compound ones.
pub const SURNAMES: &[(&str, u32)] = &[
    ("王", 710),
    ("李", 700),
    ("张", 670),
    ("刘", 540),
    ("陈", 460),
    ("杨", 310),
    ("黄", 250),
    ("赵", 230),
    ("吴", 200),
    ("周", 190),
    ("徐", 160),
    ("孙", 150),
    ("马", 140),
    ("朱", 130),
    ("胡", 130),
    ("郭", 120),
    ("何", 120),
    ("林", 110),
    ("高", 110),
    ("罗", 100),
    ("郑", 90),
    ("梁", 90),
    ("谢", 80),
    ("宋", 80),
    ("唐", 80),
    ("许", 70),
    ("韩", 70),
    ("冯", 70),
    ("邓", 70),
    ("曹", 60),
    ("彭", 60),
    ("曾", 60),
    ("肖", 60),
    ("田", 50),
    ("董", 50),
    ("潘", 50),
    ("袁", 50),
    ("蔡", 50),
    ("蒋", 50),
    ("余", 50),
    ("于", 50),
    ("杜", 40),
    ("叶", 40),
    ("程", 40),
    ("魏", 40),
    ("苏", 40),
    ("吕", 40),
    ("丁", 40),
    ("任", 40),
    ("卢", 30),
    ("姚", 30),
    ("沈", 30),
    ("钟", 30),
    ("姜", 30),
    ("崔", 30),
    ("谭", 30),
    ("陆", 30),
    ("范", 30),
    ("汪", 30),
    ("廖", 30),
    ("石", 30),
    ("金", 30),
    ("韦", 30),
    ("贾", 30),
    ("夏", 20),
    ("付", 20),
    ("方", 20),
    ("邹", 20),
    ("熊", 20),
    ("白", 20),
    ("孟", 20),
    ("秦", 20),
    ("邱", 20),
    ("侯", 20),
    ("江", 20),
    ("尹", 20),
    ("薛", 20),
    ("闫", 20),
    ("段", 20),
    ("雷", 20),
    ("龙", 20),
    ("黎", 20),
    ("史", 20),
    ("陶", 20),
    ("贺", 20),
    ("毛", 20),
    ("郝", 20),
    ("顾", 20),
    ("龚", 20),
    ("邵", 20),
    ("万", 20),
    ("覃", 20),
    ("武", 20),
    ("钱", 20),
    ("戴", 20),
    ("严", 20),
    ("莫", 20),
    ("孔", 20),
    ("向", 20),
    ("常", 20),
    ("欧阳", 5),
    ("司马", 1),
    ("诸葛", 1),
    ("上官", 1),
];

/// First characters of two-character given names, by gender.
const GIVEN_FIRST_MALE: &[&str] = &[
    "建", "志", "国", "文", "俊", "子", "家", "明", "宇", "浩", "海", "永", "德", "立", "世", "振", "天", "嘉", "博",
    "晓",
];
const GIVEN_FIRST_FEMALE: &[&str] = &[
    "晓", "丽", "美", "秀", "玉", "雅", "思", "欣", "婉", "佳", "梦", "雨", "海", "春", "淑", "静", "嘉", "子", "诗",
    "慧",
];
/// Last (or only) characters of given names, by gender.
const GIVEN_LAST_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波", "斌",
    "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "峰", "东", "亮", "成", "晨", "博", "然", "轩",
    "荣", "斌",
];
const GIVEN_LAST_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "燕", "婷", "雪", "慧", "莹", "琳", "晶", "颖", "倩",
    "洁", "红", "梅", "兰", "英", "佳", "欣", "怡", "萍", "丹", "蕾", "璐", "琪", "思", "雨", "梦", "涵", "悦", "瑶",
    "雯", "薇",
];

/// A city (or, in the four municipalities, a district) with its GB/T 2260
/// code: four digits for a prefecture-level city (a district number is added
/// for ID cards), six for a municipal district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct City {
    /// Official name: `杭州市`, `朝阳区`, `延边朝鲜族自治州`.
    pub name: &'static str,
    /// GB/T 2260 code prefix (4 or 6 digits).
    pub code: &'static str,
    /// The short name used in company and institution names: `杭州`, `延边`.
    pub short: &'static str,
}

/// A province-level division with its GB/T 2260 code, a weight for how many
/// customers come from it (about its population in millions), and 3–6 of its
/// real cities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Province {
    /// Official name: `浙江省`, `北京市`, `广西壮族自治区`.
    pub name: &'static str,
    /// Two-digit code: the first two digits of an ID-card number.
    pub code: &'static str,
    /// Relative share of customers.
    pub weight: u32,
    /// Its cities (districts for a municipality).
    pub cities: &'static [City],
}

macro_rules! cities {
    ($(($name:literal, $code:literal, $short:literal)),+ $(,)?) => {
        &[$(City { name: $name, code: $code, short: $short }),+]
    };
}

/// The 31 mainland province-level divisions.
pub const PROVINCES: &[Province] = &[
    Province {
        name: "北京市",
        code: "11",
        weight: 22,
        cities: cities![
            ("东城区", "110101", "北京"),
            ("西城区", "110102", "北京"),
            ("朝阳区", "110105", "北京"),
            ("丰台区", "110106", "北京"),
            ("海淀区", "110108", "北京"),
        ],
    },
    Province {
        name: "天津市",
        code: "12",
        weight: 14,
        cities: cities![
            ("和平区", "120101", "天津"),
            ("河东区", "120102", "天津"),
            ("河西区", "120103", "天津"),
            ("南开区", "120104", "天津"),
            ("滨海新区", "120116", "天津"),
        ],
    },
    Province {
        name: "河北省",
        code: "13",
        weight: 75,
        cities: cities![
            ("石家庄市", "1301", "石家庄"),
            ("唐山市", "1302", "唐山"),
            ("秦皇岛市", "1303", "秦皇岛"),
            ("邯郸市", "1304", "邯郸"),
            ("保定市", "1306", "保定"),
            ("廊坊市", "1310", "廊坊"),
        ],
    },
    Province {
        name: "山西省",
        code: "14",
        weight: 35,
        cities: cities![
            ("太原市", "1401", "太原"),
            ("大同市", "1402", "大同"),
            ("长治市", "1404", "长治"),
            ("晋中市", "1407", "晋中"),
            ("运城市", "1408", "运城"),
        ],
    },
    Province {
        name: "内蒙古自治区",
        code: "15",
        weight: 24,
        cities: cities![
            ("呼和浩特市", "1501", "呼和浩特"),
            ("包头市", "1502", "包头"),
            ("赤峰市", "1504", "赤峰"),
            ("鄂尔多斯市", "1506", "鄂尔多斯"),
        ],
    },
    Province {
        name: "辽宁省",
        code: "21",
        weight: 43,
        cities: cities![
            ("沈阳市", "2101", "沈阳"),
            ("大连市", "2102", "大连"),
            ("鞍山市", "2103", "鞍山"),
            ("丹东市", "2106", "丹东"),
            ("锦州市", "2107", "锦州"),
        ],
    },
    Province {
        name: "吉林省",
        code: "22",
        weight: 24,
        cities: cities![
            ("长春市", "2201", "长春"),
            ("吉林市", "2202", "吉林"),
            ("四平市", "2203", "四平"),
            ("延边朝鲜族自治州", "2224", "延边"),
        ],
    },
    Province {
        name: "黑龙江省",
        code: "23",
        weight: 31,
        cities: cities![
            ("哈尔滨市", "2301", "哈尔滨"),
            ("齐齐哈尔市", "2302", "齐齐哈尔"),
            ("大庆市", "2306", "大庆"),
            ("佳木斯市", "2308", "佳木斯"),
            ("牡丹江市", "2310", "牡丹江"),
        ],
    },
    Province {
        name: "上海市",
        code: "31",
        weight: 25,
        cities: cities![
            ("黄浦区", "310101", "上海"),
            ("徐汇区", "310104", "上海"),
            ("长宁区", "310105", "上海"),
            ("静安区", "310106", "上海"),
            ("闵行区", "310112", "上海"),
            ("浦东新区", "310115", "上海"),
        ],
    },
    Province {
        name: "江苏省",
        code: "32",
        weight: 85,
        cities: cities![
            ("南京市", "3201", "南京"),
            ("无锡市", "3202", "无锡"),
            ("徐州市", "3203", "徐州"),
            ("常州市", "3204", "常州"),
            ("苏州市", "3205", "苏州"),
            ("扬州市", "3210", "扬州"),
        ],
    },
    Province {
        name: "浙江省",
        code: "33",
        weight: 65,
        cities: cities![
            ("杭州市", "3301", "杭州"),
            ("宁波市", "3302", "宁波"),
            ("温州市", "3303", "温州"),
            ("嘉兴市", "3304", "嘉兴"),
            ("绍兴市", "3306", "绍兴"),
            ("金华市", "3307", "金华"),
        ],
    },
    Province {
        name: "安徽省",
        code: "34",
        weight: 61,
        cities: cities![
            ("合肥市", "3401", "合肥"),
            ("芜湖市", "3402", "芜湖"),
            ("蚌埠市", "3403", "蚌埠"),
            ("安庆市", "3408", "安庆"),
            ("黄山市", "3410", "黄山"),
        ],
    },
    Province {
        name: "福建省",
        code: "35",
        weight: 42,
        cities: cities![
            ("福州市", "3501", "福州"),
            ("厦门市", "3502", "厦门"),
            ("莆田市", "3503", "莆田"),
            ("泉州市", "3505", "泉州"),
            ("漳州市", "3506", "漳州"),
        ],
    },
    Province {
        name: "江西省",
        code: "36",
        weight: 45,
        cities: cities![
            ("南昌市", "3601", "南昌"),
            ("景德镇市", "3602", "景德镇"),
            ("九江市", "3604", "九江"),
            ("赣州市", "3607", "赣州"),
            ("上饶市", "3611", "上饶"),
        ],
    },
    Province {
        name: "山东省",
        code: "37",
        weight: 102,
        cities: cities![
            ("济南市", "3701", "济南"),
            ("青岛市", "3702", "青岛"),
            ("淄博市", "3703", "淄博"),
            ("烟台市", "3706", "烟台"),
            ("潍坊市", "3707", "潍坊"),
            ("威海市", "3710", "威海"),
        ],
    },
    Province {
        name: "河南省",
        code: "41",
        weight: 99,
        cities: cities![
            ("郑州市", "4101", "郑州"),
            ("开封市", "4102", "开封"),
            ("洛阳市", "4103", "洛阳"),
            ("新乡市", "4107", "新乡"),
            ("南阳市", "4113", "南阳"),
        ],
    },
    Province {
        name: "湖北省",
        code: "42",
        weight: 58,
        cities: cities![
            ("武汉市", "4201", "武汉"),
            ("黄石市", "4202", "黄石"),
            ("十堰市", "4203", "十堰"),
            ("宜昌市", "4205", "宜昌"),
            ("襄阳市", "4206", "襄阳"),
            ("荆州市", "4210", "荆州"),
        ],
    },
    Province {
        name: "湖南省",
        code: "43",
        weight: 66,
        cities: cities![
            ("长沙市", "4301", "长沙"),
            ("株洲市", "4302", "株洲"),
            ("湘潭市", "4303", "湘潭"),
            ("衡阳市", "4304", "衡阳"),
            ("岳阳市", "4306", "岳阳"),
            ("张家界市", "4308", "张家界"),
        ],
    },
    Province {
        name: "广东省",
        code: "44",
        weight: 127,
        cities: cities![
            ("广州市", "4401", "广州"),
            ("深圳市", "4403", "深圳"),
            ("珠海市", "4404", "珠海"),
            ("汕头市", "4405", "汕头"),
            ("佛山市", "4406", "佛山"),
            ("东莞市", "4419", "东莞"),
        ],
    },
    Province {
        name: "广西壮族自治区",
        code: "45",
        weight: 50,
        cities: cities![
            ("南宁市", "4501", "南宁"),
            ("柳州市", "4502", "柳州"),
            ("桂林市", "4503", "桂林"),
            ("北海市", "4505", "北海"),
        ],
    },
    Province {
        name: "海南省",
        code: "46",
        weight: 10,
        cities: cities![("海口市", "4601", "海口"), ("三亚市", "4602", "三亚"), ("儋州市", "4604", "儋州")],
    },
    Province {
        name: "重庆市",
        code: "50",
        weight: 32,
        cities: cities![
            ("万州区", "500101", "重庆"),
            ("渝中区", "500103", "重庆"),
            ("江北区", "500105", "重庆"),
            ("沙坪坝区", "500106", "重庆"),
            ("九龙坡区", "500107", "重庆"),
            ("渝北区", "500112", "重庆"),
        ],
    },
    Province {
        name: "四川省",
        code: "51",
        weight: 84,
        cities: cities![
            ("成都市", "5101", "成都"),
            ("自贡市", "5103", "自贡"),
            ("攀枝花市", "5104", "攀枝花"),
            ("泸州市", "5105", "泸州"),
            ("绵阳市", "5107", "绵阳"),
            ("乐山市", "5111", "乐山"),
        ],
    },
    Province {
        name: "贵州省",
        code: "52",
        weight: 39,
        cities: cities![
            ("贵阳市", "5201", "贵阳"),
            ("六盘水市", "5202", "六盘水"),
            ("遵义市", "5203", "遵义"),
            ("安顺市", "5204", "安顺"),
        ],
    },
    Province {
        name: "云南省",
        code: "53",
        weight: 47,
        cities: cities![
            ("昆明市", "5301", "昆明"),
            ("曲靖市", "5303", "曲靖"),
            ("玉溪市", "5304", "玉溪"),
            ("丽江市", "5307", "丽江"),
            ("西双版纳傣族自治州", "5328", "西双版纳"),
            ("大理白族自治州", "5329", "大理"),
        ],
    },
    Province {
        name: "西藏自治区",
        code: "54",
        weight: 4,
        cities: cities![("拉萨市", "5401", "拉萨"), ("日喀则市", "5402", "日喀则"), ("林芝市", "5404", "林芝")],
    },
    Province {
        name: "陕西省",
        code: "61",
        weight: 40,
        cities: cities![
            ("西安市", "6101", "西安"),
            ("铜川市", "6102", "铜川"),
            ("宝鸡市", "6103", "宝鸡"),
            ("咸阳市", "6104", "咸阳"),
            ("延安市", "6106", "延安"),
        ],
    },
    Province {
        name: "甘肃省",
        code: "62",
        weight: 25,
        cities: cities![
            ("兰州市", "6201", "兰州"),
            ("嘉峪关市", "6202", "嘉峪关"),
            ("天水市", "6205", "天水"),
            ("酒泉市", "6209", "酒泉"),
        ],
    },
    Province {
        name: "青海省",
        code: "63",
        weight: 6,
        cities: cities![
            ("西宁市", "6301", "西宁"),
            ("海东市", "6302", "海东"),
            ("海西蒙古族藏族自治州", "6328", "海西")
        ],
    },
    Province {
        name: "宁夏回族自治区",
        code: "64",
        weight: 7,
        cities: cities![
            ("银川市", "6401", "银川"),
            ("石嘴山市", "6402", "石嘴山"),
            ("吴忠市", "6403", "吴忠"),
            ("固原市", "6404", "固原"),
        ],
    },
    Province {
        name: "新疆维吾尔自治区",
        code: "65",
        weight: 26,
        cities: cities![
            ("乌鲁木齐市", "6501", "乌鲁木齐"),
            ("克拉玛依市", "6502", "克拉玛依"),
            ("吐鲁番市", "6504", "吐鲁番"),
            ("哈密市", "6505", "哈密"),
            ("喀什地区", "6531", "喀什"),
        ],
    },
];

/// Mobile prefixes in real use by China Mobile, Unicom, Telecom and Broadnet.
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "193", "195",
    "196", "197", "198", "199",
];

/// How customers first came, weighted the way a high-street agency sees it.
const SOURCES: &[(SourceChannel, u32)] = &[
    (SourceChannel::Referral, 25),
    (SourceChannel::Wechat, 20),
    (SourceChannel::WalkIn, 15),
    (SourceChannel::Website, 15),
    (SourceChannel::Partner, 8),
    (SourceChannel::Campaign, 7),
    (SourceChannel::NewspaperAd, 4),
    (SourceChannel::TvAd, 3),
    (SourceChannel::RadioAd, 2),
    (SourceChannel::Other, 1),
];

const KINDS: &[(CustomerKind, u32)] =
    &[(CustomerKind::Individual, 92), (CustomerKind::Organization, 6), (CustomerKind::Partner, 2)];

/// Free labels a salesperson puts on customers.
pub const TAGS: &[&str] =
    &["VIP", "亲子", "老年团", "摄影爱好者", "蜜月", "商务", "学生", "自由行", "高端", "海岛", "自驾", "美食", "户外"];

const BRANDS: &[&str] = &[
    "恒达", "华信", "金诚", "宏远", "鼎盛", "天成", "博雅", "瑞丰", "嘉禾", "汇通", "中联", "星辰", "盛世", "远航",
    "和泰", "安信", "长青", "润泽", "佳和", "新源", "东升", "聚贤", "德隆", "万顺",
];
const INDUSTRIES: &[&str] = &[
    "科技",
    "贸易",
    "建设",
    "医药",
    "教育科技",
    "文化传媒",
    "电子",
    "机械",
    "食品",
    "物流",
    "置业",
    "服饰",
    "化工",
    "网络科技",
    "餐饮管理",
    "实业",
];
const BANKS: &[&str] = &["中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "招商银行", "交通银行"];
const ORDINALS: &[&str] = &["一", "二", "三", "四", "五", "六"];
const MAIL_DOMAINS: &[&str] = &["163.com", "126.com", "sina.com", "sohu.com", "foxmail.com"];

/// Birthdays fall in 1950-01-01 ..= 2005-12-31.
const FIRST_BIRTHDAY: NaiveDate = match NaiveDate::from_ymd_opt(1950, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
const BIRTHDAY_SPAN_DAYS: u64 = 20_454; // 1950-01-01 ..= 2005-12-31

/// Mobile and e-mail numbers are a permutation of the row number within this
/// range: no two rows share one below this many rows.
pub const UNIQUE_ROWS: u64 = 100_000_000;

// ---------------------------------------------------------------------------
// Customers
// ---------------------------------------------------------------------------

/// One synthetic customer, as a row of the import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// `C000001` …: the stable customer code.
    pub code: String,
    /// Individual (92 %), organization (6 %) or trade partner (2 %).
    pub kind: CustomerKind,
    /// A person's name (`王建国`, `欧阳娜`) or a firm's.
    pub name: String,
    /// Male or female for a person (matching the ID card), none for a firm.
    pub gender: Option<Gender>,
    /// An 11-digit mainland mobile, unique in the file.
    pub mobile: String,
    /// An e-mail address for about a third of the people, unique in the file.
    pub email: Option<String>,
    /// 1950-01-01 ..= 2005-12-31 for a person.
    pub birthday: Option<NaiveDate>,
    /// The province.
    pub province: &'static Province,
    /// One of its cities.
    pub city: &'static City,
    /// The employer of about a third of the people.
    pub company: Option<String>,
    /// A valid 18-digit ID card number for about 40 % of the people, issued
    /// in their city, with their birthday and gender; unique in the file.
    pub id_card: Option<String>,
    /// How the customer came to us.
    pub source: SourceChannel,
    /// Zero to three tags.
    pub tags: Vec<&'static str>,
}

/// Options of the generator.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The seed: the same seed gives the same rows.
    pub seed: u64,
    /// The number in the first row's code (`1` → `C000001`).
    pub first_code: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options { seed: 2026, first_code: 1 }
    }
}

/// An endless, deterministic stream of customers; take as many as needed.
pub struct Generator {
    rng: Rng,
    row: u64,
    first_code: u64,
    // Row number → 8-digit mobile subscriber number, a bijection on
    // 0..UNIQUE_ROWS: (a·row + b) mod 10⁸ with a a unit modulo 10⁸.
    mobile_a: u64,
    mobile_b: u64,
    surnames: Weighted<&'static str>,
    provinces: Weighted<usize>,
    sources: Weighted<SourceChannel>,
    kinds: Weighted<CustomerKind>,
    issued_ids: HashSet<u64>,
}

impl Generator {
    /// A generator with the given options.
    pub fn new(options: Options) -> Generator {
        let mut rng = Rng::new(options.seed);
        // Ending in 1, 3, 7 or 9: prime to 2 and 5, so a unit modulo 10⁸.
        let mobile_a = rng.below(UNIQUE_ROWS / 10) * 10 + rng.pick(&[1, 3, 7, 9]);
        let mobile_b = rng.below(UNIQUE_ROWS);
        Generator {
            rng,
            row: 0,
            first_code: options.first_code,
            mobile_a,
            mobile_b,
            surnames: Weighted::new(SURNAMES.iter().copied()),
            provinces: Weighted::new(PROVINCES.iter().enumerate().map(|(i, p)| (i, p.weight))),
            sources: Weighted::new(SOURCES.iter().copied()),
            kinds: Weighted::new(KINDS.iter().copied()),
            issued_ids: HashSet::new(),
        }
    }

    /// A generator with [`Options::default`] and this seed.
    pub fn with_seed(seed: u64) -> Generator {
        Generator::new(Options { seed, ..Options::default() })
    }

    fn next_customer(&mut self) -> Customer {
        let row = self.row;
        self.row += 1;
        let subscriber = (self.mobile_a * (row % UNIQUE_ROWS) + self.mobile_b) % UNIQUE_ROWS;
        let mobile = format!("{}{subscriber:08}", self.rng.pick(MOBILE_PREFIXES));
        let province = &PROVINCES[self.provinces.pick(&mut self.rng)];
        let city = &province.cities[self.rng.below(province.cities.len() as u64) as usize];
        let kind = self.kinds.pick(&mut self.rng);
        let source = self.sources.pick(&mut self.rng);
        let tag_count = [0, 0, 0, 1, 1, 2, 3][self.rng.below(7) as usize];
        let mut tags: Vec<&'static str> = Vec::with_capacity(tag_count);
        while tags.len() < tag_count {
            let t = self.rng.pick(TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let mut c = Customer {
            code: domain::customer::CustomerCode::from_number(self.first_code + row).to_string(),
            kind,
            name: String::new(),
            gender: None,
            mobile,
            email: None,
            birthday: None,
            province,
            city,
            company: None,
            id_card: None,
            source,
            tags,
        };
        match kind {
            CustomerKind::Individual => self.person(&mut c, subscriber),
            CustomerKind::Organization => c.name = self.company(city),
            CustomerKind::Partner => {
                let brand = self.rng.pick(BRANDS);
                let form = if self.rng.chance(60) { "国际旅行社有限公司" } else { "旅游有限公司" };
                c.name = format!("{}{brand}{form}", city.short);
            }
        }
        c
    }

    fn person(&mut self, c: &mut Customer, subscriber: u64) {
        let male = self.rng.chance(50);
        let surname = self.surnames.pick(&mut self.rng);
        let (first, last) =
            if male { (GIVEN_FIRST_MALE, GIVEN_LAST_MALE) } else { (GIVEN_FIRST_FEMALE, GIVEN_LAST_FEMALE) };
        let mut name = String::from(surname);
        if self.rng.chance(65) {
            name.push_str(self.rng.pick(first));
        }
        name.push_str(self.rng.pick(last));
        let birthday = FIRST_BIRTHDAY + Days::new(self.rng.below(BIRTHDAY_SPAN_DAYS));
        if self.rng.chance(33) {
            c.email = Some(self.email(&name, &c.mobile, subscriber));
        }
        if self.rng.chance(35) {
            c.company = Some(self.company(c.city));
        }
        if self.rng.chance(40) {
            c.id_card = Some(self.id_card(c.city, birthday, male));
        }
        c.gender = Some(if male { Gender::Male } else { Gender::Female });
        c.birthday = Some(birthday);
        c.name = name;
    }

    /// An address made unique by the subscriber number, which is unique per row.
    fn email(&mut self, name: &str, mobile: &str, subscriber: u64) -> String {
        match self.rng.below(10) {
            // QQ numbers: 9 or 10 digits.
            0..=3 => format!("{}@qq.com", (1 + self.rng.below(30)) * UNIQUE_ROWS + subscriber),
            4..=6 => format!("{}{subscriber:08}@{}", domain::customer::to_pinyin(name).0, self.rng.pick(MAIL_DOMAINS)),
            7 => format!("{mobile}@139.com"),
            _ => format!("{mobile}@163.com"),
        }
    }

    fn company(&mut self, city: &City) -> String {
        let r = self.rng.below(100);
        match r {
            0..=74 => {
                let suffix = match self.rng.below(20) {
                    0..=15 => "有限公司",
                    16..=18 => "股份有限公司",
                    _ => "集团有限公司",
                };
                format!("{}{}{}{suffix}", city.short, self.rng.pick(BRANDS), self.rng.pick(INDUSTRIES))
            }
            75..=84 => format!("{}市第{}人民医院", city.short, self.rng.pick(ORDINALS)),
            85..=92 => format!("{}第{}中学", city.short, self.rng.pick(ORDINALS)),
            _ => format!("{}{}分行", self.rng.pick(BANKS), city.short),
        }
    }

    /// A GB 11643 number: the city's region code (a district number 02–09
    /// added to a 4-digit city code), the birthday, a sequence number that is
    /// odd for men and even for women, and the check character.
    fn id_card(&mut self, city: &City, birthday: NaiveDate, male: bool) -> String {
        loop {
            let region = if city.code.len() == 6 {
                city.code.to_string()
            } else {
                format!("{}{:02}", city.code, 2 + self.rng.below(8))
            };
            let k = 1 + self.rng.below(499);
            let seq = if male { 2 * k - 1 } else { 2 * k };
            let body = format!("{region}{}{seq:03}", birthday.format("%Y%m%d"));
            let key: u64 = body.parse().unwrap_or(0);
            if self.issued_ids.insert(key) {
                let check = id_check_char(body.as_bytes());
                return format!("{body}{}", char::from(check));
            }
        }
    }
}

impl Iterator for Generator {
    type Item = Customer;

    fn next(&mut self) -> Option<Customer> {
        Some(self.next_customer())
    }
}

/// The GB 11643-1999 check character (ISO 7064 MOD 11-2) of 17 digits.
pub fn id_check_char(first17: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    b"10X98765432"[(sum % 11) as usize]
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// The columns `keyuan import customers` recognises without a mapping step.
pub const HEADERS: [&str; 12] =
    ["编号", "姓名", "类型", "性别", "手机", "邮箱", "生日", "省份", "城市", "单位", "身份证号", "来源"];

/// The optional tags column.
pub const TAGS_HEADER: &str = "标签";

/// The character encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark, as Excel's "CSV UTF-8" writes it.
    Utf8Bom,
    /// GBK, as Excel on a Chinese Windows writes "CSV".
    Gbk,
}

impl std::str::FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Encoding, String> {
        match s.to_ascii_lowercase().as_str() {
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "utf8-bom" | "utf-8-bom" => Ok(Encoding::Utf8Bom),
            "gbk" => Ok(Encoding::Gbk),
            _ => Err(format!("{s:?} is not an encoding: use gbk, utf8 or utf8-bom")),
        }
    }
}

/// Rows are collected into text of about this size, then encoded and written.
const CHUNK: usize = 256 * 1024;

/// Writes customers as CSV (CRLF line ends, as Excel does), encoding and
/// flushing every [`CHUNK`] bytes so memory does not grow with the row count.
pub struct CsvWriter<W: Write> {
    out: W,
    encoding: Encoding,
    with_tags: bool,
    text: String,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    /// Starts a file: byte-order mark if any, and the header row.
    pub fn new(mut out: W, encoding: Encoding, with_tags: bool) -> io::Result<CsvWriter<W>> {
        if encoding == Encoding::Utf8Bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        let mut w = CsvWriter { out, encoding, with_tags, text: String::with_capacity(CHUNK + 1024), rows: 0 };
        let mut header = HEADERS.join(",");
        if with_tags {
            header.push(',');
            header.push_str(TAGS_HEADER);
        }
        w.text.push_str(&header);
        w.text.push_str("\r\n");
        Ok(w)
    }

    /// Appends one row.
    pub fn write(&mut self, c: &Customer) -> io::Result<()> {
        let birthday = c.birthday.map(|d| d.format("%Y-%m-%d").to_string());
        let fields: [&str; 12] = [
            &c.code,
            &c.name,
            c.kind.label_zh(),
            c.gender.map_or("", Gender::label_zh),
            &c.mobile,
            c.email.as_deref().unwrap_or(""),
            birthday.as_deref().unwrap_or(""),
            c.province.name,
            c.city.name,
            c.company.as_deref().unwrap_or(""),
            c.id_card.as_deref().unwrap_or(""),
            c.source.label_zh(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            push_field(&mut self.text, f);
        }
        if self.with_tags {
            self.text.push(',');
            push_field(&mut self.text, &c.tags.join(","));
        }
        self.text.push_str("\r\n");
        self.rows += 1;
        if self.text.len() >= CHUNK {
            self.flush_text()?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is buffered and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_text()?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn flush_text(&mut self) -> io::Result<()> {
        match self.encoding {
            Encoding::Utf8 | Encoding::Utf8Bom => self.out.write_all(self.text.as_bytes())?,
            Encoding::Gbk => {
                let (bytes, _, unmappable) = encoding_rs::GBK.encode(&self.text);
                if unmappable {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "a character has no GBK encoding"));
                }
                self.out.write_all(&bytes)?;
            }
        }
        self.text.clear();
        Ok(())
    }
}

/// Quotes a field when it holds a comma, quote or line break (RFC 4180).
fn push_field(out: &mut String, f: &str) {
    if f.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&f.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(f);
    }
}

/// Writes `count` customers from `generator` as CSV to `out`, calling
/// `observe` with each (for sampling search terms); returns the output.
pub fn write_csv<W: Write>(
    out: W,
    encoding: Encoding,
    with_tags: bool,
    generator: &mut Generator,
    count: u64,
    mut observe: impl FnMut(u64, &Customer),
) -> io::Result<W> {
    let mut w = CsvWriter::new(out, encoding, with_tags)?;
    for (i, c) in generator.take(count as usize).enumerate() {
        observe(i as u64, &c);
        w.write(&c)?;
    }
    w.finish()
}

/// Decodes a GBK file into UTF-8 as it reads, chunk by chunk.
pub fn gbk_to_utf8<R: io::Read, W: Write>(mut input: R, mut output: W) -> io::Result<u64> {
    let mut decoder = encoding_rs::GBK.new_decoder_without_bom_handling();
    let mut inbuf = vec![0u8; 1 << 20];
    let mut outbuf = String::with_capacity((1 << 21) + 16);
    let mut written = 0u64;
    loop {
        let n = input.read(&mut inbuf)?;
        let last = n == 0;
        let mut src = &inbuf[..n];
        loop {
            outbuf.clear();
            let (result, read, replaced) = decoder.decode_to_string(src, &mut outbuf, last);
            if replaced {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "the file is not valid GBK"));
            }
            output.write_all(outbuf.as_bytes())?;
            written += outbuf.len() as u64;
            src = &src[read..];
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
        }
        if last {
            break;
        }
    }
    output.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::customer::{parse_email, parse_mobile, IdCardNo};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default()
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_and_another_seed_others() {
        let a: Vec<Customer> = Generator::with_seed(7).take(500).collect();
        let b: Vec<Customer> = Generator::with_seed(7).take(500).collect();
        let c: Vec<Customer> = Generator::with_seed(8).take(500).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let csv = |seed| {
            write_csv(Vec::new(), Encoding::Gbk, true, &mut Generator::with_seed(seed), 300, |_, _| {})
                .unwrap_or_default()
        };
        assert_eq!(csv(7), csv(7));
    }

    #[test]
    fn every_field_is_valid_by_the_domain_parsers() {
        let rows: Vec<Customer> = Generator::with_seed(1).take(10_000).collect();
        let mut ids = 0;
        for c in &rows {
            assert_eq!(parse_mobile("mobile", &c.mobile).as_deref(), Ok(c.mobile.as_str()), "{}", c.mobile);
            assert!(MOBILE_PREFIXES.contains(&&c.mobile[..3]), "{}", c.mobile);
            if let Some(e) = &c.email {
                assert!(parse_email("email", e).is_ok(), "{e}");
            }
            assert!(domain::customer::CustomerCode::parse("code", &c.code).is_ok(), "{}", c.code);
            match c.kind {
                CustomerKind::Individual => {
                    let birthday = c.birthday.unwrap_or_default();
                    assert!(birthday >= FIRST_BIRTHDAY, "{birthday}");
                    assert!(birthday <= NaiveDate::from_ymd_opt(2005, 12, 31).unwrap_or_default(), "{birthday}");
                    let n = c.name.chars().count();
                    assert!((2..=4).contains(&n), "{}", c.name);
                    assert!(c.gender.is_some());
                }
                _ => {
                    assert!(c.birthday.is_none() && c.gender.is_none() && c.id_card.is_none());
                    assert!(c.name.starts_with(c.city.short) || c.name.contains(c.city.short), "{}", c.name);
                }
            }
            if let Some(id) = &c.id_card {
                ids += 1;
                let parsed = match IdCardNo::parse("id_card", id, today()) {
                    Ok(p) => p,
                    Err(e) => panic!("{id}: {e:?}"),
                };
                assert_eq!(Some(parsed.birth_date()), c.birthday, "{id}");
                assert_eq!(Some(parsed.gender()), c.gender, "{id}");
                assert!(id.starts_with(c.province.code) && id.starts_with(c.city.code), "{id} in {}", c.city.name);
            }
        }
        // About 92 % individuals, 40 % of whom have an ID card.
        assert!((3_000..=4_400).contains(&ids), "{ids} ID cards in 10,000 rows");
    }

    #[test]
    fn mobiles_e_mails_ids_and_codes_never_repeat() {
        let rows: Vec<Customer> = Generator::with_seed(3).take(10_000).collect();
        let unique = |f: &dyn Fn(&Customer) -> Option<String>| {
            let all: Vec<String> = rows.iter().filter_map(f).collect();
            let set: HashSet<&String> = all.iter().collect();
            (all.len(), set.len())
        };
        for (label, (n, distinct)) in [
            ("mobile", unique(&|c| Some(c.mobile.clone()))),
            ("email", unique(&|c| c.email.clone())),
            ("id", unique(&|c| c.id_card.clone())),
            ("code", unique(&|c| Some(c.code.clone()))),
        ] {
            assert_eq!(n, distinct, "{label} repeats");
        }
    }

    #[test]
    fn names_follow_the_surname_weights() {
        let rows: Vec<Customer> =
            Generator::with_seed(5).take(10_000).filter(|c| c.kind == CustomerKind::Individual).collect();
        let share = |s: &str| rows.iter().filter(|c| c.name.starts_with(s)).count() as f64 / rows.len() as f64;
        // 王 is 7.1 / 74.03 of the table's weight, about 9.6 %.
        assert!((0.08..0.115).contains(&share("王")), "王 {}", share("王"));
        assert!(share("王") > share("周") * 2.0);
        assert!(rows.iter().any(|c| c.name.starts_with("欧阳")));
        assert!(rows.iter().any(|c| c.name.chars().count() == 2));
        assert!(rows.iter().any(|c| c.name.chars().count() == 3));
    }

    #[test]
    fn provinces_and_cities_agree() {
        assert_eq!(PROVINCES.len(), 31);
        let mut codes = HashSet::new();
        for p in PROVINCES {
            assert!(codes.insert(p.code), "{} twice", p.code);
            assert!((3..=6).contains(&p.cities.len()), "{}", p.name);
            for c in p.cities {
                assert!(c.code.starts_with(p.code), "{} {} not in {}", c.name, c.code, p.name);
                assert!(matches!(c.code.len(), 4 | 6) && c.code.bytes().all(|b| b.is_ascii_digit()));
                assert!(c.name.starts_with(c.short) || c.code.len() == 6, "{}", c.name);
                assert!(c.short.chars().count() >= 2);
            }
        }
        for c in Generator::with_seed(9).take(5_000) {
            assert!(c.province.cities.contains(c.city), "{} {}", c.province.name, c.city.name);
        }
    }

    #[test]
    fn gbk_output_round_trips_and_utf8_matches_it() {
        let gbk = write_csv(Vec::new(), Encoding::Gbk, false, &mut Generator::with_seed(11), 2_000, |_, _| {})
            .unwrap_or_default();
        let utf8 = write_csv(Vec::new(), Encoding::Utf8, false, &mut Generator::with_seed(11), 2_000, |_, _| {})
            .unwrap_or_default();
        assert!(std::str::from_utf8(&gbk).is_err(), "GBK text is not valid UTF-8");
        let (decoded, _, errors) = encoding_rs::GBK.decode(&gbk);
        assert!(!errors);
        assert_eq!(decoded.as_bytes(), utf8.as_slice());
        let mut streamed = Vec::new();
        gbk_to_utf8(gbk.as_slice(), &mut streamed).unwrap_or_default();
        assert_eq!(streamed, utf8);

        let text = String::from_utf8(utf8).unwrap_or_default();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("编号,姓名,类型,性别,手机,邮箱,生日,省份,城市,单位,身份证号,来源"));
        let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 2_000);
        assert!(rows.iter().all(|r| r.split(',').count() == 12), "no field needs quoting");
        assert!(rows[0].starts_with("C000001,"));

        let bom = write_csv(Vec::new(), Encoding::Utf8Bom, false, &mut Generator::with_seed(11), 1, |_, _| {})
            .unwrap_or_default();
        assert!(bom.starts_with(&[0xEF, 0xBB, 0xBF]));
    }

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        let mut s = String::new();
        push_field(&mut s, "VIP,亲子");
        s.push(',');
        push_field(&mut s, "say \"hi\"");
        assert_eq!(s, "\"VIP,亲子\",\"say \"\"hi\"\"\"");
    }

    #[test]
    fn the_check_character_is_the_published_one() {
        // The example number of GB 11643-1999, appendix: 11010519491231002X.
        assert_eq!(id_check_char(b"11010519491231002"), b'X');
        assert_eq!(id_check_char(b"44052418800101001"), b'4');
    }
}
