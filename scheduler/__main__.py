"""`python -m scheduler` runs the nhacviec command line."""

from scheduler.cli.app import main

main()
