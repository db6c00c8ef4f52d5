"""The ledger: occurrences and the reminder outbox, and the engine that holds them.

Instants are timezone-aware UTC datetimes (SQLModel stores them as UTC and
returns them aware, on SQLite and PostgreSQL alike); dates are calendar dates in
Vietnam. The schema is owned by the Alembic
migrations in `scheduler/outbox/migrations/`; `open_store()` upgrades to the newest.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast, overload

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Dialect,
    Engine,
    Index,
    Table,
    event,
    false,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel, create_engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


class Status(StrEnum):
    PENDING = "pending"  # waiting for its send time
    CLAIMED = "claimed"  # leased by a dispatcher
    SENT = "sent"
    DEAD = "dead"  # permanent failure or retries exhausted; the operator decides
    CANCELLED = "cancelled"  # its occurrence, contact or rung left the configuration, or was confirmed
    SKIPPED = "skipped"  # too late to be useful; the reason is in last_error


class OccurrenceStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"  # confirmed by the agency (scheduler.outbox.acks); outlives config changes
    REMOVED = "removed"  # no longer in the configuration; its history is kept
    ENDED = "ended"  # its agency left the configuration or ended (config/lifetimes.py): shown as such
    UNTRACKED = "untracked"  # its deadline had passed when it was first planned: never counted late


class AttemptOutcome(StrEnum):
    """What came of one try at sending (`delivery_attempt.outcome`)."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    FALLBACK = "fallback"  # the recipient is unreachable on the channel: moved to the next one


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """A stored instant, timezone-aware: a Core `select()` on SQLite returns naive UTC (the ORM's
    rows come back aware), PostgreSQL aware."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_of_day_utc(day: date, tz: tzinfo) -> datetime:
    """Midnight at the start of `day` in `tz`, in UTC."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


class Occurrence(SQLModel, table=True):
    """One concrete instance: plan item × period × agency."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    key: str = Field(primary_key=True)  # "<plan>/<item>/<period>/<agency>"
    plan_id: str = Field(index=True)
    item_id: str
    kind: str  # an OccurrenceKind: deadline | window | observance
    period: str
    agency_id: str = Field(index=True)
    title: str
    start_date: date
    end_date: date = Field(index=True)
    status: str = OccurrenceStatus.OPEN  # an OccurrenceStatus
    fingerprint: str
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    # Where the report goes and through whom, as the calendar event says (agency ids; "" for none),
    # so that rendering need not expand the calendar again. NULL: written before migration 0010.
    to_agency_id: str | None = None
    via_agency_id: str | None = None
    # The names of the time (migration 0009): as they were when the occurrence was planned, kept
    # once its deadline has passed. None on rows written before: the configuration's name is shown.
    agency_name: str | None = None
    plan_name: str | None = None
    # The report's "Số, ký hiệu văn bản" and "Ngày văn bản" as the confirmation gave them
    # (migration 0012); None when not given.
    report_number: str | None = None
    report_date: date | None = None
    # The focal agency's decisions (migration 0013, scheduler/outbox/actions.py): the agency is
    # exempt from this report, or its deadline moved to `extended_to` (sync plans from that date).
    waived: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    extended_to: date | None = None


class Reminder(SQLModel, table=True):
    """One message to send: occurrence × contact × channel × rung."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __table_args__ = (
        Index("ix_reminder_status_send_at", "status", "send_at"),
        Index(  # only rows waiting for a retry (migration 0007)
            "ix_reminder_status_next_attempt_at",
            "status",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=32)  # idempotency key
    occurrence_key: str = Field(index=True)
    contact_key: str
    channel: str
    rung: str  # "-14d", "+3wd", "start-7d", …
    kind: str  # a ReminderKind: upcoming | due | overdue | … | digest
    recipient: str
    due_date: date
    send_at: datetime  # UTC
    ignore_quiet_hours: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    status: str = Status.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None  # set while a transient failure waits for its retry
    lease_until: datetime | None = None
    claimed_by: str | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # An attempt failed without an answer (a timeout, a 5xx) on a channel that does not
    # de-duplicate: the provider may have sent it, so a later send may be a duplicate.
    maybe_sent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # An event's JSON body, as it was when the change happened (kind "event", migration 0016);
    # None for reminders and for overdue events (built at send time).
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class DeliveryAttempt(SQLModel, table=True):
    """One try at sending a reminder, whatever came of it."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: int = Field(index=True)
    attempted_at: datetime
    channel: str
    outcome: str  # an AttemptOutcome: sent | retry | dead | fallback
    provider_id: str | None = None
    error: str | None = None
    # Made after an attempt the provider may have sent already (Reminder.maybe_sent).
    possible_duplicate: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class AppUser(SQLModel, table=True):
    """An account of the web pages (migration 0011); `scheduler/accounts/` reads and writes it."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(unique=True, index=True)  # lower case
    display_name: str
    role: str  # a scheduler.accounts.users.Role: admin | focal | viewer
    agency_id: str | None = None  # the agency of a focal user (the plans whose focal_agency it is)
    password_hash: str  # argon2id, in the PHC string format
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = None


