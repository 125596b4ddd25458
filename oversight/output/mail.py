"""Sending the справка by e-mail through the agency's SMTP relay (issue #20): the standard library's
smtplib and email, the relay from the settings file's [mail] section (oversight.settings):

    [mail]
    host = "smtp.mosreg.local"
    port = 25
    sender = "gzhi-reports@mosreg.local"
    starttls = false           # true: STARTTLS before anything is sent (the relay must offer it)
    user = ""                  # empty: no login
    password_env = ""          # the name of an environment variable holding the password

The password is never in the file: only the name of the variable that holds it.
"""

from __future__ import annotations

import mimetypes
import os
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from oversight import settings

TIMEOUT_S = 60


class MailError(RuntimeError):
    """The message could not be sent: said in plain words (the relay, and what went wrong)."""


def message(sender: str, to: Sequence[str], subject: str, body: str,
            attachments: Sequence[tuple[str, bytes]]) -> EmailMessage:
    """The message: plain text, each (file name, bytes) attached with its MIME type."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(body)
    for name, data in attachments:
        kind, _ = mimetypes.guess_type(name)
        if name.lower().endswith(".docx"):
            kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def send(to: Sequence[str], subject: str, body: str, attachments: Sequence[tuple[str, bytes]] | Sequence[Path],
         config: dict | None = None) -> EmailMessage:
    """Send the message to every address in `to` through the configured relay; returns what was sent.
    `attachments`: (file name, bytes) pairs or paths of files. `config`: the [mail] section (default:
    the settings file's). Raises MailError with a plain reason."""
    to = [a.strip() for a in to if a and a.strip()]
    if not to:
        raise MailError("no recipient")
    for address in to:
        if "@" not in address or any(c in address for c in "\r\n,;<> "):
            raise MailError(f"not an e-mail address: {address!r}")
    config = config if config is not None else settings.section("mail")
    files = [(Path(a).name, Path(a).read_bytes()) if isinstance(a, (str, Path)) else a for a in attachments]
    msg = message(str(config.get("sender") or "oversight@localhost"), to, subject, body, files)
    host, port = str(config.get("host") or "localhost"), int(config.get("port") or 25)
    password = None
    if config.get("password_env"):
        password = os.environ.get(str(config["password_env"]))
        if password is None:
            raise MailError(f"the password variable ${config['password_env']} named in the settings is not set")
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
            smtp.ehlo()
            if config.get("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.get("user"):
                smtp.login(str(config["user"]), password or "")
            refused = smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"the mail relay {host}:{port} did not take the message: {error}") from None
    if refused:
        raise MailError(f"the mail relay {host}:{port} refused: {', '.join(sorted(refused))}")
    return msg
