"""Signed JSON webhooks. Being written."""

from __future__ import annotations

from typing import ClassVar

from notifiers.base import Delivery, Message, Notifier, NotifierError


class WebhookNotifier(Notifier):
    channel: ClassVar[str] = "webhook"
    address: ClassVar[str] = "webhook"

    async def send(self, message: Message) -> Delivery:
        raise NotifierError("kênh webhook chưa được cấu hình", permanent=False)
