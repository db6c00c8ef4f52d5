"""The JSON API under /api/v1 (FastAPI), authenticated by bearer tokens only."""
