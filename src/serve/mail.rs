//! Inbound mail at `POST /hooks/<name>/email`: what is spooled (the body as it came, with its
//! format) and the RFC 822 message the committer ingests from it exactly like `sloop ingest
//! email`. A raw message is that message; Postmark's inbound JSON, and Mailgun's and
//! SendGrid's form posts of the parsed message, are written back as the message they
//! describe (its headers, its text and HTML body, its attachments); Mailgun's `body-mime`
//! and SendGrid's `email` (their raw-MIME options) are the message itself. Pure.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::base64;
use crate::config::hooks::MailFormat;

/// The spooled payload of a delivery: its format, its content type and its bytes.
pub fn payload(format: MailFormat, content_type: &str, body: &[u8]) -> Value {
    json!({
        "format": format.as_str(),
        "content_type": content_type,
        "body_base64": base64::encode(body),
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
        // The whole message is made here, so what is spooled is sure to become one.
        MailFormat::Mailgun => mailgun(&form(content_type, body)?).map(drop),
        MailFormat::Sendgrid => sendgrid(&form(content_type, body)?).map(drop),
    }
}

/// The message a spooled payload holds, as RFC 822 bytes.
pub fn message(payload: &Value) -> Result<Vec<u8>, String> {
    let body = payload["body_base64"]
        .as_str()
        .and_then(base64::decode)
        .ok_or("the spooled event has no body")?;
    match payload["format"].as_str() {
        Some("raw") => Ok(body),
        Some("postmark") => {
            let v: Value =
                serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))?;
            Ok(postmark(&v))
        }
        Some("mailgun") => mailgun(&form(text(payload, "content_type"), &body)?),
        Some("sendgrid") => sendgrid(&form(text(payload, "content_type"), &body)?),
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

/// One field of a form post: its name, and for a file its file name and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The fields of a form post, in their order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(pub Vec<Field>);

impl Form {
    /// The first field of that name.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.0.iter().find(|f| f.name == name)
    }

    /// The first field of that name as text (UTF-8, invalid bytes replaced).
    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|f| String::from_utf8_lossy(&f.data))
    }

    /// The value of a JSON field, if the field is there; a `400` reason if it is not JSON.
    fn json(&self, name: &str, service: &str) -> Result<Option<Value>, String> {
        self.get(name)
            .map(|f| {
                serde_json::from_slice(&f.data)
                    .map_err(|e| format!("{service}'s `{name}` is not JSON: {e}"))
            })
            .transpose()
    }
}

/// The fields of a `multipart/form-data` (RFC 7578) or `application/x-www-form-urlencoded`
/// body; the reason it is neither, or a malformed one.
pub fn form(content_type: &str, body: &[u8]) -> Result<Form, String> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "multipart/form-data" => multipart(content_type, body),
        "application/x-www-form-urlencoded" => Ok(Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| Field {
                    name: k.into_owned(),
                    filename: None,
                    content_type: None,
                    data: v.into_owned().into_bytes(),
                })
                .collect(),
        )),
        other => Err(format!(
            "the service posts a form (multipart/form-data or application/x-www-form-urlencoded), not {}",
            if other.is_empty() { "a body without a Content-Type" } else { other }
        )),
    }
}

/// A `multipart/form-data` body read by `multer` (the parser axum's multipart extractor is
/// built on). The body is whole in memory, so its stream is always ready: the parse is driven
/// to its end by polling once, with no runtime.
fn multipart(content_type: &str, body: &[u8]) -> Result<Form, String> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| format!("the multipart body's Content-Type has no boundary ({e})"))?;
    let malformed = |e: multer::Error| format!("the multipart body is malformed: {e}");
    let data = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(data) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let parse = async move {
        let mut fields = Vec::new();
        while let Some(field) = parts.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or("").to_string();
            let filename = field.file_name().map(str::to_string);
            let content_type = field.content_type().map(ToString::to_string);
            let data = field.bytes().await.map_err(malformed)?.to_vec();
            fields.push(Field {
                name,
                filename,
                content_type,
                data,
            });
        }
        Ok(Form(fields))
    };
    let mut parse = std::pin::pin!(parse);
    match parse.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err("the multipart body is incomplete".to_string()),
    }
}

