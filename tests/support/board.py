"""The board's synced sample, shared by the tests of the board, its API, reports and feeds: the
sample configuration synced into a store, the reminders of one occurrence, and the users of each
role that the board's role rules are tested with."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from scheduler.accounts.users import Role, add_user
from scheduler.config.deployment import Deployment
from scheduler.config.loader import load_config
from scheduler.config.settings import Settings
from scheduler.outbox.store import Reminder, Status
from scheduler.outbox.sync import sync
from tests.support.accounts import PASSWORD
from tests.support.settings import make_settings

HUE = "hue-2026-bdg"
A_LUOI = f"{HUE}/bao-cao-nam/2026/hue-xa-a-luoi-1"
PHU_XUAN = f"{HUE}/bao-cao-nam/2026/hue-phuong-phu-xuan"
THUAN_HOA = f"{HUE}/bao-cao-nam/2026/hue-phuong-thuan-hoa"
SYNCED = date(2026, 12, 1)  # followed from before the 10/12/2026 yearly deadline

# login: (name, role, agency)
USERS: dict[str, tuple[str, Role, str | None]] = {
    "quantri": ("Quản trị viên", Role.ADMIN, None),
    "snv": ("Nguyễn Thị Hoa", Role.FOCAL, "hue-so-noi-vu"),
    "ltp": ("Lê Thị Phương", Role.FOCAL, "lt-phong-ldtbxh"),
    "xem": ("Trần Văn Xem", Role.VIEWER, None),
}


def synced_sample(
    tmp_path: Path, config_dir: Path, engine: Engine, on: date = SYNCED
) -> tuple[Settings, Deployment]:
    """The sample configuration synced into `engine` as of `on`; its settings and deployment."""
    settings = make_settings(tmp_path, config_dir, engine.url.render_as_string(hide_password=False))
    deployment = load_config(config_dir, settings, today=on)
    sync(engine, deployment, settings, on)
    return settings, deployment


def add_users(engine: Engine, *logins: str) -> None:
    """The board's users (all of USERS when no login is named), each with PASSWORD."""
    for login in logins or tuple(USERS):
        name, role, agency = USERS[login]
        add_user(engine, login, name, role, PASSWORD, agency_id=agency)


def reminder_ids(engine: Engine, occurrence_key: str = A_LUOI) -> list[int]:
    """The ids of an occurrence's reminders, the earliest to send first."""
    rem = Reminder.__table__
    with engine.begin() as conn:
        query = select(rem.c.id).where(rem.c.occurrence_key == occurrence_key).order_by(rem.c.send_at)
        return list(conn.execute(query).scalars().all())


def one_sent_one_dead(engine: Engine) -> list[int]:
    """A Lưới 1's first reminder sent on 3/12/2026, its second dead on 10/12/2026 (a mailbox that
    does not exist); all its reminders' ids, in the order they are sent."""
    ids = reminder_ids(engine)
    rem = Reminder.__table__
    with engine.begin() as conn:
        conn.execute(
            update(rem)
            .where(rem.c.id == ids[0])
            .values(status=Status.SENT, sent_at=datetime(2026, 12, 3, 1, 0, tzinfo=UTC), attempts=1)
        )
        conn.execute(
            update(rem)
            .where(rem.c.id == ids[1])
            .values(
                status=Status.DEAD,
                attempts=1,
                last_error="550 hộp thư không tồn tại",
                updated_at=datetime(2026, 12, 10, 1, 0, tzinfo=UTC),
            )
        )
    return ids
