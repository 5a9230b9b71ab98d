"""Reading an IMAP mailbox (EMAIL_IMAP_*): every unseen email is taken in (inbound.py) and marked seen.

Run by Celery beat every EMAIL_IMAP_POLL_SECONDS and by `manage.py email_fetch`. An email that fails for a
reason of ours (the database is away) stays unseen and is read again next time; one that cannot be read
at all is marked seen and logged, so it cannot block the mailbox.
"""

from __future__ import annotations

import imaplib
import logging
from collections import Counter

from celery import shared_task
from django.conf import settings

from api.email_channel.inbound import email_inbound_receive
from api.email_channel.parsing import EmailUnreadable, from_mime

logger = logging.getLogger(__name__)

BATCH = 100  # emails per run: a flooded mailbox is worked through over several runs


class MailboxError(Exception):
    """The mailbox could not be read; the message says why."""


def email_fetch() -> Counter:
    """Take in the mailbox's unseen emails; returns how many were stored, duplicate, ignored or unreadable."""
    if not settings.EMAIL_IMAP_HOST:
        raise MailboxError("No mailbox configured: set EMAIL_IMAP_HOST, EMAIL_IMAP_USER and EMAIL_IMAP_PASSWORD.")
    imap_class = imaplib.IMAP4_SSL if settings.EMAIL_IMAP_SSL else imaplib.IMAP4
    counts: Counter = Counter()
    try:
        with imap_class(settings.EMAIL_IMAP_HOST, settings.EMAIL_IMAP_PORT, timeout=settings.EMAIL_TIMEOUT) as imap:
            imap.login(settings.EMAIL_IMAP_USER, settings.EMAIL_IMAP_PASSWORD)
            status, _ = imap.select(settings.EMAIL_IMAP_FOLDER)
            if status != "OK":
                raise MailboxError(f"The mailbox has no folder {settings.EMAIL_IMAP_FOLDER!r}.")
            _, found = imap.uid("SEARCH", None, "UNSEEN")
            for uid in (found[0] or b"").split()[:BATCH]:
                counts[_take(imap, uid)] += 1
    except (imaplib.IMAP4.error, OSError) as error:
        raise MailboxError(f"Reading {settings.EMAIL_IMAP_HOST}: {error}") from error
    return counts


def _take(imap: imaplib.IMAP4, uid: bytes) -> str:
    _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = next((part[1] for part in parts if isinstance(part, tuple)), b"")
    try:
        outcome = email_inbound_receive(email=from_mime(raw)).status
    except EmailUnreadable as error:
        logger.warning("Email %s in the mailbox cannot be read: %s", uid.decode(), error)
        outcome = "unreadable"
    imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    return outcome


@shared_task(name="api.tasks.fetch_email", ignore_result=True)
def email_fetch_task() -> None:
    try:
        email_fetch()
    except MailboxError as error:
        logger.warning("%s", error)
