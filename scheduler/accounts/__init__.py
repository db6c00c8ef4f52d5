"""Accounts of the web pages: users in the database (users.py), sign-in throttling
(throttle.py) and what each role may see and do (scoping.py). Above the outbox (the table is
`store.AppUser`), below the web and the command line, which both use it."""
