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
