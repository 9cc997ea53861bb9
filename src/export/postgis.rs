//! A run into PostgreSQL/PostGIS (`needmap run ... --to-postgis URL?schema=S`): tables
//! `S.runs`, `S.zones` and `S.households`, written in one transaction, so a run is in the
//! database whole or not at all.
//!
//! - `runs`: one row per run: `run_id` (bigserial), `started_at`, `input` (a URL with its
//!   password hidden), `needmap_version`, `analysis` (the resolved analysis TOML, as the
//!   folder's analysis.toml holds it).
//! - `zones`: zones.csv's columns and values, plus `geom geometry(Polygon, 4326)` (the hull
//!   exactly as zones.geojson has it; a zone always has an area, see `crate::zones`) and
//!   `run_id`.
//! - `households`: `run_id`, `input_row` (the input record number), `key` (a database input's
//!   primary key as the import report names rows, `survey=r2, household_id=H7`; else the id
//!   column's text; else the record number), `need`, `critical`, `cluster`, `zone`: households.csv's values,
//!   loaded with `COPY ... FROM STDIN`.
//!
//! The schema (default `needmap`) and tables are created if missing; a second run appends a
//! new `run_id` and keeps earlier runs. A table that exists without a column needmap writes,
//! or with another type, is refused before anything is written. Messages are one line naming
//! the URL without its password.

use std::io::Write as _;
use std::path::Path;

use postgres::Client;

use super::geojson::zone_properties;
use crate::analysis::Outcome;
use crate::data::ImportError;
use crate::data::postgis::{PgUrl, is_url, redact};
use crate::progress::Progress;

/// Default schema when the URL names none.
pub const DEFAULT_SCHEMA: &str = "needmap";

/// Columns of `zones` after `run_id`, as zones.csv has them, with their PostgreSQL types.
const ZONE_COLUMNS: [(&str, &str); 13] = [
    ("rank", "int4"),
    ("zone", "int4"),
    ("households", "int8"),
    ("people", "float8"),
    ("critical_households", "int8"),
    ("critical_share", "float8"),
    ("mean_need", "float8"),
    ("total_need", "float8"),
    ("area_m2", "float8"),
    ("density_per_km2", "float8"),
    ("members", "int8"),
    ("centre_lat", "float8"),
    ("centre_lon", "float8"),
];

const HOUSEHOLD_COLUMNS: [(&str, &str); 7] = [
    ("run_id", "int8"),
    ("input_row", "int8"),
    ("key", "text"),
    ("need", "float8"),
    ("critical", "bool"),
    ("cluster", "int4"),
    ("zone", "int4"),
];

