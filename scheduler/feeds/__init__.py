"""Calendar feeds: an agency's or a plan's calendar as a subscribable ICS feed (content.py)."""