/// A file of a form post, to be written back as an attachment.
struct Attachment<'a> {
    name: String,
    content_type: String,
    data: &'a [u8],
}

/// What a service parsed out of a message, to be written back as that message.
struct Parsed<'a> {
    /// The message's headers in their order (values on one line).
    headers: Vec<(String, String)>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment<'a>>,
}

/// Headers that describe the original body's MIME structure: the message written back has
/// its own.
const STRUCTURE: &[&str] = &[
    "content-type",
    "content-transfer-encoding",
    "mime-version",
    "content-disposition",
];

/// Base64 in lines of 76 characters (RFC 2045 §6.8).
fn base64_lines(bytes: &[u8]) -> String {
    let one = base64::encode(bytes);
    let mut out = String::with_capacity(one.len() + one.len() / 76 * 2 + 2);
    for chunk in one.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

/// The message: its headers, then `multipart/mixed` of a `multipart/alternative` (the text,
/// the HTML) and each attachment, every part in base64 (which no boundary line can match).
fn rebuild(p: &Parsed) -> Vec<u8> {
    let mut h = String::new();
    for (name, value) in &p.headers {
        if !STRUCTURE.contains(&name.to_ascii_lowercase().as_str()) {
            header(&mut h, name, value);
        }
    }
    h.push_str("MIME-Version: 1.0\r\n");
    let (mixed, alternative) = ("sloop-mixed-part", "sloop-alternative-part");
    h.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{mixed}\"\r\n\r\n--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alternative}\"\r\n\r\n"
    ));
    for (subtype, body) in [("plain", &p.text), ("html", &p.html)] {
        if let Some(body) = body {
            h.push_str(&format!(
                "--{alternative}\r\nContent-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                base64_lines(body.as_bytes())
            ));
        }
    }
    h.push_str(&format!("--{alternative}--\r\n"));
    for a in &p.attachments {
        let name = a.name.replace(['"', '\\', '\r', '\n'], "");
        h.push_str(&format!(
            "--{mixed}\r\nContent-Type: {}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            a.content_type.replace(['\r', '\n', ';'], " ").trim(),
            base64_lines(a.data)
        ));
    }
    h.push_str(&format!("--{mixed}--\r\n"));
    h.into_bytes()
}

/// Adds `name: value` from a form field when the message's headers have no such header.
fn fallback(headers: &mut Vec<(String, String)>, name: &str, value: Option<Cow<'_, str>>) {
    let has = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if let (false, Some(v)) = (has, value) {
        if !v.trim().is_empty() {
            headers.push((name.to_string(), v.into_owned()));
        }
    }
}

/// The files `<prefix><n>` of a form, by `n`.
fn numbered<'a>(form: &'a Form, prefix: &str) -> Vec<(u32, &'a Field)> {
    let mut files: Vec<(u32, &Field)> = form
        .0
        .iter()
        .filter(|f| f.filename.is_some())
        .filter_map(|f| Some((f.name.strip_prefix(prefix)?.parse().ok()?, f)))
        .collect();
    files.sort_by_key(|(n, _)| *n);
    files
}

