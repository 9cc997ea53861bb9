//! A local metric plane around a zone: the spherical transverse Mercator projection centred
//! on the zone, in metres. Within a few kilometres of the centre its scale error is below
//! one part in a million, so hull areas and point-in-polygon tests are exact for a zone's
//! size, anywhere on Earth (across the antimeridian too: longitudes are taken relative to
//! the centre).
//!
//! ```
//! use needmap::plane::Plane;
//! let p = Plane::new(-77.0, -12.0);
//! let (x, y) = p.xy_from_lonlat(-77.0, -11.999);
//! assert!(x.abs() < 1e-6 && (y - 111.195).abs() < 0.001);
//! let (lon, lat) = p.lonlat_from_xy(x, y);
//! assert!((lon + 77.0).abs() < 1e-12 && (lat + 11.999).abs() < 1e-12);
//! ```

use crate::sphere::EARTH_RADIUS_M;

/// Spherical transverse Mercator centred on (`lon0`, `lat0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    lon0: f64,
    lat0: f64,
}

impl Plane {
    pub fn new(lon0_deg: f64, lat0_deg: f64) -> Self {
        Self { lon0: lon0_deg.to_radians(), lat0: lat0_deg.to_radians() }
    }

    /// Metres east (x) and north (y) of the centre.
    pub fn xy_from_lonlat(&self, lon_deg: f64, lat_deg: f64) -> (f64, f64) {
        let phi = lat_deg.to_radians();
        let mut dl = lon_deg.to_radians() - self.lon0;
        if dl > std::f64::consts::PI {
            dl -= std::f64::consts::TAU;
        } else if dl < -std::f64::consts::PI {
            dl += std::f64::consts::TAU;
        }
        let b = phi.cos() * dl.sin();
        let x = EARTH_RADIUS_M * b.atanh();
        let y = EARTH_RADIUS_M * (phi.tan().atan2(dl.cos()) - self.lat0);
        (x, y)
    }

    /// Longitude and latitude in degrees of a point of the plane.
    pub fn lonlat_from_xy(&self, x: f64, y: f64) -> (f64, f64) {
        let d = y / EARTH_RADIUS_M + self.lat0;
        let xr = x / EARTH_RADIUS_M;
        let phi = (d.sin() / xr.cosh()).asin();
        let mut lon = (self.lon0 + xr.sinh().atan2(d.cos())).to_degrees();
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        (lon, phi.to_degrees())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::distance_m;

    #[test]
    fn distances_are_preserved_near_the_centre() {
        for &(lon0, lat0) in &[(-77.0, -12.0), (179.99, 65.0), (0.0, -89.0)] {
            let p = Plane::new(lon0, lat0);
            let (a, b) = ((lon0 + 0.01, lat0 + 0.005), (lon0 - 0.008, lat0 - 0.004));
            let (x1, y1) = p.xy_from_lonlat(a.0, a.1);
            let (x2, y2) = p.xy_from_lonlat(b.0, b.1);
            let plane = (x1 - x2).hypot(y1 - y2);
            let sphere = distance_m(a.0, a.1, b.0, b.1);
            assert!((plane - sphere).abs() / sphere < 1e-5, "{lon0},{lat0}: {plane} vs {sphere}");
        }
    }

    #[test]
    fn round_trip_across_the_antimeridian() {
        let p = Plane::new(179.999, 10.0);
        let (x, y) = p.xy_from_lonlat(-179.999, 10.001);
        assert!(x > 0.0 && x < 300.0, "{x}");
        let (lon, lat) = p.lonlat_from_xy(x, y);
        assert!((lon + 179.999).abs() < 1e-9 && (lat - 10.001).abs() < 1e-9, "{lon} {lat}");
    }
}
