"""What test modules (and bench/ scripts) share: import it from here.

Fixtures live in tests/conftest.py, which no module imports, and no module imports a test
module (`tests/test_architecture.py` checks both). The modules:

- `settings`: the repository's paths, the sample configuration, `make_settings`;
- `postgres`: a throwaway PostgreSQL database (`new_postgres_database`; without pytest, for
  bench/ scripts: `unreachable`, `throwaway_database`);
- `configs`: synthetic configurations written as real YAML files (all due now, national,
  one channel per contact) and edits of the sample one, for tests and benchmarks alike;
- `smtp_sink`: a real SMTP server in the test process; `dispatch_kit`: a dispatcher on it;
- `daemon`: `nhacviec run` as a subprocess (`Daemon`, `Replica`) and how to wait for it;
- `channels`: the Zalo/SMS routing set-up over the provider doubles of tests/doubles/;
- `document_files`: .docx and .pdf documents written from Markdown-ish text.
"""
