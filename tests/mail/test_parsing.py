"""Hard messages the parser must survive: every one yields readable text, nothing raises."""

from __future__ import annotations

import base64
import io
import struct

from app.mail.parsing import codec_for, decode_header, parse_bytes, parse_stream
from app.mail.sanitize import clean_html, split_quoted


def test_latin1_label_is_read_as_cp1252_and_gb2312_as_gb18030():
    assert codec_for("iso-8859-1").name == "cp1252"
    assert codec_for("latin-1").name == "cp1252"
    assert codec_for("gb2312").name == "gb18030"
    assert codec_for("x-unknown") is None
    raw = (
        b"From: a@b.test\r\nSubject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"Price: 5\x80 \x93quoted\x94\r\n"
    )
    assert parse_bytes(raw).text == "Price: 5€ “quoted”"


def test_unknown_charset_and_undecodable_bytes_are_replaced_not_fatal():
    raw = (
        b"From: a@b.test\r\nSubject: x\r\nContent-Type: text/plain; charset=x-garbage-42\r\n"
        b"\r\nHello \xff\xfe world\r\n"
    )
    parsed = parse_bytes(raw)
    assert parsed.text.startswith("Hello")
    assert "world" in parsed.text


def test_raw_8bit_headers_are_recovered_utf8_then_cp1252():
    raw = "Subject: Grüße aus Köln\r\nFrom: Jürgen <j@x.test>\r\n\r\nbody\r\n".encode()
    parsed = parse_bytes(raw)
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.from_name == "Jürgen"
    raw = "Subject: Grüße aus Köln\r\nFrom: j@x.test\r\n\r\nbody\r\n".encode("latin-1")
    assert parse_bytes(raw).subject == "Grüße aus Köln"
    assert decode_header("=?utf-8?q?J=C3=BCrgen?= M") == "Jürgen M"


def test_broken_boundary_still_gives_the_text():
    raw = (
        b"From: a@b.test\r\nSubject: broken\r\nContent-Type: multipart/mixed; "
        b'boundary="NOPE"\r\n\r\n--OTHER\r\nContent-Type: text/plain\r\n\r\nstill here\r\n'
    )
    parsed = parse_bytes(raw)
    assert "still here" in parsed.text


def test_empty_text_part_beside_full_html_uses_the_html_as_text():
    raw = (
        b"From: a@b.test\r\nSubject: alt\r\nContent-Type: multipart/alternative; boundary=B\r\n"
        b"\r\n--B\r\nContent-Type: text/plain\r\n\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Dear desk,</p><p>my <b>order</b> is late.</p>\r\n--B--\r\n"
    )
    parsed = parse_bytes(raw)
    assert "my order is late." in parsed.text
    assert parsed.html and "<b>order</b>" in parsed.html


def test_hostile_html_is_sanitised_and_remote_images_blocked():
    hostile = (
        '<p onclick="evil()">Hi<script>alert(1)</script></p><style>p{}</style>'
        '<a href="javascript:alert(2)">x</a><img src="https://tracker.test/p.gif">'
        '<img src="cid:logo@x"><iframe src="https://x.test"></iframe>'
    )
    cleaned = clean_html(hostile, cid_url=lambda cid: f"/mail/attachment/7?cid={cid}")
    assert "script" not in cleaned and "alert" not in cleaned and "onclick" not in cleaned
    assert "tracker.test" not in cleaned
    assert "iframe" not in cleaned and "p{}" not in cleaned
    assert 'src="/mail/attachment/7?cid=logo@x"' in cleaned


def test_forwarded_message_is_kept_as_an_attachment():
    inner = b"From: x@y.test\r\nSubject: the original\r\nMessage-ID: <orig@y>\r\n\r\ninner text\r\n"
    raw = (
        b"From: a@b.test\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--B\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--B--\r\n"
    )
    parsed = parse_bytes(raw)
    assert parsed.text == "see below"
    (att,) = parsed.attachments
    assert att.content_type == "message/rfc822"
    assert b"inner text" in att.data and att.filename == "the original.eml"


def test_no_message_id_and_garbage_addresses_do_not_raise():
    raw = b"From: alice@example.org)<bob@example.org>\r\nTo: ,,,@@@\r\nSubject: \r\n\r\nx"
    parsed = parse_bytes(raw)
    assert parsed.message_id is None
    assert parsed.to == []


def test_quoted_reply_is_folded_but_kept():
    body = "Thanks, that works.\n\nOn Mon, 1 Jan 2026, Desk <a@desk.test> wrote:\n> old text\n"
    new, quoted = split_quoted(body)
    assert new == "Thanks, that works."
    assert "> old text" in quoted
    assert split_quoted("no quote here") == ("no quote here", "")


def tnef_blob(name: bytes, data: bytes) -> bytes:
    """A minimal winmail.dat: signature, key, one attachment (render data, title, data)."""

    def attribute(level, attr_id, attr_type, payload):
        checksum = sum(payload) & 0xFFFF
        return (
            struct.pack("<BHHI", level, attr_id, attr_type, len(payload))
            + payload
            + struct.pack("<H", checksum)
        )

    return (
        struct.pack("<IH", 0x223E9F78, 1)
        + attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
        + attribute(2, 0x9002, 0x0006, b"\x01\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00")
        + attribute(2, 0x8010, 0x0001, name + b"\x00")
        + attribute(2, 0x800F, 0x0006, data)
    )


def mail_with_attachment(filename: str, ctype: str, data: bytes) -> bytes:
    b64 = base64.encodebytes(data)
    return (
        b"From: a@b.test\r\nTo: a@desk.test\r\nSubject: files\r\nMessage-ID: <f@b.test>\r\n"
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        b"attached\r\n--B\r\nContent-Type: " + ctype.encode() + b"\r\n"
        b'Content-Disposition: attachment; filename="' + filename.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--B--\r\n"
    )


def test_streaming_parser_decodes_attachment_into_the_store(app):
    from app.mail import store

    data = bytes(range(256)) * 5000
    raw = mail_with_attachment("big.bin", "application/octet-stream", data)
    parsed = parse_stream(io.BytesIO(raw))
    assert parsed.text == "attached"
    (att,) = parsed.attachments
    assert att.filename == "big.bin" and att.size == len(data)
    assert store.read_blob(att.sha256) == data
    assert parse_bytes(raw).attachments[0].data == data  # both parsers agree
