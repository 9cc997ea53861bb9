//! Where things go on the page: the single map page (title, map frame, legend panel beside or
//! under the map so it never covers a zone, footer with source and attribution) and the
//! atlas (an overview page with the ranked zones table, then one page per zone with its map
//! and visit list), paginated by fixed row counts so page counts are predictable:
//!
//! - the overview page lists [`OVERVIEW_ROWS`] zones, each further page [`TABLE_ROWS`];
//! - a zone page lists [`VISIT_ROWS_FIRST`] households, each further page [`TABLE_ROWS`].

use super::render::{self, MapOptions, MapView, bounds_of, draw_map, format_length, need_rgb, rank_rgb, scale_bar_m};
use super::tiles::TileSource;
use super::{Anchor, Colour, Item, Page, fit_text, text_width};
use crate::i18n::Strings;
use crate::rundir::Run;

/// Zones listed on the atlas' overview page.
pub const OVERVIEW_ROWS: usize = 18;
/// Rows on a continuation page (zones table or visit list).
pub const TABLE_ROWS: usize = 50;
/// Households listed on a zone's first page.
pub const VISIT_ROWS_FIRST: usize = 22;

const ROW_PT: f32 = 13.0;
const TABLE_PT: f32 = 7.5;

/// What a page shows besides the run: language, title, tiles and their attribution.
pub struct Setup<'a> {
    pub strings: Strings,
    pub title: String,
    pub tiles: Option<&'a TileSource>,
    pub attribution: String,
    /// Pixels per point of the output (for the tile zoom).
    pub px_per_pt: f32,
}

/// The frame's Mercator bounds: the zones (or, without zones, the households).
fn run_bounds(run: &Run) -> [f64; 4] {
    bounds_of(run.zones.iter().flat_map(|z| z.ring.iter().copied()))
        .or_else(|| bounds_of(run.households.iter().map(|h| (h.lon, h.lat))))
        .unwrap_or([0.49, 0.49, 0.51, 0.51])
}

fn data_line(s: &Setup<'_>, run: &Run) -> String {
    s.strings.f("print.data_line", &[("file", &run.source), ("date", &run.date)])
}

fn credit_line(s: &Setup<'_>) -> String {
    format!(
        "{} · {}",
        s.strings.f("print.basemap_line", &[("attribution", &s.attribution)]),
        s.strings.f("print.made_with", &[("version", &env!("CARGO_PKG_VERSION"))])
    )
}

/// The single-page map of `needmap map`.
/// Returns the page and its map's view (for the PNG's georeference).
pub fn map_page(run: &Run, size: [f32; 2], s: &Setup<'_>) -> (Page, MapView) {
    let mut page = Page::new(size);
    let k = size[0].min(size[1]) / 595.0;
    let m = 28.0 * k;
    let (w, h) = (size[0], size[1]);
    page.text(
        [m, m + 16.0 * k],
        18.0 * k,
        true,
        Colour::BLACK,
        Anchor::Left,
        &fit_text(&s.title, 18.0 * k, true, w - 2.0 * m),
    );
    page.text([m, m + 30.0 * k], 9.0 * k, false, Colour::GREY, Anchor::Left, &data_line(s, run));
    let top = m + 40.0 * k;
    let footer_y = h - m;
    page.text([m, footer_y], 7.0 * k, false, Colour::GREY, Anchor::Left, &credit_line(s));
    let bottom = footer_y - 12.0 * k;
    let landscape = w > h;
    let (frame, panel) = if landscape {
        let pw = 175.0 * k;
        ([m, top, w - 2.0 * m - pw - 10.0 * k, bottom - top], [w - m - pw, top, pw, bottom - top])
    } else {
        let ph = 96.0 * k;
        ([m, top, w - 2.0 * m, bottom - top - ph - 8.0 * k], [m, bottom - ph, w - 2.0 * m, ph])
    };
    let view = MapView::fit(run_bounds(run), frame, 0.06);
    let opts = MapOptions { tiles: s.tiles, px_per_pt: s.px_per_pt, ..MapOptions::default() };
    draw_map(&mut page, &view, run, &opts);
    legend(&mut page, panel, k, &view, run, s, !landscape, false);
    (page, view)
}

