"""The printed report: a Chinese HTML document with a bar chart and 德州's coloured districts becomes a PDF whose
text can be read back (the Chinese words and the figures), whose font is embedded, and whose charts are vectors;
a machine that cannot print says what to install instead of failing."""

import builtins
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from reports import pdf as report_pdf
from reports.svg import COLOUR_HEX, bar_chart, line_chart, nice_ticks, region_map

pypdf = pytest.importorskip("pypdf")
pytestmark = pytest.mark.django_db  # no rows are read, but the suite's autouse fixtures load the reference data

STATIC = Path(settings.BASE_DIR) / "static"
DEZHOU = json.loads((STATIC / "maps" / "371400.json").read_text(encoding="utf-8"))
COLOURS = {"371402": "red", "371403": "orange", "371422": "yellow", "371423": "green"}
LEGEND = [("red", "红色"), ("orange", "橙色"), ("yellow", "黄色"), ("green", "绿色")]


@pytest.fixture(autouse=True)
def _fresh_probe():
    report_pdf._missing.cache_clear()
    yield
    report_pdf._missing.cache_clear()


def _document(*figures: str, extra: str = "") -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>月报</title></head><body>'
        "<h1>德州市电动自行车安全治理月报</h1><p>2026年3月，全市登记销售 1,234 辆，告警 56 件。</p>"
        + "".join(f"<figure>{figure}</figure>" for figure in figures)
        + extra
        + "</body></html>"
    )


def _read(pdf: bytes):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, text


def _fonts(reader) -> list:
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                fonts.append(descendant.get_object())
    return fonts


def _images(reader) -> int:
    count = 0
    for page in reader.pages:
        for xobject in page["/Resources"].get("/XObject", {}).values():
            if xobject.get_object().get("/Subtype") == "/Image":
                count += 1
    return count


@pytest.fixture
def printing():
    """This machine prints; else the test is skipped, except in CI, which installs Pango and the font."""
    available, why = report_pdf.pdf_available()
    if not available:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def test_a_chinese_report_with_a_chart_and_the_dezhou_map_prints_with_its_words_and_figures(printing):
    chart = bar_chart(
        ["2026-01", "2026-02", "2026-03"],
        [{"name": "销售", "values": [1234, 1500, 980]}, {"name": "维修", "values": [300, 250, 410]}],
        title="每月销售",
        unit="辆",
    )
    districts = region_map(DEZHOU, COLOURS, legend=LEGEND, title="德州市各区县风险等级")
    pdf = report_pdf.html_to_pdf(_document(chart, districts), base_url=STATIC)

    assert pdf.startswith(b"%PDF-")
    reader, text = _read(pdf)
    for words in ("德州市电动自行车安全治理月报", "全市登记销售", "销售", "维修", "辆", "2026-03"):
        assert words in text, words
    for figure in ("1,234", "1,500", "980", "410"):
        assert figure in text, figure
    for district in ("德城区", "陵城区", "禹城市", "乐陵市"):  # the map's labels stay text
        assert district in text, district
    for colour in ("红色", "橙色", "黄色", "绿色"):
        assert colour in text

    fonts = _fonts(reader)
    assert any("Noto" in str(font["/BaseFont"]) and "CJK" in str(font["/BaseFont"]) for font in fonts)
    for font in fonts:  # every font travels inside the file
        descriptor = font["/FontDescriptor"].get_object()
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
    assert _images(reader) == 0  # the charts are vector drawing, not pictures


def test_only_static_files_are_read_while_printing(printing, tmp_path):
    picture = STATIC / "img" / "mark-180.png"
    elsewhere = tmp_path / "mark.png"
    shutil.copy(picture, elsewhere)
    inside = report_pdf.html_to_pdf(_document(extra='<img src="img/mark-180.png" alt="">'), base_url=STATIC)
    assert _images(_read(inside)[0]) == 1
    outside = report_pdf.html_to_pdf(_document(extra=f'<img src="{elsewhere.as_uri()}" alt="">'), base_url=STATIC)
    assert _images(_read(outside)[0]) == 0
    nowhere = report_pdf.html_to_pdf(_document(extra='<img src="http://192.0.2.1/x.png" alt="">'), base_url=None)
    assert _images(_read(nowhere)[0]) == 0


