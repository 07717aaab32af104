"""Real-world MIME (issue 8 item 11): mail as broken senders and mailers really write it.

Every message here is written for the test; each one was mis-read by the parser before the
repairs in ``app/mail/repair.py`` (parts lost, mojibake, the body merged with a file, a
sender of ``@x``, a case full of binary).
"""

from __future__ import annotations

import binascii
import io

import pytest
from sqlalchemy import func, select

from app.cases.models import Case
from app.extensions import db
from app.mail.intake import process_raw, receive, store_raw
from app.mail.models import RawMessage
from app.mail.parsing import parse_bytes, parse_stream
from tests.mail.helpers import make_mail

HEAD = b"From: Carol <carol@customer.test>\r\nTo: a@desk.test\r\nSubject: s\r\n"


def both_parsers(raw: bytes):
    """The small-mail parser and the streaming one (big mail) must read a message alike."""
    return [parse_bytes(raw), parse_stream(io.BytesIO(raw))]


# --- a boundary folded over two header lines ---------------------------------------------

FOLDED_BOUNDARY = (
    HEAD + b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="----=_NextPart_000_0042_01DA\r\n'
    b'\t.5E1F2A30"\r\n'
    b"\r\n"
    b"This is a multi-part message in MIME format.\r\n"
    b"------=_NextPart_000_0042_01DA.5E1F2A30\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"The invoice is attached.\r\n"
    b"------=_NextPart_000_0042_01DA.5E1F2A30\r\n"
    b'Content-Type: application/pdf; name="invoice.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="invoice.pdf"\r\n\r\n'
    b"JVBERi0xLjQK\r\n"
    b"------=_NextPart_000_0042_01DA.5E1F2A30--\r\n"
)


def test_boundary_folded_inside_its_value_still_splits_the_parts(app):
    for parsed in both_parsers(FOLDED_BOUNDARY):
        assert parsed.text == "The invoice is attached."
        (att,) = parsed.attachments
        assert att.filename == "invoice.pdf" and att.content_type == "application/pdf"
        assert att.size == len(b"%PDF-1.4\n")


# --- a body whose declared charset is wrong ------------------------------------------------

GERMAN = "Grüße aus Köln – die Lieferung kostet 5 €."


@pytest.mark.parametrize("label", ["us-ascii", "gb2312", "iso-8859-1", "windows-1252"])
def test_utf8_body_with_a_wrong_charset_label_is_read_as_utf8(label):
    raw = (
        HEAD + b"Content-Type: text/plain; charset=" + label.encode() + b"\r\n\r\n"
        b"" + GERMAN.encode("utf-8") + b"\r\n"
    )
    assert parse_bytes(raw).text == GERMAN


def test_right_charset_labels_are_still_honoured():
    for text, label in [
        ("谢谢", "gb2312"),  # its GB bytes happen to be valid UTF-8 too ("лл")
        ("请尽快回复我的订单问题", "gb2312"),
        ("Grüße aus Köln", "iso-8859-1"),
        ("Привет, мир", "koi8-r"),
        ("こんにちは", "iso-2022-jp"),  # seven-bit bytes that are no ASCII text
        ("中乐东", "utf-16-le"),  # 2D 4E 50 4E 1C 4E: every byte below 0x80
    ]:
        raw = (
            HEAD + b"Content-Type: text/plain; charset=" + label.encode() + b"\r\n\r\n"
            b"" + (text + "\r\n").encode(label)
        )
        assert parse_bytes(raw).text == text, label


def test_utf8_label_on_legacy_bytes_is_detected_not_replaced():
    text = "Très bien, voilà la facture de l'été dernier, à régler avant la fête."
    raw = HEAD + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode("cp1252")
    assert parse_bytes(raw).text == text


# --- a raw 8-bit header that is UTF-8 except for one bad byte ------------------------------


def test_raw_utf8_header_with_one_bad_byte_is_recovered_per_run():
    raw = (
        b"From: J\xc3\xbcrgen M\xc3\xbcller <j@x.test>\r\n"
        b"Subject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \x96 Rechnung\r\n\r\nbody\r\n"
    )
    parsed = parse_bytes(raw)
    assert parsed.subject == "Grüße aus Köln – Rechnung"
    assert parsed.from_name == "Jürgen Müller"
    raw = b"From: j@x.test\r\nSubject: Gr\xc3\xbc\xc3\x9fe \xff aus K\xc3\xb6ln\r\n\r\nbody"
    subject = parse_bytes(raw).subject
    assert subject.startswith("Grüße ") and subject.endswith(" aus Köln")
    assert "Ã" not in subject


# --- text parts with a file name are attachments ---------------------------------------------

NAMED_TEXT_PARTS = (
    HEAD + b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
    b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Logs attached.\r\n"
    b'--B\r\nContent-Type: text/plain; name="server.log"\r\n\r\n'
    b"ERROR 42 disk full\r\n"
    b"--B\r\nContent-Type: text/html\r\n"
    b'Content-Disposition: inline; filename="report.html"\r\n\r\n'
    b"<p>weekly report</p>\r\n"
    b"--B--\r\n"
)