/// The legend in `panel`: blocks flowing across (`across`) or down.
#[allow(clippy::too_many_arguments)]
fn legend(
    page: &mut Page,
    panel: [f32; 4],
    k: f32,
    view: &MapView,
    run: &Run,
    s: &Setup<'_>,
    across: bool,
    numbers: bool,
) {
    let t = &s.strings;
    page.rect(panel, Some(Colour::rgb([250, 250, 248])), Some((Colour::rgb([200, 200, 200]), 0.6)));
    let pad = 8.0 * k;
    let head = 8.0 * k;
    let small = 7.0 * k;
    let bw = if across { (panel[2] - 2.0 * pad) / 3.0 } else { panel[2] - 2.0 * pad };
    let mut x = panel[0] + pad;
    let mut y = panel[1] + pad;
    let advance = |x: &mut f32, y: &mut f32, block_h: f32| {
        if across {
            *x += bw;
        } else {
            *y += block_h;
        }
    };
    // Zones by rank.
    page.text([x, y + head], head, true, Colour::BLACK, Anchor::Left, t.t("print.legend_zones"));
    let n = run.zones.len().max(1);
    let steps = n.min(5);
    let sw = 18.0 * k;
    for i in 0..steps {
        let rank = if steps <= 1 { 1 } else { 1 + (i * (n - 1)) / (steps - 1) } as u32;
        let r = [x + i as f32 * (sw + 3.0 * k), y + head + 5.0 * k, sw, 11.0 * k];
        let c = Colour::rgb(rank_rgb(rank, n));
        page.rect(r, Some(c.with_alpha(render::ZONE_ALPHA)), Some((c, 1.0)));
        page.text(
            [r[0] + sw / 2.0, r[1] + r[3] + 8.0 * k],
            small,
            false,
            Colour::BLACK,
            Anchor::Centre,
            &format!("#{rank}"),
        );
    }
    page.text([x, y + head + 36.0 * k], small, false, Colour::GREY, Anchor::Left, t.t("print.legend_rank_first"));
    advance(&mut x, &mut y, 50.0 * k);
    // Households by need.
    page.text([x, y + head], head, true, Colour::BLACK, Anchor::Left, t.t("print.legend_households"));
    let dy = y + head + 11.0 * k;
    for i in 0..5 {
        let c = [x + 5.0 * k + i as f32 * 14.0 * k, dy];
        page.items.push(Item::Circle {
            centre: c,
            radius: 3.0 * k,
            fill: Colour::rgb(need_rgb(Some(i as f64 / 4.0))),
            stroke: Some((Colour::rgb([150, 150, 150]), 0.3)),
        });
    }
    page.text([x + 5.0 * k, dy + 11.0 * k], small, false, Colour::BLACK, Anchor::Centre, t.t("print.legend_low"));
    page.text([x + 61.0 * k, dy + 11.0 * k], small, false, Colour::BLACK, Anchor::Centre, t.t("print.legend_high"));
    let cy = dy + 22.0 * k;
    page.items.push(Item::Circle {
        centre: [x + 5.0 * k, cy],
        radius: 3.6 * k,
        fill: Colour::rgb(need_rgb(Some(0.9))),
        stroke: Some((render::CRITICAL_OUTLINE, 0.8)),
    });
    page.text([x + 14.0 * k, cy + 2.5 * k], small, false, Colour::BLACK, Anchor::Left, t.t("print.legend_critical"));
    let mut extra = cy + 12.0 * k;
    if !run.sites.is_empty() {
        render::site_marker(page, [x + 5.0 * k, extra]);
        page.text([x + 14.0 * k, extra + 2.5 * k], small, false, Colour::BLACK, Anchor::Left, t.t("print.legend_site"));
        extra += 12.0 * k;
    }
    if numbers {
        page.text([x, extra + 2.5 * k], small, false, Colour::BLACK, Anchor::Left, t.t("print.legend_numbers"));
    }
    advance(&mut x, &mut y, 75.0 * k);
    // Scale bar and north arrow.
    let mpp = view.metres_per_pt();
    let len_m = scale_bar_m(mpp * f64::from(90.0 * k));
    let bar = (len_m / mpp) as f32;
    let by = y + 14.0 * k;
    let bh = 4.0 * k;
    page.rect([x, by, bar / 2.0, bh], Some(Colour::BLACK), Some((Colour::BLACK, 0.5)));
    page.rect([x + bar / 2.0, by, bar / 2.0, bh], Some(Colour::WHITE), Some((Colour::BLACK, 0.5)));
    page.text([x, by + bh + 9.0 * k], small, false, Colour::BLACK, Anchor::Centre, "0");
    page.text(
        [x + bar / 2.0, by + bh + 9.0 * k],
        small,
        false,
        Colour::BLACK,
        Anchor::Centre,
        &format_length(len_m / 2.0),
    );
    page.text([x + bar, by + bh + 9.0 * k], small, false, Colour::BLACK, Anchor::Centre, &format_length(len_m));
    // North arrow right of the bar (north is up in Web Mercator).
    let nx = x + bar + 30.0 * k;
    let ny = y + 4.0 * k;
    let arrow =
        vec![[nx, ny + 8.0 * k], [nx + 6.0 * k, ny + 28.0 * k], [nx, ny + 23.0 * k], [nx - 6.0 * k, ny + 28.0 * k]];
    page.items.push(Item::Fill { subpaths: vec![arrow], colour: Colour::BLACK });
    page.text([nx, ny + 6.0 * k], 9.0 * k, true, Colour::BLACK, Anchor::Centre, t.t("print.north"));
}

