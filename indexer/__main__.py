"""`python -m indexer` runs the captionary CLI."""

from indexer.cli import main

main()
