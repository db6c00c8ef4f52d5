"""SMS through a Vietnamese gateway (eSMS.vn, SpeedSMS, or any HTTP gateway). Being written."""

from __future__ import annotations

from typing import ClassVar

from notifiers.base import Delivery, Message, Notifier, NotifierError


class SmsNotifier(Notifier):
    channel: ClassVar[str] = "sms"
    address: ClassVar[str] = "mobile"

    async def send(self, message: Message) -> Delivery:
        raise NotifierError("kênh SMS chưa được cấu hình", permanent=False)
