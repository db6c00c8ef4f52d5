"""The kinds of message: one per rung of a reminder policy, and the focal agency's digest."""

REMINDER_KINDS = ("upcoming", "due", "overdue", "escalation", "prepare", "start", "closing", "announce")
DIGEST = "digest"
KINDS = (*REMINDER_KINDS, DIGEST)