class OccurrenceAction(SQLModel, table=True):
    """One action of the focal agency on an occurrence × agency (migration 0013): who did what,
    when and why; `scheduler/outbox/actions.py` writes and reads it."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "occurrence_action"

    id: int | None = Field(default=None, primary_key=True)
    occurrence_key: str = Field(index=True)
    agency_id: str = Field(index=True)
    action: str  # a scheduler.outbox.actions.Action: received | waive | extend | send_now | reopen
    by: str
    at: datetime
    reason: str | None = None
    # What the action changed: the report's number and date, the old and new deadline, the
    # reminders cancelled, rescheduled or created.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EventEndpoint(SQLModel, table=True):
    """An endpoint of the `eoffice` channel as sync last read it from config/channels.yaml
    (migration 0016), so that a confirmation anywhere (page, CLI, API, board) knows whom to tell
    without the configuration: which plans and event types it takes (None: all). Its address and
    secret stay in the configuration and the environment."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "event_endpoint"

    id: str = Field(primary_key=True)
    plans: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    types: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ReminderRow(Protocol):
    """What rendering reads of a reminder: a claimed row (`ClaimedReminder`), a `Reminder`, or
    a preview's planned reminder. `id` and `attempts`, when present, give the short link and
    the attempt number."""

    @property
    def key(self) -> str: ...
    @property
    def contact_key(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def kind(self) -> str: ...  # a ReminderKind
    @property
    def recipient(self) -> str: ...


class ClaimedReminder(ReminderRow, Protocol):
    """A reminder row as the dispatcher claims it (`scheduler.dispatch.dispatcher.CLAIMED`): what
    rendering, sending and recording read. The claim's SQLAlchemy rows are used as they are
    (no copy per message); tests and previews may pass a `Reminder` or a namespace."""

    @property
    def id(self) -> int: ...
    @property
    def occurrence_key(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def send_at(self) -> datetime: ...
    @property
    def lease_until(self) -> datetime: ...
    @property
    def maybe_sent(self) -> bool: ...
    @property
    def ignore_quiet_hours(self) -> bool: ...


class OccurrenceRow(Protocol):
    """What rendering reads of an occurrence (`scheduler.dispatch.dispatcher.OCCURRENCE`)."""

    @property
    def key(self) -> str: ...
    @property
    def plan_id(self) -> str: ...
    @property
    def item_id(self) -> str: ...
    @property
    def kind(self) -> str: ...  # an OccurrenceKind
    @property
    def period(self) -> str: ...
    @property
    def agency_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start_date(self) -> date: ...
    @property
    def end_date(self) -> date: ...


MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite database URL; None for an in-memory one or another database.
    The daemon keeps its lock (`.lock`) and its send journal (`.sent`) beside it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def private_directory(path: Path) -> None:
    """Create `path` readable by its owner only (0700); one that exists keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (it holds contacts and Zalo tokens; its
    -wal and -shm files take its mode); a file that exists keeps its mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their directory, WAL and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url)
        if (path := sqlite_file(url)) is not None:
            private_directory(path.parent)
            # Made at the first connection, as SQLite would, but 0600: an engine that is never
            # used leaves no file behind.
            event.listen(engine, "do_connect", lambda *_: _private_file(path))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


MIGRATION_LOCK = 72_2020  # PostgreSQL advisory lock held while migrating


def alembic_config() -> AlembicConfig:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


_REVISION = re.compile(r"""^revision\b[^=\n]*=\s*["']([\w-]+)["']""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\b[^=\n]*=\s*(?:["']([\w-]+)["']|None)\s*$""", re.M)


def head_revision(versions: Path = MIGRATIONS / "versions") -> str:
    """The newest migration's revision, read from the files in `migrations/versions/`.

    Alembic itself (with Mako and Pygments, ~11 MB) is loaded only to upgrade: a daemon
    whose schema is current would otherwise carry it for months. tests/test_migrations.py
    checks that this agrees with Alembic's own reading. A file this cannot read (a merge
    of two heads, say) is an error, not a file to skip: a head missed would leave its
    migration unapplied."""
    revises: dict[str, str | None] = {}
    for path in sorted(versions.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if not (revision and down):
            raise RuntimeError(f"{path}: no single `revision = '…'` and `down_revision = '…'` line")
        revises[revision[1]] = down[1]
    heads = set(revises) - set(revises.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {versions} have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(connection: Connection) -> str | None:
    """The schema revision the database is at (None when it has no schema yet)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> str | None:
    """Upgrade the database to the newest schema (idempotent); return the revision it was
    at. On PostgreSQL the upgrade holds an advisory lock: of several replicas starting at
    once one migrates, the others wait for it and then find nothing to do."""
    head = head_revision()
    with engine.connect() as connection:
        before = current_revision(connection)
    if before == head:
        return before
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        before = current_revision(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's schema revision, the newest this version knows): equal when current."""
    with engine.connect() as connection:
        return current_revision(connection), head_revision()


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]], **sql_values: Any) -> None:
    """Insert many rows of the same columns, with `sql_values` (SQL expressions) for every row.

    This is `conn.execute(insert(table).values(**sql_values), rows)` without SQLAlchemy's
    per-row parameter bookkeeping, which was 40 % of a national first sync (see bench/).
    Each value still goes through its column type's own bind processor, so the rows
    written are exactly those the plain form writes.
    """
    if not rows:
        return
    # Columns the rows leave out get their constant Python-side default, as with the plain form.
    defaults = {
        column.name: column.default.arg  # type: ignore[attr-defined]
        for column in table.columns
        if column.name not in rows[0]
        and column.name not in sql_values
        and column.default is not None
        and column.default.is_scalar
    }
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    columns = list(rows[0])
    compiled = insert(table).values(**sql_values).compile(dialect=conn.dialect, column_keys=columns)
    order = (compiled.positiontup or []) if compiled.positional else columns
    processors = [
        (i, _remembered(processor))
        for i, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
    ]
    values = itemgetter(*order) if len(order) > 1 else lambda row: (row[order[0]],)
    params: list[Any] = []
    for row in rows:  # a plain loop: per-row generators were a third of this function's time
        item = list(values(row))
        for i, convert in processors:
            item[i] = convert(item[i])
        params.append(tuple(item) if compiled.positional else dict(zip(order, item, strict=True)))
    conn.exec_driver_sql(str(compiled), params)


def _remembered(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`processor` with its results kept by value: a sync's rows share few distinct dates
    and send times, and converting an aware datetime to SQLite's text costs ~2 µs."""
    results: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return results[value]
        except KeyError:
            results[value] = result = processor(value)
            return result
        except TypeError:  # not hashable
            return processor(value)

    return process


class Prepared:
    """A statement compiled once for a dialect and run on a DB-API cursor, for the statements
    run once per message sent.

    `Connection.execute` spends ~20 µs per statement on its own bookkeeping (cache key,
    execution context, result) even when the statement's compiled form is cached: two
    statements and a transaction per message cost more than SQLite's work (bench/). This
    sends the dialect's own SQL, each value converted by its type's bind processor as
    SQLAlchemy converts it, so what is written is the same. Values given in the statement
    (`.values(status=...)`) are kept; `params` adds those of the `bindparam`s.
    """

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, keys: Collection[str] | None = None
    ) -> None:
        compiled = cast(
            SQLCompiler, statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        )
        self.sql = str(compiled)
        self._positional = bool(compiled.positional)
        parameters = {name: bind for bind, name in compiled.bind_names.items()}
        names = (compiled.positiontup or []) if self._positional else list(parameters)
        self._slots = [  # (bind name, its name in the SQL, its type's converter)
            (
                name,
                compiled.escaped_bind_names.get(name, name),
                _last_remembered(parameters[name].type, dialect),
            )
            for name in names
        ]
        self._given = {name: bind.value for name, bind in parameters.items() if not bind.required}

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The DB-API parameters for these bind values."""
        merged = {**self._given, **values}
        if self._positional:
            return tuple(
                [convert(merged[name]) if convert else merged[name] for name, _, convert in self._slots]
            )
        return {key: convert(merged[name]) if convert else merged[name] for name, key, convert in self._slots}


def _last_remembered(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The type's bind processor (None if it has none), remembering its last value (the same
    object: values of immutable types) and result: the rows written together share their
    timestamp, and converting one costs ~2 µs."""
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    if processor is None:
        return None
    last: list[Any] = [object(), None]  # [value, result]

    def process(value: Any) -> Any:
        if value is not last[0]:
            last[:] = [value, processor(value)]
        return last[1]

    return process


class Cursor(Protocol):
    """What the fast paths use of a DB-API cursor."""

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any], /) -> Any: ...
    def close(self) -> None: ...


