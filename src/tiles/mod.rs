//! Offline tiles for the area of a survey: which XYZ tiles cover the zones (or households)
//! with a margin, downloading them politely into an MBTiles file (resumable), and reading
//! MBTiles back. The CLI's `needmap tiles` and the app's "Download this area" share it.

pub mod area;
pub mod cli;
pub mod download;
pub mod mbtiles;
pub mod pmtiles;

use std::collections::BTreeSet;

use crate::webmerc::{merc_from_lonlat, tile_of};

pub use download::{DownloadConfig, Summary, TilesError, download};
pub use mbtiles::MbTiles;

/// A lon/lat box: `[min_lon, min_lat, max_lon, max_lat]`.
pub type LonLatBox = [f64; 4];

/// Fills a tile URL template: `{z}`, `{x}`, `{y}`, `{s}` (a, b or c by the tile), `{r}`
/// (retina: empty), `{key}`/`{apikey}` (the API key, kept out of the template).
///
/// ```
/// use needmap::tiles::expand_template;
/// let t = "https://{s}.tiles.example.org/{z}/{x}/{y}{r}.png?key={key}";
/// assert_eq!(expand_template(t, 12, 1171, 2186, "K"), "https://a.tiles.example.org/12/1171/2186.png?key=K");
/// ```
pub fn expand_template(template: &str, z: u8, x: u32, y: u32, key: &str) -> String {
    let sub = ["a", "b", "c"][((x as u64 + y as u64) % 3) as usize];
    template
        .replace("{z}", &z.to_string())
        .replace("{x}", &x.to_string())
        .replace("{y}", &y.to_string())
        .replace("{s}", sub)
        .replace("{r}", "")
        .replace("{key}", key)
        .replace("{apikey}", key)
}

/// The host of an http(s) URL, lower-cased.
pub fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Grows a box by `margin_m` metres on every side (degrees at the box's latitude).
pub fn grow(b: LonLatBox, margin_m: f64) -> LonLatBox {
    let dlat = margin_m / 111_320.0;
    let lat = b[1].abs().max(b[3].abs()).min(85.0).to_radians();
    let dlon = margin_m / (111_320.0 * lat.cos());
    [(b[0] - dlon).max(-180.0), (b[1] - dlat).max(-85.05), (b[2] + dlon).min(180.0), (b[3] + dlat).min(85.05)]
}

/// The tiles at `zoom` that cover the boxes grown by `margin_m`: their union, so scattered
/// zones do not pull in everything between them.
pub fn tiles_for(boxes: &[LonLatBox], margin_m: f64, zoom: u8) -> BTreeSet<(u32, u32)> {
    let mut out = BTreeSet::new();
    for &b in boxes {
        let g = grow(b, margin_m);
        let (x0, y0) = tile_of(merc_from_lonlat(g[0], g[3]), zoom);
        let (x1, y1) = tile_of(merc_from_lonlat(g[2], g[1]), zoom);
        for x in x0..=x1 {
            for y in y0..=y1 {
                out.insert((x, y));
            }
        }
    }
    out
}

/// Tiles to fetch, level by level: `(zoom, [(x, y)…])`.
pub type Plan = Vec<(u8, Vec<(u32, u32)>)>;

/// The tiles of every zoom in `zooms`, level by level.
pub fn plan(boxes: &[LonLatBox], margin_m: f64, zooms: (u8, u8)) -> Plan {
    (zooms.0..=zooms.1).map(|z| (z, tiles_for(boxes, margin_m, z).into_iter().collect())).collect()
}

/// The bounding box of all boxes.
pub fn bounds(boxes: &[LonLatBox]) -> Option<LonLatBox> {
    boxes.iter().copied().reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_and_tile_counts_by_hand() {
        // 500 m of latitude is 0.004491°; of longitude at 12° S, 0.004591°.
        let g = grow([-77.03, -12.05, -77.03, -12.05], 500.0);
        assert!((g[3] - g[1] - 2.0 * 500.0 / 111_320.0).abs() < 1e-12);
        assert!(((g[2] - g[0]) / 2.0 - 500.0 / (111_320.0 * 12.05f64.to_radians().cos())).abs() < 1e-12);
        // A point with no margin: one tile per zoom.
        assert_eq!(
            tiles_for(&[[-77.03, -12.05, -77.03, -12.05]], 0.0, 12).into_iter().collect::<Vec<_>>(),
            vec![(1171, 2186)]
        );
        // A box of 3 × 2 tiles at zoom 4 (tile width 22.5° of longitude).
        let b = [-170.0, 60.0, -120.0, 75.0];
        let t = tiles_for(&[b], 0.0, 4);
        let (x0, y0) = tile_of(merc_from_lonlat(-170.0, 75.0), 4);
        let (x1, y1) = tile_of(merc_from_lonlat(-120.0, 60.0), 4);
        assert_eq!((x0, x1), (0, 2));
        assert_eq!(t.len() as u32, (x1 - x0 + 1) * (y1 - y0 + 1));
        // Two far boxes: their tiles, not the rectangle between them.
        let two = tiles_for(&[[-77.03, -12.05, -77.03, -12.05], [2.35, 48.85, 2.35, 48.85]], 0.0, 10);
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("https://a.Tile.OpenStreetMap.org/{z}/{x}/{y}.png").as_deref(),
            Some("a.tile.openstreetmap.org")
        );
        assert_eq!(url_host("http://127.0.0.1:8080/{z}").as_deref(), Some("127.0.0.1"));
        assert_eq!(url_host("http://[::1]:8080/t").as_deref(), Some("::1"));
        assert_eq!(url_host("nonsense"), None);
    }
}
