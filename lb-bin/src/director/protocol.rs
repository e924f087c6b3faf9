//! The control socket's private wire format: one request, one response, one connection.
//!
//! ```text
//! request:  "LBC1" · string program · u32 count · count × string argument · string stdin
//! response: "LBR1" · i32 exit status · string stdout · string stderr
//! string:   u32 length · that many bytes of UTF-8
//! ```
//!
//! Integers are big-endian. The client writes its request, the director answers and
//! closes the connection.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

const REQUEST_MAGIC: &[u8; 4] = b"LBC1";
const RESPONSE_MAGIC: &[u8; 4] = b"LBR1";
/// The longest string either side accepts (a `-R` of a large table fits).
pub const MAX_STRING: usize = 64 << 20;
/// The most arguments of one invocation.
pub const MAX_ARGS: usize = 4096;
/// How long the client waits for the director's answer (a `-R` of a large table takes a
/// while).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// One `ipvsadm` invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The name ipvsadm calls itself in its messages (its `argv[0]`).
    pub program: String,
    /// Its arguments, without the program name.
    pub args: Vec<String>,
    /// What `-R` reads (empty for other commands).
    pub stdin: String,
}

/// What the invocation printed, and its exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Exit status.
    pub exit_code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn write_u32(w: &mut impl Write, v: u32) -> io::Result<()> {
    w.write_all(&v.to_be_bytes())
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn write_string(w: &mut impl Write, s: &str) -> io::Result<()> {
    if s.len() > MAX_STRING {
        return Err(bad("string too long"));
    }
    write_u32(w, s.len() as u32)?;
    w.write_all(s.as_bytes())
}

fn read_string(r: &mut impl Read) -> io::Result<String> {
    let len = read_u32(r)? as usize;
    if len > MAX_STRING {
        return Err(bad("string too long"));
    }
    let mut bytes = Vec::new();
    r.take(len as u64).read_to_end(&mut bytes)?;
    if bytes.len() != len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))
}

fn expect_magic(r: &mut impl Read, magic: &[u8; 4]) -> io::Result<()> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    if &b == magic {
        Ok(())
    } else {
        Err(bad("not an lb control message"))
    }
}

/// Writes `req`.
pub fn write_request(w: &mut impl Write, req: &Request) -> io::Result<()> {
    if req.args.len() > MAX_ARGS {
        return Err(bad("too many arguments"));
    }
    let mut buf = Vec::new();
    buf.extend_from_slice(REQUEST_MAGIC);
    write_string(&mut buf, &req.program)?;
    write_u32(&mut buf, req.args.len() as u32)?;
    for a in &req.args {
        write_string(&mut buf, a)?;
    }
    write_string(&mut buf, &req.stdin)?;
    w.write_all(&buf)?;
    w.flush()
}

/// Reads a request.
pub fn read_request(r: &mut impl Read) -> io::Result<Request> {
    expect_magic(r, REQUEST_MAGIC)?;
    let program = read_string(r)?;
    let count = read_u32(r)? as usize;
    if count > MAX_ARGS {
        return Err(bad("too many arguments"));
    }
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        args.push(read_string(r)?);
    }
    let stdin = read_string(r)?;
    Ok(Request {
        program,
        args,
        stdin,
    })
}

/// Writes `resp`.
pub fn write_response(w: &mut impl Write, resp: &Response) -> io::Result<()> {
    let mut buf = Vec::new();
    buf.extend_from_slice(RESPONSE_MAGIC);
    buf.extend_from_slice(&resp.exit_code.to_be_bytes());
    write_string(&mut buf, &resp.stdout)?;
    write_string(&mut buf, &resp.stderr)?;
    w.write_all(&buf)?;
    w.flush()
}

/// Reads a response.
pub fn read_response(r: &mut impl Read) -> io::Result<Response> {
    expect_magic(r, RESPONSE_MAGIC)?;
    let exit_code = read_u32(r)? as i32;
    let stdout = read_string(r)?;
    let stderr = read_string(r)?;
    Ok(Response {
        exit_code,
        stdout,
        stderr,
    })
}

/// Why [`call`] failed.
#[derive(Debug)]
pub enum CallError {
    /// Nobody accepted the connection (no director is running there).
    Connect(io::Error),
    /// The director accepted but the exchange failed.
    Exchange(io::Error),
}

/// Sends `req` to the director listening at `path` and returns its answer.
pub fn call(path: &Path, req: &Request) -> Result<Response, CallError> {
    let mut stream = UnixStream::connect(path).map_err(CallError::Connect)?;
    let exchange = |stream: &mut UnixStream| {
        stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
        stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
        write_request(stream, req)?;
        read_response(stream)
    };
    exchange(&mut stream).map_err(CallError::Exchange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_go_through_bytes_unchanged() {
        let req = Request {
            program: "ipvsadm".into(),
            args: vec!["-A".into(), "-t".into(), "198.18.0.10:80".into(), "".into()],
            stdin: "-C\n".into(),
        };
        let mut bytes = Vec::new();
        write_request(&mut bytes, &req).unwrap();
        assert_eq!(&bytes[..8], b"LBC1\0\0\0\x07");
        assert_eq!(read_request(&mut &bytes[..]).unwrap(), req);
        let resp = Response {
            exit_code: 255,
            stdout: String::new(),
            stderr: "Service already exists\n".into(),
        };
        let mut bytes = Vec::new();
        write_response(&mut bytes, &resp).unwrap();
        assert_eq!(&bytes[..8], b"LBR1\0\0\0\xff");
        assert_eq!(read_response(&mut &bytes[..]).unwrap(), resp);
    }

    #[test]
    fn garbage_and_short_messages_are_errors() {
        assert_eq!(
            read_request(&mut &b"GET / HTTP/1.0\r\n"[..])
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidData
        );
        let mut bytes = Vec::new();
        write_request(&mut bytes, &Request::default()).unwrap();
        bytes.pop();
        assert_eq!(
            read_request(&mut &bytes[..]).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut huge = b"LBC1".to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            read_request(&mut &huge[..]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
