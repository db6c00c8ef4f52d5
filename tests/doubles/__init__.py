"""Local doubles of the providers' HTTP APIs, served by uvicorn in a subprocess (see serve.py)."""
