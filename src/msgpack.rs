//! Locust's message codec: one msgpack value per ZeroMQ payload, the 3-element array `[type, data, node_id]`.
//! A ground floor (it imports nothing of the crate): `distributed` speaks it, and `bridge` carries its [`Value`]
//! to Python (a distributed-mode message for the shim).
//!
//! Byte for byte what Locust 2.47 writes with `msgpack.dumps((type, data, node_id), default=encode)` and reads with
//! `msgpack.loads(raw=False, strict_map_key=False, object_hook=decode)` (`locust/rpc/protocol.py`, msgpack ≥ 1.0):
//! - `str` → fixstr/str8/str16/str32 (UTF-8), `bytes` → bin8/bin16/bin32, `None` → nil, `bool` → true/false;
//! - `float` → always float64 (`0xcb`); float32 on the wire is read as a float too;
//! - `int` → the smallest width, unsigned markers for values ≥ 0 and signed ones below (Python's packer and
//!   `rmp::encode::write_sint` make the same choices); Python ints outside [-2⁶³, 2⁶⁴) cannot be packed;
//! - lists and tuples → arrays; dicts → maps in insertion order, keys of any scalar type (the stats dicts have int
//!   keys: response-time buckets and epoch seconds);
//! - `datetime` ↔ `{"__datetime__": true, "as_str": "%Y%m%dT%H:%M:%S.%f"}` and bson `ObjectId` ↔
//!   `{"__ObjectId__": true, "as_str": hex}`: the decode hook turns any map holding such a key back into the object,
//!   wherever it is.
//!
//! Decoding is as strict as Python's: trailing bytes (`ExtraData`), invalid UTF-8 in a str, truncated input, an
//! ext type, or a list/map used as a map key are errors. A map with a repeated key keeps both entries (Python's dict
//! would keep the last value; Locust never sends one). The low-level marker reading and writing is `rmp`'s.

use rmp::Marker;
use rmp::encode as enc;
use thiserror::Error;

/// One Python value as it crosses the wire. Keeps the distinctions Python makes: int vs float vs bool, str vs bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    /// A Python int in [-2⁶³, 2⁶³).
    Int(i64),
    /// A Python int in [2⁶³, 2⁶⁴): only values above `i64::MAX` (use [`Value::from_u64`] to build one).
    UInt(u64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// A list or tuple (msgpack does not tell them apart; Locust decodes with `use_list=True`).
    Array(Vec<Value>),
    /// A dict, in insertion order.
    Map(Vec<(Value, Value)>),
    /// A naive `datetime.datetime`, kept as its wire text `%Y%m%dT%H:%M:%S.%f` (e.g. `20261122T07:31:11.123456`).
    DateTime(String),
    /// A bson `ObjectId`, kept as its hex text.
    ObjectId(String),
}

#[derive(Debug, Error, PartialEq)]
pub enum CodecError {
    #[error("truncated msgpack data")]
    Truncated,
    #[error("extra data after the msgpack value")]
    ExtraData,
    #[error("invalid UTF-8 in a msgpack str")]
    InvalidUtf8,
    #[error("unsupported msgpack marker 0x{0:02x}")]
    Unsupported(u8),
    #[error("unhashable map key (list or dict)")]
    UnhashableKey,
    #[error("msgpack nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("bad {kind} value: {text:?}")]
    BadCustom { kind: &'static str, text: String },
    #[error("a message must be the array [type: str, data, node_id: str], got {0}")]
    NotAMessage(String),
    #[error("value too large to pack")]
    TooLarge,
    #[error("more than {MAX_ELEMENTS} values in one message")]
    TooMany,
}

/// Deeper than any Locust message; a bound so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 512;
/// The most values (scalars, arrays, maps, each key and value counted) one decoded payload may hold. Each costs a
/// [`Value`] (32 bytes) or more, however few bytes it took on the wire (a nil is one byte): ~41 times a hostile
/// frame's size without a bound. A stats report of 10,000 names with a hundred response-time buckets each is
/// about 2.5 million values; 8 million leaves room and bounds one message's values to about 256 MiB.
pub const MAX_ELEMENTS: usize = 8 << 20;

const DATETIME_KEY: &str = "__datetime__";
const OBJECTID_KEY: &str = "__ObjectId__";

impl Value {
    /// A Python int from a u64 (kept as `Int` when it fits, as Python does not distinguish).
    pub fn from_u64(v: u64) -> Value {
        i64::try_from(v).map(Value::Int).unwrap_or(Value::UInt(v))
    }

    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A dict with str keys, in the given order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Str(k.into()), v))
                .collect(),
        )
    }

    /// `d[key]` for a dict with a str key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A number as Python's `float(x)` would see it (int or float).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::UInt(u) => Some(*u as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// A short description for error messages (the Python type name).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "list",
            Value::Map(_) => "dict",
            Value::DateTime(_) => "datetime",
            Value::ObjectId(_) => "ObjectId",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// One Locust message. `node_id` is always the worker's client id, in both directions.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: String,
    pub data: Value,
    pub node_id: String,
}

