//! Zones panel: the ranked zones as a sortable table linked to the map (select a row and the
//! map frames the zone; click a zone on the map and its row is selected), the ranking
//! priority and hull, and the selected zone's figures.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::zones::{Hull, Priority, Zone};

use super::super::i18n::Strings;
use super::super::state::{AppState, Command, SortBy};
use super::super::worker::Stage;

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("zones.title"), s.t("zones.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.zones"));
    let mut changed = false;
    ui.horizontal(|ui| {
        let l = ui.label(s.t("zones.priority"));
        let p = &mut st.analysis.zones.priority;
        egui::ComboBox::from_id_salt("priority")
            .selected_text(s.t(priority_key(*p)))
            .show_ui(ui, |ui| {
                for v in [
                    Priority::TotalNeed,
                    Priority::MeanNeed,
                    Priority::CriticalHouseholds,
                    Priority::CriticalShare,
                    Priority::People,
                    Priority::Households,
                    Priority::Density,
                ] {
                    changed |= ui.selectable_value(p, v, s.t(priority_key(v))).changed();
                }
            })
            .response
            .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        ui.label(s.t("zones.hull"));
        let h = &mut st.analysis.zones.hull;
        let convex = matches!(h, Hull::Convex);
        if ui.radio(convex, s.t("zones.convex")).clicked() && !convex {
            *h = Hull::Convex;
            changed = true;
        }
        if ui.radio(!convex, s.t("zones.concave")).clicked() && convex {
            *h = Hull::Concave { concavity: 2.0 };
            changed = true;
        }
        if let Hull::Concave { concavity } = h {
            let l = ui.label(s.t("zones.concavity"));
            changed |= ui.add(egui::DragValue::new(concavity).range(0.5..=20.0).speed(0.1)).labelled_by(l.id).changed();
        }
    });
    if changed {
        cmds.push(Command::Rerun(Stage::Zones));
    }
    let Some(result) = st.zones.clone() else {
        ui.label(s.t(if st.imported.is_some() { "zones.none_yet" } else { "panel.open_first" }));
        return;
    };
    ui.label(RichText::new(s.f("zones.count", &[("n", &result.zones.len())])).strong());
    if result.zones.is_empty() {
        ui.label(s.t("zones.empty_help"));
        return;
    }
    if let Some(z) = st.selected_zone.and_then(|id| result.zones.iter().find(|z| z.id == id)) {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(s.f("zones.selected", &[("rank", &z.rank)])).strong());
                if ui.button(s.t("zones.frame")).clicked() {
                    cmds.push(Command::Frame(Some(z.id)));
                }
                if ui.button(s.t("zones.clear")).clicked() {
                    cmds.push(Command::SelectZone(None));
                }
            });
            zone_figures_ui(ui, z, s);
            egui::CollapsingHeader::new(s.f("why.title", &[("rank", &z.rank)]))
                .id_salt(("why", z.id))
                .default_open(st.prefs.learn)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().id_salt("why_scroll").max_height(260.0).show(ui, |ui| {
                        why_ui(ui, st, &result, z.id, s);
                    });
                });
        });
    }
    let mut order: Vec<usize> = (0..result.zones.len()).collect();
    let (by, desc) = st.sort;
    let key = |z: &Zone| -> f64 {
        match by {
            SortBy::Rank => z.rank as f64,
            SortBy::Households => z.households as f64,
            SortBy::People => z.people.unwrap_or(f64::NAN),
            SortBy::Critical => z.critical as f64,
            SortBy::MeanNeed => z.mean_need,
            SortBy::Area => z.area_m2,
        }
    };
    order.sort_by(|&a, &b| {
        let o = key(&result.zones[a])
            .total_cmp(&key(&result.zones[b]))
            .then(result.zones[a].rank.cmp(&result.zones[b].rank));
        if desc { o.reverse() } else { o }
    });
    let has_people = result.zones.iter().any(|z| z.people.is_some());
    let mut cols: Vec<(SortBy, &str)> = vec![
        (SortBy::Rank, s.t("zones.col_rank")),
        (SortBy::Households, s.t("zones.col_households")),
        (SortBy::Critical, s.t("zones.col_critical")),
        (SortBy::MeanNeed, s.t("zones.col_mean_need")),
        (SortBy::Area, s.t("zones.col_area")),
    ];
    if has_people {
        cols.insert(2, (SortBy::People, s.t("zones.col_people")));
    }
    let selected = st.selected_zone;
    let mut clicked_zone = None;
    let scroll_to = st.selected_zone.and_then(|id| order.iter().position(|&i| result.zones[i].id == id));
    let mut table = TableBuilder::new(ui)
        .id_salt("zones_table")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .columns(Column::auto().at_least(48.0), cols.len() - 1)
        .column(Column::remainder())
        .min_scrolled_height(200.0);
    if let Some(r) = scroll_to
        && st.hovered_zone.is_none()
    {
        table = table.scroll_to_row(r, None);
    }
    table
        .header(22.0, |mut header| {
            for (by, label) in &cols {
                header.col(|ui| {
                    let arrow = if st.sort.0 == *by { if st.sort.1 { " v" } else { " ^" } } else { "" };
                    if ui.button(format!("{label}{arrow}")).clicked() {
                        st.sort = if st.sort.0 == *by { (*by, !st.sort.1) } else { (*by, *by != SortBy::Rank) };
                    }
                });
            }
        })
        .body(|body| {
            body.rows(22.0, order.len(), |mut row| {
                let z = &result.zones[order[row.index()]];
                row.set_selected(selected == Some(z.id));
                for (by, _) in &cols {
                    row.col(|ui| {
                        let text = match by {
                            SortBy::Rank => {
                                if ui.selectable_label(selected == Some(z.id), format!("#{}", z.rank)).clicked() {
                                    clicked_zone = Some(z.id);
                                }
                                return;
                            }
                            SortBy::Households => z.households.to_string(),
                            SortBy::People => z.people.map_or("—".into(), |p| format!("{p:.0}")),
                            SortBy::Critical => format!("{} ({:.0} %)", z.critical, 100.0 * z.critical_share),
                            SortBy::MeanNeed => format!("{:.3}", z.mean_need),
                            SortBy::Area => format!("{:.3}", z.area_m2 / 1e6),
                        };
                        ui.add(egui::Label::new(text).selectable(false));
                    });
                }
                if row.response().clicked() {
                    clicked_zone = Some(z.id);
                }
            });
        });
    if let Some(id) = clicked_zone {
        cmds.push(Command::SelectZone(Some(id)));
        cmds.push(Command::Frame(Some(id)));
    }
}

