"""The file lock that keeps one daemon (or one `db copy`) per SQLite file."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from typing import IO

from scheduler.outbox.store import private_directory, sqlite_file


class AlreadyRunning(Exception):
    pass


@contextlib.contextmanager
def single_instance(database_url: str) -> Iterator[None]:
    """Refuse a second daemon on the same SQLite file (PostgreSQL coordinates by itself)."""
    database = sqlite_file(database_url)
    if database is None:
        yield
        return
    lock_path = database.with_suffix(database.suffix + ".lock")
    private_directory(lock_path.parent)
    handle: IO[str] = open(lock_path, "a+")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(
            f"một tiến trình nhacviec khác đang chạy trên {database} (khóa {lock_path}); "
            "hãy dừng tiến trình đó trước, hoặc dùng PostgreSQL để chạy nhiều tiến trình"
        ) from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