@contextmanager
def dbapi_transaction(engine: Engine) -> Iterator[Cursor]:
    """A DB-API cursor on a pooled connection, committed on a normal exit. On an error nothing
    is committed: the pool rolls the connection back when it is returned (and replaces it
    if that fails)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        yield cursor
        cursor.close()
        connection.commit()
    finally:
        connection.close()


def open_store(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


class ApiToken(SQLModel, table=True):
    """A bearer token of the JSON API (migration 0014), acting for one `app_user` with that user's
    role; `scheduler/accounts/tokens.py` writes and reads it. Only the token's SHA-256 is kept."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    user_id: int
    scope: str  # a scheduler.accounts.tokens.Scope: read | write
    token_hash: str = Field(unique=True, index=True)  # hex SHA-256 of the token
    prefix: str  # the token's first characters, to recognise it in `nhacviec token list`
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiIdempotency(SQLModel, table=True):
    """The answer given to a POST of the API with an `Idempotency-Key` (migration 0014): the same
    key and body get it again; the same key with another body is refused."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "api_idempotency"

    token_id: int = Field(primary_key=True)
    key: str = Field(primary_key=True)
    request_hash: str  # SHA-256 of the operation and its body
    status_code: int
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class CalendarFeed(SQLModel, table=True):
    """A calendar feed's capability (migration 0015, scheduler/outbox/feeds.py): the ICS feed of
    an agency or a plan at `/lich/<token>.ics`, the token naming this row and its `nonce`.
    A revoked row's URL answers 404; a new row (a new nonce) gives a new URL."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "calendar_feed"
    __table_args__ = (Index("ix_calendar_feed_target", "kind", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # a scheduler.outbox.feeds.FeedKind: agency | plan
    target_id: str  # the agency's or the plan's id
    nonce: str  # random; in the signed token, so a token is worth nothing once its row is revoked
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_fetched_at: datetime | None = None
    # The body last served (its hash, DTSTAMP aside) and since when it has been so: the feed's
    # ETag and Last-Modified, stable across restarts and replicas.
    etag: str | None = None
    changed_at: datetime | None = None
