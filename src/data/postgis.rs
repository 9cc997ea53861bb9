//! PostgreSQL / PostGIS as a source: `postgresql://USER[:PASS]@HOST:PORT/DB?table=NAME`
//! (or `schema.table`, or `?query=SELECT ...`). A PostGIS point column (geometry or
//! geography, SRID 4326) gives the households; without one the lat/lon columns are detected
//! by name as for a CSV. Every other column is read as PostgreSQL's own text form of the
//! value (`::text`), nulls as empty, so detection, checks and the import report are a CSV's.
//!
//! Rows are streamed through a server-side cursor, [`BATCH`] rows at a time. Messages name
//! the URL with its password replaced by `***`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use postgres::{Client, NoTls};

use super::{Format, ImportError, IssueKind, Rec, Source};

/// Rows fetched from the cursor at a time.
const BATCH: usize = 10_000;

/// Whether an input names a PostgreSQL database rather than a file.
pub fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The URL with its password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else { return url.to_string() };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &rest[at..]),
        None => url.to_string(),
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A PostgreSQL URL split into what the client connects with and needmap's own parameters
/// (`table`, `query`, `schema`), which PostgreSQL would refuse.
#[derive(Debug, Clone)]
pub struct PgUrl {
    /// The connection string without needmap's parameters.
    pub conn: String,
    pub table: Option<String>,
    pub query: Option<String>,
    pub schema: Option<String>,
    /// The URL as given, password hidden.
    pub shown: String,
}

impl PgUrl {
    pub fn parse(url: &str) -> Result<Self, ImportError> {
        let shown = redact(url);
        let (base, q) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let (mut table, mut query, mut schema) = (None, None, None);
        let mut kept = Vec::new();
        for kv in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "table" => table = Some(pct_decode(v)),
                "query" => query = Some(pct_decode(v)),
                "schema" => schema = Some(pct_decode(v)),
                _ => kept.push(kv),
            }
        }
        if let Some(sslmode) = kept.iter().find_map(|kv| kv.strip_prefix("sslmode="))
            && sslmode != "disable"
            && sslmode != "prefer"
            && sslmode != "allow"
        {
            return Err(ImportError::file(
                Path::new(&shown),
                format!("sslmode={sslmode}: this build of needmap does not speak TLS to PostgreSQL yet"),
            ));
        }
        let kept: Vec<&str> = kept.into_iter().filter(|kv| !kv.starts_with("sslmode=")).collect();
        let conn = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        Ok(Self { conn, table, query, schema, shown })
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.shown)
    }

    fn err(&self, problem: impl Into<String>) -> ImportError {
        ImportError::file(&self.path(), problem)
    }

    /// Connects, with a one-line message for the usual failures.
    pub fn connect(&self) -> Result<Client, ImportError> {
        Client::connect(&self.conn, NoTls).map_err(|e| self.err(connect_problem(&e)))
    }
}

/// A one-line reason a connection failed, without the password.
pub fn connect_problem(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.code().code() {
            "28P01" | "28000" => format!("cannot log in: {}", db.message()),
            "3D000" => format!("no such database: {}", db.message()),
            _ => format!("the server refused the connection: {}", db.message()),
        };
    }
    let mut why = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        why = format!("{why}: {s}");
        src = s.source();
    }
    format!("cannot reach the server ({})", why.replace('\n', " "))
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub(crate) struct PgSource {
    url: PgUrl,
    client: Client,
    headers: Vec<String>,
    geometry: Option<String>,
    pending: VecDeque<Rec>,
    finished: bool,
    done: u64,
    estimate: u64,
}

