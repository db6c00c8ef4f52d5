"""Notifier adapters: one module per channel behind one small interface.

The configuration may name these channels today; the adapters that send through
them are added channel by channel (console and e-mail first, then Zalo, SMS and
the signed webhook), and later discovered through the `nhacviec.notifiers`
entry-point group.
"""

CHANNELS: tuple[str, ...] = ("email", "zalo", "sms", "webhook", "console")
