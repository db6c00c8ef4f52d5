"""`python -m scheduler` runs the nhacviec command line."""

from scheduler.cli import main

main()
