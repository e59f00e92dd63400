"""The `calgate` command."""
