"""`nhacviec db copy`: move the whole ledger from one database to another (SQLite → PostgreSQL).

The copy reads the source in one consistent snapshot and writes the target in one
transaction: either every row of every table arrives with its values unchanged
(reminder and delivery-attempt ids included, so links and logs keep pointing at the
same rows), or the target is left as it was. Values go through the model's column
types on both sides, so instants stay timezone-aware UTC, dates stay dates and
booleans stay booleans.

The target is upgraded to the newest schema first and must be empty; the source must
already be at the newest schema (`nhacviec db upgrade` on it first), so that the
two have exactly the same columns. An SQLite source must not be in use by a running
`nhacviec run` (its lock file is taken for the copy): what the service wrote after
the snapshot would be missing from the target.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, inspect, select, text
from sqlalchemy.engine import make_url

from notifiers.sms_requests import SmsRequest
from notifiers.zalo.tokens import ZaloToken
from scheduler.config.settings import redact_url
from scheduler.outbox.recorder import SendRecorder, journal_path
from scheduler.outbox.store import (
    ApiIdempotency,
    ApiToken,
    AppUser,
    CalendarFeed,
    DeliveryAttempt,
    EventEndpoint,
    Occurrence,
    OccurrenceAction,
    Reminder,
    make_engine,
    migrate,
    schema_revisions,
)

# Every table of the ledger, in the order they are copied. A table that a migration adds
# and this list misses makes the copy refuse (see `_check_tables`) rather than lose it.
TABLES: tuple[Table, ...] = tuple(
    model.__table__
    for model in (
        Occurrence,
        Reminder,
        DeliveryAttempt,
        ZaloToken,
        SmsRequest,
        AppUser,
        OccurrenceAction,
        EventEndpoint,
        ApiToken,
        ApiIdempotency,
        CalendarFeed,
    )
)
# Tables whose integer id comes from a sequence on PostgreSQL.
SERIAL_TABLES = (
    "reminder",
    "delivery_attempt",
    "app_user",
    "occurrence_action",
    "api_token",
    "calendar_feed",
)
ALEMBIC_TABLE = "alembic_version"


class CopyRefused(Exception):
    """The copy cannot start; nothing has been written. The message is for the operator."""


def _open_source(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise CopyRefused(f"không có tệp cơ sở dữ liệu nguồn {path or redact_url(url)!r}.")
    return make_engine(url)


def _check_tables(conn: Connection) -> None:
    known = {table.name for table in TABLES} | {ALEMBIC_TABLE}
    unknown = sorted(set(inspect(conn).get_table_names()) - known)
    if unknown:
        raise CopyRefused(
            f"cơ sở dữ liệu đích có bảng mà lệnh sao chép không biết ({', '.join(unknown)}); "
            "cần cập nhật scheduler/outbox/db_copy.py trước khi sao chép."
        )


def _begin_snapshot(conn: Connection) -> None:
    """Make every read of `conn` see one snapshot, even while a daemon writes the source."""
    if conn.dialect.name == "sqlite":
        # pysqlite opens a transaction only before a write; without this each SELECT
        # would see its own moment (WAL readers keep the snapshot of their BEGIN's first read).
        conn.exec_driver_sql("BEGIN")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


def _reset_sequences(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite hands out max(rowid) + 1
    for name in SERIAL_TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM {name}"
            )
        )


def copy_database(source_url: str, target_url: str, batch: int = 5000) -> dict[str, int]:
    """Copy every row of every table from `source_url` into the empty `target_url`.

    Returns the number of rows copied per table. Raises `CopyRefused` (with nothing
    written) when the source's schema is not the newest, or the target holds rows.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    from scheduler.outbox.lock import AlreadyRunning, single_instance

    source = _open_source(source_url)
    try:
        # Holding the daemon's lock: rows it would write after the snapshot would be lost.
        with single_instance(source_url):
            journal = journal_path(source_url)
            if journal is not None:  # what a stopped daemon sent and had not written yet
                SendRecorder.recover(source, journal)
            return _copy(source, source_url, target_url, batch)
    except AlreadyRunning:
        raise CopyRefused(
            "dịch vụ nhacviec đang chạy trên cơ sở dữ liệu nguồn: dừng dịch vụ trước khi sao chép "
            "(những gì nó ghi sau lúc sao chép sẽ không có ở đích)."
        ) from None
    finally:
        source.dispose()


def _copy(source: Engine, source_url: str, target_url: str, batch: int) -> dict[str, int]:
    target = make_engine(target_url)
    try:
        current, head = schema_revisions(source)
        if current != head:
            raise CopyRefused(
                f"lược đồ của cơ sở dữ liệu nguồn ({redact_url(source_url)}) đang ở bản {current or 'trống'}, "
                f"bản mới nhất là {head}: chạy `nhacviec db upgrade` trên nguồn (với NHACVIEC_DATABASE_URL "
                "trỏ tới nó) rồi sao chép lại."
            )
        migrate(target)
        counts: dict[str, int] = {}
        with source.connect() as src, target.begin() as dst:
            _check_tables(dst)
            not_empty = [
                t.name for t in TABLES if dst.execute(select(func.count()).select_from(t)).scalar_one()
            ]
            if not_empty:
                raise CopyRefused(
                    f"cơ sở dữ liệu đích ({redact_url(target_url)}) đã có dữ liệu trong bảng "
                    f"{', '.join(not_empty)}; chỉ sao chép vào một cơ sở dữ liệu trống. Không có gì bị thay đổi."
                )
            _begin_snapshot(src)
            for table in TABLES:
                copied = 0
                order = list(table.primary_key.columns)
                result = src.execution_options(yield_per=batch).execute(select(table).order_by(*order))
                for rows in result.mappings().partitions(batch):
                    dst.execute(table.insert(), [dict(row) for row in rows])
                    copied += len(rows)
                written = dst.execute(select(func.count()).select_from(table)).scalar_one()
                if written != copied:  # pragma: no cover - a guard, not an expected path
                    raise RuntimeError(f"{table.name}: read {copied} rows, the target holds {written}")
                counts[table.name] = copied
            _reset_sequences(dst)
            src.rollback()  # the source was only read
        return counts
    finally:
        target.dispose()