impl Message {
    pub fn new(kind: impl Into<String>, data: Value, node_id: impl Into<String>) -> Message {
        Message {
            kind: kind.into(),
            data,
            node_id: node_id.into(),
        }
    }

    /// The payload bytes, as `Message.serialize()`.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(64);
        write_array_len(&mut out, 3)?;
        write_str(&mut out, &self.kind)?;
        write_value(&mut out, &self.data)?;
        write_str(&mut out, &self.node_id)?;
        Ok(out)
    }

    /// `Message.unserialize(payload)`: exactly one value, an array of three with str type and node id.
    pub fn decode(payload: &[u8]) -> Result<Message, CodecError> {
        Message::decode_counted(payload).map(|(m, _)| m)
    }

    /// [`Message::decode`], and how many values it holds (what its decoding cost, see [`MAX_ELEMENTS`]).
    pub fn decode_counted(payload: &[u8]) -> Result<(Message, usize), CodecError> {
        let (value, count) = decode_counted(payload, MAX_ELEMENTS)?;
        let Value::Array(items) = value else {
            return Err(CodecError::NotAMessage(value.type_name().to_owned()));
        };
        let n = items.len();
        let mut it = items.into_iter();
        match (it.next(), it.next(), it.next()) {
            (Some(Value::Str(kind)), Some(data), Some(Value::Str(node_id))) if n == 3 => Ok((
                Message {
                    kind,
                    data,
                    node_id,
                },
                count,
            )),
            _ => Err(CodecError::NotAMessage(format!("an array of {n}"))),
        }
    }
}

/// Packs one value as `msgpack.dumps(value, default=encode)`.
pub fn encode_value(value: &Value) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    write_value(&mut out, value)?;
    Ok(out)
}

/// Unpacks exactly one value (trailing bytes are an error), as Locust's `msgpack.loads` call.
pub fn decode_value(bytes: &[u8]) -> Result<Value, CodecError> {
    decode_value_within(bytes, MAX_ELEMENTS)
}

/// [`decode_value`] holding at most `max_elements` values (`CodecError::TooMany` past them, found before they
/// are all built).
pub fn decode_value_within(bytes: &[u8], max_elements: usize) -> Result<Value, CodecError> {
    decode_counted(bytes, max_elements).map(|(v, _)| v)
}

/// Exactly one value of at most `max_elements` values, and how many it holds.
fn decode_counted(bytes: &[u8], max_elements: usize) -> Result<(Value, usize), CodecError> {
    let mut reader = Reader {
        buf: bytes,
        pos: 0,
        left: max_elements,
    };
    let value = reader.value(0)?;
    if reader.pos != bytes.len() {
        return Err(CodecError::ExtraData);
    }
    Ok((value, max_elements - reader.left))
}

// Writing into a Vec cannot fail; rmp's writers are generic over io::Write, so the error type is io::Error.
fn io<T, E>(r: Result<T, E>) -> Result<(), CodecError> {
    r.map(|_| ()).map_err(|_| CodecError::TooLarge)
}

fn len32(n: usize) -> Result<u32, CodecError> {
    u32::try_from(n).map_err(|_| CodecError::TooLarge)
}