/// Mailgun's Routes `forward()` post as the message it describes. With `body-mime` (a route
/// URL ending in `mime`) that is the message; else `message-headers` (a JSON list of
/// `[name, value]`, in the message's order) are its headers, `body-plain` and `body-html` its
/// bodies (just the HTML when the message was only HTML) and the files `attachment-1`… its
/// attachments.
pub fn mailgun(form: &Form) -> Result<Vec<u8>, String> {
    if let Some(mime) = form.get("body-mime") {
        if mime.data.iter().all(u8::is_ascii_whitespace) {
            return Err("Mailgun's `body-mime` is empty".to_string());
        }
        return Ok(mime.data.clone());
    }
    let Some(list) = form.get("message-headers") else {
        return Err(
            "the body is not Mailgun's form post (it has no `message-headers` nor `body-mime`)"
                .to_string(),
        );
    };
    let mut headers: Vec<(String, String)> = serde_json::from_slice(&list.data).map_err(|e| {
        format!("Mailgun's `message-headers` is not a JSON list of [name, value] pairs: {e}")
    })?;
    fallback(&mut headers, "From", form.text("from"));
    fallback(&mut headers, "Subject", form.text("subject"));
    let html_only = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type")
            && v.trim_start().to_ascii_lowercase().starts_with("text/html")
    });
    let text = form
        .text("body-plain")
        .filter(|_| !html_only)
        .map(Cow::into_owned);
    let html = form.text("body-html").map(Cow::into_owned);
    let attachments = numbered(form, "attachment-")
        .into_iter()
        .map(|(_, f)| Attachment {
            name: f.filename.clone().unwrap_or_default(),
            content_type: f
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            data: &f.data,
        })
        .collect();
    Ok(rebuild(&Parsed {
        headers,
        text,
        html,
        attachments,
    }))
}

