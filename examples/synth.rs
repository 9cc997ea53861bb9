//! Writes the synthetic sample surveys in `sample_data/` (no real people):
//!
//! - `lima_households.csv`: ~20,000 households in a Lima-like city — informal settlements on
//!   the hillsides and along the Rímac river with high need, formal districts with low need,
//!   scattered peri-urban houses in between — with a handful of deliberate data problems.
//! - `kobo_encuesta_sjl.xlsx` and `kobo_encuesta_sjl.csv`: a KoboToolbox-style export
//!   (Spanish question names, `_ubicacion_latitude`… columns; the CSV `;`-separated with a BOM)
//!   of 1,500 households on the hills of San Juan de Lurigancho.
//! - `puntos_hogares.geojson`: 2,000 household points along the river, and the river itself as
//!   a LineString (which the importer reports and skips).
//!
//! The Lima and Kobo files end with group columns for the bias audit (mother tongue,
//! disability), drawn from streams of their own so that adding them changed no other value;
//! sample_data/README.md says what the audit should find.
//!
//! Deterministic: the same files, byte for byte, on every run.
//!
//! ```sh
//! cargo run --release --example synth --no-default-features [OUT_DIR]
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    fn int(&mut self, a: u32, b: u32) -> u32 {
        a + (self.next_u64() % (b - a + 1) as u64) as u32
    }
    fn normal(&mut self) -> f64 {
        let u = self.f().max(1e-12);
        let v = self.f();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// One of `items` with the given weights.
    fn pick<'a>(&mut self, items: &[(&'a str, f64)]) -> &'a str {
        let total: f64 = items.iter().map(|i| i.1).sum();
        let mut x = self.f() * total;
        for (v, w) in items {
            if x < *w {
                return v;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

const M_PER_DEG_LAT: f64 = 110_574.0;
fn m_per_deg_lon(lat: f64) -> f64 {
    111_320.0 * lat.to_radians().cos()
}

/// A point `sigma_m` (Gaussian) around (lon, lat), stretched by `aspect` along `angle`.
fn around(r: &mut Rng, lon: f64, lat: f64, sigma_m: f64, aspect: f64, angle: f64) -> (f64, f64) {
    let (a, b) = (r.normal() * sigma_m * aspect, r.normal() * sigma_m);
    let (x, y) = (a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos());
    (lon + x / m_per_deg_lon(lat), lat + y / M_PER_DEG_LAT)
}

/// Longitude of the Pacific coast at a latitude (Ventanilla to Chorrillos, roughly).
fn coast_lon(lat: f64) -> f64 {
    let pts = [
        (-11.85, -77.16),
        (-11.95, -77.15),
        (-12.02, -77.14),
        (-12.07, -77.08),
        (-12.12, -77.04),
        (-12.18, -77.02),
        (-12.26, -76.96),
    ];
    if lat >= pts[0].0 {
        return pts[0].1;
    }
    for w in pts.windows(2) {
        let ((la0, lo0), (la1, lo1)) = (w[0], w[1]);
        if lat <= la0 && lat >= la1 {
            return lo0 + (lo1 - lo0) * (lat - la0) / (la1 - la0);
        }
    }
    pts[pts.len() - 1].1
}

/// The Rímac, from the east to its mouth at Callao.
const RIVER: [(f64, f64); 6] =
    [(-76.84, -11.985), (-76.90, -12.005), (-76.96, -12.025), (-77.03, -12.040), (-77.08, -12.030), (-77.135, -12.030)];

fn on_river(r: &mut Rng) -> (f64, f64, f64) {
    let seg = r.int(0, RIVER.len() as u32 - 2) as usize;
    let t = r.f();
    let (a, b) = (RIVER[seg], RIVER[seg + 1]);
    let angle = ((b.1 - a.1) * M_PER_DEG_LAT).atan2((b.0 - a.0) * m_per_deg_lon(a.1));
    (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, angle)
}

#[derive(Clone, Copy, PartialEq)]
enum Area {
    Formal,
    Informal,
    River,
    PeriUrban,
}

struct Household {
    lon: f64,
    lat: f64,
    district: &'static str,
    area: Area,
    size: u32,
    rooms: u32,
    income: f64,
    water: &'static str,
    sanitation: &'static str,
    roof: &'static str,
    wall: &'static str,
    floor: &'static str,
    electricity: bool,
    head_female: bool,
    children_under5: u32,
    accuracy_m: f64,
}

/// Draws the indicators of one household in `area`. The English values are the ones the need
/// index scores by default (see `need::auto_indicators`).
fn indicators(
    r: &mut Rng,
    area: Area,
) -> (u32, u32, f64, &'static str, &'static str, &'static str, &'static str, &'static str) {
    match area {
        Area::Formal => {
            let size = r.int(1, 5);
            (
                size,
                r.int(3, 6),
                (8.4 + 0.45 * r.normal()).exp(),
                r.pick(&[("piped", 96.0), ("standpipe", 3.0), ("truck", 1.0)]),
                r.pick(&[("sewer", 95.0), ("septic", 4.0), ("latrine", 1.0)]),
                r.pick(&[("concrete", 82.0), ("tile", 15.0), ("wood", 3.0)]),
                r.pick(&[("brick", 92.0), ("adobe", 6.0), ("wood", 2.0)]),
                r.pick(&[("tile", 60.0), ("cement", 39.0), ("earth", 1.0)]),
            )
        }
        Area::Informal | Area::River => {
            let river = area == Area::River;
            (
                r.int(3, 9),
                r.int(1, 3),
                (7.0 + 0.4 * r.normal()).exp(),
                if river {
                    r.pick(&[("piped", 10.0), ("standpipe", 30.0), ("truck", 25.0), ("well", 10.0), ("river", 25.0)])
                } else {
                    r.pick(&[("piped", 18.0), ("standpipe", 37.0), ("truck", 38.0), ("well", 5.0), ("river", 2.0)])
                },
                r.pick(&[("sewer", 12.0), ("septic", 18.0), ("latrine", 48.0), ("none", 22.0)]),
                r.pick(&[
                    ("concrete", 6.0),
                    ("wood", 14.0),
                    ("corrugated_metal", 44.0),
                    ("mat", 24.0),
                    ("plastic", 12.0),
                ]),
                r.pick(&[("brick", 20.0), ("adobe", 15.0), ("wood", 40.0), ("mat", 25.0)]),
                r.pick(&[("tile", 2.0), ("cement", 40.0), ("earth", 58.0)]),
            )
        }
        Area::PeriUrban => (
            r.int(2, 7),
            r.int(2, 4),
            (7.6 + 0.45 * r.normal()).exp(),
            r.pick(&[("piped", 55.0), ("standpipe", 20.0), ("truck", 15.0), ("well", 10.0)]),
            r.pick(&[("sewer", 45.0), ("septic", 30.0), ("latrine", 22.0), ("none", 3.0)]),
            r.pick(&[("concrete", 45.0), ("tile", 10.0), ("wood", 15.0), ("corrugated_metal", 25.0), ("mat", 5.0)]),
            r.pick(&[("brick", 55.0), ("adobe", 25.0), ("wood", 15.0), ("mat", 5.0)]),
            r.pick(&[("tile", 15.0), ("cement", 60.0), ("earth", 25.0)]),
        ),
    }
}

fn household(r: &mut Rng, lon: f64, lat: f64, district: &'static str, area: Area) -> Household {
    let (size, rooms, income, water, sanitation, roof, wall, floor) = indicators(r, area);
    let poor = matches!(area, Area::Informal | Area::River);
    Household {
        lon,
        lat,
        district,
        area,
        size,
        rooms: rooms.max(1),
        income: (income / 10.0).round() * 10.0,
        water,
        sanitation,
        roof,
        wall,
        floor,
        electricity: r.f() > if poor { 0.12 } else { 0.01 },
        head_female: r.f() < if poor { 0.38 } else { 0.28 },
        children_under5: if poor { r.int(0, 3) } else { r.int(0, 1) },
        accuracy_m: if r.f() < 0.04 { r.range(30.0, 80.0) } else { r.range(3.0, 15.0) },
    }
}

/// Informal settlements: (district, lon, lat, households, sigma m, aspect, angle rad).
const SETTLEMENTS: [(&str, f64, f64, u32, f64, f64, f64); 18] = [
    ("San Juan de Lurigancho", -77.000, -11.965, 700, 380.0, 1.6, 1.2),
    ("San Juan de Lurigancho", -76.985, -11.945, 650, 320.0, 1.3, 0.4),
    ("San Juan de Lurigancho", -76.995, -11.925, 520, 300.0, 2.0, 1.9),
    ("San Juan de Lurigancho", -77.012, -11.940, 380, 250.0, 1.2, 0.0),
    ("Comas", -77.055, -11.930, 600, 350.0, 1.5, 0.8),
    ("Comas", -77.065, -11.905, 480, 300.0, 1.8, 2.3),
    ("Carabayllo", -77.035, -11.875, 430, 330.0, 1.4, 0.2),
    ("Independencia", -77.058, -11.985, 360, 260.0, 2.2, 1.0),
    ("Villa María del Triunfo", -76.950, -12.160, 620, 360.0, 1.7, 2.0),
    ("Villa María del Triunfo", -76.935, -12.185, 560, 330.0, 1.4, 0.6),
    ("San Juan de Miraflores", -76.972, -12.145, 480, 280.0, 2.0, 2.6),
    ("Villa El Salvador", -76.945, -12.215, 420, 400.0, 1.1, 0.0),
    ("Ate", -76.905, -12.030, 440, 300.0, 1.9, 0.3),
    ("Ate", -76.880, -12.010, 300, 260.0, 1.5, 1.4),
    ("Chorrillos", -77.010, -12.190, 300, 250.0, 1.6, 0.9),
    ("El Agustino", -76.990, -12.045, 380, 240.0, 1.3, 2.9),
    ("Puente Piedra", -77.075, -11.870, 330, 340.0, 1.5, 1.7),
    ("Ventanilla", -77.130, -11.885, 280, 300.0, 1.8, 0.5),
];

/// Formal districts: (district, lon, lat, households, spread m).
const FORMAL: [(&str, f64, f64, u32, f64); 6] = [
    ("Miraflores", -77.030, -12.120, 1400, 1400.0),
    ("San Isidro", -77.035, -12.097, 1100, 1100.0),
    ("Santiago de Surco", -76.995, -12.135, 1500, 1700.0),
    ("La Molina", -76.945, -12.082, 1000, 1600.0),
    ("Jesús María", -77.048, -12.075, 900, 900.0),
    ("San Borja", -77.000, -12.102, 1100, 1200.0),
];

fn lima(r: &mut Rng) -> Vec<Household> {
    let mut out = Vec::new();
    for &(d, lon, lat, n, sigma, aspect, angle) in &SETTLEMENTS {
        for _ in 0..n {
            let (x, y) = around(r, lon, lat, sigma, aspect, angle);
            out.push(household(r, x, y, d, Area::Informal));
        }
    }
    // Houses on the river banks, within ~150 m of the Rímac.
    for _ in 0..2000 {
        let (lon, lat, angle) = on_river(r);
        let side = if r.f() < 0.5 { 1.0 } else { -1.0 };
        let off = side * (35.0 + r.f().powi(2) * 120.0);
        let (x, y) = (lon - off * angle.sin() / m_per_deg_lon(lat), lat + off * angle.cos() / M_PER_DEG_LAT);
        let district = if lon > -76.95 {
            "Ate"
        } else if lon > -77.04 {
            "Cercado de Lima"
        } else {
            "Callao"
        };
        out.push(household(r, x, y, district, Area::River));
    }
    for &(d, lon, lat, n, spread) in &FORMAL {
        // A regular street grid of blocks, ~90 m apart, with a little GPS jitter.
        for _ in 0..n {
            let gx = (r.range(-1.0, 1.0) * spread / 90.0).round() * 90.0 + r.normal() * 12.0;
            let gy = (r.range(-1.0, 1.0) * spread / 90.0).round() * 90.0 + r.normal() * 12.0;
            out.push(household(r, lon + gx / m_per_deg_lon(lat), lat + gy / M_PER_DEG_LAT, d, Area::Formal));
        }
    }
    // Scattered peri-urban houses over the whole city, east of the coast.
    let mut n = 0;
    while n < 3000 {
        let (lon, lat) = (r.range(-77.14, -76.86), r.range(-12.23, -11.86));
        if lon < coast_lon(lat) + 0.004 {
            continue;
        }
        out.push(household(r, lon, lat, "Lima Metropolitana", Area::PeriUrban));
        n += 1;
    }
    // Keep everyone on land.
    for h in &mut out {
        let c = coast_lon(h.lat) + 0.002;
        if h.lon < c {
            h.lon = c + (c - h.lon) * 0.3;
        }
    }
    // Survey order: by district visit, then shuffled within (deterministically).
    for i in (1..out.len()).rev() {
        let j = (r.next_u64() % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

fn settlement_type(a: Area) -> &'static str {
    match a {
        Area::Formal => "formal",
        Area::Informal | Area::River => "informal",
        Area::PeriUrban => "peri-urban",
    }
}

/// The deliberate problems of the Lima file, by data row (1-based), and what they are.
const LIMA_PROBLEMS: &[(usize, &str)] = &[
    (137, "latitude missing"),
    (2_045, "latitude missing"),
    (11_873, "longitude missing"),
    (4_410, "coordinates exactly (0, 0)"),
    (15_002, "coordinates exactly (0, 0)"),
    (6_218, "latitude and longitude swapped (flagged, kept)"),
    (17_390, "latitude and longitude swapped (flagged, kept)"),
    (9_001, "duplicate household_id (of row 9,000)"),
    (12_345, "latitude written with a decimal comma (-12,0xx)"),
    (7_777, "monthly_income written with a decimal comma (read as missing)"),
    (3_003, "monthly_income blank"),
    (8_008, "monthly_income blank"),
    (13_013, "monthly_income blank"),
    (16_016, "monthly_income blank"),
    (19_019, "monthly_income blank"),
];

fn write_lima(dir: &Path, r: &mut Rng) -> std::io::Result<()> {
    let hh = lima(r);
    let mut w = csv::Writer::from_path(dir.join("lima_households.csv"))?;
    w.write_record([
        "household_id",
        "latitude",
        "longitude",
        "district",
        "settlement_type",
        "household_size",
        "rooms",
        "people_per_room",
        "monthly_income_pen",
        "water_source",
        "sanitation",
        "roof_material",
        "wall_material",
        "floor_material",
        "electricity",
        "head_female",
        "children_under5",
        "gps_accuracy_m",
        "mother_tongue",
        "disability",
    ])?;
    // The group columns come from their own stream, appended last, so every other value
    // (and every line) is the same as before they were added.
    let mut g = Rng(GROUPS_SEED_LIMA);
    for (k, h) in hh.iter().enumerate() {
        let row = k + 1;
        let problem = LIMA_PROBLEMS.iter().find(|p| p.0 == row).map(|p| p.1);
        let id = if problem == Some("duplicate household_id (of row 9,000)") { row - 1 } else { row };
        let mut lat = format!("{:.6}", h.lat);
        let mut lon = format!("{:.6}", h.lon);
        let mut income = format!("{:.0}", h.income);
        match problem {
            Some("latitude missing") => lat.clear(),
            Some("longitude missing") => lon.clear(),
            Some("coordinates exactly (0, 0)") => {
                lat = "0".into();
                lon = "0".into();
            }
            Some("latitude and longitude swapped (flagged, kept)") => std::mem::swap(&mut lat, &mut lon),
            Some("latitude written with a decimal comma (-12,0xx)") => lat = lat.replace('.', ","),
            Some("monthly_income written with a decimal comma (read as missing)") => income = format!("{},50", income),
            Some("monthly_income blank") => income.clear(),
            _ => {}
        }
        w.write_record([
            format!("H{id:06}"),
            lat,
            lon,
            h.district.to_string(),
            settlement_type(h.area).to_string(),
            h.size.to_string(),
            h.rooms.to_string(),
            format!("{:.2}", h.size as f64 / h.rooms as f64),
            income,
            h.water.to_string(),
            h.sanitation.to_string(),
            h.roof.to_string(),
            h.wall.to_string(),
            h.floor.to_string(),
            if h.electricity { "yes" } else { "no" }.to_string(),
            if h.head_female { "yes" } else { "no" }.to_string(),
            h.children_under5.to_string(),
            format!("{:.1}", h.accuracy_m),
            mother_tongue(&mut g, h.area, false).to_string(),
            if g.f() < DISABILITY_SHARE { "yes" } else { "no" }.to_string(),
        ])?;
    }
    w.flush()
}

/// Seeds of the group-column streams (mother tongue, disability), apart from the main ones.
const GROUPS_SEED_LIMA: u64 = 0x6C69_6D61_6772_7570;
const GROUPS_SEED_KOBO: u64 = 0x6B6F_626F_6772_7570;

/// Households with a member with a disability: the same share everywhere, so the audit
/// should find them neither left out nor over-represented.
const DISABILITY_SHARE: f64 = 0.09;

/// Mother tongue of the head of household. Quechua and Aymara speakers (Andean migrants and
/// their families) live mostly in the hillside settlements, so they are over-represented
/// among the critical households and in the top zones, and Spanish speakers under-represented
/// there. `upper_hills`: the Kobo survey's two settlements highest up the hill (the north
/// ones, settled most recently).
fn mother_tongue(g: &mut Rng, area: Area, upper_hills: bool) -> &'static str {
    match area {
        Area::Informal if upper_hills => {
            g.pick(&[("Spanish", 38.0), ("Quechua", 55.0), ("Aymara", 5.0), ("Ashaninka", 1.0), ("other", 1.0)])
        }
        Area::Informal => {
            g.pick(&[("Spanish", 60.0), ("Quechua", 34.0), ("Aymara", 4.0), ("Ashaninka", 1.0), ("other", 1.0)])
        }
        Area::River => {
            g.pick(&[("Spanish", 72.0), ("Quechua", 23.0), ("Aymara", 2.0), ("Ashaninka", 2.0), ("other", 1.0)])
        }
        Area::PeriUrban => g.pick(&[("Spanish", 85.0), ("Quechua", 12.0), ("Aymara", 1.5), ("other", 1.5)]),
        Area::Formal => g.pick(&[("Spanish", 95.0), ("Quechua", 3.0), ("Aymara", 0.5), ("other", 1.5)]),
    }
}

/// Kobo choice names of the mother tongues.
fn lengua(v: &str) -> &'static str {
    match v {
        "Spanish" => "castellano",
        "Quechua" => "quechua",
        "Aymara" => "aimara",
        "Ashaninka" => "ashaninka",
        _ => "otra",
    }
}

/// English values of the Lima generator → the Spanish codes a Kobo form would use.
fn es(v: &str) -> &'static str {
    match v {
        "piped" => "red_publica",
        "standpipe" => "pilon",
        "truck" => "camion",
        "well" => "pozo",
        "river" => "rio",
        "sewer" => "red_publica",
        "septic" => "pozo_septico",
        "latrine" => "letrina",
        "none" => "ninguno",
        "concrete" => "concreto",
        "tile" => "loseta",
        "wood" => "madera",
        "corrugated_metal" => "calamina",
        "mat" => "estera",
        "plastic" => "plastico",
        "brick" => "ladrillo",
        "adobe" => "adobe",
        "cement" => "cemento",
        "earth" => "tierra",
        _ => "otro",
    }
}

const KOBO_HEADERS: [&str; 23] = [
    "start",
    "end",
    "ubicacion",
    "_ubicacion_latitude",
    "_ubicacion_longitude",
    "_ubicacion_altitude",
    "_ubicacion_precision",
    "jefe_hogar_mujer",
    "num_personas",
    "habitaciones",
    "personas_por_habitacion",
    "ingreso_mensual",
    "fuente_agua",
    "desague",
    "material_techo",
    "material_paredes",
    "material_piso",
    "_id",
    "_uuid",
    "_submission_time",
    "_index",
    "lengua_materna",
    "discapacidad",
];

/// Rows of the Kobo survey: hillside settlements of San Juan de Lurigancho and their edges.
fn kobo_rows(r: &mut Rng) -> Vec<Vec<String>> {
    let centres =
        [(-77.000, -11.965, 380.0), (-76.985, -11.945, 320.0), (-76.995, -11.925, 300.0), (-77.012, -11.940, 250.0)];
    let mut rows = Vec::new();
    let mut g = Rng(GROUPS_SEED_KOBO);
    for k in 0..1500 {
        let (area, lon, lat) = if k % 5 == 4 {
            (Area::PeriUrban, r.range(-77.03, -76.97), r.range(-11.98, -11.91))
        } else {
            let c = centres[k % 4];
            let (x, y) = around(r, c.0, c.1, c.2, 1.4, 0.8);
            (Area::Informal, x, y)
        };
        let h = household(r, lon, lat, "San Juan de Lurigancho", area);
        let alt = 200.0 + 400.0 * (lat + 11.98).max(0.0) / 0.07 + r.range(0.0, 30.0);
        let day = 3 + (k / 120) as u32;
        let minute = (k % 120) * 4;
        let start = format!("2026-03-{day:02}T{:02}:{:02}:00.000-05:00", 8 + minute / 60, minute % 60);
        let end = format!("2026-03-{day:02}T{:02}:{:02}:00.000-05:00", 8 + (minute + 3) / 60, (minute + 3) % 60);
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            r.next_u64() as u32,
            r.next_u64() as u16,
            r.next_u64() as u16 & 0xfff,
            r.next_u64() as u16 & 0xfff,
            r.next_u64() & 0xffff_ffff_ffff
        );
        rows.push(vec![
            start,
            end.clone(),
            format!("{:.6} {:.6} {alt:.1} {:.1}", h.lat, h.lon, h.accuracy_m),
            format!("{:.6}", h.lat),
            format!("{:.6}", h.lon),
            format!("{alt:.1}"),
            format!("{:.1}", h.accuracy_m),
            if h.head_female { "si" } else { "no" }.to_string(),
            h.size.to_string(),
            h.rooms.to_string(),
            format!("{:.2}", h.size as f64 / h.rooms as f64),
            format!("{:.0}", h.income),
            es(h.water).to_string(),
            es(h.sanitation).to_string(),
            es(h.roof).to_string(),
            es(h.wall).to_string(),
            es(h.floor).to_string(),
            (48_210_000 + k).to_string(),
            uuid,
            end.replace(".000-05:00", ""),
            (k + 1).to_string(),
            lengua(mother_tongue(&mut g, area, k % 5 != 4 && k % 4 >= 2)).to_string(),
            if g.f() < DISABILITY_SHARE { "si" } else { "no" }.to_string(),
        ]);
    }
    rows
}

