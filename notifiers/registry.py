"""The installed channels: the `nhacviec.notifiers` entry-point group.

Every channel, the built-in ones included, is registered as an entry point whose
name is the channel's name and whose value is its `Notifier` class, so a
deployment adds a channel by installing a package that declares one (README,
"Adding a channel"). Names are read without importing anything; a class is
imported the first time it is needed.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from notifiers.base import Notifier

GROUP = "nhacviec.notifiers"


class PluginError(Exception):
    """An installed channel cannot be loaded; the message names the package to fix."""


@cache
def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, point)  # the first installed wins, as importlib orders them
    return found


def channel_names() -> tuple[str, ...]:
    """The installed channels, sorted."""
    return tuple(sorted(_entry_points()))


@cache
def notifier_class(channel: str) -> type[Notifier]:
    """The class registered for `channel`; KeyError if none, PluginError if it does not load."""
    point = _entry_points()[channel]
    try:
        cls = point.load()
    except Exception as exc:
        raise PluginError(
            f"kênh '{channel}' ({point.value}) không nạp được: {type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Notifier)):
        raise PluginError(f"kênh '{channel}' ({point.value}) không phải một lớp Notifier")
    return cls


def refresh() -> None:
    """Forget what was read (after installing a package in a running process, and in tests)."""
    _entry_points.cache_clear()
    notifier_class.cache_clear()
