"""IMAP fetching against a real Dovecot: exact bytes, no \\Seen before storing, crashes, UIDVALIDITY."""

from __future__ import annotations

import pytest
from imap_tools import MailBoxUnencrypted
from sqlalchemy import select

from app.audit.models import Event
from app.extensions import db
from app.mail import intake
from app.mail.channels import imap
from app.mail.channels.models import ImapFolderState
from app.mail.fetch import fetch_mailbox
from tests.mail.channels.helpers import make_mailbox, message, raw_rows


def server_flags(server, user, folder="INBOX") -> dict[int, set[str]]:
    """{uid: flags} as another IMAP client sees them right now."""
    with MailBoxUnencrypted("127.0.0.1", server.imap_port).login(
        user.address, user.password, initial_folder=None
    ) as mb:
        mb.folder.set(folder, readonly=True)
        typ, data = mb.client.uid("FETCH", "1:*", "(UID FLAGS)")
        result = {}
        for line in data:
            if not line:
                continue
            text = line.decode()
            uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
            flags = text.split("FLAGS (")[1].split(")")[0].split()
            result[uid] = set(flags)
        return result


def folder_count(server, user, folder) -> int:
    with MailBoxUnencrypted("127.0.0.1", server.imap_port).login(
        user.address, user.password, initial_folder=None
    ) as mb:
        return mb.folder.status(folder, ["MESSAGES"])["MESSAGES"]


class Killed(BaseException):
    """Stands in for the process being killed: nothing in the round may catch it."""


def test_fetches_each_message_byte_for_byte_and_flags_it_only_after_storing(
    desk, dovecot, dovecot_user, monkeypatch
):
    delivered = [message(n) for n in range(1, 4)]
    for raw in delivered:
        dovecot_user.deliver(raw)
    mailbox = make_mailbox(desk, dovecot, dovecot_user)

    flags_while_storing = []
    real_store = intake.store_many

    def watching_store(mails):
        flags_while_storing.append(server_flags(dovecot, dovecot_user))
        return real_store(mails)

    monkeypatch.setattr(intake, "store_many", watching_store)
    result = fetch_mailbox(mailbox.id)

    assert result.ok and result.error is None
    assert result.stored == 3
    rows = raw_rows(mailbox)
    assert [r.content for r in rows] == delivered
    assert {r.source for r in rows} == {"imap"}
    assert {r.status for r in rows} == {"processed"}  # cases opened
    # While the batch was being stored, none of its messages was seen yet.
    assert flags_while_storing and all(
        "\\Seen" not in flags[uid] for flags in flags_while_storing for uid in (1, 2, 3)
    )
    # Once stored, each message got the mailbox's flag (\Seen by default).
    assert all("\\Seen" in flags for flags in server_flags(dovecot, dovecot_user).values())
    db.session.refresh(mailbox)
    assert mailbox.last_success_at is not None and mailbox.last_error is None

    again = fetch_mailbox(mailbox.id)
    assert again.ok and again.stored == 0
    assert len(raw_rows(mailbox)) == 3


def test_a_store_failure_on_the_third_batch_loses_and_duplicates_nothing(
    desk, dovecot, dovecot_user, monkeypatch
):
    delivered = [message(n) for n in range(10, 15)]
    for raw in delivered:
        dovecot_user.deliver(raw)
    mailbox = make_mailbox(desk, dovecot, dovecot_user)
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 1)
    real_store = intake.store_many
    calls = []

    def failing_store(mails):
        calls.append(mails)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real_store(mails)

    monkeypatch.setattr(intake, "store_many", failing_store)
    first = fetch_mailbox(mailbox.id)

    assert not first.ok and "database went away" in first.error
    assert [r.content for r in raw_rows(mailbox)] == delivered[:2]
    flags = server_flags(dovecot, dovecot_user)
    assert "\\Seen" not in flags[3], "the unstored message must stay unseen on the server"

    monkeypatch.setattr(intake, "store_many", real_store)
    second = fetch_mailbox(mailbox.id)
    assert second.ok and second.stored == 3
    assert sorted(r.content for r in raw_rows(mailbox)) == sorted(delivered)


def test_a_batch_is_stored_whole_or_not_at_all(desk, dovecot, dovecot_user, monkeypatch):
    delivered = [message(n) for n in range(15, 19)]
    for raw in delivered:
        dovecot_user.deliver(raw)
    mailbox = make_mailbox(desk, dovecot, dovecot_user)
    real_store = intake.store_many

    def store_then_fail(mails):
        real_store(mails[:2])  # what the database had taken ...
        raise RuntimeError("disk full")  # ... is not what the channel is told

    monkeypatch.setattr(intake, "store_many", store_then_fail)
    assert not fetch_mailbox(mailbox.id).ok
    assert not any("\\Seen" in f for f in server_flags(dovecot, dovecot_user).values())

    monkeypatch.setattr(intake, "store_many", real_store)
    second = fetch_mailbox(mailbox.id)
    assert second.ok and second.stored == 2 and second.already_stored == 2
    rows = raw_rows(mailbox)
    assert sorted(r.content for r in rows) == sorted(delivered)
    assert {r.status for r in rows} == {"processed"}