const RUN_COLUMNS: [(&str, &str); 5] = [
    ("run_id", "int8"),
    ("started_at", "timestamptz"),
    ("input", "text"),
    ("needmap_version", "text"),
    ("analysis", "text"),
];

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A database destination, connected and checked (PostGIS present, the schema creatable or
/// writable) before the run computes anything, so a bad URL costs no run.
pub struct PgDestination {
    url: PgUrl,
    client: Client,
    schema: String,
}

impl PgDestination {
    /// Parses and connects; checks that PostGIS is installed in the database and that the
    /// user may create the schema (or create tables in it, when it exists).
    pub fn open(url: &str) -> Result<Self, ImportError> {
        let url = PgUrl::parse(url)?;
        if url.table.is_some() || url.query.is_some() {
            return Err(url_err(&url, "a destination takes ?schema=NAME, not ?table= or ?query="));
        }
        let schema = url.schema.clone().unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
        let mut client = url.connect()?;
        let db = |e: postgres::Error| url_err(&url, db_problem(&e));
        let postgis =
            client.query_opt("SELECT extversion FROM pg_extension WHERE extname = 'postgis'", &[]).map_err(&db)?;
        if postgis.is_none() {
            let name: String = client.query_one("SELECT current_database()::text", &[]).map_err(&db)?.get(0);
            return Err(url_err(
                &url,
                format!(
                    "PostGIS is not installed in database {name:?}; run CREATE EXTENSION postgis; there (as its owner \
                     or a superuser)"
                ),
            ));
        }
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), \
                 CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) \
                 THEN has_schema_privilege($1, 'CREATE') \
                 ELSE has_database_privilege(current_database(), 'CREATE') END, current_user::text",
                &[&schema],
            )
            .map_err(&db)?;
        let (exists, may, user): (bool, bool, String) = (row.get(0), row.get(1), row.get(2));
        if !may {
            let what = if exists {
                format!("create tables in schema {schema:?}")
            } else {
                format!("create schema {schema:?} in this database")
            };
            return Err(url_err(
                &url,
                format!("no permission: user {user:?} may not {what}; grant it, or name another ?schema="),
            ));
        }
        check_tables(&mut client, &url, &schema)?;
        Ok(Self { url, client, schema })
    }

    /// The URL, password hidden.
    pub fn shown(&self) -> &str {
        &self.url.shown
    }

    /// Writes the run in one transaction; returns its `run_id`. On any failure (or Ctrl-C,
    /// seen through `export::atomic::check_interrupted`) the transaction rolls back and
    /// nothing of the run is left in the database.
    pub fn write(
        &mut self,
        outcome: &Outcome,
        input: &Path,
        started_at: std::time::SystemTime,
        progress: &Progress,
    ) -> Result<i64, ImportError> {
        let url = self.url.clone();
        let err = |e: postgres::Error| url_err(&url, db_problem(&e));
        let s = ident(&self.schema);
        let stopped =
            |e: std::io::Error| url_err(&url, format!("{e}; nothing of this run was written to the database"));
        let mut tx = self.client.transaction().map_err(err)?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.runs (run_id bigserial PRIMARY KEY, started_at timestamptz NOT NULL, \
             input text NOT NULL, needmap_version text NOT NULL, analysis text NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.zones (run_id bigint NOT NULL REFERENCES {s}.runs ON DELETE CASCADE, \
             {zcols}, geom geometry(Polygon, 4326) NOT NULL, PRIMARY KEY (run_id, zone));
             CREATE TABLE IF NOT EXISTS {s}.households (run_id bigint NOT NULL REFERENCES {s}.runs ON DELETE \
             CASCADE, input_row bigint NOT NULL, key text NOT NULL, need double precision, critical boolean NOT NULL, \
             cluster integer, zone integer, PRIMARY KEY (run_id, input_row));",
            zcols = ZONE_COLUMNS
                .iter()
                .map(|(n, t)| format!("{} {t}{}", ident(n), if *n == "people" { "" } else { " NOT NULL" }))
                .collect::<Vec<_>>()
                .join(", "),
        ))
        .map_err(err)?;
        check_tables(&mut tx, &url, &self.schema)?;
        let input_text = input.to_string_lossy();
        let input_text = if is_url(&input_text) { redact(&input_text) } else { input_text.into_owned() };
        let started = started_at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let run_id: i64 = tx
            .query_one(
                &format!(
                    "INSERT INTO {s}.runs (started_at, input, needmap_version, analysis) VALUES (to_timestamp($1), $2, \
                     $3, $4) RETURNING run_id"
                ),
                &[&started, &input_text, &env!("CARGO_PKG_VERSION"), &outcome.resolved.to_toml()],
            )
            .map_err(err)?
            .get(0);
        // Zones: few rows, one INSERT each, values as zones.csv rounds them.
        let names: Vec<String> = ZONE_COLUMNS.iter().map(|(n, _)| ident(n)).collect();
        let params: Vec<String> = (2..ZONE_COLUMNS.len() + 2)
            .map(|i| format!("${i}::{}", if ZONE_COLUMNS[i - 2].1 == "float8" { "float8" } else { "int8" }))
            .collect();
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {s}.zones (run_id, {}, geom) VALUES ($1, {}, ST_GeomFromWKB(${}, 4326))",
                names.join(", "),
                params.join(", "),
                ZONE_COLUMNS.len() + 2
            ))
            .map_err(err)?;
        for z in &outcome.zones.zones {
            super::atomic::check_interrupted().map_err(stopped)?;
            let p = zone_properties(z);
            let ints: Vec<Option<i64>> = ZONE_COLUMNS.iter().map(|(n, _)| p[*n].as_i64()).collect();
            let reals: Vec<Option<f64>> = ZONE_COLUMNS.iter().map(|(n, _)| p[*n].as_f64()).collect();
            let mut wkb = Vec::new();
            super::gpkg::wkb_polygon(&mut wkb, &z.ring);
            let mut args: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&run_id];
            for (k, (_, ty)) in ZONE_COLUMNS.iter().enumerate() {
                args.push(if *ty == "float8" { &reals[k] } else { &ints[k] });
            }
            args.push(&wkb);
            tx.execute(&insert, &args).map_err(err)?;
        }
        // Households: COPY, text format, in the order of households.csv.
        let h = &outcome.imported.households;
        progress.stage("postgis", h.len() as u64);
        let mut w = tx
            .copy_in(&format!("COPY {s}.households (run_id, input_row, key, need, critical, cluster, zone) FROM STDIN"))
            .map_err(err)?;
        let mut buf = Vec::with_capacity(1 << 20);
        let io = |e: std::io::Error| {
            url_err(&url, format!("writing households: {e}; nothing of this run was written to the database"))
        };
        for i in 0..h.len() {
            if i % 65_536 == 0 {
                super::atomic::check_interrupted().map_err(stopped)?;
                progress.set(i as u64);
            }
            let id = h.id(i);
            let key = match h.key(i) {
                Some(k) => k,
                None if h.id_column.is_some() && !id.is_empty() => id.to_string(),
                None => h.row[i].to_string(),
            };
            let need = o_need(outcome.scored.need.score[i]);
            let cluster = if outcome.clustered.candidates[i] {
                outcome.clustered.labels[i].to_string()
            } else {
                "\\N".to_string()
            };
            let z = outcome.zones.zone_of[i];
            let zone = if z >= 0 { z.to_string() } else { "\\N".to_string() };
            let _ = writeln!(
                buf,
                "{run_id}\t{}\t{}\t{need}\t{}\t{cluster}\t{zone}",
                h.row[i],
                copy_text(&key),
                outcome.scored.critical[i]
            );
            if buf.len() >= 1 << 20 {
                w.write_all(&buf).map_err(io)?;
                buf.clear();
            }
        }
        w.write_all(&buf).map_err(io)?;
        // The server checks the rows as they arrive; a refused row fails the COPY here.
        w.finish().map_err(err)?;
        progress.set(h.len() as u64);
        super::atomic::check_interrupted().map_err(stopped)?;
        tx.commit().map_err(err)?;
        Ok(run_id)
    }
}