def _failing_import(error):
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise error
        return real_import(name, *args, **kwargs)

    return fake


def test_without_pango_the_report_says_what_to_install_instead_of_failing(monkeypatch):
    monkeypatch.setattr(builtins, "__import__", _failing_import(OSError("cannot load library 'libgobject-2.0-0'")))
    with translation.override("zh-hans"):
        available, why = report_pdf.pdf_available()
    assert available is False
    assert why == (
        "生成 PDF 需要服务器安装 Pango 和中文字体。Debian 或 Ubuntu："
        "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"
    )
    with translation.override("en"):
        assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk" in report_pdf.pdf_available()[1]


def test_without_weasyprint_or_a_chinese_font_the_report_says_which(monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(builtins, "__import__", _failing_import(ImportError("No module named 'weasyprint'")))
        with translation.override("en"):
            assert report_pdf.pdf_available() == (
                False,
                "PDF printing needs the Python package WeasyPrint: pip install weasyprint.",
            )
    report_pdf._missing.cache_clear()
    if report_pdf._missing() in ("weasyprint", "pango"):
        pytest.skip("WeasyPrint does not load on this machine")
    report_pdf._missing.cache_clear()
    monkeypatch.setattr(report_pdf, "cjk_family", lambda: None)
    with translation.override("zh-hans"):
        available, why = report_pdf.pdf_available()
    assert available is False and why.endswith("apt-get install fonts-noto-cjk")
    assert "中文字体" in why


def test_this_machine_prints_in_noto_sans_cjk(printing):
    assert report_pdf.pdf_available() == (True, "")
    assert report_pdf.cjk_family() in report_pdf.CJK_FAMILIES


# ── The charts as SVG ─────────────────────────────────────────────────────────────────────────────────────────


def test_the_map_draws_each_district_as_a_path_in_its_colour():
    svg = region_map(DEZHOU, COLOURS, legend=LEGEND)
    assert svg.count("data-code=") == 11
    assert f'fill="{COLOUR_HEX["red"]}" fill-rule="evenodd" stroke="#ffffff" stroke-width="1" data-code="371402"' in svg
    assert f'fill="{COLOUR_HEX[""]}" fill-rule="evenodd" stroke="#ffffff" stroke-width="1" data-code="371482"' in svg
    assert 'fill="url(#hatch-dense)"' in svg and 'fill="url(#hatch-dots)"' in svg  # told apart without colour
    assert ">德城区</text>" in svg and ">绿色</text>" in svg


def test_the_line_chart_leaves_a_gap_for_a_month_without_figures_and_escapes_names():
    svg = line_chart(["1月", "2月", "3月", "4月"], [{"name": "告警<b>", "values": [3, None, 5, 8]}], unit="件")
    assert svg.count("<polyline") == 1  # 3→(gap) then 5→8: only the second run is a line
    assert "告警&lt;b&gt;" in svg and "<b>" not in svg
    assert nice_ticks(56) == [0, 20, 40, 60] and nice_ticks(3, whole=True) == [0, 1, 2, 3]


def test_a_font_probe_that_breaks_does_not_stop_printing(monkeypatch):
    if report_pdf._missing() in ("weasyprint", "pango"):
        pytest.skip("WeasyPrint does not load on this machine")
    report_pdf._missing.cache_clear()

    def broken():
        raise AttributeError("fontconfig bindings moved")

    monkeypatch.setattr(report_pdf, "cjk_family", broken)
    assert report_pdf.pdf_available() == (True, "")