fn footer(page: &mut Page, left: &str, right: &str) {
    let m = 28.0;
    let y = page.size[1] - 18.0;
    page.line([m, y - 9.0], [page.size[0] - m, y - 9.0], Colour::rgb([200, 200, 200]), 0.5);
    page.text([m, y], 7.0, false, Colour::GREY, Anchor::Left, &fit_text(left, 7.0, false, page.size[0] * 0.6));
    page.text([page.size[0] - m, y], 7.0, false, Colour::GREY, Anchor::Right, right);
}

/// A table: header and rows of cells, right-aligned except the columns in `left`.
struct Table<'a> {
    widths: Vec<f32>,
    header: Vec<String>,
    left: &'a [usize],
    /// Draw a tick box in column 0.
    boxes: bool,
}

impl Table<'_> {
    /// Draws the header and `rows` from `y`; returns the y below.
    fn draw(&self, page: &mut Page, x: f32, mut y: f32, rows: &[Vec<String>]) -> f32 {
        let total: f32 = self.widths.iter().sum();
        page.rect([x, y, total, ROW_PT + 1.0], Some(Colour::rgb([232, 230, 240])), None);
        self.row(page, x, y, &self.header, true);
        y += ROW_PT + 1.0;
        for (i, r) in rows.iter().enumerate() {
            if i % 2 == 1 {
                page.rect([x, y, total, ROW_PT], Some(Colour::rgb([246, 246, 246])), None);
            }
            if self.boxes {
                page.rect([x + 3.0, y + 3.0, 7.0, 7.0], Some(Colour::WHITE), Some((Colour::BLACK, 0.6)));
            }
            self.row(page, x, y, r, false);
            y += ROW_PT;
        }
        page.line([x, y], [x + total, y], Colour::rgb([180, 180, 180]), 0.5);
        y
    }

    fn row(&self, page: &mut Page, x: f32, y: f32, cells: &[String], bold: bool) {
        let mut cx = x;
        for (c, w) in self.widths.iter().enumerate() {
            let text = fit_text(cells.get(c).map_or("", |s| s.as_str()), TABLE_PT, bold, w - 4.0);
            let base = y + ROW_PT * 0.5 + TABLE_PT * 0.36;
            if self.left.contains(&c) {
                page.text([cx + 2.0, base], TABLE_PT, bold, Colour::BLACK, Anchor::Left, &text);
            } else {
                page.text([cx + w - 2.0, base], TABLE_PT, bold, Colour::BLACK, Anchor::Right, &text);
            }
            cx += w;
        }
    }
}

