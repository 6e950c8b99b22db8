//! Word lists the generator draws realistic values from: names, places, titles, pipelines.
//!
//! Names deliberately include accents, apostrophes, CJK and other scripts, because real
//! recruiting data does and every consumer of the format must cope with it. Each name comes
//! with an ASCII form used to build e-mail addresses.

/// First names as (display, ascii).
pub const FIRST_NAMES: &[(&str, &str)] = &[
    ("James", "james"), ("Mary", "mary"), ("Olivia", "olivia"), ("Liam", "liam"),
    ("Noah", "noah"), ("Emma", "emma"), ("Sophia", "sophia"), ("Lucas", "lucas"),
    ("Amelia", "amelia"), ("Mateo", "mateo"), ("José", "jose"), ("Zoë", "zoe"),
    ("Søren", "soren"), ("Siobhán", "siobhan"), ("Łukasz", "lukasz"), ("Chloé", "chloe"),
    ("François", "francois"), ("Mónica", "monica"), ("Björn", "bjorn"), ("Ana", "ana"),
    ("Priya", "priya"), ("Arjun", "arjun"), ("Aarav", "aarav"), ("Ananya", "ananya"),
    ("Wei", "wei"), ("Yuki", "yuki"), ("Hana", "hana"), ("Min-jun", "minjun"),
    ("Oluwaseun", "oluwaseun"), ("Chiamaka", "chiamaka"), ("Fatima", "fatima"),
    ("Mohammed", "mohammed"), ("Aaliyah", "aaliyah"), ("Omar", "omar"), ("Leïla", "leila"),
    ("Nuno", "nuno"), ("Inês", "ines"), ("Jürgen", "jurgen"), ("Małgorzata", "malgorzata"),
    ("Dmitri", "dmitri"), ("Olena", "olena"), ("Sipho", "sipho"), ("Thandiwe", "thandiwe"),
    ("Kai", "kai"), ("Aroha", "aroha"), ("Sven", "sven"), ("Ingrid", "ingrid"),
    ("Rohan", "rohan"), ("Bishnu", "bishnu"), ("Sita", "sita"), ("Diego", "diego"),
    ("Camila", "camila"), ("Mei", "mei"), ("Hiroshi", "hiroshi"), ("Ngozi", "ngozi"),
    ("Seán", "sean"), ("Aoife", "aoife"), ("Renée", "renee"), ("Andrés", "andres"),
    ("Çağla", "cagla"), ("Tomás", "tomas"), ("Elif", "elif"), ("Ravi", "ravi"),
    ("Grace", "grace"), ("Daniel", "daniel"), ("Sarah", "sarah"), ("Michael", "michael"),
];

/// Last names as (display, ascii).
pub const LAST_NAMES: &[(&str, &str)] = &[
    ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
    ("O'Brien", "obrien"), ("D'Angelo", "dangelo"), ("O'Connor", "oconnor"),
    ("Müller", "muller"), ("García", "garcia"), ("Nguyễn", "nguyen"), ("Kowalski", "kowalski"),
    ("Øvergaard", "overgaard"), ("Dubois", "dubois"), ("Chen", "chen"), ("Wang", "wang"),
    ("Tanaka", "tanaka"), ("Sato", "sato"), ("Kim", "kim"), ("Park", "park"),
    ("Patel", "patel"), ("Sharma", "sharma"), ("Iyer", "iyer"), ("Shrestha", "shrestha"),
    ("Adhikari", "adhikari"), ("Okafor", "okafor"), ("Adeyemi", "adeyemi"),
    ("Haddad", "haddad"), ("Al-Farsi", "alfarsi"), ("Ivanova", "ivanova"),
    ("Kovalenko", "kovalenko"), ("Silva", "silva"), ("Gonçalves", "goncalves"),
    ("Fernández", "fernandez"), ("Rodríguez", "rodriguez"), ("López", "lopez"),
    ("Schröder", "schroder"), ("Weiß", "weiss"), ("Nieminen", "nieminen"),
    ("Johansson", "johansson"), ("Van der Berg", "vanderberg"), ("de la Cruz", "delacruz"),
    ("Ní Bhriain", "nibhriain"), ("Dlamini", "dlamini"), ("Ngata", "ngata"),
    ("Yılmaz", "yilmaz"), ("Papadopoulos", "papadopoulos"), ("Rossi", "rossi"),
    ("Lefèvre", "lefevre"), ("Novák", "novak"), ("Kahale", "kahale"), ("Cohen", "cohen"),
    ("Miller", "miller"), ("Davis", "davis"), ("Taylor", "taylor"), ("Anderson", "anderson"),
];