fn write_kobo(dir: &Path, r: &mut Rng) -> Result<(), Box<dyn std::error::Error>> {
    let rows = kobo_rows(r);
    // CSV as Kobo exports it for Spanish locales: UTF-8 with BOM, `;` separated.
    let mut text = String::from("\u{feff}");
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    w.write_record(KOBO_HEADERS)?;
    for row in &rows {
        w.write_record(row)?;
    }
    text.push_str(std::str::from_utf8(&w.into_inner().map_err(|e| e.to_string())?)?);
    std::fs::write(dir.join("kobo_encuesta_sjl.csv"), text)?;

    // XLSX: numbers as numbers, fixed document dates so the file is reproducible.
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
    let mut wb = Workbook::new();
    let date = ExcelDateTime::from_ymd(2026, 3, 20)?.and_hms(12, 0, 0)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&date).set_author("needmap synth"));
    let ws = wb.add_worksheet();
    ws.set_name("encuesta_hogares")?;
    for (c, h) in KOBO_HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let numeric = [3usize, 4, 5, 6, 8, 9, 10, 11, 17, 20];
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (rr, cc) = (i as u32 + 1, c as u16);
            match v.parse::<f64>() {
                Ok(x) if numeric.contains(&c) => ws.write_number(rr, cc, x)?,
                _ => ws.write_string(rr, cc, v)?,
            };
        }
    }
    wb.save(dir.join("kobo_encuesta_sjl.xlsx"))?;
    Ok(())
}

