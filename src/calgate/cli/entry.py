"""The `calgate` command's entry point, light on purpose.

The console script imports only this module; the commands (and everything they import) are
imported when the command runs. calgate's worker processes (:mod:`calgate.processes`) start
by the forkserver method, which has each worker import the main script of the process that
started it: with the commands imported here, every worker held the whole server's modules
(about 90 MB each instead of 25 MB).
"""

from __future__ import annotations

from typing import Any


def main() -> Any:
    from calgate.cli.main import main as command

    return command()
