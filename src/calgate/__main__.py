"""`python -m calgate` runs the `calgate` command."""

from calgate.cli.main import main

main()
