//! `zones.geojson`: an RFC 7946 FeatureCollection, one Polygon per zone (lon/lat, exterior
//! ring counter-clockwise), in rank order.

use serde_json::{Value, json};

use super::round;
use crate::zones::Zone;

/// The figures of a zone, as GeoJSON properties and CSV columns share them.
pub fn zone_properties(z: &Zone) -> Value {
    json!({
        "zone": z.id,
        "rank": z.rank,
        "households": z.households,
        "people": z.people.map(|p| round(p, 2)),
        "critical_households": z.critical,
        "critical_share": round(z.critical_share, 4),
        "mean_need": round(z.mean_need, 6),
        "total_need": round(z.total_need, 6),
        "area_m2": round(z.area_m2, 1),
        "density_per_km2": round(z.density_per_km2, 1),
        "members": z.members,
        "centre_lon": z.centre.0,
        "centre_lat": z.centre.1,
    })
}

pub fn zones_geojson(zones: &[Zone]) -> String {
    let features: Vec<Value> = zones
        .iter()
        .map(|z| {
            json!({
                "type": "Feature",
                "id": z.id,
                "properties": zone_properties(z),
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [z.ring.iter().map(|&(lon, lat)| json!([lon, lat])).collect::<Vec<_>>()],
                },
            })
        })
        .collect();
    let fc = json!({ "type": "FeatureCollection", "features": features });
    serde_json::to_string(&fc).unwrap_or_default() + "\n"
}

/// `sites.geojson`: one Point per chosen site (RFC 7946, lon/lat) with the same figures as
/// `sites.csv`.
pub fn sites_geojson(s: &crate::analysis::SitesResult) -> String {
    let sol = &s.solution;
    let mut cumulative = sol.existing_weight;
    let features: Vec<serde_json::Value> = sol
        .sites
        .iter()
        .enumerate()
        .map(|(k, site)| {
            cumulative += site.added_weight;
            let j = site.candidate;
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.candidates.lon_deg[j], s.candidates.lat_deg[j]]},
                "properties": {
                    "site": k + 1,
                    "candidate": s.candidates.id[j],
                    "covered_households": site.covered_households,
                    "covered_weight": super::round(site.covered_weight, 6),
                    "added_weight": super::round(site.added_weight, 6),
                    "cumulative_weight": super::round(cumulative, 6),
                    "radius_m": s.params.radius_m,
                },
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({"type": "FeatureCollection", "features": features}))
        .unwrap_or_default()
        + "\n"
}
