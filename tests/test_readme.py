"""The README documents every setting, exactly as the settings object defines it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "settings_table.py"


def test_readme_settings_table_is_current() -> None:
    spec = importlib.util.spec_from_file_location("settings_table", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.readme_table() == module.table(), (
        "README settings table is stale: run `python scripts/settings_table.py --write`"
    )
