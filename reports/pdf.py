"""Printing a report: HTML to PDF with WeasyPrint, its Chinese text set in an embedded CJK font (Noto Sans CJK,
found through fontconfig as Pango finds it), and whether this machine can print at all.

WeasyPrint needs Pango from the system; without it, importing it raises OSError. Callers ask `pdf_available()`
first and show its words instead of failing (docs/decisions/010-report-pdf-and-charts.md)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.utils.translation import gettext as _

# Simplified-Chinese sans fonts, best first; fontconfig resolves the first one installed.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
)
FONT_STACK = ", ".join(f'"{family}"' for family in CJK_FAMILIES) + ", sans-serif"
PRINT_CSS = f"""
@page {{ size: A4; margin: 18mm 16mm 20mm; @bottom-center {{ content: counter(page) " / " counter(pages);
  font-size: 8pt; color: #6b7280; }} }}
html {{ font-family: {FONT_STACK}; font-size: 10.5pt; line-height: 1.5; color: #111827; }}
h1, h2, h3 {{ line-height: 1.3; break-after: avoid; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.5pt solid #d1d5db; padding: 2pt 5pt; text-align: left; }}
td.number, th.number {{ text-align: right; font-variant-numeric: tabular-nums; }}
svg {{ max-width: 100%; height: auto; }}
figure {{ margin: 0 0 10pt; break-inside: avoid; }}
"""
SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"

log = logging.getLogger(__name__)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per rendering step otherwise


def pdf_available() -> tuple[bool, str]:
    """(True, "") when this machine can print a report; else (False, what to install, in plain words)."""
    missing = _missing()
    if missing == "weasyprint":
        return False, _("PDF printing needs the Python package WeasyPrint: pip install weasyprint.")
    if missing == "pango":
        return False, _(
            "PDF printing needs Pango and a Chinese font on the server. On Debian or Ubuntu: "
            "apt-get install %(packages)s"
        ) % {"packages": SYSTEM_PACKAGES}
    if missing == "font":
        return False, _(
            "PDF printing needs a Chinese font on the server (Noto Sans CJK). On Debian or Ubuntu: "
            "apt-get install fonts-noto-cjk"
        )
    return True, ""


@functools.cache
def _missing() -> str:
    """What this machine lacks to print, found once per process (installing Pango or a font takes a restart):
    "weasyprint", "pango", "font" or ""."""
    try:
        import weasyprint  # noqa: F401  (Pango and its libraries load here)
    except ImportError:
        return "weasyprint"
    except OSError:
        return "pango"
    try:
        return "" if cjk_family() else "font"
    except Exception:  # the probe reads WeasyPrint's fontconfig bindings, which are not its public API
        log.warning("could not ask fontconfig for a CJK font; printing anyway", exc_info=True)
        return ""


@functools.cache
def cjk_family() -> str | None:
    """The first of CJK_FAMILIES that fontconfig knows (what Pango will use for the report's text), or None."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = fontconfig.FcInitLoadConfigAndFonts()
    try:
        for family in CJK_FAMILIES:
            pattern = fontconfig.FcPatternCreate()
            fontconfig.FcPatternAddString(pattern, b"family", family.encode())
            fontconfig.FcConfigSubstitute(config, pattern, fontconfig.FcMatchPattern)
            fontconfig.FcDefaultSubstitute(pattern)
            result = ffi.new("FcResult *")
            match = fontconfig.FcFontMatch(config, pattern, result)
            fontconfig.FcPatternDestroy(pattern)
            if match == ffi.NULL:
                continue
            found = ffi.new("FcChar8 **")
            matched = ""
            if fontconfig.FcPatternGetString(match, b"family", 0, found) == fontconfig.FcResultMatch:
                matched = ffi.string(found[0]).decode()
            fontconfig.FcPatternDestroy(match)
            if matched == family:
                return family
    finally:
        fontconfig.FcConfigDestroy(config)
    return None


def _readable_roots() -> list[Path]:
    roots = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    return [root.resolve() for root in roots]


def html_to_pdf(html: str, *, base_url: str | Path | None) -> bytes:
    """The PDF of an HTML document (A4, the CJK font embedded, inline SVG kept as vectors).

    `base_url` is what relative links resolve against (a folder of static files; None when the document links to
    nothing). Only `data:` URLs and files under the static folders are read: a report never makes the server
    fetch from the network."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    roots = _readable_roots()

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(unquote(urlparse(url).path)).resolve()
                if not any(path.is_relative_to(root) for root in roots):
                    raise ValueError(f"not a static file: {url}")
            return super().fetch(url, headers)

    fetcher = LocalFetcher(allowed_protocols=("file", "data"), allow_redirects=False)
    base = Path(base_url).resolve().as_uri() + "/" if isinstance(base_url, Path) else base_url
    document = HTML(string=html, base_url=base, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[CSS(string=PRINT_CSS)])