impl PgSource {
    pub fn open(url: &PgUrl) -> Result<Self, ImportError> {
        let mut client = url.connect()?;
        let db =
            |e: postgres::Error| url.err(e.as_db_error().map(|d| d.message().to_string()).unwrap_or(e.to_string()));
        // What to read: a table (maybe schema-qualified) or a query.
        let (from, table) = match (&url.table, &url.query) {
            (Some(_), Some(_)) => return Err(url.err("give either ?table= or ?query=, not both")),
            (None, None) => {
                return Err(url.err("name what to read: ?table=NAME (or schema.table) or ?query=SELECT ..."));
            }
            (None, Some(q)) => (format!("({q})"), None),
            (Some(t), None) => {
                let (s, t) = match t.split_once('.') {
                    Some((s, t)) => (s.to_string(), t.to_string()),
                    None => (url.schema.clone().unwrap_or_else(|| "public".into()), t.clone()),
                };
                let found = client
                    .query_opt(
                        "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
                        &[&s, &t],
                    )
                    .map_err(db)?;
                if found.is_none() {
                    return Err(url.err(format!("no table {s}.{t} in this database")));
                }
                (format!("{}.{}", ident(&s), ident(&t)), Some((s, t)))
            }
        };
        // The columns and their types, without reading rows.
        let stmt = client.prepare(&format!("SELECT * FROM {from} AS t LIMIT 0")).map_err(db)?;
        let mut headers = Vec::new();
        let mut geoms = Vec::new();
        for c in stmt.columns() {
            match c.type_().name() {
                "geometry" | "geography" => geoms.push((c.name().to_string(), c.type_().name().to_string())),
                _ => headers.push(c.name().to_string()),
            }
        }
        let geometry = geoms.first().cloned();
        if let (Some((g, kind)), Some((s, t))) = (&geometry, &table) {
            let cat = if kind == "geometry" { "geometry_columns" } else { "geography_columns" };
            let col = if kind == "geometry" { "f_geometry_column" } else { "f_geography_column" };
            let row = client
                .query_opt(
                    &format!(
                        "SELECT srid, type FROM {cat} WHERE f_table_schema = $1 AND f_table_name = $2 AND {col} = $3"
                    ),
                    &[s, t, g],
                )
                .map_err(db)?;
            if let Some(row) = row {
                let srid: i32 = row.get(0);
                let ty: String = row.get(1);
                if srid != 4326 && srid != 0 {
                    return Err(url.err(format!(
                        "geometry column {g:?} has SRID {srid}; needmap reads longitude/latitude in EPSG:4326 \
                         (transform it with ST_Transform(..., 4326) in a ?query=)"
                    )));
                }
                if !ty.eq_ignore_ascii_case("point") && !ty.eq_ignore_ascii_case("geometry") {
                    return Err(url.err(format!("geometry column {g:?} holds {ty}; households are points")));
                }
            }
        }
        let mut cols: Vec<String> = headers.iter().map(|h| format!("t.{}::text", ident(h))).collect();
        if let Some((g, kind)) = &geometry {
            let g = if kind == "geography" { format!("t.{}::geometry", ident(g)) } else { format!("t.{}", ident(g)) };
            cols.push(format!("GeometryType({g}), ST_X({g}), ST_Y({g}), ST_SRID({g})"));
        }
        let estimate = match &table {
            Some((s, t)) => client
                .query_one(
                    "SELECT GREATEST(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = \
                     c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                    &[s, t],
                )
                .map(|r| r.get::<_, i64>(0) as u64)
                .unwrap_or(0),
            None => 0,
        };
        // A table's rows in a stable order: by its primary key, when it has one (heap order
        // changes with updates and vacuum, and clustering is order-sensitive at the borders).
        let order = match &table {
            Some((s, t)) => {
                let key: Vec<String> = client
                    .query(
                        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND \
                         a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY \
                         array_position(i.indkey::int2[], a.attnum)",
                        &[&format!("{}.{}", ident(s), ident(t))],
                    )
                    .map_err(db)?
                    .iter()
                    .map(|r| format!("t.{}", ident(r.get::<_, &str>(0))))
                    .collect();
                if key.is_empty() { String::new() } else { format!(" ORDER BY {}", key.join(", ")) }
            }
            None => String::new(),
        };
        let select = if cols.is_empty() { "1".to_string() } else { cols.join(", ") };
        client
            .batch_execute(&format!(
                "BEGIN READ ONLY; DECLARE needmap_rows NO SCROLL CURSOR FOR SELECT {select} FROM {from} AS t{order}"
            ))
            .map_err(db)?;
        Ok(Self {
            url: url.clone(),
            client,
            headers,
            geometry: geometry.map(|g| g.0),
            pending: VecDeque::new(),
            finished: false,
            done: 0,
            estimate,
        })
    }

    fn fill(&mut self) -> Result<(), ImportError> {
        let rows = self
            .client
            .query(&format!("FETCH {BATCH} FROM needmap_rows"), &[])
            .map_err(|e| self.url.err(e.as_db_error().map(|d| d.message().to_string()).unwrap_or(e.to_string())))?;
        if rows.len() < BATCH {
            self.finished = true;
            let _ = self.client.batch_execute("CLOSE needmap_rows; COMMIT");
        }
        let n = self.headers.len();
        for row in rows {
            self.done += 1;
            let mut rec = Rec { row: self.done as u32, ..Default::default() };
            for i in 0..n {
                let v: Option<&str> = row.get(i);
                rec.push(v.unwrap_or(""));
            }
            if let Some(name) = &self.geometry {
                let ty: Option<&str> = row.get(n);
                let x: Option<f64> = row.get(n + 1);
                let y: Option<f64> = row.get(n + 2);
                let srid: Option<i32> = row.get(n + 3);
                rec.geometry = Some(match (ty, x, y, srid) {
                    (None, ..) => Err((IssueKind::MissingCoordinate, format!("geometry {name:?} is null"))),
                    (Some(_), _, _, Some(s)) if s != 4326 && s != 0 => {
                        Err((IssueKind::MissingCoordinate, format!("geometry {name:?} has SRID {s}, not 4326")))
                    }
                    (Some(t), Some(x), Some(y), _) if t.eq_ignore_ascii_case("POINT") => Ok((x, y)),
                    (Some(t), ..) => {
                        Err((IssueKind::MissingCoordinate, format!("geometry {name:?} is a {t}, not a point")))
                    }
                });
            }
            self.pending.push_back(rec);
        }
        Ok(())
    }
}

impl Source for PgSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        if self.pending.is_empty() && !self.finished {
            self.fill()?;
        }
        match self.pending.pop_front() {
            Some(r) => {
                *rec = r;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    fn progress(&self) -> (u64, u64) {
        (self.done, self.estimate.max(self.done))
    }
    fn format(&self) -> Format {
        Format::Postgis { geometry: self.geometry.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_hidden_and_params_split() {
        let u =
            PgUrl::parse("postgresql://ana:s3cr%40t@db.example:5433/survey?table=geo.hh&connect_timeout=3").unwrap();
        assert_eq!(u.shown, "postgresql://ana:***@db.example:5433/survey?table=geo.hh&connect_timeout=3");
        assert_eq!(u.table.as_deref(), Some("geo.hh"));
        assert_eq!(u.conn, "postgresql://ana:s3cr%40t@db.example:5433/survey?connect_timeout=3");
        assert_eq!(redact("postgres://ana@h/db"), "postgres://ana@h/db");
        let q = PgUrl::parse("postgres://a@h/db?query=SELECT%20*%20FROM%20t").unwrap();
        assert_eq!(q.query.as_deref(), Some("SELECT * FROM t"));
    }
}
