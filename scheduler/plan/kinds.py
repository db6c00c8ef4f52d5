"""The kinds of occurrences and reminders, as the outbox stores them.

StrEnums: a member is the very string stored (`OccurrenceKind.DEADLINE == "deadline"`), so rows
written before these enums read the same, and a member can be given wherever a string was.
"""

from __future__ import annotations

from enum import StrEnum


class OccurrenceKind(StrEnum):
    """What a calendar event is (`Event.kind`, `Occurrence.kind`)."""

    DEADLINE = "deadline"  # a report due on a day
    WINDOW = "window"  # a campaign from one day to another
    OBSERVANCE = "observance"  # a day to mark


class ReminderKind(StrEnum):
    """What a reminder says (`Reminder.kind`), hence which templates render it."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    PREPARE = "prepare"
    START = "start"
    CLOSING = "closing"
    ANNOUNCE = "announce"
    DIGEST = "digest"  # the daily digest to a plan's focal agency (scheduler.dispatch.digest)
    EVENT = "event"  # a signed event to an e-office system (scheduler.outbox.events): not a reminder


# The kinds a plan's rungs give (config/schema.py's `RungKind`): every kind but the digest and events.
RUNG_KINDS: tuple[ReminderKind, ...] = tuple(
    kind for kind in ReminderKind if kind not in (ReminderKind.DIGEST, ReminderKind.EVENT)
)
