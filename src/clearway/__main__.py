"""`python -m clearway` runs the command line."""

from clearway.cli import main

main()
