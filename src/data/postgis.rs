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
    pub tls: Tls,
    /// `sslrootcert=FILE`: the certificates (PEM) a verified server's chain ends in.
    pub root: Option<PathBuf>,
}

/// How the connection is encrypted (from `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `sslmode=disable`.
    Off,
    /// `prefer` (the default) or `require`: encrypted, the server's certificate not checked
    /// (as libpq does without a root certificate).
    Encrypt,
    /// `verify-ca` / `verify-full`: the certificate checked, host name included.
    Verify,
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
        // TLS as libpq reads sslmode: disable; allow/prefer (TLS when the server offers it,
        // certificate not checked); require (TLS, not checked); verify-ca/verify-full (checked
        // against sslrootcert=FILE or the Mozilla roots, and the host name).
        let mut tls = Tls::Encrypt;
        let mut root = None;
        let mut mode = "prefer";
        for kv in &kept {
            if let Some(v) = kv.strip_prefix("sslmode=") {
                tls = match v {
                    "disable" => Tls::Off,
                    "allow" | "prefer" | "require" => Tls::Encrypt,
                    "verify-ca" | "verify-full" => Tls::Verify,
                    _ => {
                        return Err(ImportError::file(
                            Path::new(&shown),
                            format!("sslmode={v}: not a mode; use disable, prefer, require, verify-ca or verify-full"),
                        ));
                    }
                };
                mode = match v {
                    "disable" => "disable",
                    "allow" | "prefer" => "prefer",
                    _ => "require",
                };
            } else if let Some(v) = kv.strip_prefix("sslrootcert=") {
                root = Some(PathBuf::from(pct_decode(v)));
            }
        }
        let mut kept: Vec<String> = kept
            .into_iter()
            .filter(|kv| !kv.starts_with("sslmode=") && !kv.starts_with("sslrootcert="))
            .map(String::from)
            .collect();
        kept.push(format!("sslmode={mode}"));
        let conn = format!("{base}?{}", kept.join("&"));
        Ok(Self { conn, table, query, schema, shown, tls, root })
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.shown)
    }

    /// An error about this database, named by the URL with its password hidden.
    pub(crate) fn err(&self, problem: impl Into<String>) -> ImportError {
        ImportError::file(&self.path(), problem)
    }

    /// Connects, with a one-line message for the usual failures.
    pub fn connect(&self) -> Result<Client, ImportError> {
        let made = match self.tls {
            Tls::Off => Client::connect(&self.conn, NoTls),
            _ => Client::connect(&self.conn, tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?)),
        };
        made.map_err(|e| self.err(connect_problem(&e)))
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, ImportError> {
        use std::sync::Arc;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| self.err(format!("TLS: {e}")))?;
        Ok(match self.tls {
            Tls::Verify => {
                let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
                if let Some(file) = &self.root {
                    use rustls::pki_types::CertificateDer;
                    use rustls::pki_types::pem::PemObject as _;
                    let bad = |e: &dyn std::fmt::Display| self.err(format!("sslrootcert {}: {e}", file.display()));
                    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(file)
                        .map_err(|e| bad(&e))?
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(&e))?;
                    if certs.is_empty() {
                        return Err(bad(&"no certificate in it (PEM expected)"));
                    }
                    for c in certs {
                        roots.add(c).map_err(|e| bad(&e))?;
                    }
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
                .with_no_client_auth(),
        })
    }
}

/// `sslmode=prefer/require`: the server's certificate is taken as it is (libpq's meaning of
/// these modes), but the handshake's signatures are still checked with its key.
#[derive(Debug)]
struct Unchecked(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
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
    let why = why.replace('\n', " ");
    if why.contains("TLS") {
        return format!("TLS failed ({why}); check sslmode= (and sslrootcert= for verify-full)");
    }
    format!("cannot reach the server ({why})")
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub(crate) struct PgSource {
    url: PgUrl,
    client: Client,
    headers: Vec<String>,
    geometry: Option<String>,
    /// The table's primary key columns.
    key: Vec<String>,
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
        let mut key_names = Vec::new();
        let order = match &table {
            Some((s, t)) => {
                key_names = client
                    .query(
                        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND \
                         a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY \
                         array_position(i.indkey::int2[], a.attnum)",
                        &[&format!("{}.{}", ident(s), ident(t))],
                    )
                    .map_err(db)?
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<Vec<_>>();
                let key: Vec<String> = key_names.iter().map(|k| format!("t.{}", ident(k))).collect();
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
            key: key_names,
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
    fn key(&self) -> Vec<String> {
        self.key.clone()
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
        assert_eq!(u.conn, "postgresql://ana:s3cr%40t@db.example:5433/survey?connect_timeout=3&sslmode=prefer");
        assert_eq!(u.tls, Tls::Encrypt);
        let v = PgUrl::parse("postgres://a@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.crt").unwrap();
        assert_eq!((v.tls, v.root.as_deref()), (Tls::Verify, Some(Path::new("/tmp/ca.crt"))));
        assert_eq!(v.conn, "postgres://a@h/db?sslmode=require");
        assert_eq!(PgUrl::parse("postgres://a@h/db?sslmode=disable").unwrap().tls, Tls::Off);
        assert!(PgUrl::parse("postgres://a@h/db?sslmode=sure").is_err());
        assert_eq!(redact("postgres://ana@h/db"), "postgres://ana@h/db");
        let q = PgUrl::parse("postgres://a@h/db?query=SELECT%20*%20FROM%20t").unwrap();
        assert_eq!(q.query.as_deref(), Some("SELECT * FROM t"));
    }
}
