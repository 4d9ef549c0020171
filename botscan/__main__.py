"""`python -m botscan` runs the CLI."""

from botscan.cli import main

main()