def test_a_kill_between_storing_and_flagging_does_not_store_twice(
    desk, dovecot, dovecot_user, monkeypatch
):
    delivered = [message(n) for n in range(20, 24)]
    for raw in delivered:
        dovecot_user.deliver(raw)
    mailbox = make_mailbox(desk, dovecot, dovecot_user)
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 1)
    real_store = intake.store_many
    calls = []

    def killed_after_commit(mails):
        rows = real_store(mails)  # committed ...
        calls.append(mails)
        if len(calls) == 2:
            raise Killed()  # ... and the process dies before the server is told
        return rows

    monkeypatch.setattr(intake, "store_many", killed_after_commit)
    with pytest.raises(Killed):
        fetch_mailbox(mailbox.id)
    db.session.rollback()
    assert len(raw_rows(mailbox)) == 2
    assert "\\Seen" not in server_flags(dovecot, dovecot_user)[2]
    assert raw_rows(mailbox)[1].status == "stored"  # died before processing, too

    monkeypatch.setattr(intake, "store_many", real_store)
    result = fetch_mailbox(mailbox.id)
    assert result.ok
    assert result.already_stored == 1 and result.stored == 2
    assert sorted(r.content for r in raw_rows(mailbox)) == sorted(delivered)
    assert all("\\Seen" in f for f in server_flags(dovecot, dovecot_user).values())
    # The copy stored before the kill is processed now: no mail stays unprocessed.
    assert {r.status for r in raw_rows(mailbox)} == {"processed"}


def test_uidvalidity_change_rereads_the_folder_without_duplicates(desk, dovecot, dovecot_user):
    folder = "Support"
    dovecot_user.create_folder(folder)
    old = [message(n) for n in range(30, 33)]
    for raw in old:
        dovecot_user.deliver(raw, folder=folder)
    mailbox = make_mailbox(desk, dovecot, dovecot_user, inbound_folder=folder)
    assert fetch_mailbox(mailbox.id).stored == 3
    state = db.session.scalar(
        select(ImapFolderState).where(ImapFolderState.mailbox_id == mailbox.id)
    )
    old_validity = state.uidvalidity
    assert state.last_uid == 3

    # The folder is recreated: UIDs start again at 1, under a new UIDVALIDITY. Two old
    # messages come back (e.g. restored from a backup) and two new ones arrive.
    dovecot_user.delete_folder(folder)
    dovecot_user.create_folder(folder)
    dovecot_user.set_uidvalidity(folder, old_validity + 1000)
    new = [message(40), message(41)]
    for raw in [old[0], new[0], old[1], new[1]]:
        dovecot_user.deliver(raw, folder=folder)

    result = fetch_mailbox(mailbox.id)
    assert result.ok and result.uidvalidity_reset
    assert result.stored == 2 and result.already_stored == 2
    assert sorted(r.content for r in raw_rows(mailbox)) == sorted(old + new)
    db.session.refresh(state)
    assert state.uidvalidity == old_validity + 1000 and state.last_uid == 4
    assert (
        db.session.scalar(
            select(Event).where(
                Event.action == "mail.uidvalidity_changed", Event.object_id == mailbox.id
            )
        )
        is not None
    )


def test_move_policy_moves_stored_mail_to_the_processed_folder(desk, dovecot, dovecot_user):
    for n in (50, 51):
        dovecot_user.deliver(message(n))
    mailbox = make_mailbox(
        desk,
        dovecot,
        dovecot_user,
        inbound_after_fetch="move",
        inbound_processed_folder="Processed",
    )
    result = fetch_mailbox(mailbox.id)
    assert result.ok and result.stored == 2 and result.server_actions == 2
    assert folder_count(dovecot, dovecot_user, "INBOX") == 0
    assert folder_count(dovecot, dovecot_user, "Processed") == 2


def test_oversize_mail_is_quarantined_from_its_headers_and_left_on_the_server(
    desk, dovecot, dovecot_user
):
    small = message(60)
    big = message(61, subject="Huge scan", body="x" * 5000 + "\r\n")
    dovecot_user.deliver(small)
    dovecot_user.deliver(big)
    mailbox = make_mailbox(desk, dovecot, dovecot_user, inbound_max_size=2000)

    result = fetch_mailbox(mailbox.id)

    assert result.ok and result.stored == 1 and result.oversize == 1
    rows = raw_rows(mailbox)
    assert rows[0].content == small
    quarantined = rows[1]
    assert quarantined.status == "quarantined"
    assert "oversize" in quarantined.error and str(len(big)) in quarantined.error
    assert b"Subject: Huge scan" in quarantined.content and b"xxxx" not in quarantined.content
    assert "\\Seen" not in server_flags(dovecot, dovecot_user)[2]
    assert fetch_mailbox(mailbox.id).oversize == 0  # recorded once, not every round
    assert len(raw_rows(mailbox)) == 2