fn number(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

fn people_text(p: Option<f64>) -> String {
    p.map_or("–".into(), |p| if p.fract() == 0.0 { format!("{p:.0}") } else { format!("{p:.1}") })
}

/// The households of a zone in visit-list order: most in need first, then by id.
pub fn visit_order(run: &Run, zone: u32) -> Vec<usize> {
    let mut v = run.households_of(zone);
    v.sort_by(|&a, &b| {
        let (ha, hb) = (&run.households[a], &run.households[b]);
        hb.need.unwrap_or(-1.0).total_cmp(&ha.need.unwrap_or(-1.0)).then_with(|| ha.id.cmp(&hb.id))
    });
    v
}

/// Pages of the atlas: `ceil` of rows over the pages' capacities.
pub fn pages_for(rows: usize, first: usize) -> usize {
    1 + rows.saturating_sub(first).div_ceil(TABLE_ROWS)
}

/// Every page of the atlas: the overview (+ zones table continuations), then per zone of
/// `zones` (indices into `run.zones`) its map page and visit-list continuations. Footers carry
/// the title, the run's date and `Page i of N`.
pub fn atlas_pages(run: &Run, zones: &[usize], s: &Setup<'_>, mut on_page: impl FnMut(usize, usize)) -> Vec<Page> {
    let size = super::Paper::A4.size_pt(false);
    let total = pages_for(run.zones.len(), OVERVIEW_ROWS)
        + zones.iter().map(|&z| pages_for(run.households_of(run.zones[z].id).len(), VISIT_ROWS_FIRST)).sum::<usize>();
    let mut pages = overview_pages(run, size, s);
    on_page(pages.len(), total);
    for &z in zones {
        pages.extend(zone_pages(run, z, size, s));
        on_page(pages.len(), total);
    }
    let n = pages.len();
    let left = format!("{} · {}", s.title, run.date);
    for (i, p) in pages.iter_mut().enumerate() {
        footer(p, &left, &s.strings.f("print.page", &[("page", &(i + 1)), ("pages", &n)]));
    }
    pages
}

fn zone_rows(run: &Run, from: usize, to: usize) -> Vec<Vec<String>> {
    run.zones[from..to]
        .iter()
        .map(|z| {
            vec![
                format!("#{}", z.rank),
                z.id.to_string(),
                z.households.to_string(),
                z.critical.to_string(),
                people_text(z.people),
                number(z.mean_need, 3),
                number(z.area_m2 / 1e6, 3),
                number(z.density_per_km2, 0),
            ]
        })
        .collect()
}

fn zones_table(s: &Setup<'_>) -> Table<'static> {
    let t = &s.strings;
    Table {
        widths: vec![40.0, 40.0, 70.0, 60.0, 60.0, 80.0, 80.0, 109.0],
        header: [
            "print.col_rank",
            "print.col_zone",
            "print.col_households",
            "print.col_critical",
            "print.col_people",
            "print.col_mean_need",
            "print.col_area",
            "print.col_density",
        ]
        .iter()
        .map(|k| t.t(k).to_string())
        .collect(),
        left: &[0],
        boxes: false,
    }
}

fn overview_pages(run: &Run, size: [f32; 2], s: &Setup<'_>) -> Vec<Page> {
    let t = &s.strings;
    let m = 28.0;
    let mut page = Page::new(size);
    page.text(
        [m, m + 14.0],
        16.0,
        true,
        Colour::BLACK,
        Anchor::Left,
        &fit_text(&s.title, 16.0, true, size[0] - 2.0 * m),
    );
    page.text(
        [m, m + 27.0],
        8.5,
        false,
        Colour::GREY,
        Anchor::Left,
        &format!("{} · {}", data_line(s, run), credit_line(s)),
    );
    let frame = [m, m + 36.0, size[0] - 2.0 * m, 340.0];
    let view = MapView::fit(run_bounds(run), frame, 0.05);
    let opts = MapOptions { tiles: s.tiles, px_per_pt: s.px_per_pt, ..MapOptions::default() };
    draw_map(&mut page, &view, run, &opts);
    let panel = [m, frame[1] + frame[3] + 6.0, size[0] - 2.0 * m, 84.0];
    legend(&mut page, panel, 1.0, &view, run, s, true, false);
    let mut y = panel[1] + panel[3] + 20.0;
    page.text([m, y], 11.0, true, Colour::BLACK, Anchor::Left, t.t("print.zones_table"));
    y += 6.0;
    let table = zones_table(s);
    if run.zones.is_empty() {
        page.text([m, y + 14.0], 9.0, false, Colour::GREY, Anchor::Left, t.t("print.no_zones"));
        return vec![page];
    }
    let first = run.zones.len().min(OVERVIEW_ROWS);
    table.draw(&mut page, m, y, &zone_rows(run, 0, first));
    let mut pages = vec![page];
    let mut from = first;
    while from < run.zones.len() {
        let to = (from + TABLE_ROWS).min(run.zones.len());
        let mut p = Page::new(size);
        p.text([m, m + 12.0], 11.0, true, Colour::BLACK, Anchor::Left, t.t("print.zones_table_more"));
        table.draw(&mut p, m, m + 20.0, &zone_rows(run, from, to));
        pages.push(p);
        from = to;
    }
    pages
}

fn zone_pages(run: &Run, zi: usize, size: [f32; 2], s: &Setup<'_>) -> Vec<Page> {
    let t = &s.strings;
    let z = &run.zones[zi];
    let m = 28.0;
    let order = visit_order(run, z.id);
    let numbers: Vec<(usize, usize)> = order.iter().enumerate().map(|(k, &i)| (i, k + 1)).collect();
    let mut page = Page::new(size);
    let title = t.f("print.zone_title", &[("rank", &z.rank), ("zone", &z.id)]);
    page.text([m, m + 14.0], 16.0, true, Colour::BLACK, Anchor::Left, &title);
    let figures = t.f(
        "print.zone_figures",
        &[
            ("households", &z.households),
            ("critical", &z.critical),
            ("people", &people_text(z.people)),
            ("need", &number(z.mean_need, 3)),
            ("area", &number(z.area_m2 / 1e6, 3)),
        ],
    );
    page.text(
        [m, m + 28.0],
        8.5,
        false,
        Colour::BLACK,
        Anchor::Left,
        &fit_text(&figures, 8.5, false, size[0] - 2.0 * m),
    );
    let frame = [m, m + 36.0, size[0] - 2.0 * m, 330.0];
    let bounds =
        bounds_of(z.ring.iter().copied().chain(order.iter().map(|&i| (run.households[i].lon, run.households[i].lat))))
            .unwrap_or_else(|| run_bounds(run));
    let view = MapView::fit(bounds, frame, 0.08);
    let opts = MapOptions { tiles: s.tiles, px_per_pt: s.px_per_pt, focus: Some(z.id), numbers: &numbers };
    draw_map(&mut page, &view, run, &opts);
    let panel = [m, frame[1] + frame[3] + 6.0, size[0] - 2.0 * m, 84.0];
    legend(&mut page, panel, 1.0, &view, run, s, true, true);
    let mut y = panel[1] + panel[3] + 20.0;
    page.text([m, y], 11.0, true, Colour::BLACK, Anchor::Left, t.t("print.visit_list"));
    y += 6.0;
    let (table, rows, hidden) = visit_table(run, &order, s, size[0] - 2.0 * m);
    if !hidden.is_empty() {
        let note = t.f("print.not_shown", &[("columns", &hidden.join(", "))]);
        page.text([size[0] - m, y - 6.0], 7.0, false, Colour::GREY, Anchor::Right, &note);
    }
    let first = rows.len().min(VISIT_ROWS_FIRST);
    table.draw(&mut page, m, y, &rows[..first]);
    let mut pages = vec![page];
    let mut from = first;
    while from < rows.len() {
        let to = (from + TABLE_ROWS).min(rows.len());
        let mut p = Page::new(size);
        p.text(
            [m, m + 12.0],
            11.0,
            true,
            Colour::BLACK,
            Anchor::Left,
            &t.f("print.visit_list_more", &[("rank", &z.rank)]),
        );
        table.draw(&mut p, m, m + 20.0, &rows[from..to]);
        pages.push(p);
        from = to;
    }
    pages
}

/// The visit list: tick box, number on the map, household id, people, need, then the need
/// indicators as many as fit in `width` (the rest named in a note).
fn visit_table(
    run: &Run,
    order: &[usize],
    s: &Setup<'_>,
    width: f32,
) -> (Table<'static>, Vec<Vec<String>>, Vec<String>) {
    let t = &s.strings;
    let people = run.people_column.as_deref().and_then(|c| run.column(c));
    let mut header = vec![String::new(), t.t("print.col_number").to_string(), t.t("print.col_id").to_string()];
    let mut rows: Vec<Vec<String>> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let h = &run.households[i];
            vec![String::new(), (k + 1).to_string(), h.id.clone()]
        })
        .collect();
    if let Some(c) = people {
        header.push(t.t("print.col_people").to_string());
        for (row, &i) in rows.iter_mut().zip(order) {
            row.push(run.households[i].cells.get(c).cloned().unwrap_or_default());
        }
    }
    header.push(t.t("print.col_need").to_string());
    for (row, &i) in rows.iter_mut().zip(order) {
        row.push(run.households[i].need.map_or("–".into(), |n| number(n, 3)));
    }
    let fixed = header.len();
    let mut indicators: Vec<(String, usize)> = Vec::new();
    for name in &run.indicators {
        if let Some(c) = run.column(name)
            && Some(c) != people
            && !indicators.iter().any(|(_, x)| *x == c)
        {
            indicators.push((name.clone(), c));
        }
    }
    let col_width = |header: &str, values: &mut dyn Iterator<Item = &str>| -> f32 {
        let v = values.map(|s| text_width(s, TABLE_PT, false)).fold(0.0f32, f32::max);
        let h = text_width(header, TABLE_PT, true);
        v.max(h.min(v.max(44.0))) + 8.0
    };
    let mut widths: Vec<f32> = vec![14.0];
    for c in 1..fixed {
        widths.push(col_width(&header[c], &mut rows.iter().map(|r| r[c].as_str())));
    }
    let mut hidden = Vec::new();
    for (name, c) in indicators {
        let w = col_width(&name, &mut order.iter().map(|&i| run.households[i].cells.get(c).map_or("", |s| s.as_str())));
        if widths.iter().sum::<f32>() + w > width {
            hidden.push(name);
            continue;
        }
        widths.push(w);
        header.push(name);
        for (row, &i) in rows.iter_mut().zip(order) {
            row.push(run.households[i].cells.get(c).cloned().unwrap_or_default());
        }
    }
    // The id column takes what is left, so the table spans the page.
    let spare = width - widths.iter().sum::<f32>();
    if spare > 0.0 {
        widths[2] += spare;
    }
    (Table { widths, header, left: &[1, 2], boxes: true }, rows, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_counts_follow_the_row_capacities() {
        assert_eq!(pages_for(0, OVERVIEW_ROWS), 1);
        assert_eq!(pages_for(OVERVIEW_ROWS, OVERVIEW_ROWS), 1);
        assert_eq!(pages_for(OVERVIEW_ROWS + 1, OVERVIEW_ROWS), 2);
        assert_eq!(pages_for(OVERVIEW_ROWS + TABLE_ROWS + 1, OVERVIEW_ROWS), 3);
    }
}
