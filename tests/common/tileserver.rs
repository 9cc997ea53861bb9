//! A stand-in XYZ tile server on 127.0.0.1 for the tests (no other network): PNG tiles whose
//! colour encodes z/x/y, every request's path and User-Agent recorded, faults on demand.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A tiny valid PNG (1×1, RGB) whose colour encodes z, x and y.
pub fn png(z: u8, x: u32, y: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn adler(bytes: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in bytes {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    };
    let raw = [0u8, z, (x % 256) as u8, (y % 256) as u8]; // filter byte + one RGB pixel
    let mut deflate = vec![0x78, 0x01, 1, raw.len() as u8, 0, !(raw.len() as u8), 0xFF];
    deflate.extend(raw);
    deflate.extend(adler(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    chunk(&mut out, b"IDAT", &deflate);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// How the stand-in server misbehaves.
#[derive(Default)]
pub struct Faults {
    /// The first request for each of these paths answers 500.
    pub fail_once: Mutex<HashSet<String>>,
    /// After this many tiles served, every request answers 503 (an outage).
    pub outage_after: Mutex<Option<usize>>,
    /// These paths answer 404.
    pub missing: Mutex<HashSet<String>>,
    /// Every request answers 403.
    pub forbidden: std::sync::atomic::AtomicBool,
}

pub struct Server {
    pub base: String,
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    pub served: Arc<AtomicUsize>,
    pub faults: Arc<Faults>,
}

pub fn server() -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let served = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(Faults::default());
    let (log, count, f) = (requests.clone(), served.clone(), faults.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut path, mut agent, mut line) = (String::new(), String::new(), String::new());
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let l = line.trim_end().to_string();
                line.clear();
                if l.is_empty() {
                    break;
                }
                if let Some(p) = l.strip_prefix("GET ") {
                    path = p.split(' ').next().unwrap_or("").to_string();
                } else if let Some((k, v)) = l.split_once(':')
                    && k.eq_ignore_ascii_case("user-agent")
                {
                    agent = v.trim().to_string();
                }
            }
            log.lock().unwrap().push((path.clone(), agent));
            let tile: Vec<u32> = path
                .trim_start_matches('/')
                .trim_end_matches(".png")
                .split('/')
                .filter_map(|p| p.parse().ok())
                .collect();
            let status = if f.forbidden.load(Ordering::Relaxed) {
                403
            } else if f.fail_once.lock().unwrap().remove(&path) {
                500
            } else if f.outage_after.lock().unwrap().is_some_and(|n| count.load(Ordering::Relaxed) >= n) {
                503
            } else if f.missing.lock().unwrap().contains(&path) {
                404
            } else {
                200
            };
            let body = if status == 200 && tile.len() == 3 {
                count.fetch_add(1, Ordering::Relaxed);
                png(tile[0] as u8, tile[1], tile[2])
            } else {
                Vec::new()
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    Server { base, requests, served, faults }
}