/// "Why is this zone ranked so?": its figures against the other zones', and which
/// indicators lift its households' need (see [`crate::explain`]).
fn why_ui(ui: &mut Ui, st: &mut AppState, result: &crate::zones::ZonesResult, id: u32, s: Strings) {
    use crate::explain::{Figure, explain_zone, indicator_parts};
    let (Some(imp), Some(sc)) = (&st.imported, &st.scored) else { return };
    let key = std::sync::Arc::as_ptr(sc) as usize;
    if st.parts.as_ref().is_none_or(|(k, _)| *k != key) {
        // Once per need result (one need index per indicator; well under a second for 1M).
        match indicator_parts(&imp.households, &sc.resolved) {
            Ok(p) => st.parts = Some((key, std::sync::Arc::new(p))),
            Err(e) => {
                ui.label(e.to_string());
                return;
            }
        }
    }
    let Some((_, parts)) = &st.parts else { return };
    let priority = st.analysis.zones.priority;
    let Some(e) = explain_zone(result, id, parts, &sc.resolved, priority) else { return };
    let fig_key = |f: Figure| match f {
        Figure::TotalNeed => "zones.total_need",
        Figure::MeanNeed => "zones.col_mean_need",
        Figure::Households => "zones.col_households",
        Figure::Critical => "zones.col_critical",
        Figure::CriticalShare => "why.critical_share",
        Figure::Density => "zones.density",
    };
    let fmt = |f: Figure, v: f64| match f {
        Figure::MeanNeed => format!("{v:.3}"),
        Figure::CriticalShare => format!("{:.0} %", 100.0 * v),
        Figure::TotalNeed => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    };
    let by = Figure::of_priority(priority);
    if let Some(f) = by {
        let own = e.standings.iter().find(|x| x.figure == f).map_or(f64::NAN, |x| x.value);
        let mut line =
            s.f("why.ranked_by", &[("rank", &e.rank), ("by", &s.t(priority_key(priority))), ("value", &fmt(f, own))]);
        if let Some((rank, v)) = e.next {
            line += " ";
            line += &s.f("why.next", &[("rank", &rank), ("value", &fmt(f, v))]);
        }
        ui.label(line);
    }
    egui::Grid::new(("why_fig", id)).striped(true).num_columns(4).show(ui, |ui| {
        ui.strong(s.t("why.figure"));
        ui.strong(s.t("why.this_zone"));
        ui.strong(s.t("why.median_zone"));
        ui.strong(s.t("why.place"));
        ui.end_row();
        for st in &e.standings {
            let label = s.t(fig_key(st.figure));
            if Some(st.figure) == by {
                ui.strong(label)
            } else {
                ui.label(label)
            };
            ui.label(fmt(st.figure, st.value));
            ui.label(fmt(st.figure, st.median));
            ui.label(s.f("why.place_of", &[("place", &st.place), ("of", &st.of)]));
            ui.end_row();
        }
    });
    ui.add_space(4.0);
    ui.label(RichText::new(s.t("why.indicators")).strong());
    ui.label(RichText::new(s.t("why.indicators_help")).small().weak());
    egui::Grid::new(("why_ind", id)).striped(true).num_columns(4).show(ui, |ui| {
        ui.strong(s.t("why.indicator"));
        ui.strong(s.t("why.here"));
        ui.strong(s.t("why.everywhere"));
        ui.strong(s.t("why.lift"));
        ui.end_row();
        for c in &e.contributions {
            ui.label(format!("{} ({:.0} %)", c.column, 100.0 * c.weight_share));
            ui.label(format!("{:.3}", c.zone_mean));
            ui.label(format!("{:.3}", c.all_mean));
            let lift = c.lift();
            let colour = if lift > 0.0 {
                egui::Color32::from_rgb(0xb2, 0x18, 0x2b)
            } else {
                egui::Color32::from_rgb(0x21, 0x66, 0xac)
            };
            ui.colored_label(colour, format!("{lift:+.3}"));
            ui.end_row();
        }
    });
    if let Some(top) = e.contributions.first().filter(|c| c.lift() > 0.0) {
        ui.label(s.f("why.most", &[("column", &top.column)]));
    }
}

