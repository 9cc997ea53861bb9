//! The k-distance plot as inline SVG: households sorted by the distance to their
//! min-points-th nearest neighbour, with the chosen eps as a horizontal line and the knee
//! (what needmap suggests) as a dot. Plain SVG elements with no external references, so the
//! plot prints sharp and needs nothing from the network.

use super::html::{esc, num};

/// Width and height of the drawing, in SVG units (it scales to the page width).
const W: f64 = 720.0;
const H: f64 = 300.0;
/// Plot area margins: left, right, top, bottom.
const M: [f64; 4] = [64.0, 16.0, 14.0, 46.0];

/// What the plot shows besides the curve.
pub struct KDistancePlot<'a> {
    /// Sorted distances in metres.
    pub distances: &'a [f64],
    pub eps_m: f64,
    pub knee_m: Option<f64>,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub eps_label: String,
    pub knee_label: String,
    pub title: &'a str,
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_step(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|&s| s >= v).unwrap_or(10.0 * p)
}

/// The top of the y axis: above the chosen eps and the knee, and above most of the curve,
/// but not so high that a few remote households squash it flat.
pub fn y_top(d: &[f64], eps_m: f64, knee_m: Option<f64>) -> f64 {
    let p98 = d.get(((d.len() as f64) * 0.98) as usize).or(d.last()).copied().unwrap_or(1.0);
    let want = (p98 * 1.1).max(eps_m * 1.6).max(knee_m.unwrap_or(0.0) * 1.6).max(1.0);
    let step = nice_step(want / 5.0);
    (want / step).ceil() * step
}

/// The plot as an `<svg>` element, and how many households lie above its top edge.
pub fn k_distance_svg(p: &KDistancePlot<'_>) -> (String, usize) {
    let d = p.distances;
    let top = y_top(d, p.eps_m, p.knee_m);
    let (x0, x1, y0, y1) = (M[0], W - M[1], M[2], H - M[3]);
    let n = d.len().max(2);
    let x_of = |i: usize| x0 + (x1 - x0) * i as f64 / (n - 1) as f64;
    let y_of = |v: f64| y1 - (y1 - y0) * (v.min(top) / top);
    let mut s = format!("<svg class=\"plot\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">\n", esc(p.title));
    // Grid and y ticks.
    let step = nice_step(top / 5.0);
    let mut v = 0.0;
    while v <= top + 1e-9 {
        let y = y_of(v);
        s += &format!(
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>\n",
            x0 - 6.0,
            y + 4.0,
            num(Some(v), 0)
        );
        v += step;
    }
    // X ticks: 0, 25, 50, 75, 100 % of the households.
    for q in 0..=4 {
        let x = x0 + (x1 - x0) * q as f64 / 4.0;
        s += &format!(
            "<line x1=\"{x:.1}\" y1=\"{y1}\" x2=\"{x:.1}\" y2=\"{:.1}\" class=\"axis\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}\u{A0}%</text>\n",
            y1 + 4.0,
            y1 + 17.0,
            q * 25
        );
    }
    s += &format!("<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" class=\"axis\"/>");
    s += &format!("<line x1=\"{x0}\" y1=\"{y1}\" x2=\"{x1}\" y2=\"{y1}\" class=\"axis\"/>\n");
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"middle\">{}</text>\n",
        (x0 + x1) / 2.0,
        H - 8.0,
        esc(p.x_label)
    );
    s += &format!(
        "<text transform=\"translate(16 {:.1}) rotate(-90)\" class=\"label\" text-anchor=\"middle\">{}</text>\n",
        (y0 + y1) / 2.0,
        esc(p.y_label)
    );
    // The curve, thinned to at most ~600 vertices (the plot is 640 units wide).
    let stride = d.len().div_ceil(600).max(1);
    let mut pts: Vec<String> =
        (0..d.len()).step_by(stride).map(|i| format!("{:.1},{:.1}", x_of(i), y_of(d[i]))).collect();
    if let Some(&last) = d.last()
        && !(d.len() - 1).is_multiple_of(stride)
    {
        pts.push(format!("{:.1},{:.1}", x_of(d.len() - 1), y_of(last)));
    }
    s += &format!("<polyline points=\"{}\" class=\"curve\"/>\n", pts.join(" "));
    // The chosen eps.
    let ye = y_of(p.eps_m);
    s += &format!(
        "<line x1=\"{x0}\" y1=\"{ye:.1}\" x2=\"{x1}\" y2=\"{ye:.1}\" class=\"eps\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"eps-label\">{}</text>\n",
        x0 + 8.0,
        ye - 6.0,
        esc(&p.eps_label)
    );
    // The knee: where the curve first reaches it.
    if let Some(k) = p.knee_m {
        let i = d.partition_point(|&v| v < k).min(d.len().saturating_sub(1));
        let (x, y) = (x_of(i), y_of(k));
        s += &format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" class=\"knee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"knee-label\" text-anchor=\"end\">{}</text>\n",
            x - 9.0,
            y + 16.0,
            esc(&p.knee_label)
        );
    }
    s += "</svg>";
    let above = d.iter().filter(|&&v| v > top).count();
    (s, above)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_holds_eps_and_most_of_the_curve() {
        let mut d: Vec<f64> = (0..1000).map(|i| i as f64 / 5.0).collect();
        d.push(8_000_000.0);
        let top = y_top(&d, 150.0, Some(180.0));
        assert!((180.0 * 1.6..1000.0).contains(&top), "{top}");
        let plot = KDistancePlot {
            distances: &d,
            eps_m: 150.0,
            knee_m: Some(180.0),
            x_label: "households",
            y_label: "metres",
            eps_label: "eps = 150 m".into(),
            knee_label: "knee <180 m>".into(),
            title: "k-distance",
        };
        let (svg, above) = k_distance_svg(&plot);
        assert_eq!(above, 1);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("knee &lt;180 m&gt;"));
        assert!(!svg.contains("http"), "no namespace or link needed inline");
    }

    #[test]
    fn short_and_empty_curves_do_not_panic() {
        for d in [vec![], vec![5.0], vec![0.0, 0.0]] {
            let plot = KDistancePlot {
                distances: &d,
                eps_m: 10.0,
                knee_m: None,
                x_label: "",
                y_label: "",
                eps_label: String::new(),
                knee_label: String::new(),
                title: "",
            };
            let (svg, _) = k_distance_svg(&plot);
            assert!(svg.contains("polyline"));
        }
    }
}
