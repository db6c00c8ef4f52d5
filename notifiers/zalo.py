"""Zalo ZNS template messages. Being written."""

from __future__ import annotations

from typing import ClassVar

from notifiers.base import Delivery, Message, Notifier, NotifierError


class ZaloNotifier(Notifier):
    channel: ClassVar[str] = "zalo"
    address: ClassVar[str] = "zalo"

    async def send(self, message: Message) -> Delivery:
        raise NotifierError("kênh Zalo chưa được cấu hình", permanent=False)