fn write_geojson(dir: &Path, r: &mut Rng) -> std::io::Result<()> {
    let mut s =
        String::from("{\n\"type\": \"FeatureCollection\",\n\"name\": \"puntos_hogares_rimac\",\n\"features\": [\n");
    let river: Vec<String> = RIVER.iter().map(|(x, y)| format!("[{x}, {y}]")).collect();
    let _ = writeln!(
        s,
        "{{\"type\": \"Feature\", \"properties\": {{\"nombre\": \"Río Rímac\"}}, \"geometry\": {{\"type\": \"LineString\", \"coordinates\": [{}]}}}},",
        river.join(", ")
    );
    let n = 2000;
    for k in 0..n {
        let (lon, lat, angle) = on_river(r);
        let informal = r.f() < 0.7;
        let side = if r.f() < 0.5 { 1.0 } else { -1.0 };
        let off = side * if informal { 30.0 + r.f() * 150.0 } else { 200.0 + r.f() * 600.0 };
        let (x, y) = (lon - off * angle.sin() / m_per_deg_lon(lat), lat + off * angle.cos() / M_PER_DEG_LAT);
        let h = household(r, x, y, "", if informal { Area::River } else { Area::PeriUrban });
        let _ = write!(
            s,
            "{{\"type\": \"Feature\", \"properties\": {{\"codigo_hogar\": \"R{:05}\", \"num_personas\": {}, \"habitaciones\": {}, \"ingreso_mensual\": {:.0}, \"fuente_agua\": \"{}\", \"desague\": \"{}\", \"material_techo\": \"{}\", \"material_piso\": \"{}\"}}, \"geometry\": {{\"type\": \"Point\", \"coordinates\": [{:.6}, {:.6}, {:.1}]}}}}",
            k + 1,
            h.size,
            h.rooms,
            h.income,
            es(h.water),
            es(h.sanitation),
            es(h.roof),
            es(h.floor),
            h.lon,
            h.lat,
            150.0 + r.range(0.0, 40.0)
        );
        s.push_str(if k + 1 < n { ",\n" } else { "\n" });
    }
    s.push_str("]\n}\n");
    std::fs::write(dir.join("puntos_hogares.geojson"), s)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args().nth(1).map_or_else(|| PathBuf::from("sample_data"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    // One generator per file, so changing one file does not change the others.
    write_lima(&dir, &mut Rng(20_261_124))?;
    write_kobo(&dir, &mut Rng(1_500))?;
    write_geojson(&dir, &mut Rng(2_000))?;
    println!("wrote {}", dir.display());
    for (row, what) in LIMA_PROBLEMS {
        println!("  lima_households.csv row {row} (line {}): {what}", row + 1);
    }
    Ok(())
}
