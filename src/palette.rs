//! The colours of needmap's maps, one definition for the app, the printed maps and the
//! exported KML: zones purple by rank, households yellow-to-red by need.

/// Households by need score: ColorBrewer YlOrRd at five stops (0, ¼, ½, ¾, 1).
pub const NEED_STOPS: [[u8; 3]; 5] =
    [[0xff, 0xff, 0xb2], [0xfe, 0xcc, 0x5c], [0xfd, 0x8d, 0x3c], [0xf0, 0x3b, 0x20], [0xbd, 0x00, 0x26]];

/// A household without a need score.
pub const NO_NEED: [u8; 3] = [150, 150, 150];

/// Zones are filled at this opacity.
pub const ZONE_ALPHA: f32 = 0.45;

/// Fill of zone `rank` of `n`: deep purple (rank 1) fading to pale lavender (ColorBrewer
/// Purples), a hue the yellow-to-red households never use.
pub fn zone_rgb(rank: u32, n: usize) -> [u8; 3] {
    let t = if n <= 1 { 0.0 } else { (rank.saturating_sub(1)) as f32 / (n - 1) as f32 };
    let lerp = |a: f32, b: f32| (a + (b - a) * t).round() as u8;
    [lerp(63.0, 158.0), lerp(0.0, 154.0), lerp(125.0, 200.0)]
}

/// The colour of a need score in [0, 1], interpolated between [`NEED_STOPS`]; [`NO_NEED`]
/// for NaN.
pub fn need_rgb(score: f64) -> [u8; 3] {
    if !score.is_finite() {
        return NO_NEED;
    }
    let t = score.clamp(0.0, 1.0) * (NEED_STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(NEED_STOPS.len() - 2);
    let f = (t - i as f64) as f32;
    let (a, b) = (NEED_STOPS[i], NEED_STOPS[i + 1]);
    let lerp = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * f).round() as u8;
    [lerp(a[0], b[0]), lerp(a[1], b[1]), lerp(a[2], b[2])]
}
