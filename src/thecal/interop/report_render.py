"""Render a report: a Jinja2 template of the web app (``web/templates``, the pages' partials and
``web/static/thecal.css`` with its print rules) to HTML, then to PDF with WeasyPrint.

Reports are read-only views of the clinic's records. The renderer fetches nothing from the
network: only ``data:`` URLs (the charts) and files of ``web/static`` are loaded, any other URL
is refused, so text a user typed can never make the PDF reach out."""

import base64
import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jinja2

import thecal
from thecal import NOT_A_MEDICAL_DEVICE
from thecal.clinic.calendar import RefillStatus
from thecal.therapy.findings import Level
from thecal.units import fmt

WEB = Path(thecal.__file__).parent / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
PDF = "application/pdf"

# Level and refill status → the shared status class (thecal.css; the text always says the
# level too): the web pages and the reports' partials use the same two functions below.
_LEVEL_CLASS = {Level.HARD: "status-hard", Level.SOFT: "status-soft", Level.INFO: "status-info"}
_ALARM_CLASS = {"critical": "status-hard", "non-critical": "status-soft"}
_REFILL_CLASS = {
    RefillStatus.OVERDUE: "status-hard", RefillStatus.DUE: "status-hard",
    RefillStatus.DUE_SOON: "status-soft", RefillStatus.SCHEDULED: "status-ok",
    RefillStatus.UNKNOWN: "status-info",
}  # fmt: skip


@dataclass(frozen=True)
class Printed:
    """Who printed a report (a clinic username or display name) and when (clinic local time)."""

    by: str
    at: datetime


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "—"


def _dwell(q: Any) -> str:
    """A dwell time in days: "412 d (1.1 years)"; 1 year = 365.25 d (Julian year)."""
    days = float(q.to("d").magnitude)
    return f"{days:,.0f} d ({days / 365.25:.1f} years)" if days >= 365.25 else f"{days:,.0f} d"


def level_class(level: Level | str) -> str:
    """``status-hard|soft|info`` for a finding level (its enum or its text) or an alarm
    priority ("critical": hard, "non-critical": soft); anything else: info."""
    try:
        return _LEVEL_CLASS[Level(level)]
    except ValueError:
        return _ALARM_CLASS.get(str(level), "status-info")


def refill_class(status: RefillStatus) -> str:
    """The status class of a refill calendar status (overdue and due today: hard)."""
    return _REFILL_CLASS[status]


@functools.cache
def environment() -> jinja2.Environment:
    """The report templates' environment: the web app's templates and filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=False
    )
    env.globals["NOTICE"] = NOT_A_MEDICAL_DEVICE
    env.globals["RefillStatus"] = RefillStatus
    env.globals["refill_class"] = refill_class
    env.filters["q"] = lambda q: fmt(q) if q is not None else "—"
    env.filters["when"] = _when
    env.filters["dwell"] = _dwell
    env.filters["level_class"] = level_class
    return env


def svg_data_url(svg: str) -> str:
    """An SVG document as a ``data:`` URL for an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def render_html(template: str, printed: Printed, **context: Any) -> str:
    """``reports/<template>`` rendered with ``printed`` (who, when) and ``context``."""
    return environment().get_template(f"reports/{template}").render(printed=printed, **context)


def _fetcher() -> Any:
    """WeasyPrint's URL fetcher limited to ``data:`` URLs and files of ``web/static``."""
    from weasyprint.urls import URLFetcher

    static = STATIC.resolve()

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not (path.is_relative_to(static) and path.is_file()):
                    raise ValueError(f"a report loads no file outside web/static: {url!r}")
            elif parsed.scheme != "data":
                raise ValueError(f"a report loads no resource from {url!r}")
            return super().fetch(url, headers)

    return StaticOnly(allowed_protocols=("file", "data"), allow_redirects=False)


def to_pdf(html: str) -> bytes:
    """The HTML as PDF bytes (A4, the stylesheet's print rules; tagged for accessibility)."""
    from weasyprint import HTML  # on use: slow to import and needed by reports only

    document = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=_fetcher())
    pdf = document.write_pdf(pdf_tags=True)
    assert pdf is not None  # no target given: the bytes are returned
    return bytes(pdf)


__all__ = ["PDF", "Printed", "environment", "render_html", "svg_data_url", "to_pdf"]
