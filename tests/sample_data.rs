//! The shipped sample surveys import as documented in sample_data/README.md and give zones a
//! planner would believe.

use std::path::{Path, PathBuf};

use needmap::analysis::{self, Analysis};
use needmap::data::IssueKind;
use needmap::progress::Progress;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data").join(name)
}

#[test]
fn lima_rejects_and_flags_exactly_the_deliberate_problems() {
    let out = analysis::run(&Analysis::default(), &sample("lima_households.csv"), &Progress::new()).unwrap();
    let r = &out.imported.report;
    assert_eq!(r.records, 20_230);
    assert_eq!(r.accepted, 20_223);
    let mut rejects: Vec<(u32, IssueKind)> = r.rejects.iter().map(|i| (i.line.unwrap(), i.kind)).collect();
    rejects.sort_by_key(|x| x.0);
    assert_eq!(
        rejects,
        vec![
            (138, IssueKind::MissingCoordinate),
            (2046, IssueKind::MissingCoordinate),
            (4411, IssueKind::ZeroZero),
            (9002, IssueKind::DuplicateId),
            (11874, IssueKind::MissingCoordinate),
            (12346, IssueKind::DecimalComma),
            (15003, IssueKind::ZeroZero),
        ]
    );
    let swaps: Vec<u32> =
        r.flags.iter().filter(|i| i.kind == IssueKind::ProbableSwap).map(|i| i.line.unwrap()).collect();
    assert_eq!(swaps, vec![6219, 17391]);
    // Ids keep their leading zeros.
    assert_eq!(out.imported.households.id(0), "H000001");
    // Income: five blanks and one decimal comma are missing values, imputed.
    let income = out.scored.need.indicators.iter().find(|i| i.indicator.column == "monthly_income_pen").unwrap();
    assert_eq!(income.missing, 6);
    assert!(income.not_numbers.iter().any(|t| t.contains("line 7778")), "{:?}", income.not_numbers);
    // Every recognised indicator is used: size, crowding, income, water, sanitation, 3 materials.
    assert_eq!(out.scored.need.indicators.len(), 8);
}

#[test]
fn lima_zones_are_where_the_need_is() {
    let out = analysis::run(&Analysis::default(), &sample("lima_households.csv"), &Progress::new()).unwrap();
    let zones = &out.zones.zones;
    assert!((10..=80).contains(&zones.len()), "{} zones", zones.len());
    let h = &out.imported.households;
    let city_mean = out.scored.need.score.iter().sum::<f64>() / out.scored.need.score.len() as f64;
    for z in &zones[..5] {
        assert!(z.mean_need > city_mean + 0.1, "zone #{} mean need {} vs city {}", z.rank, z.mean_need, city_mean);
    }
    // The households of the best-ranked zone are mostly from informal settlements.
    let st = h.column("settlement_type").unwrap();
    let best = zones[0].id as i32;
    let inside: Vec<usize> = (0..h.len()).filter(|&i| out.zones.zone_of[i] == best).collect();
    let informal = inside.iter().filter(|&&i| h.text(i, st) == "informal").count();
    assert!(informal * 10 >= inside.len() * 8, "{informal} of {} informal", inside.len());
    // No zone in a formal district tops the ranking: Miraflores' centre is not in the top ten.
    for z in &zones[..10] {
        let (lon, lat) = z.centre;
        let d = ((lon + 77.03).powi(2) + (lat + 12.12).powi(2)).sqrt();
        assert!(d > 0.01, "zone #{} centred in Miraflores", z.rank);
    }
}

#[test]
fn the_kobo_xlsx_and_csv_exports_import_to_the_same_households() {
    let p = Progress::new();
    let a = analysis::run(&Analysis::default(), &sample("kobo_encuesta_sjl.xlsx"), &p).unwrap();
    let b = analysis::run(&Analysis::default(), &sample("kobo_encuesta_sjl.csv"), &p).unwrap();
    let (ha, hb) = (&a.imported.households, &b.imported.households);
    assert_eq!(ha.len(), 1500);
    assert_eq!(hb.len(), 1500);
    assert_eq!(a.imported.report.id_column.as_deref(), Some("_id"));
    assert!(a.imported.report.coordinates.contains("_ubicacion_latitude"), "{}", a.imported.report.coordinates);
    assert_eq!(a.imported.report.accuracy.as_ref().map(|x| x.column.as_str()), Some("_ubicacion_precision"));
    for i in 0..1500 {
        assert_eq!(ha.id(i), hb.id(i));
        assert_eq!(ha.lat_deg[i], hb.lat_deg[i]);
        assert_eq!(ha.lon_deg[i], hb.lon_deg[i]);
    }
    assert_eq!(a.scored.need.score, b.scored.need.score);
    assert_eq!(a.zones.zones, b.zones.zones);
    // Spanish indicator names are recognised.
    let cols: Vec<&str> = a.scored.need.indicators.iter().map(|i| i.indicator.column.as_str()).collect();
    for c in ["ingreso_mensual", "personas_por_habitacion", "fuente_agua", "desague", "material_techo"] {
        assert!(cols.contains(&c), "{c} not used: {cols:?}");
    }
    assert!(a.imported.report.rejects.is_empty());
    assert!(!a.zones.zones.is_empty());
}

#[test]
fn the_geojson_points_import_and_the_river_line_is_reported() {
    let out = analysis::run(&Analysis::default(), &sample("puntos_hogares.geojson"), &Progress::new()).unwrap();
    let r = &out.imported.report;
    assert_eq!(r.accepted, 2000);
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(r.rejects[0].kind, IssueKind::UnsupportedGeometry);
    assert_eq!(r.rejects[0].row, 1);
    assert_eq!(out.imported.households.id(0), "R00001");
    assert!(!out.zones.zones.is_empty());
}
