"""The README's settings table, generated from the one settings object (so they never drift).

    python scripts/settings_table.py           # print it
    python scripts/settings_table.py --write   # replace the table in README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from calgate.settings import Settings


def table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = None if field.default_factory else field.default  # computed: see its meaning
        shown = "" if default is None else f"`{default}`"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `CALGATE_{name.upper()}` | {shown} | {description} |")
    return "\n".join(rows)


START, END = "<!-- settings:start -->", "<!-- settings:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_table() -> str:
    text = README.read_text()
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write() -> None:
    text = README.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(f"{head}{START}\n{table()}\n{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(table())