/// Whole names in scripts where "first last" composition would be wrong, as (display, ascii).
pub const WHOLE_NAMES: &[(&str, &str)] = &[
    ("王芳", "wang.fang"), ("李伟", "li.wei"), ("张静", "zhang.jing"), ("刘洋", "liu.yang"),
    ("佐藤 花子", "sato.hanako"), ("鈴木 一郎", "suzuki.ichiro"), ("김민준", "kim.minjun"),
    ("이서연", "lee.seoyeon"), ("Анна Петрова", "anna.petrova"), ("Αλέξανδρος Παπάς", "alexandros.papas"),
    ("محمد علي", "mohamed.ali"), ("प्रिया शर्मा", "priya.sharma"), ("Nguyễn Thị Lan", "nguyen.thi.lan"),
];

/// Candidate locations with the IANA zone that goes with them.
pub const PLACES: &[(&str, &str, f64)] = &[
    ("New York, NY", "America/New_York", 10.0),
    ("San Francisco, CA", "America/Los_Angeles", 9.0),
    ("Seattle, WA", "America/Los_Angeles", 4.0),
    ("Austin, TX", "America/Chicago", 4.0),
    ("Chicago, IL", "America/Chicago", 3.0),
    ("Toronto, ON", "America/Toronto", 3.0),
    ("St. John's, NL", "America/St_Johns", 0.5),
    ("São Paulo, BR", "America/Sao_Paulo", 2.5),
    ("Mexico City, MX", "America/Mexico_City", 1.5),
    ("London, UK", "Europe/London", 7.0),
    ("Dublin, IE", "Europe/Dublin", 2.0),
    ("Berlin, DE", "Europe/Berlin", 5.0),
    ("Paris, FR", "Europe/Paris", 3.0),
    ("Kraków, PL", "Europe/Warsaw", 2.0),
    ("Kyiv, UA", "Europe/Kyiv", 1.5),
    ("Lagos, NG", "Africa/Lagos", 1.5),
    ("Nairobi, KE", "Africa/Nairobi", 1.0),
    ("Bengaluru, IN", "Asia/Kolkata", 6.0),
    ("Kathmandu, NP", "Asia/Kathmandu", 1.0),
    ("Singapore", "Asia/Singapore", 2.0),
    ("Tokyo, JP", "Asia/Tokyo", 2.0),
    ("Seoul, KR", "Asia/Seoul", 1.0),
    ("Shanghai, CN", "Asia/Shanghai", 1.5),
    ("Sydney, AU", "Australia/Sydney", 2.0),
    ("Adelaide, AU", "Australia/Adelaide", 0.5),
    ("Auckland, NZ", "Pacific/Auckland", 0.7),
];

/// Time zones of the org's own staff, weighted.
pub const STAFF_ZONES: &[(&str, f64)] = &[
    ("America/New_York", 8.0),
    ("America/Los_Angeles", 7.0),
    ("America/Chicago", 2.0),
    ("America/Denver", 1.0),
    ("America/Sao_Paulo", 1.0),
    ("Europe/London", 5.0),
    ("Europe/Berlin", 4.0),
    ("Europe/Lisbon", 1.0),
    ("Asia/Kolkata", 4.0),
    ("Asia/Kathmandu", 1.0),
    ("Asia/Singapore", 1.0),
    ("Australia/Sydney", 1.0),
];

/// Org default time zones.
pub const ORG_ZONES: &[&str] = &[
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
];