/// Tables of `schema` that exist already: every column needmap writes, of its type.
fn check_tables(c: &mut impl postgres::GenericClient, url: &PgUrl, schema: &str) -> Result<(), ImportError> {
    let mut zone_cols: Vec<(&str, &str)> = vec![("run_id", "int8")];
    zone_cols.extend(ZONE_COLUMNS);
    zone_cols.push(("geom", "geometry"));
    for (table, cols) in [("runs", &RUN_COLUMNS[..]), ("zones", &zone_cols[..]), ("households", &HOUSEHOLD_COLUMNS[..])]
    {
        let have = c
            .query(
                "SELECT column_name::text, udt_name::text FROM information_schema.columns WHERE table_schema = $1 AND \
                 table_name = $2",
                &[&schema, &table],
            )
            .map_err(|e| url_err(url, db_problem(&e)))?;
        if have.is_empty() {
            continue;
        }
        for (name, ty) in cols {
            match have.iter().find(|r| r.get::<_, &str>(0) == *name) {
                Some(r) if r.get::<_, &str>(1) == *ty => {}
                found => {
                    let what = match found {
                        Some(r) => format!("has column {name} of type {}, not {ty}", r.get::<_, &str>(1)),
                        None => format!("has no column {name}"),
                    };
                    return Err(url_err(
                        url,
                        format!(
                            "table {schema}.{table} exists but {what}: it was not made by needmap; drop or rename it, \
                             or name another ?schema="
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn o_need(s: f64) -> String {
    if s.is_finite() { format!("{s:.6}") } else { "\\N".to_string() }
}

/// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// [`PgUrl::err`] on one line (server messages can hold line breaks).
fn url_err(url: &PgUrl, problem: impl Into<String>) -> ImportError {
    url.err(problem.into().replace(['\n', '\r'], " "))
}

/// A one-line reason a statement failed.
fn db_problem(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = match db.code().code() {
            "42501" => format!("no permission: {}", db.message()),
            _ => db.message().to_string(),
        };
        if let Some(d) = db.detail() {
            s = format!("{s} ({d})");
        }
        if let Some(w) = db.where_() {
            s = format!("{s}; {}", w.lines().next().unwrap_or(""));
        }
        return format!("{s}; nothing of this run was written to the database").replace('\n', " ");
    }
    crate::data::postgis::connect_problem(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        assert_eq!(copy_text("H\t1\\2\n3\r"), "H\\t1\\\\2\\n3\\r");
        assert_eq!(copy_text("Ñandú 42"), "Ñandú 42");
    }
}
