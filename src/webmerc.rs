//! Normalised Web Mercator (x east, y south, both in `[0, 1]`) and the XYZ tile grid on it:
//! shared by the app's map, the printed maps and the offline tile download.

/// The latitude where Web Mercator's square world ends.
pub const MAX_LAT: f64 = 85.051_128_78;

/// Normalised Web Mercator: x east, y south, both in [0, 1].
pub fn merc_from_lonlat(lon: f64, lat: f64) -> [f64; 2] {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    [x, y]
}

/// The inverse of [`merc_from_lonlat`].
pub fn lonlat_from_merc(m: [f64; 2]) -> (f64, f64) {
    let lon = m[0] * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * m[1])).sinh().atan().to_degrees();
    (lon, lat)
}

/// The XYZ tile (`x`, `y` at `zoom`) that holds a normalised Mercator point.
pub fn tile_of(m: [f64; 2], zoom: u8) -> (u32, u32) {
    let n = (1u64 << zoom) as f64;
    let max = (1u64 << zoom) as u32 - 1;
    let x = ((m[0] * n).floor().max(0.0) as u32).min(max);
    let y = ((m[1] * n).floor().max(0.0) as u32).min(max);
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tiles() {
        let (lon, lat) = lonlat_from_merc(merc_from_lonlat(-77.03, -12.05));
        assert!((lon + 77.03).abs() < 1e-9 && (lat + 12.05).abs() < 1e-9);
        // Lima at zoom 12: the tile OpenStreetMap serves as 12/1171/2186.
        assert_eq!(tile_of(merc_from_lonlat(-77.03, -12.05), 12), (1171, 2186));
        assert_eq!(tile_of([1.0, 1.0], 3), (7, 7));
    }
}