pub const ORG_SUFFIXES: &[&str] = &["Robotics", "Labs", "Systems", "Health", "Logistics", "Analytics"];

/// Job families: titles, and the pipeline templates that fit them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Engineering,
    Sales,
    Marketing,
    Product,
    People,
    CustomerSuccess,
    Finance,
    Data,
    Legal,
    Operations,
}

impl Family {
    pub fn titles(self) -> &'static [&'static str] {
        match self {
            Family::Engineering => &[
                "Software Engineer", "Backend Engineer", "Frontend Engineer",
                "Site Reliability Engineer", "Platform Engineer", "Security Engineer",
                "Mobile Engineer (iOS)", "Mobile Engineer (Android)", "Engineering Manager",
                "QA Engineer", "Embedded Software Engineer",
            ],
            Family::Sales => &[
                "Account Executive", "Sales Development Representative", "Solutions Engineer",
                "Sales Manager", "Partner Manager",
            ],
            Family::Marketing => &[
                "Product Marketing Manager", "Content Strategist", "Growth Marketer",
                "Developer Advocate", "Brand Designer",
            ],
            Family::Product => &[
                "Product Manager", "Product Designer", "UX Researcher", "Technical Writer",
            ],
            Family::People => &["Recruiter", "Sourcer", "People Partner", "Recruiting Coordinator"],
            Family::CustomerSuccess => &[
                "Customer Success Manager", "Support Engineer", "Implementation Consultant",
            ],
            Family::Finance => &["Financial Analyst", "Accountant", "Payroll Specialist"],
            Family::Data => &[
                "Data Scientist", "Machine Learning Engineer", "Data Engineer", "Analytics Engineer",
            ],
            Family::Legal => &["Counsel", "Privacy Counsel", "Compliance Analyst"],
            Family::Operations => &["IT Support Specialist", "Office Manager", "Procurement Specialist"],
        }
    }
}

/// Departments as (name, parent index into this list, family). Any prefix is a valid tree.
pub const DEPARTMENTS: &[(&str, Option<usize>, Family)] = &[
    ("Engineering", None, Family::Engineering),
    ("Platform", Some(0), Family::Engineering),
    ("Sales", None, Family::Sales),
    ("Marketing", None, Family::Marketing),
    ("Product", None, Family::Product),
    ("People", None, Family::People),
    ("Infrastructure", Some(0), Family::Engineering),
    ("Enterprise Sales", Some(2), Family::Sales),
    ("Design", Some(4), Family::Product),
    ("Customer Success", None, Family::CustomerSuccess),
    ("Finance", None, Family::Finance),
    ("Mobile", Some(0), Family::Engineering),
    ("Growth Marketing", Some(3), Family::Marketing),
    ("Data Science", None, Family::Data),
    ("Security", Some(0), Family::Engineering),
    ("Sales Engineering", Some(2), Family::Sales),
    ("Talent Acquisition", Some(5), Family::People),
    ("Legal", None, Family::Legal),
    ("Frontend", Some(0), Family::Engineering),
    ("Brand & Communications", Some(3), Family::Marketing),
    ("Support", Some(9), Family::CustomerSuccess),
    ("Machine Learning", Some(13), Family::Data),
    ("Developer Experience", Some(1), Family::Engineering),
    ("SMB Sales", Some(2), Family::Sales),
    ("Accounting", Some(10), Family::Finance),
    ("Operations", None, Family::Operations),
    ("Product Marketing", Some(3), Family::Marketing),
    ("User Research", Some(8), Family::Product),
    ("Site Reliability", Some(6), Family::Engineering),
    ("Partnerships", Some(2), Family::Sales),
    ("Payments", Some(0), Family::Engineering),
    ("Analytics", Some(13), Family::Data),
    ("Workplace", Some(25), Family::Operations),
    ("Backend", Some(0), Family::Engineering),
    ("Solutions Consulting", Some(9), Family::CustomerSuccess),
    ("FP&A", Some(10), Family::Finance),
    ("Compliance", Some(17), Family::Legal),
    ("Developer Relations", Some(3), Family::Marketing),
    ("Database Reliability", Some(6), Family::Engineering),
    ("Product Design", Some(8), Family::Product),
    ("Field Sales — EMEA", Some(2), Family::Sales),
    ("Field Sales — APAC", Some(2), Family::Sales),
    ("Procurement", Some(25), Family::Operations),
    ("Revenue Operations", Some(2), Family::Sales),
    ("Quality Engineering", Some(0), Family::Engineering),
    ("Localization", Some(4), Family::Product),
    ("IT", Some(25), Family::Operations),
    ("Learning & Development", Some(5), Family::People),
    ("Trust & Safety", Some(25), Family::Operations),
    ("Identity", Some(14), Family::Engineering),
];

