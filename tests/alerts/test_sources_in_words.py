"""Where an alert came from, as its page says it: every source the platform writes reads as words, in Chinese."""

import pytest
from django.utils import translation

from alerts.presentation import source_text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("receipt:12", "#12"),
        ("repair:7", "#7"),
        ("duty:2026-12-05:31", "#2026-12-05"),
        ("scan:2026-12-06:4", "#2026-12-06"),
        ("swap:2", "#2"),
        ("sampling:1", "#1"),
        ("inspection:9", "#9"),
        ("proof:31:20261206", "#2026-12-06"),
    ],
)
def test_each_kind_of_source_reads_in_chinese_with_its_reference(source, expected):
    with translation.override("zh-hans"):
        text = source_text(source)
    assert text.endswith(expected) and text != source
    assert not any("a" <= ch.lower() <= "z" for ch in text.removesuffix(expected))  # the label is Chinese


def test_an_unknown_source_is_shown_as_it_is():
    assert source_text("elsewhere:1") == "elsewhere:1"
