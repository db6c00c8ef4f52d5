"""What an SMS gateway answered to the parts of a reminder, when the next attempt needs it.

An SMS reminder may go as several SMS (`overflow: split`), each with its own RequestId
(eSMS keeps each RequestId for a day and answers 124 to a repeat). Two answers matter to the
reminder's next attempt, and only they are written (on the failure path, never per send):

- a part was **accepted** (eSMS CodeResult 100) while a later part failed: the retry does
  not send that part again;
- a part was **refused** (a CodeResult other than 100, e.g. 103 balance, 104 brandname, 140
  IP): its RequestId may be spent at eSMS, so the retry sends the part with a new one.

`DatabaseLedger` keeps them in the `sms_request` table, shared by replicas and kept across
restarts; `MemoryLedger` in the process (tests, no database).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Engine, Table, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, SQLModel

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class SmsRequest(SQLModel, table=True):
    """An SMS request (one part of a reminder) whose answer matters to its next attempt
    (notifiers/sms.py): accepted ("100") while a later part failed, or refused (the provider's
    code), after which the part goes with a new RequestId."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "sms_request"

    request_id: str = Field(primary_key=True)
    message_key: str = Field(index=True)
    part: int
    generation: int  # 1, then 2, 3 … after each refusal
    code: str
    recorded_at: datetime = Field(default_factory=utcnow)


ACCEPTED = "100"
Parts = dict[int, tuple[int, str]]  # part number -> (its latest generation, that request's code)


class MemoryLedger:
    def __init__(self) -> None:
        self._parts: dict[str, Parts] = {}

    def parts(self, key: str) -> Parts:
        return dict(self._parts.get(key, {}))

    def record(self, key: str, part: int, generation: int, request_id: str, code: str) -> None:
        known = self._parts.setdefault(key, {})
        if generation >= known.get(part, (0, ""))[0]:
            known[part] = (generation, code)


class DatabaseLedger:
    """The ledger in the database. A database error is logged and ignored: the ledger only
    saves a request or a refusal; eSMS's own answer (124 with SendStatus) still decides."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = SmsRequest.__table__

    def parts(self, key: str) -> Parts:
        t = self.table
        found: Parts = {}
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t.c.part, t.c.generation, t.c.code).where(t.c.message_key == key))
                for part, generation, code in rows:
                    if generation >= found.get(part, (0, ""))[0]:
                        found[part] = (generation, code)
        except SQLAlchemyError as exc:
            log.warning("could not read the SMS requests of a reminder", extra={"error": type(exc).__name__})
        return found

    def record(self, key: str, part: int, generation: int, request_id: str, code: str) -> None:
        t = self.table
        values = {"request_id": request_id, "message_key": key, "part": part, "generation": generation}
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(t).where(t.c.request_id == request_id))
                conn.execute(insert(t).values(**values, code=code, recorded_at=utcnow()))
        except SQLAlchemyError as exc:
            log.warning(
                "could not record an SMS request",
                extra={"request_id": request_id, "error": type(exc).__name__},
            )
