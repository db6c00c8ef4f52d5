"""The Zalo ZNS channel: the notifier (notifier.py), the OA's token pair kept in the database
and refreshed one at a time (tokens.py), the admin's consent (consent.py). The entry point
`notifiers.zalo:ZaloNotifier` names this package."""

from notifiers.zalo.notifier import ZaloNotifier, ZaloOptions

__all__ = ["ZaloNotifier", "ZaloOptions"]
