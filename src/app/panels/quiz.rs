//! Quiz panel: exercises generated from the loaded survey and the current analysis (the same
//! [`crate::quiz::generate`] as `needmap quiz`), answered in the panel and scored at once,
//! with the topics to review. A new seed gives new questions; the same seed the same ones.

use std::sync::Arc;

use egui::{Color32, RichText, Ui};

use crate::quiz::{AnswerKind, Quiz, Score, letter, score};

use super::super::i18n::Strings;
use super::super::state::{AppState, Command};

pub struct QuizState {
    pub seed: u64,
    pub count: usize,
    pub quiz: Option<Arc<Quiz>>,
    /// The answer typed or chosen for each question (parallel to the questions).
    pub answers: Vec<String>,
    pub score: Option<Score>,
}

impl Default for QuizState {
    fn default() -> Self {
        Self { seed: 1, count: 10, quiz: None, answers: Vec::new(), score: None }
    }
}

impl QuizState {
    pub fn set(&mut self, quiz: Quiz) {
        self.answers = vec![String::new(); quiz.questions.len()];
        self.quiz = Some(Arc::new(quiz));
        self.score = None;
    }

    pub fn clear(&mut self) {
        self.quiz = None;
        self.answers.clear();
        self.score = None;
    }
}

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>, busy: bool) {
    super::heading(ui, s.t("quizp.title"), s.t("quizp.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.quiz"));
    if st.zones.is_none() {
        ui.label(s.t(if st.imported.is_some() { "zones.none_yet" } else { "panel.open_first" }));
        return;
    }
    let q = &mut st.quiz;
    ui.horizontal(|ui| {
        let l = ui.label(s.t("quizp.seed"));
        ui.add(egui::DragValue::new(&mut q.seed).range(0..=u32::MAX as u64)).labelled_by(l.id);
        let l = ui.label(s.t("quizp.count"));
        ui.add(egui::DragValue::new(&mut q.count).range(1..=crate::quiz::MAX_COUNT)).labelled_by(l.id);
        if ui.add_enabled(!busy, egui::Button::new(s.t("quizp.new"))).clicked() {
            cmds.push(Command::NewQuiz);
        }
    });
    let Some(quiz) = q.quiz.clone() else {
        ui.label(RichText::new(s.t("quizp.none")).weak());
        return;
    };
    if ui.button(s.t("quizp.check")).clicked() {
        let answers: Vec<(String, String)> =
            quiz.questions.iter().zip(&q.answers).map(|(qq, a)| (qq.id.clone(), a.clone())).collect();
        q.score = Some(score(&quiz, &answers));
    }
    if let Some(sc) = &q.score {
        ui.label(RichText::new(s.f("quizp.score", &[("right", &sc.right), ("total", &sc.total)])).strong());
        egui::Grid::new("quiz_topics").striped(true).num_columns(2).show(ui, |ui| {
            for t in &sc.topics {
                ui.label(t.topic.label(quiz.lang));
                ui.label(format!("{} / {}", t.right, t.total));
                ui.end_row();
            }
        });
        if sc.review.is_empty() {
            ui.label(s.t("quizp.all_right"));
        } else {
            let list: Vec<&str> = sc.review.iter().map(|t| t.label(quiz.lang)).collect();
            ui.label(s.f("quizp.review", &[("topics", &list.join(", "))]));
        }
    }
    ui.separator();
    let scored = q.score.as_ref();
    for (k, question) in quiz.questions.iter().enumerate() {
        let result = scored.and_then(|sc| sc.questions.get(k));
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("{}. ", k + 1)).strong());
                ui.label(RichText::new(question.topic.label(quiz.lang)).small().weak());
            });
            ui.label(&question.text);
            let answer = &mut q.answers[k];
            match &question.kind {
                AnswerKind::Number { unit, .. } => {
                    ui.horizontal(|ui| {
                        let l = ui.label(s.t("quizp.answer"));
                        ui.add(egui::TextEdit::singleline(answer).desired_width(120.0)).labelled_by(l.id);
                        if !unit.is_empty() {
                            ui.label(unit);
                        }
                    });
                }
                AnswerKind::YesNo => {
                    ui.horizontal(|ui| {
                        let now = crate::quiz::parse_yes_no(answer);
                        for (value, key) in [("yes", "quizp.yes"), ("no", "quizp.no")] {
                            if ui.radio(now == Some(value == "yes"), s.t(key)).clicked() {
                                *answer = value.to_string();
                            }
                        }
                    });
                }
                AnswerKind::Choice { options } => {
                    for (i, o) in options.iter().enumerate() {
                        let l = letter(i).to_string();
                        if ui.radio(*answer == l, format!("{l}) {o}")).clicked() {
                            *answer = l;
                        }
                    }
                }
            }
            if let Some(r) = result {
                let (text, colour) = if r.right {
                    (s.t("quizp.right").to_string(), Color32::from_rgb(0x1b, 0x7a, 0x3a))
                } else {
                    let mut t = s.f("quizp.wrong", &[("expected", &r.expected)]);
                    if let Some(p) = &r.problem {
                        t += &format!(" ({p})");
                    }
                    (t, Color32::from_rgb(0xc0, 0x1c, 0x28))
                };
                ui.colored_label(colour, text);
            }
        });
    }
}
