//! Inbound mail at `POST /hooks/<name>/email`: what is spooled (the body as it came, with its
//! format) and the RFC 822 message the committer ingests from it exactly like `sloop ingest
//! email`. A raw message is that message; Postmark's inbound JSON is written back as the
//! message it describes (its headers, its text or HTML body, its attachments). Pure.

use serde_json::{json, Value};

use crate::config::hooks::MailFormat;

/// The spooled payload of a delivery: its format, its content type and its bytes.
pub fn payload(format: MailFormat, content_type: &str, body: &[u8]) -> Value {
    json!({
        "format": format.as_str(),
        "content_type": content_type,
        "body_base64": base64_encode(body),
    })
}

/// Why a delivery cannot be mail of its hook's format (the `400` answer's reason); checked
/// before it is spooled.
pub fn check(format: MailFormat, content_type: &str, body: &[u8]) -> Result<(), String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the body is empty".to_string());
    }
    match format {
        MailFormat::Raw => {
            let ct = content_type.to_ascii_lowercase();
            let ct = ct.split(';').next().unwrap_or("").trim();
            if !matches!(
                ct,
                "" | "message/rfc822" | "text/plain" | "application/octet-stream"
            ) {
                return Err(format!(
                    "a raw message is sent as message/rfc822 or text/plain, not {ct}"
                ));
            }
            Ok(())
        }
        MailFormat::Postmark => {
            let v = super::mapping::parse_payload(body)?;
            if v.get("From").is_none() && v.get("FromFull").is_none() {
                return Err("the body is not Postmark's inbound JSON (it has no `From`)".into());
            }
            Ok(())
        }
    }
}

/// The message a spooled payload holds, as RFC 822 bytes.
pub fn message(payload: &Value) -> Result<Vec<u8>, String> {
    let body = payload["body_base64"]
        .as_str()
        .and_then(base64_decode)
        .ok_or("the spooled event has no body")?;
    match payload["format"].as_str() {
        Some("raw") => Ok(body),
        Some("postmark") => {
            let v: Value =
                serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))?;
            Ok(postmark(&v))
        }
        other => Err(format!("unknown mail format {other:?}")),
    }
}

/// Headers this module writes itself, left out when copying a service's header list.
const OWN: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// One header line: the value on one line (a service's JSON may hold line breaks).
fn header(out: &mut String, name: &str, value: &str) {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    let value = value.replace(['\r', '\n'], " ");
    let value = value.trim();
    if valid && !value.is_empty() {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Postmark's inbound webhook JSON (`From`, `FromFull`, `To`, `Cc`, `ReplyTo`, `Subject`,
/// `Date`, `Headers`, `TextBody`, `HtmlBody`, `Attachments`) as the message it was. Its
/// `MessageID` is Postmark's own id: the message's `Message-ID` is in `Headers`.
pub fn postmark(v: &Value) -> Vec<u8> {
    let mut h = String::new();
    let from = match v.get("FromFull") {
        Some(f) if !text(f, "Email").is_empty() => {
            let name = text(f, "Name").replace(['"', '\\'], "");
            if name.is_empty() {
                text(f, "Email").to_string()
            } else {
                format!("\"{name}\" <{}>", text(f, "Email"))
            }
        }
        _ => text(v, "From").to_string(),
    };
    header(&mut h, "From", &from);
    header(&mut h, "To", text(v, "To"));
    header(&mut h, "Cc", text(v, "Cc"));
    header(&mut h, "Reply-To", text(v, "ReplyTo"));
    header(&mut h, "Subject", text(v, "Subject"));
    header(&mut h, "Date", text(v, "Date"));
    let headers = v
        .get("Headers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for x in &headers {
        let (name, value) = (text(x, "Name"), text(x, "Value"));
        if name.eq_ignore_ascii_case("message-id") {
            header(&mut h, "Message-ID", value);
        } else if !OWN.contains(&name.to_ascii_lowercase().as_str()) {
            header(&mut h, name, value);
        }
    }
    h.push_str("MIME-Version: 1.0\r\n");
    let (body_type, body) = match (text(v, "TextBody"), text(v, "HtmlBody")) {
        (t, _) if !t.trim().is_empty() => ("text/plain", t),
        (_, html) => ("text/html", html),
    };
    let attachments = v
        .get("Attachments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if attachments.is_empty() {
        h.push_str(&format!(
            "Content-Type: {body_type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
        ));
        return h.into_bytes();
    }
    let boundary = "sloop-postmark-part";
    h.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: {body_type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    ));
    for a in &attachments {
        let name = text(a, "Name").replace(['"', '\\', '\r', '\n'], "");
        let ct = match text(a, "ContentType") {
            "" => "application/octet-stream",
            t => t,
        };
        h.push_str(&format!(
            "--{boundary}\r\nContent-Type: {}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            ct.replace(['\r', '\n'], " "),
            text(a, "Content")
        ));
    }
    h.push_str(&format!("--{boundary}--\r\n"));
    h.into_bytes()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional, white space ignored); `None` when it is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes(), "{e}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(
            base64_decode("dXNlcjpzZWNyZXQ="),
            Some(b"user:secret".to_vec())
        );
        assert_eq!(base64_decode("not*base64"), None);
    }
}