fn write_array_len(out: &mut Vec<u8>, n: usize) -> Result<(), CodecError> {
    io(enc::write_array_len(out, len32(n)?))
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), CodecError> {
    io(enc::write_str_len(out, len32(s.len())?))?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_custom(out: &mut Vec<u8>, key: &str, text: &str) -> Result<(), CodecError> {
    io(enc::write_map_len(out, 2))?;
    write_str(out, key)?;
    io(enc::write_bool(out, true))?;
    write_str(out, "as_str")?;
    write_str(out, text)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), CodecError> {
    match value {
        Value::Nil => io(enc::write_nil(out)),
        Value::Bool(b) => io(enc::write_bool(out, *b)),
        Value::Int(i) => io(enc::write_sint(out, *i)),
        Value::UInt(u) => io(enc::write_uint(out, *u)),
        Value::Float(f) => io(enc::write_f64(out, *f)),
        Value::Str(s) => write_str(out, s),
        Value::Bytes(b) => {
            io(enc::write_bin_len(out, len32(b.len())?))?;
            out.extend_from_slice(b);
            Ok(())
        }
        Value::Array(items) => {
            write_array_len(out, items.len())?;
            items.iter().try_for_each(|v| write_value(out, v))
        }
        Value::Map(entries) => {
            io(enc::write_map_len(out, len32(entries.len())?))?;
            entries.iter().try_for_each(|(k, v)| {
                write_value(out, k)?;
                write_value(out, v)
            })
        }
        Value::DateTime(text) => write_custom(out, DATETIME_KEY, text),
        Value::ObjectId(text) => write_custom(out, OBJECTID_KEY, text),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Values that may still be decoded.
    left: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(CodecError::Truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len8(&mut self) -> Result<usize, CodecError> {
        Ok(self.be::<1>()?[0] as usize)
    }
    fn len16(&mut self) -> Result<usize, CodecError> {
        Ok(u16::from_be_bytes(self.be()?) as usize)
    }
    fn len32(&mut self) -> Result<usize, CodecError> {
        Ok(u32::from_be_bytes(self.be()?) as usize)
    }

    fn str(&mut self, n: usize) -> Result<Value, CodecError> {
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes)
            .map(|s| Value::Str(s.to_owned()))
            .map_err(|_| CodecError::InvalidUtf8)
    }

    fn bin(&mut self, n: usize) -> Result<Value, CodecError> {
        Ok(Value::Bytes(self.take(n)?.to_vec()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, CodecError> {
        // Every element takes at least one byte: a length beyond the rest of the input is truncated data, found
        // before allocating for it.
        if n > self.buf.len() - self.pos {
            return Err(CodecError::Truncated);
        }
        if n > self.left {
            return Err(CodecError::TooMany);
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, CodecError> {
        if n > (self.buf.len() - self.pos) / 2 {
            return Err(CodecError::Truncated);
        }
        if n.saturating_mul(2) > self.left {
            return Err(CodecError::TooMany);
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.value(depth + 1)?;
            if matches!(key, Value::Array(_) | Value::Map(_)) {
                return Err(CodecError::UnhashableKey);
            }
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        object_hook(entries)
    }

    fn value(&mut self, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::TooDeep);
        }
        self.left = self.left.checked_sub(1).ok_or(CodecError::TooMany)?;
        let byte = self.be::<1>()?[0];
        Ok(match Marker::from_u8(byte) {
            Marker::FixPos(n) => Value::Int(n as i64),
            Marker::FixNeg(n) => Value::Int(n as i64),
            Marker::Null => Value::Nil,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::U8 => Value::Int(self.be::<1>()?[0] as i64),
            Marker::U16 => Value::Int(u16::from_be_bytes(self.be()?) as i64),
            Marker::U32 => Value::Int(u32::from_be_bytes(self.be()?) as i64),
            Marker::U64 => Value::from_u64(u64::from_be_bytes(self.be()?)),
            Marker::I8 => Value::Int(i8::from_be_bytes(self.be()?) as i64),
            Marker::I16 => Value::Int(i16::from_be_bytes(self.be()?) as i64),
            Marker::I32 => Value::Int(i32::from_be_bytes(self.be()?) as i64),
            Marker::I64 => Value::Int(i64::from_be_bytes(self.be()?)),
            Marker::F32 => Value::Float(f32::from_be_bytes(self.be()?) as f64),
            Marker::F64 => Value::Float(f64::from_be_bytes(self.be()?)),
            Marker::FixStr(n) => self.str(n as usize)?,
            Marker::Str8 => {
                let n = self.len8()?;
                self.str(n)?
            }
            Marker::Str16 => {
                let n = self.len16()?;
                self.str(n)?
            }
            Marker::Str32 => {
                let n = self.len32()?;
                self.str(n)?
            }
            Marker::Bin8 => {
                let n = self.len8()?;
                self.bin(n)?
            }
            Marker::Bin16 => {
                let n = self.len16()?;
                self.bin(n)?
            }
            Marker::Bin32 => {
                let n = self.len32()?;
                self.bin(n)?
            }
            Marker::FixArray(n) => self.array(n as usize, depth)?,
            Marker::Array16 => {
                let n = self.len16()?;
                self.array(n, depth)?
            }
            Marker::Array32 => {
                let n = self.len32()?;
                self.array(n, depth)?
            }
            Marker::FixMap(n) => self.map(n as usize, depth)?,
            Marker::Map16 => {
                let n = self.len16()?;
                self.map(n, depth)?
            }
            Marker::Map32 => {
                let n = self.len32()?;
                self.map(n, depth)?
            }
            // Ext types (Locust never sends one; Python would return an ExtType or Timestamp) and the reserved 0xc1.
            _ => return Err(CodecError::Unsupported(byte)),
        })
    }
}

/// Locust's `decode` object hook: a map holding the key `"__datetime__"` (or `"__ObjectId__"`) is that object, built
/// from its `as_str`; every other map stays a map.
fn object_hook(entries: Vec<(Value, Value)>) -> Result<Value, CodecError> {
    let has = |key: &str| {
        entries
            .iter()
            .any(|(k, _)| matches!(k, Value::Str(s) if s == key))
    };
    let as_str = |kind: &'static str| -> Result<String, CodecError> {
        let text = entries
            .iter()
            .rev()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == "as_str"))
            .map(|(_, v)| v);
        match text {
            Some(Value::Str(s)) => Ok(s.clone()),
            other => Err(CodecError::BadCustom {
                kind,
                text: format!("{other:?}"),
            }),
        }
    };
    if has(DATETIME_KEY) {
        let text = as_str("datetime")?;
        if !is_locust_datetime(&text) {
            return Err(CodecError::BadCustom {
                kind: "datetime",
                text,
            });
        }
        Ok(Value::DateTime(text))
    } else if has(OBJECTID_KEY) {
        let text = as_str("ObjectId")?;
        if text.len() != 24 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CodecError::BadCustom {
                kind: "ObjectId",
                text,
            });
        }
        Ok(Value::ObjectId(text))
    } else {
        Ok(Value::Map(entries))
    }
}

/// What `datetime.strptime(text, "%Y%m%dT%H:%M:%S.%f")` accepts, for the texts Locust writes: `YYYYMMDD`, `T`,
/// `HH:MM:SS`, `.` and 1 to 6 digits of fraction, with the fields in range (the day is checked against 1..=31, not
/// the month's length).
pub fn is_locust_datetime(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = b.get(r)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0u32, |n, d| n * 10 + (d - b'0') as u32))
    };
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = (
        digits(0..4),
        digits(4..6),
        digits(6..8),
        digits(9..11),
        digits(12..14),
        digits(15..17),
    ) else {
        return false;
    };
    let frac = b.len().saturating_sub(18);
    b.len() > 18
        && b[8] == b'T'
        && b[11] == b':'
        && b[14] == b':'
        && b[17] == b'.'
        && (1..=6).contains(&frac)
        && digits(18..b.len()).is_some()
        && y >= 1
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && h < 24
        && mi < 60
        && s < 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const ID: &str = "vm_9c4bee54b849475f99934969d7b7d27a";

    fn hex_of(v: &Value) -> String {
        hex::encode(encode_value(v).unwrap())
    }

    fn sha_of(v: &Value) -> String {
        hex::encode(Sha256::digest(encode_value(v).unwrap()))
    }

    fn ints(xs: &[i64]) -> Value {
        Value::Array(xs.iter().map(|&i| Value::Int(i)).collect())
    }

    /// The two byte strings quoted in reference §2.2, from the tap capture.
    #[test]
    fn element_budget() {
        // an array of 1,000 nils: 1,001 values
        let mut bytes = vec![0xdc, 0x03, 0xe8];
        bytes.extend(std::iter::repeat_n(0xc0, 1000));
        assert!(decode_value_within(&bytes, 1001).is_ok());
        assert_eq!(decode_value_within(&bytes, 1000), Err(CodecError::TooMany));
        // a map's length is checked before its entries are allocated
        let mut map = vec![0xde, 0x01, 0xf4];
        map.extend(std::iter::repeat_n(0xc0, 1000));
        assert_eq!(decode_value_within(&map, 999), Err(CodecError::TooMany));
        // nested empty arrays count one each
        let nested = [0x93, 0x90, 0x90, 0x90];
        assert!(decode_value_within(&nested, 4).is_ok());
        assert_eq!(decode_value_within(&nested, 3), Err(CodecError::TooMany));
        // the default bound applies to messages
        let mut big = vec![0x93, 0xa1, b'x', 0xdd];
        big.extend(((MAX_ELEMENTS + 1) as u32).to_be_bytes());
        big.extend(std::iter::repeat_n(0xc0, MAX_ELEMENTS + 1));
        big.extend([0xa1, b'n']);
        assert_eq!(Message::decode(&big), Err(CodecError::TooMany));
    }

    #[test]
    fn client_ready_and_server_heartbeat_bytes_of_the_capture() {
        let ready = Message::new("client_ready", Value::str("2.47.0"), ID)
            .encode()
            .unwrap();
        let mut want = vec![0x93, 0xac];
        want.extend_from_slice(b"client_ready");
        want.push(0xa6);
        want.extend_from_slice(b"2.47.0");
        want.extend_from_slice(&[0xd9, 0x23]);
        want.extend_from_slice(ID.as_bytes());
        assert_eq!(ready, want);
        let hb = Message::new("heartbeat", Value::Nil, ID).encode().unwrap();
        let mut want = vec![0x93, 0xa9];
        want.extend_from_slice(b"heartbeat");
        want.push(0xc0);
        want.extend_from_slice(&[0xd9, 0x23]);
        want.extend_from_slice(ID.as_bytes());
        assert_eq!(hb, want);
        assert_eq!(
            Message::decode(&ready).unwrap(),
            Message::new(
                "client_ready",
                Value::str(crate::version::LOCUST_VERSION),
                ID
            )
        );
    }

    /// Expected hex generated once with Locust 2.47's own encoder (msgpack 1.2.4 from .venv-oracle):
    /// `msgpack.dumps(v, default=locust.rpc.protocol.encode).hex()` / `Message(...).serialize().hex()`.
    #[test]
    fn byte_for_byte_as_pythons_msgpack() {
        let mut all_ints = vec![
            0,
            127,
            128,
            255,
            256,
            65535,
            65536,
            (1i64 << 32) - 1,
            1 << 32,
            i64::MAX,
        ]
        .into_iter()
        .map(Value::Int)
        .collect::<Vec<_>>();
        all_ints.push(Value::from_u64(1 << 63));
        all_ints.push(Value::from_u64(u64::MAX));
        all_ints.extend(
            [
                -1,
                -32,
                -33,
                -128,
                -129,
                -32768,
                -32769,
                -(1i64 << 31),
                -(1i64 << 31) - 1,
                i64::MIN,
            ]
            .map(Value::Int),
        );
        assert_eq!(
            hex_of(&Value::Array(all_ints)),
            "dc0016007fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf7fffffffffffffffcf8000000000000000\
             cfffffffffffffffffffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd38000000000000000"
        );
        let floats = [0.0, 1.5, -2.25, 1e300, f64::INFINITY, 1795332745.2009761].map(Value::Float);
        assert_eq!(
            hex_of(&Value::Array(floats.to_vec())),
            "96cb0000000000000000cb3ff8000000000000cbc002000000000000cb7e37e43c8800759ccb7ff0000000000000cb41dac0a6a24cdccb"
        );
        let strs = ["", "a", "b", "c", "d", "ü€😀"]
            .into_iter()
            .zip([0, 31, 32, 255, 256, 1]);
        let strs: Vec<Value> = strs.map(|(s, n)| Value::Str(s.repeat(n))).collect();
        assert_eq!(
            sha_of(&Value::Array(strs)),
            "2f261bb52eb38de7c1faf17954adcf844133f77baba8db762f120471375d62c9"
        );
        assert_eq!(hex_of(&Value::str("ü€😀")), "a9c3bce282acf09f9880");
        assert_eq!(
            sha_of(&Value::str("e".repeat(65536))),
            "25188c4baf4a099cf07635505bc5d0c0a4a800f024c89a8a361732e02911d7ac"
        );
        let bins = [vec![], vec![0x00, 0xff], (0..=255u8).collect()].map(Value::Bytes);
        assert_eq!(
            sha_of(&Value::Array(bins.to_vec())),
            "90d4417342db5dd56b814a5cd53d0edc71a156e8c39ebdc851b9e9b02c593bd0"
        );
        // {200: 3, 1795332745: 12, "a": None, True: False, 1.5: b"x", -7: [1, (2, 3)]}
        let map = Value::Map(vec![
            (Value::Int(200), Value::Int(3)),
            (Value::Int(1795332745), Value::Int(12)),
            (Value::str("a"), Value::Nil),
            (Value::Bool(true), Value::Bool(false)),
            (Value::Float(1.5), Value::Bytes(b"x".to_vec())),
            (
                Value::Int(-7),
                Value::Array(vec![Value::Int(1), ints(&[2, 3])]),
            ),
        ]);
        assert_eq!(
            hex_of(&map),
            "86ccc803ce6b029a890ca161c0c3c2cb3ff8000000000000c40178f99201920203"
        );
        // [datetime(2026, 11, 22, 7, 31, 11, 123456), datetime(2026, 1, 2, 3, 4, 5)]
        let dts = Value::Array(vec![
            Value::DateTime("20261122T07:31:11.123456".into()),
            Value::DateTime("20260102T03:04:05.000000".into()),
        ]);
        assert_eq!(
            hex_of(&dts),
            "9282ac5f5f6461746574696d655f5fc3a661735f737472b832303236313132325430373a33313a31312e31323334353682ac5f5f64\
             61746574696d655f5fc3a661735f737472b832303236303130325430333a30343a30352e303030303030"
        );
        // [list(range(16)), {str(i): i for i in range(16)}]: array16 and map16
        let big = Value::Array(vec![
            ints(&(0..16).collect::<Vec<_>>()),
            Value::map((0..16).map(|i| (i.to_string(), Value::Int(i)))),
        ]);
        assert_eq!(
            hex_of(&big),
            "92dc0010000102030405060708090a0b0c0d0e0fde0010a13000a13101a13202a13303a13404a13505a13606a13707a13808a13909\
             a231300aa231310ba231320ca231330da231340ea231350f"
        );
        let msgs = [
            (
                Message::new("ack", Value::map([("index", Value::Int(0))]), ID),
                "93a361636b81a5696e64657800d923766d5f3963346265653534623834393437356639393933343936396437623764323761",
            ),
            (
                Message::new(
                    "heartbeat",
                    Value::map([
                        ("state", Value::str("ready")),
                        ("current_cpu_usage", Value::Float(0.0)),
                        ("current_memory_usage", Value::Int(0)),
                    ]),
                    "w_1",
                ),
                "93a968656172746265617483a57374617465a57265616479b163757272656e745f6370755f7573616765cb0000000000000000\
                 b463757272656e745f6d656d6f72795f757361676500a3775f31",
            ),
            (
                Message::new(
                    "heartbeat",
                    Value::map([
                        ("state", Value::str("running")),
                        ("current_cpu_usage", Value::Float(12.5)),
                        ("current_memory_usage", Value::Int(45678912)),
                    ]),
                    "w_1",
                ),
                "93a968656172746265617483a57374617465a772756e6e696e67b163757272656e745f6370755f7573616765cb4029000000000000\
                 b463757272656e745f6d656d6f72795f7573616765ce02b90140a3775f31",
            ),
        ];
        for (msg, want) in msgs {
            let bytes = msg.encode().unwrap();
            assert_eq!(hex::encode(&bytes), want, "{msg:?}");
            assert_eq!(Message::decode(&bytes).unwrap(), msg);
        }
        for v in [map, dts, big] {
            assert_eq!(decode_value(&encode_value(&v).unwrap()).unwrap(), v);
        }
    }

    #[test]
    fn decoding_is_as_strict_as_locusts() {
        let ok = Message::new("x", Value::Nil, "n").encode().unwrap();
        let mut extra = ok.clone();
        extra.push(0xc0);
        assert_eq!(Message::decode(&extra), Err(CodecError::ExtraData));
        assert_eq!(
            Message::decode(&ok[..ok.len() - 1]),
            Err(CodecError::Truncated)
        );
        assert_eq!(
            decode_value(&[0xa2, 0xff, 0xfe]),
            Err(CodecError::InvalidUtf8)
        );
        assert_eq!(
            decode_value(&[0xd4, 0x01, 0x00]),
            Err(CodecError::Unsupported(0xd4))
        );
        assert_eq!(
            decode_value(&[0x81, 0x90, 0xc0]),
            Err(CodecError::UnhashableKey)
        );
        // A huge declared length with no data behind it fails before allocating.
        assert_eq!(
            decode_value(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
            Err(CodecError::Truncated)
        );
        let mut deep = vec![0x91; MAX_DEPTH + 2];
        deep.push(0xc0);
        assert_eq!(decode_value(&deep), Err(CodecError::TooDeep));
        assert!(matches!(
            Message::decode(&[0x92, 0xa1, b'x', 0xc0]),
            Err(CodecError::NotAMessage(_))
        ));
        assert!(matches!(
            Message::decode(&[0x93, 0x01, 0xc0, 0xa1, b'n']),
            Err(CodecError::NotAMessage(_))
        ));
        // float32 and small ints in wide markers are read as Python reads them.
        assert_eq!(
            decode_value(&[0xca, 0x3f, 0xc0, 0, 0]),
            Ok(Value::Float(1.5))
        );
        assert_eq!(decode_value(&[0xd1, 0x00, 0x05]), Ok(Value::Int(5)));
        // The datetime hook, wherever the map is; a bad as_str fails as strptime does.
        let dt = encode_value(&Value::map([
            ("__datetime__", Value::Bool(true)),
            ("as_str", Value::str("20261122T07:31:11.5")),
        ]));
        assert_eq!(
            decode_value(&dt.unwrap()),
            Ok(Value::DateTime("20261122T07:31:11.5".into()))
        );
        let bad = encode_value(&Value::map([
            ("__datetime__", Value::Bool(true)),
            ("as_str", Value::str("2026-11-22")),
        ]));
        assert!(matches!(
            decode_value(&bad.unwrap()),
            Err(CodecError::BadCustom {
                kind: "datetime",
                ..
            })
        ));
        let oid = Value::ObjectId("5f43a1b2c3d4e5f6a7b8c9d0".into());
        assert_eq!(decode_value(&encode_value(&oid).unwrap()), Ok(oid));
    }

    // ---- The recorded exchanges: every message of samples/distributed/*.jsonl --------------------------------------

    /// A JSON text of the capture as the Python value it stands for: map keys `"<int>N"` are int keys (the tap's
    /// notation), numbers with a fraction or exponent are floats, object order is kept, and floats are read with
    /// `str::parse` (correctly rounded, as Python wrote them with `repr`; serde_json's default float parsing can be
    /// one ulp off, and its maps are sorted).
    struct Json<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Json<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            let hit = self.s.get(self.i) == Some(&c);
            self.i += hit as usize;
            hit
        }
        fn lit(&mut self, word: &str, v: Value) -> Value {
            assert!(
                self.s[self.i..].starts_with(word.as_bytes()),
                "bad JSON at {}",
                self.i
            );
            self.i += word.len();
            v
        }
        fn hex4(&mut self) -> u32 {
            let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
            self.i += 4;
            u32::from_str_radix(h, 16).unwrap()
        }
        fn string(&mut self) -> String {
            assert!(self.eat(b'"'));
            let mut out = Vec::new();
            loop {
                let c = self.s[self.i];
                self.i += 1;
                match c {
                    b'"' => return String::from_utf8(out).unwrap(),
                    b'\\' => {
                        let e = self.s[self.i];
                        self.i += 1;
                        let ch = match e {
                            b'n' => '\n',
                            b't' => '\t',
                            b'r' => '\r',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'u' => {
                                let mut cp = self.hex4();
                                if (0xd800..0xdc00).contains(&cp)
                                    && self.s[self.i..].starts_with(b"\\u")
                                {
                                    self.i += 2;
                                    let lo = self.hex4();
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                }
                                char::from_u32(cp).expect("no lone surrogates in the capture")
                            }
                            other => other as char,
                        };
                        out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => out.push(c),
                }
            }
        }
        fn value(&mut self) -> Value {
            self.ws();
            match self.s[self.i] {
                b'{' => {
                    self.i += 1;
                    let mut entries = Vec::new();
                    while !self.eat(b'}') {
                        self.eat(b',');
                        let k = self.string();
                        assert!(self.eat(b':'));
                        let key = match k.strip_prefix("<int>") {
                            Some(n) => Value::Int(n.parse().unwrap()),
                            None => {
                                assert!(
                                    !k.starts_with('<'),
                                    "a tap notation this test does not know: {k}"
                                );
                                Value::Str(k)
                            }
                        };
                        entries.push((key, self.value()));
                    }
                    // The tap wrote datetimes back as their wire dict.
                    object_hook(entries).unwrap()
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    while !self.eat(b']') {
                        self.eat(b',');
                        items.push(self.value());
                    }
                    Value::Array(items)
                }
                b'"' => Value::Str(self.string()),
                b't' => self.lit("true", Value::Bool(true)),
                b'f' => self.lit("false", Value::Bool(false)),
                b'n' => self.lit("null", Value::Nil),
                _ => {
                    let start = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|c| b"+-.eE0123456789".contains(c))
                    {
                        self.i += 1;
                    }
                    let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                    if t.contains(['.', 'e', 'E']) {
                        Value::Float(t.parse().unwrap())
                    } else {
                        t.parse::<i64>()
                            .map(Value::Int)
                            .unwrap_or_else(|_| Value::from_u64(t.parse().unwrap()))
                    }
                }
            }
        }
    }

    fn parse_json(text: &str) -> Value {
        let mut p = Json {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, text.len(), "trailing JSON");
        v
    }

    #[test]
    fn every_recorded_message_round_trips_byte_exact() {
        let (mut total, mut exact, mut raw_checked) = (0, 0, 0);
        for file in [
            "headless_run_messages.jsonl",
            "webui_run_messages.jsonl",
            "custom_message_run.jsonl",
        ] {
            let text = crate::test_samples::read(&format!("distributed/{file}"));
            for (n, line) in text.lines().enumerate() {
                let rec = parse_json(line);
                let data = rec.get("data").unwrap().clone();
                let msg = Message::new(
                    rec.get("type").and_then(Value::as_str).unwrap(),
                    data,
                    rec.get("node_id").and_then(Value::as_str).unwrap(),
                );
                let bytes = msg.encode().unwrap();
                assert_eq!(Message::decode(&bytes).unwrap(), msg, "{file}:{n}");
                total += 1;
                // The text of `exception` and `logs` messages was edited after the capture (file paths shortened),
                // so their captured length and bytes no longer match their data, under Python's own encoder too.
                if matches!(msg.kind.as_str(), "exception" | "logs") {
                    continue;
                }
                // The payload's captured length.
                let len = rec.get("len").and_then(Value::as_i64).unwrap();
                assert_eq!(bytes.len() as i64, len, "{file}:{n} {}", msg.kind);
                exact += 1;
                // The captured bytes themselves for the first message of each (direction, type) (the tap kept the
                // first 400 bytes; longer ones end with "...").
                if let Some(raw) = rec.get("raw_hex_first_of_type").and_then(Value::as_str) {
                    let got = hex::encode(&bytes);
                    match raw.strip_suffix("...") {
                        Some(prefix) => assert!(got.starts_with(prefix), "{file}:{n}"),
                        None => assert_eq!(got, raw, "{file}:{n}"),
                    }
                    raw_checked += 1;
                }
            }
        }
        assert_eq!((total, exact, raw_checked), (310, 286, 40));
    }
}
