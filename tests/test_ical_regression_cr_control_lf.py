"""Regression: a CR and an LF separated only by a dropped control character were written as
two line breaks, while the documented reading (`clean`) is one."""

from __future__ import annotations

import pytest

from calgate.domain.ical.text import clean, escape, unescape


@pytest.mark.parametrize("title", ["\r\x00\n", "a\r\x1f\nb", "\r\x7f\n\r\n"])
def test_cr_control_lf_is_one_line_break(title: str) -> None:
    assert unescape(escape(title)) == clean(title)
    assert "\r" not in escape(title) and "\n" not in escape(title)
