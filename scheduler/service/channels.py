"""Which channels the deployment uses, and their notifiers built from options and secrets."""

from __future__ import annotations

import logging
from typing import Any

from notifiers.base import NotConfigured, Notifier, Setup
from notifiers.console import ConsoleNotifier
from notifiers.registry import channel_names, notifier_class
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.outbox import events

log = logging.getLogger(__name__)


def build_notifiers(
    settings: Settings, deployment: Deployment, engine: Any, unconfigured: dict[str, str] | None = None
) -> dict[str, Notifier]:
    """Console mode prints every channel, as that channel would send it. Live mode builds each
    channel in use through its plug-in; one that lacks a setting is left out with a warning
    (and, in `unconfigured`, what is missing), and its reminders wait."""
    if settings.delivery == "console":
        return {name: ConsoleNotifier(shows=notifier_class(name).renders) for name in channel_names()}
    notifiers: dict[str, Notifier] = {}
    for name in sorted(channels_in_use(deployment)):
        try:
            notifiers[name] = build_notifier(name, settings, deployment, engine)
        except NotConfigured as exc:
            log.warning("channel not configured", extra={"channel": name, "reason": str(exc)})
            if unconfigured is not None:
                unconfigured[name] = str(exc)
    return notifiers


def build_notifier(name: str, settings: Settings, deployment: Deployment, engine: Any) -> Notifier:
    """One channel's notifier from its options and its NHACVIEC_<CHANNEL>_* variables;
    NotConfigured names what is missing."""
    cls = notifier_class(name)
    options = deployment.channel(name).options
    if options is None:
        raise NotConfigured(f"khai báo channels.{name}.options trong config/channels.yaml")
    secrets = {key: settings.channel_env[key] for key in cls.secrets if key in settings.channel_env}
    return cls.from_setup(Setup(options, secrets, settings, engine))


def channels_in_use(deployment: Deployment) -> set[str]:
    """The channels contacts, their fallbacks and policy rungs name."""
    used = {
        ch for contacts in deployment.contacts.values() for c in contacts for ch in (*c.channels, *c.fallback)
    }
    for policy in deployment.policies.values():
        for rung in (*policy.deadline, *policy.window, *policy.observance):
            used.update(rung.channels or ())
    for name in list(used):
        used.update(deployment.channel(name).spec.fallback)
    if events.configured(deployment) is not None:  # events to e-office systems
        used.add(events.CHANNEL)
    return used