def test_text_parts_with_a_file_name_are_attachments_not_body(app):
    for parsed in both_parsers(NAMED_TEXT_PARTS):
        assert parsed.text == "Logs attached."
        assert parsed.html is None
        names = {a.filename: a for a in parsed.attachments}
        assert set(names) == {"server.log", "report.html"}
        assert names["server.log"].content_type == "text/plain"
        assert names["server.log"].size == len(b"ERROR 42 disk full")


# --- uuencoded attachments in a plain body -------------------------------------------------


def uuencode(name: bytes, data: bytes) -> bytes:
    lines = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
    return (
        b"begin 644 " + name + b"\r\n" + b"".join(lines).replace(b"\n", b"\r\n") + b"`\r\nend\r\n"
    )


def test_uuencoded_files_in_a_plain_body_become_attachments(app):
    picture = bytes(range(256)) * 3
    raw = (
        HEAD
        + b"Content-Type: text/plain\r\n\r\nHere are the photo and the notes.\r\n\r\n"
        + uuencode(b"C:\\Photos\\kettle.gif", picture)
        + b"\r\n"
        + uuencode(b"notes.txt", b"short\n")
        + b"\r\nRegards, Carol\r\n"
    )
    for parsed in both_parsers(raw):
        assert "begin 644" not in parsed.text and "end" not in parsed.text.split()
        assert parsed.text.startswith("Here are the photo and the notes.")
        assert parsed.text.endswith("Regards, Carol")
        gif, notes = parsed.attachments
        assert gif.filename == "kettle.gif" and gif.content_type == "image/gif"
        assert gif.data == picture and gif.size == len(picture)
        assert notes.filename == "notes.txt" and notes.data == b"short\n"


# --- attachment names with path parts ------------------------------------------------------


def test_attachment_names_keep_only_the_base_name(app):
    raw = (
        HEAD + b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee files\r\n"
        b"--B\r\nContent-Type: image/gif\r\n"
        b'Content-Disposition: attachment; filename="/x/..\\y.gif"\r\n\r\nGIF89a\r\n'
        b'--B\r\nContent-Type: application/octet-stream; name="../../etc/passwd"\r\n\r\nx\r\n'
        b"--B--\r\n"
    )
    for parsed in both_parsers(raw):
        assert [a.filename for a in parsed.attachments] == ["y.gif", "passwd"]


# --- broken sender lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "name", "address"),
    [
        (b"From: a@x b@x\r\n", "", "a@x"),
        (b"From: Big Bug bb@bug.com\r\n", "Big Bug", "bb@bug.com"),
        (
            b"X-Junk this line is no header\r\nFrom: Big Bug <bb@bug.com>\r\n",
            "Big Bug",
            "bb@bug.com",
        ),
        (b"\x00\x01garbage\r\nFrom: bb@bug.com\r\n", "", "bb@bug.com"),
    ],
)
def test_broken_sender_lines_give_the_first_real_address(app, head, name, address):
    raw = head + b"To: a@desk.test\r\nSubject: kettle\r\n\r\nIt is broken.\r\n"
    for parsed in both_parsers(raw):
        assert (parsed.from_name, parsed.from_address) == (name, address)
        assert parsed.subject == "kettle" and parsed.text == "It is broken."
        assert parsed.to == ["a@desk.test"]


def test_headers_without_a_blank_line_still_end_where_the_text_begins(app):
    raw = (
        b"From: carol@customer.test\r\nSubject: kettle\r\n"
        b"Dear desk,\r\nmy kettle leaks.\r\nIt was bought in May.\r\nNote: urgent\r\n"
    )
    for parsed in both_parsers(raw):
        assert parsed.subject == "kettle" and parsed.from_address == "carol@customer.test"
        assert parsed.text.startswith("Dear desk,") and "Note: urgent" in parsed.text


# --- input that is not mail at all -------------------------------------------------------

OUTLOOK_MSG = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    + b"\x00" * 16
    + b"\x3e\x00\x03\x00\xfe\xff"
    + (bytes(range(256)) * 8)
)
NOT_MAIL = {
    "empty": b"",
    "outlook_msg": OUTLOOK_MSG,
    "big_outlook_msg": OUTLOOK_MSG + bytes(range(256)) * 6000,  # 1.5 MB: the file store
    "plain_text": b"Hello desk,\r\n\r\nmy kettle is broken. Please call me.\r\n\r\nCarol\r\n",
}


@pytest.mark.parametrize("kind", sorted(NOT_MAIL))
def test_input_that_is_not_mail_is_quarantined_and_opens_no_case(desk, kind):
    cases_before = db.session.scalar(select(func.count(Case.id)))
    row = store_raw(NOT_MAIL[kind], mailbox=desk.mailbox_a, source="import")
    assert (row.content is None) == (kind == "big_outlook_msg")  # streamed from the store
    result = process_raw(row)
    assert result.status == "quarantined"
    assert result.error.startswith("not an RFC 5322 message")
    assert result.case_id is None
    row = db.session.get(RawMessage, result.raw_id)
    assert row.status == "quarantined" and row.error == result.error
    assert db.session.scalar(select(func.count(Case.id))) == cases_before
    normal = receive(make_mail(subject="A real mail"), mailbox=desk.mailbox_a, source="import")
    assert normal.status == "processed" and normal.case_id is not None
    assert db.session.get(Case, normal.case_id).subject == "A real mail"