/// The header block of a message (SendGrid's `headers`) as `(name, value)` pairs, each value
/// unfolded onto one line.
fn header_block(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

/// A parsed field of SendGrid's post, decoded from the charset `charsets` gives it (UTF-8
/// when it gives none or one no one knows).
fn sendgrid_text(form: &Form, charsets: &Option<Value>, name: &str) -> Option<String> {
    let field = form.get(name)?;
    let label = charsets
        .as_ref()
        .and_then(|c| c.get(name))
        .and_then(Value::as_str)
        .unwrap_or("utf-8");
    let encoding =
        encoding_rs::Encoding::for_label(label.trim().as_bytes()).unwrap_or(encoding_rs::UTF_8);
    Some(
        encoding
            .decode_without_bom_handling(&field.data)
            .0
            .into_owned(),
    )
}

/// SendGrid's Inbound Parse post as the message it describes. With `email` ("POST the raw,
/// full MIME message") that is the message; else `headers` (the raw header block) are its
/// headers, `text` and `html` its bodies (decoded from the charsets `charsets` gives) and the
/// files `attachment1`… its attachments: those `attachment-info` names (a file it gives no
/// `filename` is an HTML part of the body SendGrid split off, not an attachment).
pub fn sendgrid(form: &Form) -> Result<Vec<u8>, String> {
    let charsets = form.json("charsets", "SendGrid")?;
    let info = form.json("attachment-info", "SendGrid")?;
    form.json("envelope", "SendGrid")?;
    if let Some(email) = form.get("email") {
        if email.data.iter().all(u8::is_ascii_whitespace) {
            return Err("SendGrid's `email` is empty".to_string());
        }
        return Ok(email.data.clone());
    }
    let Some(block) = form.text("headers") else {
        return Err(
            "the body is not SendGrid's Inbound Parse post (it has no `headers` nor `email`)"
                .to_string(),
        );
    };
    let mut headers = header_block(&block);
    for (name, field) in [
        ("From", "from"),
        ("To", "to"),
        ("Cc", "cc"),
        ("Subject", "subject"),
    ] {
        fallback(
            &mut headers,
            name,
            sendgrid_text(form, &charsets, field).map(Cow::Owned),
        );
    }
    let attachments = numbered(form, "attachment")
        .into_iter()
        .filter_map(|(_, f)| {
            let name = match info.as_ref().and_then(|i| i.get(&f.name)) {
                Some(entry) => entry
                    .get("filename")
                    .or_else(|| entry.get("name"))
                    .and_then(Value::as_str)?
                    .to_string(),
                None => f.filename.clone()?,
            };
            Some(Attachment {
                name,
                content_type: f
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data: &f.data,
            })
        })
        .collect();
    Ok(rebuild(&Parsed {
        headers,
        text: sendgrid_text(form, &charsets, "text"),
        html: sendgrid_text(form, &charsets, "html"),
        attachments,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::writes::ingest::email::{parse, Options};

    /// A form field: its name, for a file its file name and content type, and its bytes.
    type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

    /// A `multipart/form-data` body as the services write it: CRLF lines, a
    /// `Content-Disposition: form-data; name="…"` per part, and for a file its `filename`
    /// and `Content-Type` (Mailgun adds the part's `Content-Length`).
    fn multipart(boundary: &str, parts: &[Part], length: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, data) in parts {
            out.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                    .as_bytes(),
            );
            if let Some((filename, ct)) = file {
                out.extend_from_slice(
                    format!("; filename=\"{filename}\"\r\nContent-Type: {ct}").as_bytes(),
                );
                if length {
                    out.extend_from_slice(format!("\r\nContent-Length: {}", data.len()).as_bytes());
                }
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    const MG_HEADERS: &str = r#"[["Received", "by luna.mailgun.net with SMTP mgrt 8737789986189; Wed, 13 Nov 2013 06:18:54 +0000"], ["X-Envelope-From", "<james@opennorth.ca>"], ["Return-Path", "<james@opennorth.ca>"], ["From", "James McKinney <james@opennorth.ca>"], ["Content-Type", "multipart/alternative; boundary=\"Apple-Mail=_F32ED8AB-3EA4-4E4B-BEB0-E2DE3CCABED3\""], ["Subject", "Test"], ["Date", "Mon, 15 Apr 2013 20:20:12 -0400"], ["Message-Id", "<E102015D-F580-4316-81FA-7324838A3AE8@opennorth.ca>"], ["To", "foo+bar@multimail.mailgun.org"], ["Cc", "Ann <ann@example.org>, bob@example.org"], ["Mime-Version", "1.0 (Apple Message framework v1283)"], ["X-Mailer", "Apple Mail (2.1283)"], ["X-Mailgun-Incoming", "Yes"]]"#;

    /// Mailgun's parsed post, in the order and shape of one captured from Mailgun (multi_mail's
    /// spec/fixtures/mailgun/parsed/valid.txt): the headers as fields, then the parsed fields
    /// alphabetically, then the files.
    fn mailgun_parsed(headers: &str) -> Vec<u8> {
        let b = "515e0b8d-a7e3-43ef-808e-f27b75edf470";
        multipart(
            b,
            &[
                ("Content-Type", None, b"multipart/alternative; boundary=\"Apple-Mail=_F32ED8AB-3EA4-4E4B-BEB0-E2DE3CCABED3\""),
                ("Date", None, b"Mon, 15 Apr 2013 20:20:12 -0400"),
                ("From", None, b"James McKinney <james@opennorth.ca>"),
                ("Message-Id", None, b"<E102015D-F580-4316-81FA-7324838A3AE8@opennorth.ca>"),
                ("Subject", None, b"Test"),
                ("To", None, b"foo+bar@multimail.mailgun.org"),
                ("attachment-count", None, b"2"),
                ("body-html", None, b"<html><head></head><body><b>bold text</b></body></html>"),
                ("body-plain", None, b"bold text\r\n\r\nsome italic text\r\n\r\n> multiline\r\n> quoted\r\n\r\n--\r\nSignature block"),
                ("from", None, b"James McKinney <james@opennorth.ca>"),
                ("message-headers", None, headers.as_bytes()),
                ("recipient", None, b"foo+bar@multimail.mailgun.org"),
                ("sender", None, b"james@opennorth.ca"),
                ("signature", None, b"bc2ab6c1080d52f2a06928b93f21e86c2d28c548e2ef64354f8ba1a95bb53cd6"),
                ("stripped-text", None, b"bold text\r\n\r\nsome italic text"),
                ("subject", None, b"Test"),
                ("timestamp", None, b"1366071615"),
                ("token", None, b"5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87"),
                ("attachment-1", Some(("foo.txt", "text/plain")), b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"),
                ("attachment-2", Some(("bar.txt", "text/plain")), b"Nam accumsan euismod eros et rhoncus.\r\n"),
            ],
            true,
        )
    }

    const MG_TYPE: &str = "multipart/form-data; boundary=515e0b8d-a7e3-43ef-808e-f27b75edf470";

    #[test]
    fn a_mailgun_parsed_post_becomes_the_message_it_describes() {
        let form = form(MG_TYPE, &mailgun_parsed(MG_HEADERS)).unwrap();
        assert_eq!(
            form.text("token").as_deref(),
            Some("5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87")
        );
        assert_eq!(
            form.get("attachment-1").unwrap().filename.as_deref(),
            Some("foo.txt")
        );
        let bytes = mailgun(&form).unwrap();
        let m = parse(&bytes, &Options::default()).unwrap();
        assert_eq!(
            m.message_id,
            "E102015D-F580-4316-81FA-7324838A3AE8@opennorth.ca"
        );
        assert_eq!(m.subject.as_deref(), Some("Test"));
        assert_eq!(
            m.participants,
            [
                "james@opennorth.ca",
                "foo+bar@multimail.mailgun.org",
                "ann@example.org",
                "bob@example.org"
            ]
        );
        assert_eq!(m.attachments, ["foo.txt (58 bytes)", "bar.txt (39 bytes)"]);
        assert_eq!(m.body.as_deref(), Some("bold text\n\nsome italic text"));
        let text = String::from_utf8(bytes).unwrap();
        // The original structure's headers are not carried over; the others are, in order.
        assert!(!text.contains("Apple-Mail"), "{text}");
        assert!(
            text.contains(
                "X-Mailer: Apple Mail (2.1283)\r\nX-Mailgun-Incoming: Yes\r\nMIME-Version: 1.0\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_mailgun_html_only_message_keeps_just_its_html() {
        let headers = MG_HEADERS.replace(
            r#"multipart/alternative; boundary=\"Apple-Mail=_F32ED8AB-3EA4-4E4B-BEB0-E2DE3CCABED3\""#,
            "text/html; charset=utf-8",
        );
        let bytes = mailgun(&form(MG_TYPE, &mailgun_parsed(&headers)).unwrap()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("text/plain; charset=utf-8"), "{text}");
        let m = parse(&bytes, &Options::default()).unwrap();
        assert_eq!(m.body.as_deref(), Some("bold text"));
    }

    #[test]
    fn mailguns_raw_mime_post_is_the_message_itself() {
        // Mailgun's `mime` post is urlencoded (multi_mail's spec/fixtures/mailgun/raw/valid.txt).
        let raw = "From: James McKinney <james@opennorth.ca>\r\nSubject: Test\r\nDate: Mon, 15 Apr 2013 20:20:12 -0400\r\nTo: foo+bar@multimail.mailgun.org\r\n\r\nbold text\r\n";
        let body = format!(
            "recipient=foo%2Bbar%40multimail.mailgun.org&sender=james%40opennorth.ca&subject=Test&from=James+McKinney+%3Cjames%40opennorth.ca%3E&timestamp=1366071615&token=5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87&signature=bc2ab6c1080d52f2a06928b93f21e86c2d28c548e2ef64354f8ba1a95bb53cd6&body-mime={}",
            form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>()
        );
        let form = form("application/x-www-form-urlencoded", body.as_bytes()).unwrap();
        assert_eq!(
            form.text("from").as_deref(),
            Some("James McKinney <james@opennorth.ca>")
        );
        assert_eq!(mailgun(&form).unwrap(), raw.as_bytes());
    }

    /// SendGrid's parsed post, in the order and shape of one captured from SendGrid
    /// (multi_mail's spec/fixtures/sendgrid/valid.txt): boundary `xYzZY`, the HTML parts past
    /// the first as files without a `filename` in `attachment-info`.
    fn sendgrid_parsed(text: &[u8], charsets: &str, info: &str) -> Vec<u8> {
        multipart(
            "xYzZY",
            &[
                ("headers", None, b"Received: by 127.0.0.1 with SMTP id BBAJYrZEKu Thu, 16 May 2013 12:33:40 -0500 (CDT)\nReceived: from mail-ie0-f172.google.com (mail-ie0-f172.google.com [209.85.223.172])\n by mx3.sendgrid.net (Postfix) with ESMTPS id E4D7314F7071\nFrom: James McKinney <james@opennorth.ca>\nContent-Type: multipart/alternative; boundary=\"Apple-Mail=_D2F87BF4-87ED-4B84-80B0-22BFFD62EF13\"\nSubject: =?ISO-8859-1?Q?Caf=E9?=\nDate: Thu, 16 May 2013 13:33:35 -0400\nMessage-Id: <D0AB77C1-A89D-4D9E-A207-5E20A6D36BEF@opennorth.ca>\nTo: foo+bar@parolecitoyenne.com\nCc: ann@example.org\nMime-Version: 1.0 (Apple Message framework v1283)\n"),
                ("attachment2", Some(("msg-12415-313.html", "text/html")), b"<html><body><b>some more bold text</b></body></html>"),
                ("dkim", None, b"none"),
                ("to", None, b"foo+bar@parolecitoyenne.com"),
                ("html", None, b"<html><head></head><body><b>bold text</b></body></html>"),
                ("from", None, b"James McKinney <james@opennorth.ca>"),
                ("text", None, text),
                ("sender_ip", None, b"209.85.223.172"),
                ("attachment1", Some(("foo.txt", "text/plain")), b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"),
                ("envelope", None, br#"{"to":["foo+bar@parolecitoyenne.com"],"from":"james@opennorth.ca"}"#),
                ("attachments", None, b"3"),
                ("subject", None, b"Caf\xe9"),
                ("attachment3", Some(("bar.txt", "text/plain")), b"Nam accumsan euismod eros et rhoncus.\r\n"),
                ("attachment-info", None, info.as_bytes()),
                ("charsets", None, charsets.as_bytes()),
                ("SPF", None, b"pass"),
            ],
            false,
        )
    }

    const SG_INFO: &str = r#"{"attachment2":{"charset":"us-ascii","type":"text/html"},"attachment3":{"filename":"bar.txt","name":"bar.txt","type":"text/plain"},"attachment1":{"filename":"foo.txt","name":"foo.txt","type":"text/plain"}}"#;
    const SG_TYPE: &str = "multipart/form-data; boundary=xYzZY";

    #[test]
    fn a_sendgrid_parsed_post_becomes_the_message_it_describes() {
        // The text in ISO-8859-1, as `charsets` says.
        let body = sendgrid_parsed(
            b"Un caf\xe9 jeudi ?\n\n> quoted",
            r#"{"to":"UTF-8","html":"us-ascii","subject":"iso-8859-1","from":"UTF-8","text":"iso-8859-1"}"#,
            SG_INFO,
        );
        let bytes = sendgrid(&form(SG_TYPE, &body).unwrap()).unwrap();
        let m = parse(&bytes, &Options::default()).unwrap();
        assert_eq!(
            m.message_id,
            "D0AB77C1-A89D-4D9E-A207-5E20A6D36BEF@opennorth.ca"
        );
        assert_eq!(m.subject.as_deref(), Some("Café"));
        assert_eq!(
            m.participants,
            [
                "james@opennorth.ca",
                "foo+bar@parolecitoyenne.com",
                "ann@example.org"
            ]
        );
        assert_eq!(m.attachments, ["foo.txt (58 bytes)", "bar.txt (39 bytes)"]);
        assert_eq!(m.body.as_deref(), Some("Un café jeudi ?"));
        // A folded header of the block is one header.
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Received: from mail-ie0-f172.google.com (mail-ie0-f172.google.com [209.85.223.172]) by mx3.sendgrid.net (Postfix) with ESMTPS id E4D7314F7071\r\n"), "{text}");
    }

    #[test]
    fn sendgrids_raw_post_is_the_message_itself() {
        let raw = b"From: James McKinney <james@opennorth.ca>\r\nTo: foo+bar@parolecitoyenne.com\r\nSubject: Test\r\nDate: Thu, 16 May 2013 13:33:35 -0400\r\n\r\nbold text\r\n";
        let body = multipart(
            "xYzZY",
            &[
                ("dkim", None, b"{@opennorth.ca : pass}"),
                ("email", None, raw),
                ("to", None, b"foo+bar@parolecitoyenne.com"),
                ("from", None, b"James McKinney <james@opennorth.ca>"),
                ("subject", None, b"Test"),
                ("sender_ip", None, b"209.85.223.172"),
                (
                    "envelope",
                    None,
                    br#"{"to":["foo+bar@parolecitoyenne.com"],"from":"james@opennorth.ca"}"#,
                ),
                (
                    "charsets",
                    None,
                    br#"{"to":"UTF-8","subject":"UTF-8","from":"UTF-8"}"#,
                ),
                ("SPF", None, b"pass"),
            ],
            false,
        );
        assert_eq!(sendgrid(&form(SG_TYPE, &body).unwrap()).unwrap(), raw);
    }

    #[test]
    fn malformed_posts_are_refused_with_their_reason() {
        let good = mailgun_parsed(MG_HEADERS);
        // Cut before the closing boundary.
        let cut = &good[..good.len() - 60];
        let e = form(MG_TYPE, cut).unwrap_err();
        assert!(e.starts_with("the multipart body is malformed: "), "{e}");
        assert_eq!(
            form("multipart/form-data", &good).unwrap_err(),
            "the multipart body's Content-Type has no boundary (multipart boundary not found in Content-Type)"
        );
        assert_eq!(
            form("application/json", b"{}").unwrap_err(),
            "the service posts a form (multipart/form-data or application/x-www-form-urlencoded), not application/json"
        );
        let e = mailgun(
            &form(
                "application/x-www-form-urlencoded",
                b"from=a%40b.example&message-headers=%5B%5B%22From%22%5D%5D",
            )
            .unwrap(),
        )
        .unwrap_err();
        assert!(
            e.starts_with(
                "Mailgun's `message-headers` is not a JSON list of [name, value] pairs: "
            ),
            "{e}"
        );
        assert_eq!(
            mailgun(&form("application/x-www-form-urlencoded", b"from=a%40b.example").unwrap())
                .unwrap_err(),
            "the body is not Mailgun's form post (it has no `message-headers` nor `body-mime`)"
        );
        let e = sendgrid(&form(SG_TYPE, &sendgrid_parsed(b"hi", "{\"text\": ", SG_INFO)).unwrap())
            .unwrap_err();
        assert!(e.starts_with("SendGrid's `charsets` is not JSON: "), "{e}");
        let no_headers = multipart(
            "xYzZY",
            &[("text", None, b"hi"), ("envelope", None, b"{\"to\": [")],
            false,
        );
        let e = sendgrid(&form(SG_TYPE, &no_headers).unwrap()).unwrap_err();
        assert!(e.starts_with("SendGrid's `envelope` is not JSON: "), "{e}");
        let no_headers = multipart("xYzZY", &[("text", None, b"hi")], false);
        assert_eq!(
            sendgrid(&form(SG_TYPE, &no_headers).unwrap()).unwrap_err(),
            "the body is not SendGrid's Inbound Parse post (it has no `headers` nor `email`)"
        );
        // `check` refuses them before the spool.
        assert!(check(MailFormat::Mailgun, MG_TYPE, cut).is_err());
        assert_eq!(check(MailFormat::Mailgun, MG_TYPE, &good), Ok(()));
    }
}