/// Job locations: (location, currency, salary multiplier relative to USD).
pub const JOB_LOCATIONS: &[(&str, &str, f64)] = &[
    ("San Francisco", "USD", 1.0),
    ("New York", "USD", 0.97),
    ("Austin", "USD", 0.85),
    ("Remote — US", "USD", 0.88),
    ("Toronto", "CAD", 1.05),
    ("London", "GBP", 0.55),
    ("Dublin", "EUR", 0.62),
    ("Berlin", "EUR", 0.58),
    ("Remote — EMEA", "EUR", 0.6),
    ("Bengaluru", "INR", 22.0),
    ("Kathmandu", "NPR", 25.0),
    ("Singapore", "SGD", 1.1),
];

/// Level names and the title prefix and base annual USD salary for each.
pub const LEVELS: &[(&str, &str, f64)] = &[
    ("L1", "Junior ", 85_000.0),
    ("L2", "", 110_000.0),
    ("L3", "", 135_000.0),
    ("L4", "Senior ", 165_000.0),
    ("L5", "Staff ", 205_000.0),
    ("L6", "Principal ", 245_000.0),
    ("L7", "Distinguished ", 300_000.0),
];

/// Stage kinds of the closed list in the spec.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Lead,
    ApplicationReview,
    Screen,
    Assessment,
    Interview,
    Onsite,
    Offer,
    Hired,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Lead => "lead",
            Kind::ApplicationReview => "application_review",
            Kind::Screen => "screen",
            Kind::Assessment => "assessment",
            Kind::Interview => "interview",
            Kind::Onsite => "onsite",
            Kind::Offer => "offer",
            Kind::Hired => "hired",
        }
    }
}

