//! "Why is this zone ranked where it is?": a zone's figures against the other zones', and
//! which indicators of the need score lift its households' need the most.
//!
//! The need score of a household is the weighted mean of its transformed indicators,
//! `score = Σ wₖ·tₖ / Σ w`, so each indicator's part `wₖ·tₖ / Σ w` adds up exactly to the
//! score. [`indicator_parts`] computes those parts with the need index itself (one indicator
//! at a time, weight 1), so they follow the same scaling, imputation and exclusions as the
//! score; [`explain_zone`] averages them over the households inside the zone and over every
//! household.

use crate::data::Households;
use crate::need::{NeedError, NeedParams, need_index};
use crate::zones::{Priority, Zone, ZonesResult};

/// Each indicator's part of every household's need score (`NaN` where the score is missing),
/// in the order of `resolved.indicators`. Summed over the indicators, a household's parts give
/// its score.
pub fn indicator_parts(h: &Households, resolved: &NeedParams) -> Result<Vec<Vec<f64>>, NeedError> {
    let total_w: f64 = resolved.indicators.iter().map(|i| i.weight).sum();
    let whole = need_index(h, resolved)?;
    resolved
        .indicators
        .iter()
        .map(|ind| {
            let alone = NeedParams {
                indicators: vec![crate::need::Indicator { weight: 1.0, ..ind.clone() }],
                ..resolved.clone()
            };
            let t = need_index(h, &alone)?.score;
            let share = if total_w > 0.0 { ind.weight / total_w } else { 0.0 };
            // A household excluded from the whole score (missing another indicator) has no part.
            Ok(t.iter().zip(&whole.score).map(|(&x, &s)| if s.is_nan() { f64::NAN } else { share * x }).collect())
        })
        .collect()
}

/// One of a zone's figures and where it stands among all zones.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub figure: Figure,
    pub value: f64,
    /// The median over every zone.
    pub median: f64,
    /// 1 = the highest value among the zones.
    pub place: usize,
    pub of: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    TotalNeed,
    MeanNeed,
    Households,
    Critical,
    CriticalShare,
    Density,
}

impl Figure {
    pub const ALL: [Figure; 6] = [
        Figure::TotalNeed,
        Figure::MeanNeed,
        Figure::Households,
        Figure::Critical,
        Figure::CriticalShare,
        Figure::Density,
    ];

    pub fn of(self, z: &Zone) -> f64 {
        match self {
            Figure::TotalNeed => z.total_need,
            Figure::MeanNeed => z.mean_need,
            Figure::Households => z.households as f64,
            Figure::Critical => z.critical as f64,
            Figure::CriticalShare => z.critical_share,
            Figure::Density => z.density_per_km2,
        }
    }

    /// The figure a ranking priority sorts by, when it is one of these.
    pub fn of_priority(p: Priority) -> Option<Figure> {
        match p {
            Priority::TotalNeed => Some(Figure::TotalNeed),
            Priority::MeanNeed => Some(Figure::MeanNeed),
            Priority::CriticalHouseholds => Some(Figure::Critical),
            Priority::CriticalShare => Some(Figure::CriticalShare),
            Priority::Households => Some(Figure::Households),
            Priority::Density => Some(Figure::Density),
            Priority::People => None,
        }
    }
}

/// One indicator's part of the need score inside the zone and everywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub column: String,
    /// Its weight over the total weight.
    pub weight_share: f64,
    /// Mean part over the zone's households with a score.
    pub zone_mean: f64,
    /// Mean part over every household with a score.
    pub all_mean: f64,
}

