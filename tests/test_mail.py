"""E-mail delivery of the справка (issue #20) through an SMTP relay: a local aiosmtpd server started
by the test on a free port stands in for the agency's relay."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest

from oversight.cli.main import main
from oversight.output import mail


class Inbox:
    """aiosmtpd handler: keeps every message it is given, parsed."""

    def __init__(self):
        self.messages = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def relay():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, {"host": "127.0.0.1", "port": port, "sender": "gzhi-reports@example.org", "starttls": False,
                  "user": "", "password_env": ""}
    controller.stop()


def _attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def test_the_message_arrives_with_subject_and_attachments(relay):
    inbox, config = relay
    docx = b"PK\x03\x04 a docx"
    mail.send(["boss@example.org", "deputy@example.org"], "Справка за неделю 23.12.2019 – 29.12.2019", "Текст письма",
              [("spravka.docx", docx), ("spravka.pdf", b"%PDF-1.4 x")], config)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "Справка за неделю 23.12.2019 – 29.12.2019"
    assert message["From"] == "gzhi-reports@example.org"
    assert inbox.envelopes[0] == ("gzhi-reports@example.org", ["boss@example.org", "deputy@example.org"])
    files = _attachments(message)
    assert files == {"spravka.docx": docx, "spravka.pdf": b"%PDF-1.4 x"}
    kinds = {part.get_filename(): part.get_content_type() for part in message.iter_attachments()}
    assert kinds["spravka.pdf"] == "application/pdf"
    assert kinds["spravka.docx"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "Текст письма" in message.get_body(("plain",)).get_content()


def test_a_relay_that_cannot_be_reached_is_said_plainly():
    config = {"host": "127.0.0.1", "port": _free_port(), "sender": "a@example.org"}
    with pytest.raises(mail.MailError, match=r"the mail relay 127\.0\.0\.1:\d+ did not take the message"):
        mail.send(["boss@example.org"], "s", "b", [("a.pdf", b"%PDF")], config)


def test_bad_addresses_and_a_missing_password_are_refused_before_sending(relay, monkeypatch):
    inbox, config = relay
    with pytest.raises(mail.MailError, match="not an e-mail address"):
        mail.send(["boss@example.org\r\nBcc: x@evil.example"], "s", "b", [], config)
    with pytest.raises(mail.MailError, match="no recipient"):
        mail.send([" "], "s", "b", [], config)
    monkeypatch.delenv("OVERSIGHT_TEST_SMTP_PASSWORD", raising=False)
    with pytest.raises(mail.MailError, match="OVERSIGHT_TEST_SMTP_PASSWORD"):
        mail.send(["boss@example.org"], "s", "b", [], {**config, "user": "u", "password_env": "OVERSIGHT_TEST_SMTP_PASSWORD"})
    assert inbox.messages == []


def test_report_mail_to_sends_the_files_through_the_configured_relay(relay, small_db, tmp_path, monkeypatch):
    """`report --mail-to` end to end: the relay comes from the settings file ($OVERSIGHT_CONFIG)."""
    inbox, config = relay
    settings_file = tmp_path / "oversight.toml"
    settings_file.write_text(
        f'[mail]\nhost = "127.0.0.1"\nport = {config["port"]}\nsender = "gzhi-reports@example.org"\n', encoding="utf-8")
    monkeypatch.setenv("OVERSIGHT_CONFIG", str(settings_file))
    docx, pdf = tmp_path / "week.docx", tmp_path / "week.pdf"
    main(["report", "--db", small_db, "--period", "week", "--end", "2019-12-31", "--out", str(docx), "--out", str(pdf),
          "--mail-to", "boss@example.org"])
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "Справка о работе с заявками жителей в ЕДС МО за неделю 23.12.2019 – 29.12.2019"
    assert message["To"] == "boss@example.org"
    assert _attachments(message) == {"week.docx": docx.read_bytes(), "week.pdf": pdf.read_bytes()}


def test_report_mail_to_says_why_it_was_not_sent(small_db, tmp_path, monkeypatch):
    settings_file = tmp_path / "oversight.toml"
    settings_file.write_text(f'[mail]\nhost = "127.0.0.1"\nport = {_free_port()}\n', encoding="utf-8")
    monkeypatch.setenv("OVERSIGHT_CONFIG", str(settings_file))
    out = tmp_path / "week.pdf"
    with pytest.raises(SystemExit) as failed:
        main(["report", "--db", small_db, "--period", "week", "--out", str(out), "--mail-to", "boss@example.org"])
    assert str(failed.value.code).startswith("not sent: the mail relay 127.0.0.1:")
    assert out.exists()  # the file is written all the same