/// The figures of one zone (also the map's hover tooltip).
pub fn zone_figures_ui(ui: &mut Ui, z: &Zone, s: Strings) {
    egui::Grid::new(("zone_fig", z.id)).num_columns(2).show(ui, |ui| {
        let mut row = |k: &str, v: String| {
            ui.label(k);
            ui.label(v);
            ui.end_row();
        };
        row(s.t("zones.rank"), format!("#{}", z.rank));
        row(s.t("zones.col_households"), z.households.to_string());
        if let Some(p) = z.people {
            row(s.t("zones.col_people"), format!("{p:.0}"));
        }
        row(s.t("zones.col_critical"), format!("{} ({:.0} %)", z.critical, 100.0 * z.critical_share));
        row(s.t("zones.col_mean_need"), format!("{:.3}", z.mean_need));
        row(s.t("zones.total_need"), format!("{:.1}", z.total_need));
        row(s.t("zones.col_area"), format!("{:.3}", z.area_m2 / 1e6));
        row(s.t("zones.density"), format!("{:.0}", z.density_per_km2));
        row(s.t("zones.centre"), format!("{:.5}, {:.5}", z.centre.1, z.centre.0));
    });
}

fn priority_key(p: Priority) -> &'static str {
    match p {
        Priority::TotalNeed => "zones.p_total_need",
        Priority::MeanNeed => "zones.p_mean_need",
        Priority::CriticalHouseholds => "zones.p_critical",
        Priority::CriticalShare => "zones.p_critical_share",
        Priority::People => "zones.p_people",
        Priority::Households => "zones.p_households",
        Priority::Density => "zones.p_density",
    }
}