impl Contribution {
    /// How much more need (in score points) this indicator gives the zone than the average.
    pub fn lift(&self) -> f64 {
        self.zone_mean - self.all_mean
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneExplanation {
    pub zone: u32,
    pub rank: u32,
    pub standings: Vec<Standing>,
    /// Largest lift first.
    pub contributions: Vec<Contribution>,
    /// The next zone's rank and its value of the priority figure (when there is a next).
    pub next: Option<(u32, f64)>,
}

/// Explains zone `id` of `zones` with the parts from [`indicator_parts`] (`None` when the
/// zone is not there).
pub fn explain_zone(
    zones: &ZonesResult,
    id: u32,
    parts: &[Vec<f64>],
    resolved: &NeedParams,
    priority: Priority,
) -> Option<ZoneExplanation> {
    let k = zones.zones.iter().position(|z| z.id == id)?;
    let z = &zones.zones[k];
    let n = zones.zones.len();
    let standings = Figure::ALL
        .iter()
        .map(|&f| {
            let mut all: Vec<f64> = zones.zones.iter().map(|o| f.of(o)).collect();
            let value = f.of(z);
            let place = 1 + all.iter().filter(|&&v| v > value).count();
            all.sort_by(f64::total_cmp);
            let median = if n % 2 == 1 { all[n / 2] } else { 0.5 * (all[n / 2 - 1] + all[n / 2]) };
            Standing { figure: f, value, median, place, of: n }
        })
        .collect();
    let total_w: f64 = resolved.indicators.iter().map(|i| i.weight).sum();
    let inside = &zones.inside[k];
    let mean = |p: &[f64], idx: &mut dyn Iterator<Item = usize>| {
        let (s, c) = idx.map(|i| p[i]).filter(|v| !v.is_nan()).fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
        if c == 0 { f64::NAN } else { s / c as f64 }
    };
    let mut contributions: Vec<Contribution> = resolved
        .indicators
        .iter()
        .zip(parts)
        .map(|(ind, p)| Contribution {
            column: ind.column.clone(),
            weight_share: if total_w > 0.0 { ind.weight / total_w } else { 0.0 },
            zone_mean: mean(p, &mut inside.iter().map(|&i| i as usize)),
            all_mean: mean(p, &mut (0..p.len())),
        })
        .collect();
    contributions.sort_by(|a, b| b.lift().total_cmp(&a.lift()));
    let next = zones.zones.get(k + 1).map(|o| {
        let v = Figure::of_priority(priority).map_or(o.people.unwrap_or(o.households as f64), |f| f.of(o));
        (o.rank, v)
    });
    Some(ZoneExplanation { zone: z.id, rank: z.rank, standings, contributions, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ImportOptions, Keep, import};
    use crate::need::{Direction, Indicator, Transform};

    fn households(rows: &str) -> Households {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.csv");
        std::fs::write(&p, rows).unwrap();
        import(&p, &ImportOptions::default(), &Keep::All, &crate::progress::Progress::new()).unwrap().0
    }

    #[test]
    fn parts_add_up_to_the_score_and_follow_the_weights() {
        let h = households(
            "lat,lon,income,crowding\n-12.0,-77.0,100,1\n-12.0,-77.001,300,3\n-12.0,-77.002,200,\n-12.0,-77.003,500,2\n",
        );
        let ind = |c: &str, d, w| Indicator {
            column: c.into(),
            direction: d,
            transform: Transform::MinMax,
            weight: w,
            ..Default::default()
        };
        let params = NeedParams {
            indicators: vec![
                ind("income", Direction::LowerIsWorse, 1.0),
                ind("crowding", Direction::HigherIsWorse, 3.0),
            ],
            ..Default::default()
        };
        let parts = indicator_parts(&h, &params).unwrap();
        let score = need_index(&h, &params).unwrap().score;
        for i in 0..h.len() {
            let sum: f64 = parts.iter().map(|p| p[i]).sum();
            if score[i].is_nan() {
                assert!(sum.is_nan());
            } else {
                assert!((sum - score[i]).abs() < 1e-12, "{i}: {sum} vs {}", score[i]);
            }
        }
        // By hand: income 100 is the lowest (worst) of 100..500: t = 1, part = 1/4.
        assert!((parts[0][0] - 0.25).abs() < 1e-12);
        // Crowding 3 is the highest of 1..3: t = 1, part = 3/4.
        assert!((parts[1][1] - 0.75).abs() < 1e-12);
    }

    #[test]
    fn standings_place_and_median_by_hand() {
        let zone = |id: u32, rank: u32, total: f64, hh: usize| Zone {
            id,
            rank,
            ring: vec![],
            centre: (0.0, 0.0),
            members: hh,
            households: hh,
            people: None,
            critical: hh / 2,
            critical_share: 0.5,
            mean_need: total / hh as f64,
            total_need: total,
            area_m2: 1e6,
            density_per_km2: hh as f64,
        };
        let zones = ZonesResult {
            zones: vec![zone(7, 1, 30.0, 40), zone(3, 2, 20.0, 100), zone(5, 3, 10.0, 10)],
            zone_of: vec![],
            inside: vec![vec![0, 1], vec![2], vec![3]],
        };
        let parts = vec![vec![0.5, 0.3, 0.1, f64::NAN]];
        let params = NeedParams {
            indicators: vec![Indicator { column: "x".into(), ..Default::default() }],
            ..Default::default()
        };
        let e = explain_zone(&zones, 7, &parts, &params, Priority::TotalNeed).unwrap();
        assert_eq!(e.rank, 1);
        let total = e.standings.iter().find(|s| s.figure == Figure::TotalNeed).unwrap();
        assert_eq!((total.place, total.of, total.median), (1, 3, 20.0));
        let hh = e.standings.iter().find(|s| s.figure == Figure::Households).unwrap();
        assert_eq!((hh.place, hh.median), (2, 40.0));
        assert_eq!(e.next, Some((2, 20.0)));
        // Zone mean over households 0 and 1; all mean over the three with a part.
        assert!((e.contributions[0].zone_mean - 0.4).abs() < 1e-12);
        assert!((e.contributions[0].all_mean - 0.3).abs() < 1e-12);
        assert!(explain_zone(&zones, 99, &parts, &params, Priority::TotalNeed).is_none());
    }
}
