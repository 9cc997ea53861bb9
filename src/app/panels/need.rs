//! Need panel: the indicators of the need index (column, direction, transform, weight, and the
//! value → score table of categorical ones), the histogram of the score, and which households
//! are critical.

use egui::{RichText, Ui};
use egui_plot::{Bar, BarChart, Plot, VLine};

use crate::data::ColumnKind;
use crate::need::{Direction, Indicator, Missing, Selection, Transform};

use super::super::i18n::{Lang, Strings};
use super::super::state::{AppState, Command};
use super::super::worker::Stage;

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("need.title"), s.t("need.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.need"));
    let Some(imp) = st.imported.clone() else {
        ui.label(s.t("panel.open_first"));
        return;
    };
    // The indicators shown: the user's, or the automatic ones the last run used.
    let automatic = st.analysis.need.indicators.is_empty();
    let mut list: Vec<Indicator> = if automatic {
        st.scored.as_ref().map(|sc| sc.resolved.indicators.clone()).unwrap_or_default()
    } else {
        st.analysis.need.indicators.clone()
    };
    if automatic {
        ui.label(RichText::new(s.t("need.automatic")).italics());
    } else if ui.button(s.t("need.reset")).clicked() {
        st.analysis.need.indicators.clear();
        cmds.push(Command::Rerun(Stage::Need));
    }
    let mut changed = false;
    let mut remove = None;
    let reports = st.scored.as_ref().map(|sc| sc.need.indicators.clone()).unwrap_or_default();
    for (k, ind) in list.iter_mut().enumerate() {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(&ind.column).strong());
                if ui.small_button("x").on_hover_text(s.t("need.remove")).clicked() {
                    remove = Some(k);
                }
            });
            ui.horizontal(|ui| {
                let l = ui.label(s.t("need.weight"));
                changed |= ui
                    .add(egui::DragValue::new(&mut ind.weight).range(0.0..=10.0).speed(0.05))
                    .labelled_by(l.id)
                    .changed();
                if ind.categories.is_empty() {
                    let l = ui.label(s.t("need.direction"));
                    egui::ComboBox::from_id_salt(("dir", k))
                        .selected_text(s.t(direction_key(ind.direction)))
                        .show_ui(ui, |ui| {
                            for d in [Direction::HigherIsWorse, Direction::LowerIsWorse] {
                                changed |= ui.selectable_value(&mut ind.direction, d, s.t(direction_key(d))).changed();
                            }
                        })
                        .response
                        .labelled_by(l.id);
                }
            });
            if ind.categories.is_empty() {
                ui.horizontal(|ui| {
                    let l = ui.label(s.t("need.transform"));
                    egui::ComboBox::from_id_salt(("tr", k))
                        .selected_text(s.t(transform_key(ind.transform)))
                        .show_ui(ui, |ui| {
                            for t in [Transform::Percentile, Transform::MinMax, Transform::ZScore, Transform::Cutoff] {
                                changed |= ui.selectable_value(&mut ind.transform, t, s.t(transform_key(t))).changed();
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    if ind.transform == Transform::Cutoff {
                        let mut v = ind.cutoff.unwrap_or(0.0);
                        let l = ui.label(s.t("need.cutoff"));
                        if ui.add(egui::DragValue::new(&mut v).speed(0.1)).labelled_by(l.id).changed() {
                            ind.cutoff = Some(v);
                            changed = true;
                        }
                        if ind.cutoff.is_none() {
                            ind.cutoff = Some(v);
                            changed = true;
                        }
                    }
                });
            } else {
                egui::CollapsingHeader::new(s.f("need.categories", &[("n", &ind.categories.len())]))
                    .id_salt(("cats", k))
                    .show(ui, |ui| {
                        egui::Grid::new(("catgrid", k)).num_columns(2).show(ui, |ui| {
                            for (value, score) in ind.categories.iter_mut() {
                                let l = ui.label(value.as_str());
                                changed |= ui
                                    .add(egui::Slider::new(score, 0.0..=1.0).step_by(0.05))
                                    .labelled_by(l.id)
                                    .changed();
                                ui.end_row();
                            }
                        });
                    });
            }
            if let Some(r) = reports.iter().find(|r| r.indicator.column == ind.column) {
                // The core's note is English: in other languages, the figures only (the
                // note stays as the tooltip).
                let mut parts: Vec<String> = Vec::new();
                if s.lang == Lang::En {
                    parts.push(r.note.clone());
                }
                if r.missing > 0 {
                    parts.push(s.f("need.missing_count", &[("n", &r.missing)]));
                }
                if let Some(m) = r.imputed
                    && s.lang != Lang::En
                {
                    parts.push(s.f("need.imputed", &[("value", &format!("{m:.4}"))]));
                }
                if !r.unknown_categories.is_empty() {
                    parts.push(format!("{}: {}", s.t("need.unknown"), r.unknown_categories.join(", ")));
                }
                if !parts.is_empty() {
                    ui.label(RichText::new(parts.join(" · ")).small().weak()).on_hover_text(&r.note);
                }
            }
        });
    }
    if let Some(k) = remove {
        list.remove(k);
        changed = true;
    }
    // Add an indicator from an unused column.
    let used: Vec<String> = list.iter().map(|i| i.column.clone()).collect();
    let candidates: Vec<(String, ColumnKind)> = imp
        .households
        .columns
        .iter()
        .filter(|c| {
            matches!(c.kind, ColumnKind::Number | ColumnKind::Bool | ColumnKind::Category)
                && c.role == crate::data::Role::Attribute
                && !used.contains(&c.name)
        })
        .map(|c| (c.name.clone(), c.kind))
        .collect();
    if !candidates.is_empty() {
        let add = ui.label(s.t("need.add_label"));
        egui::ComboBox::from_id_salt("add_indicator")
            .selected_text(s.t("need.add"))
            .show_ui(ui, |ui| {
                for (name, kind) in &candidates {
                    if ui.selectable_label(false, name).clicked() {
                        let mut ind = Indicator { column: name.clone(), ..Default::default() };
                        if *kind == ColumnKind::Category {
                            // Start every value at 0.5; the user scores them.
                            let col = imp.households.column(name).unwrap_or(0);
                            for i in 0..imp.households.len() {
                                let v = imp.households.text(i, col).trim();
                                if !v.is_empty() && ind.categories.len() < 60 {
                                    ind.categories.entry(v.to_string()).or_insert(0.5);
                                }
                            }
                        }
                        list.push(ind);
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(add.id);
    }
    ui.horizontal(|ui| {
        ui.label(s.t("need.missing"));
        for (m, key) in [(Missing::ImputeMedian, "need.impute"), (Missing::Exclude, "need.exclude")] {
            if ui.radio_value(&mut st.analysis.need.missing, m, s.t(key)).changed() {
                if automatic {
                    st.analysis.need.indicators = list.clone();
                }
                cmds.push(Command::Rerun(Stage::Need));
            }
        }
    });
    if changed {
        st.analysis.need.indicators = list;
        cmds.push(Command::Rerun(Stage::Need));
    }

    ui.separator();
    ui.label(RichText::new(s.t("need.critical")).strong());
    let mut sel = st.analysis.selection;
    let mut sel_changed = false;
    ui.horizontal(|ui| {
        let is_top = matches!(sel, Selection::TopPercent { .. });
        let r = ui.radio(is_top, s.t("need.top_percent"));
        if r.clicked() && !is_top {
            sel = Selection::TopPercent { percent: 30.0 };
            sel_changed = true;
        }
        if let Selection::TopPercent { percent } = &mut sel {
            sel_changed |=
                ui.add(egui::DragValue::new(percent).range(1.0..=100.0).suffix(" %")).labelled_by(r.id).changed();
        }
    });
    ui.horizontal(|ui| {
        let is_thr = matches!(sel, Selection::Threshold { .. });
        let r = ui.radio(is_thr, s.t("need.threshold"));
        if r.clicked() && !is_thr {
            sel = Selection::Threshold { min_score: 0.6 };
            sel_changed = true;
        }
        if let Selection::Threshold { min_score } = &mut sel {
            sel_changed |= ui.add(egui::Slider::new(min_score, 0.0..=1.0).step_by(0.01)).labelled_by(r.id).changed();
        }
    });
    if ui.radio(matches!(sel, Selection::All), s.t("need.all")).clicked() && !matches!(sel, Selection::All) {
        sel = Selection::All;
        sel_changed = true;
    }
    if sel_changed {
        st.analysis.selection = sel;
        cmds.push(Command::Rerun(Stage::Need));
    }

    if let Some(sc) = &st.scored {
        let critical = sc.critical.iter().filter(|&&c| c).count();
        ui.label(
            s.f("need.summary", &[("critical", &critical), ("n", &sc.critical.len()), ("excluded", &sc.need.excluded)]),
        );
        histogram_ui(ui, &sc.need.score, &sc.critical, s);
    }
}

/// Histogram of the score (20 bins); the lowest critical score is marked.
fn histogram_ui(ui: &mut Ui, score: &[f64], critical: &[bool], s: Strings) {
    const BINS: usize = 20;
    let mut counts = [0usize; BINS];
    for &v in score.iter().filter(|v| v.is_finite()) {
        counts[((v * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let cut =
        score.iter().zip(critical).filter(|(v, c)| **c && v.is_finite()).map(|(v, _)| *v).fold(f64::NAN, f64::min);
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let x = (k as f64 + 0.5) / BINS as f64;
            Bar::new(x, c as f64).width(1.0 / BINS as f64).fill(super::super::map::households::need_colour(x))
        })
        .collect();
    Plot::new("need_histogram")
        .height(150.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .x_axis_label(s.t("need.score_axis"))
        .y_axis_label(s.t("need.households_axis"))
        .show(ui, |p| {
            p.bar_chart(BarChart::new(s.t("need.score_axis"), bars));
            if cut.is_finite() {
                p.vline(VLine::new(s.t("need.cut"), cut));
            }
        });
}

fn direction_key(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsWorse => "need.higher_worse",
        Direction::LowerIsWorse => "need.lower_worse",
    }
}

fn transform_key(t: Transform) -> &'static str {
    match t {
        Transform::MinMax => "need.minmax",
        Transform::ZScore => "need.zscore",
        Transform::Percentile => "need.percentile",
        Transform::Cutoff => "need.cutoff_t",
    }
}