/// Pipeline templates (5 to 8 stages, always ending in offer and hired).
pub const PIPELINES: &[&[(&str, Kind)]] = &[
    &[
        ("Application Review", Kind::ApplicationReview),
        ("Recruiter Screen", Kind::Screen),
        ("Hiring Manager Screen", Kind::Screen),
        ("Take-home", Kind::Assessment),
        ("Onsite", Kind::Onsite),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("Sourced", Kind::Lead),
        ("Recruiter Call", Kind::Screen),
        ("Technical Phone Screen", Kind::Interview),
        ("Virtual Onsite", Kind::Onsite),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("Lead", Kind::Lead),
        ("Application Review", Kind::ApplicationReview),
        ("Phone Screen", Kind::Screen),
        ("Coding Challenge", Kind::Assessment),
        ("Technical Interview", Kind::Interview),
        ("Final Loop", Kind::Onsite),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("Résumé Review", Kind::ApplicationReview),
        ("Intro Call", Kind::Screen),
        ("Role Play", Kind::Assessment),
        ("Panel Interview", Kind::Interview),
        ("Executive Interview", Kind::Interview),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("Application Review", Kind::ApplicationReview),
        ("Online Assessment", Kind::Assessment),
        ("Technical Interview", Kind::Interview),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("Portfolio Review", Kind::ApplicationReview),
        ("Recruiter Screen", Kind::Screen),
        ("Design Exercise", Kind::Assessment),
        ("Portfolio Presentation", Kind::Onsite),
        ("Team Conversations", Kind::Interview),
        ("Offer Extended", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("New Applicant", Kind::ApplicationReview),
        ("Screening Call", Kind::Screen),
        ("Hiring Manager Interview", Kind::Interview),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
    &[
        ("Prospect", Kind::Lead),
        ("Application Review", Kind::ApplicationReview),
        ("Recruiter Screen", Kind::Screen),
        ("Hiring Manager Screen", Kind::Screen),
        ("Case Study", Kind::Assessment),
        ("Onsite — Day 1", Kind::Onsite),
        ("Offer", Kind::Offer),
        ("Hired", Kind::Hired),
    ],
];

/// Sources as (name, kind, weight); every kind of the spec appears.
pub const SOURCES: &[(&str, &str, f64)] = &[
    ("Careers Page", "career_site", 30.0),
    ("LinkedIn", "job_board", 20.0),
    ("Indeed", "job_board", 12.0),
    ("Glassdoor", "job_board", 4.0),
    ("Welcome to the Jungle", "job_board", 3.0),
    ("Employee Referral", "referral", 9.0),
    ("Alumni Referral", "referral", 1.5),
    ("Northwind Talent Partners", "agency", 2.5),
    ("Hélix Recrutement", "agency", 1.5),
    ("LinkedIn Recruiter (sourced)", "sourced", 6.0),
    ("GitHub Sourcing", "sourced", 2.0),
    ("University Career Fair", "event", 2.0),
    ("Grace Hopper Celebration", "event", 1.0),
    ("Rust Meetup — Berlin", "event", 0.5),
    ("Other", "other", 2.0),
    ("Walk-in", "other", 0.3),
];

pub const TAGS: &[&str] = &[
    "strong-referral", "diversity-event", "silver-medalist", "relocation", "remote-only",
    "bootcamp", "returner", "open-source", "ex-faang", "needs-visa", "campus", "priorité",
];

pub const ARCHIVE_REASONS: &[(&str, f64)] = &[
    ("not a fit", 40.0),
    ("lacks required experience", 15.0),
    ("withdrew", 12.0),
    ("unresponsive", 8.0),
    ("accepted another offer", 6.0),
    ("compensation mismatch", 5.0),
    ("location mismatch", 4.0),
    ("duplicate", 2.0),
];

pub const INTERVIEW_SESSIONS: &[&str] = &[
    "Coding", "System Design", "Behavioral", "Culture & Values", "Hiring Manager Chat",
    "Deep Dive", "Pair Programming", "Cross-functional Partner", "Bar Raiser", "Case Discussion",
];

pub const SCORE_ATTRIBUTES_SCREEN: &[&str] = &["communication", "motivation", "role_fit"];
pub const SCORE_ATTRIBUTES: &[&str] = &[
    "technical", "problem_solving", "communication", "collaboration", "system_design",
    "ownership", "craft",
];

pub const NOTES_POSITIVE: &[&str] = &[
    "Solid fundamentals.",
    "Great grasp of trade-offs — would hire.",
    "Clear communicator; asked sharp questions about the team.",
    "Wrote clean, well-tested code under time pressure.",
    "Strong ownership stories from their last role.",
    "Très bonne présentation, structured and calm.",
];
pub const NOTES_NEGATIVE: &[&str] = &[
    "Needs more depth in distributed systems.",
    "Struggled to reason about edge cases.",
    "Answers were vague; couldn't give concrete examples.",
    "Didn't finish the exercise; hints didn't help much.",
    "Good energy but the role needs more seniority.",
];

pub const POOLS: &[&str] = &[
    "Coding interviewers",
    "System design",
    "Behavioral & values",
    "Hiring manager screens",
    "Sales role play",
    "Design critique",
    "Bar raisers",
    "Data modeling",
    "Frontend architecture",
    "Executive interviews",
    "Security deep dive",
    "Customer empathy",
];

pub const REFERRAL_NOTES: &[&str] = &[
    "Worked together at a previous company — excellent engineer.",
    "Met at a conference; very keen on the mission.",
    "Former intern, would love to have them back.",
    "Friend of a friend; strong portfolio.",
];
