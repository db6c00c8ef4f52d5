"""A demonstration plug-in channel, `fax`, installed without pip (tests/test_plugins.py).

The distribution `nhacviec-fax` next to this module (nhacviec_fax-0.1.dist-info)
declares it in the `nhacviec.notifiers` entry-point group; putting this directory on
sys.path or PYTHONPATH is all it takes for nhacviec to find it. Instead of dialling,
it appends one JSON line per message to the file named by NHACVIEC_FAX_OUTBOX.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError, Setup


class FaxNotifier(Notifier):
    channel: ClassVar[str] = "fax"
    address: ClassVar[str] = "fax"  # read from the contact's `addresses: {fax: ...}`
    concurrency: ClassVar[int] = 1  # one line at a time in the outbox
    secrets: ClassVar[tuple[str, ...]] = ("FAX_OUTBOX",)

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    @classmethod
    def from_setup(cls, setup: Setup) -> FaxNotifier:
        outbox = setup.secrets.get("FAX_OUTBOX")
        if not outbox:
            raise NotConfigured("đặt NHACVIEC_FAX_OUTBOX (tệp nhận bản fax) để gửi fax")
        return cls(Path(outbox))

    async def send(self, message: Message) -> Delivery:
        line = {
            "key": message.key,
            "to": message.recipient,
            "recipient_name": message.recipient_name,
            "subject": message.subject,
            "text": message.text,
        }
        try:
            with self.outbox.open("a", encoding="utf-8") as outbox:
                outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise NotifierError(
                f"không ghi được tệp fax {self.outbox}: {exc.strerror}", permanent=False
            ) from None
        return Delivery(provider_id=f"fax-{message.key}")
