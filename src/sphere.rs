//! Great-circle geometry on the mean Earth sphere.
//!
//! Every distance parameter in needmap is metres on the ground. Points are kept as unit
//! vectors in 3D (`xyz_from_lonlat`); a great-circle radius `d` becomes the straight-line
//! (chord) radius `2·sin(d / 2R)` between unit vectors (`chord_from_metres`). The chord is
//! a monotone function of the arc, so "within `d` metres along the sphere" and "within the
//! chord radius in 3D" are the same test, with no approximation, at any extent: one
//! district, a whole country, across the antimeridian or next to a pole.
//!
//! # Examples
//! ```
//! use needmap::sphere::{distance_m, chord_from_metres, xyz_from_lonlat, chord2};
//! // One degree of latitude is R·π/180 metres.
//! let d = distance_m(-77.0, -12.0, -77.0, -13.0);
//! assert!((d - 111_195.08).abs() < 0.01);
//! // Across the antimeridian: 179.9°E to 179.9°W on the equator is 0.2° apart.
//! let d = distance_m(179.9, 0.0, -179.9, 0.0);
//! assert!((d - 22_239.02).abs() < 0.01);
//! // The chord test agrees with the arc test.
//! let a = xyz_from_lonlat(-77.0, -12.0);
//! let b = xyz_from_lonlat(-77.0, -12.001);
//! let r = chord_from_metres(112.0);
//! assert!(chord2(a, b) <= r * r);
//! ```

/// Mean Earth radius (IUGG R1), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A point as a unit vector: x towards (0°, 0°), y towards (90°E, 0°), z towards the North Pole.
pub type Xyz = [f64; 3];

/// Unit vector of a longitude/latitude pair in degrees.
#[inline]
pub fn xyz_from_lonlat(lon_deg: f64, lat_deg: f64) -> Xyz {
    let (sin_lat, cos_lat) = lat_deg.to_radians().sin_cos();
    let (sin_lon, cos_lon) = lon_deg.to_radians().sin_cos();
    [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat]
}

/// Longitude and latitude in degrees of a (not necessarily unit) non-zero vector.
#[inline]
pub fn lonlat_from_xyz(p: Xyz) -> (f64, f64) {
    let h = p[0].hypot(p[1]);
    (p[1].atan2(p[0]).to_degrees(), p[2].atan2(h).to_degrees())
}

/// Squared straight-line distance between two vectors.
#[inline]
pub fn chord2(a: Xyz, b: Xyz) -> f64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    let dz = a[2] - b[2];
    dx * dx + dy * dy + dz * dz
}

/// The chord length between unit vectors that are `metres` apart along the sphere.
///
/// Radii of half the circumference or more reach every point: the result is then a
/// little over 2 (the diameter), so that antipodal points still test as inside.
#[inline]
pub fn chord_from_metres(metres: f64) -> f64 {
    let half_angle = metres / (2.0 * EARTH_RADIUS_M);
    if half_angle >= std::f64::consts::FRAC_PI_2 { 2.0 + 1e-9 } else { 2.0 * half_angle.sin() }
}

/// Great-circle metres of a chord length between unit vectors.
#[inline]
pub fn metres_from_chord(chord: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (chord.clamp(0.0, 2.0) / 2.0).asin()
}

/// Great-circle distance in metres between two lon/lat points (haversine form, which is
/// well conditioned for small distances).
pub fn distance_m(lon1_deg: f64, lat1_deg: f64, lon2_deg: f64, lat2_deg: f64) -> f64 {
    let (phi1, phi2) = (lat1_deg.to_radians(), lat2_deg.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (lon2_deg - lon1_deg).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The mean direction of a set of unit vectors, as lon/lat degrees. Works across the
/// antimeridian, where averaging longitudes does not. `None` for an empty set or one whose
/// vectors cancel out (points spread evenly around the globe).
pub fn centre_lonlat(points: impl IntoIterator<Item = Xyz>) -> Option<(f64, f64)> {
    let mut s = [0.0; 3];
    let mut n = 0usize;
    for p in points {
        s[0] += p[0];
        s[1] += p[1];
        s[2] += p[2];
        n += 1;
    }
    let norm = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt();
    if n == 0 || norm < 1e-12 * n as f64 {
        return None;
    }
    Some(lonlat_from_xyz(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chord_matches_haversine_over_many_scales() {
        for &d in &[0.01, 1.0, 150.0, 10_000.0, 1_000_000.0, 15_000_000.0] {
            let c = chord_from_metres(d);
            assert!((metres_from_chord(c) - d).abs() < 1e-6 * d.max(1.0), "{d}");
        }
    }

    #[test]
    fn chord_of_half_circumference_reaches_antipode() {
        let a = xyz_from_lonlat(0.0, 0.0);
        let b = xyz_from_lonlat(180.0, 0.0);
        let r = chord_from_metres(std::f64::consts::PI * EARTH_RADIUS_M);
        assert!(chord2(a, b) <= r * r);
    }

    #[test]
    fn poles_and_antimeridian() {
        // Two points near the North Pole on opposite sides are close.
        let d = distance_m(0.0, 89.999, 180.0, 89.999);
        assert!((d - 222.39).abs() < 0.01, "{d}");
        let (lon, lat) = centre_lonlat([xyz_from_lonlat(179.0, 10.0), xyz_from_lonlat(-179.0, 10.0)]).unwrap();
        assert!((lon.abs() - 180.0).abs() < 1e-9 && (lat - 10.0).abs() < 0.01, "{lon} {lat}");
    }

    #[test]
    fn centre_of_nothing_is_none() {
        assert!(centre_lonlat([]).is_none());
        assert!(centre_lonlat([xyz_from_lonlat(0.0, 0.0), xyz_from_lonlat(180.0, 0.0)]).is_none());
    }
}
