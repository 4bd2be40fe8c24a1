"""What a nurse reads is in words, never a program key: the demo clinic's pages (pump and
stimulator patients), the error of every form field given nonsense, the saved messages and the
findings show no ``snake_case`` key and no ``dotted.path``. Sources (``<small>``) and web
addresses are citations and are not scanned. A field path stays the API's ``field``."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.web.conftest import login
from thecal.api.context import AppContext
from thecal.units import InputError, field_words, in_words
from thecal.web.app import create_app
from thecal.web.pages_common import SAVED

KEY = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]\w*\.[a-z]\w*\b")
URL = re.compile(r"https?://\S+")
# Words that look like keys but are English.
ALLOWED = {"e.g", "i.e"}
# The audit trail lists the stored columns a change touched (its own page, its own issue).
NOT_SCANNED = ("/audit", "/logout")


class _Visible(HTMLParser):
    """The text a reader sees, without scripts, styles, sources (``<small>``) and the program
    file being edited (``<textarea>``: its keys are the file's format); the links and the POST
    forms (action, fields with their values, which are text fields)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.forms: list[tuple[str, dict[str, str], list[str]]] = []
        self._hidden = 0
        self._form: tuple[str, dict[str, str], list[str]] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style", "small", "textarea"):
            self._hidden += 1
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form" and a.get("method", "").lower() == "post":
            self._form = (a.get("action", ""), {}, [])
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea") and "name" in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form[1][a["name"]] = a.get("value", "")
            if kind == "text" or tag == "textarea":
                self._form[2].append(a["name"])
            if tag == "textarea":
                self._textarea = a["name"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "small", "textarea"):
            self._hidden -= 1
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            fields = self._form[1]  # a textarea's value is its content
            fields[self._textarea] = fields.get(self._textarea, "") + data
        if not self._hidden:
            self.text.append(data)


def _parse(html: str) -> _Visible:
    page = _Visible()
    page.feed(html)
    return page


def keys_in(text: str) -> set[str]:
    """The program keys in ``text`` (web addresses left out)."""
    return {m.group() for m in KEY.finditer(URL.sub(" ", text))} - ALLOWED


def test_the_scanner_finds_keys_and_lets_words_through() -> None:
    assert keys_in("battery.voltage: cannot read 'x'") == {"battery.voltage"}
    assert keys_in("below low_reservoir_threshold (e.g. 2.5 mL, see https://a.b/c_d)") == {
        "low_reservoir_threshold"
    }
    assert keys_in("Battery voltage: 2.5 V, 10 mcg/mL, SynchroMed II 8637-20") == set()


def _pages(client: TestClient, ctx: AppContext) -> Iterator[tuple[str, str]]:
    """Every page a signed-in physician reaches from the top pages and the patients' pages
    (the links inside a patient: program, refill, stimulators, registration, sessions)."""
    with ctx.uow.reader() as repo:
        patients = repo.list_patients()
    todo = ["/", "/calendar", "/patients", "/worklist", "/alarms", "/implants", "/patients/new"]
    todo += [f"/patients/{p.id}" for p in patients]
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        if url in seen or url.startswith(NOT_SCANNED) or url.endswith(".svg"):
            continue
        seen.add(url)
        r = client.get(url)
        assert r.status_code == 200, url
        yield url, r.text
        todo += [link.split("?")[0] for link in _parse(r.text).links if "/patients/" in link]


def test_no_key_on_any_page_of_the_demo_clinic(ctx: AppContext) -> None:
    client = TestClient(create_app(ctx))
    login(client, "physician")
    found = {}
    stimulator_pages = 0
    for url, html in _pages(client, ctx):
        stimulator_pages += "/stimulators/" in url
        for key in keys_in(" ".join(_parse(html).text)):
            found.setdefault(key, url)
    assert stimulator_pages > 0  # the stimulator patients were walked, not only the pumps
    assert found == {}


def test_no_key_in_the_error_of_any_form_field(ctx: AppContext) -> None:
    """Each text field of each form of a pump patient and a stimulator patient given nonsense,
    then the whole form empty: the refusal names the field in words."""
    client = TestClient(create_app(ctx), raise_server_exceptions=False)
    login(client, "physician")
    with ctx.uow.reader() as repo:
        patients = repo.list_patients()
    links = {p.id: _parse(client.get(f"/patients/{p.id}").text).links for p in patients}
    pump = next(p.id for p in patients if p.mrn == "DEMO-0001")
    stim = next(i for i, found in links.items() if any("/stimulators/" in u for u in found))
    pages = ["/patients/new", "/implants", "/alarms"]
    for pid in (pump, stim):
        base = f"/patients/{pid}"
        pages += [base, f"{base}/procedures/new", f"{base}/complications/new",
                  f"{base}/registration/edit"]  # fmt: skip
        pages += [u for u in links[pid] if "/patients/" in u and "svg" not in u]
    found: dict[str, tuple[str, str | None]] = {}
    errors = 0
    tried: set[tuple[str, tuple[str, ...]]] = set()
    for page in pages:
        for action, fields, texts in _parse(client.get(page).text).forms:
            if action == "/logout" or (action, tuple(fields)) in tried:
                continue
            tried.add((action, tuple(fields)))
            keep = {"csrf", "version", "step"}
            tries = [(name, {**fields, name: "zz"}) for name in texts]
            tries.append((None, {k: (v if k in keep else "") for k, v in fields.items()}))
            for name, data in tries:
                r = client.post(action or page, data=data)
                assert r.status_code < 500, (action, name)
                errors += r.status_code >= 400
                for key in keys_in(" ".join(_parse(r.text).text)):
                    found.setdefault(key, (action, name))
    assert errors >= 20  # the forms refused nonsense: their error paths were seen
    assert found == {}


def test_saved_messages_are_words() -> None:
    assert {k: keys_in(m) for k, m in SAVED.items() if keys_in(m)} == {}


def test_a_field_path_reads_as_words() -> None:
    err = InputError("battery.voltage", "cannot read 'zz'", "a voltage such as 3.1 V")
    assert err.field == "battery.voltage"  # the API's field keeps the path
    assert str(err).startswith("battery.voltage: ")  # the CLI names the key to edit
    assert err.in_words() == "Battery voltage: cannot read 'zz' (expected a voltage such as 3.1 V)"
    assert field_words("pump.low_reservoir_alarm") == "pump low reservoir alarm"
    assert field_words("leads[0].serial") == "leads 1 serial"  # rows counted from 1
    assert field_words("battery.at") == "battery time"
    assert in_words("interrogation failed: no reply") == "interrogation failed: no reply"


_SEGMENT = st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){0,3}", fullmatch=True)


@given(st.lists(_SEGMENT, min_size=1, max_size=4), st.integers(0, 50))
def test_any_field_path_loses_its_dots_and_underscores(parts: list[str], index: int) -> None:
    path = ".".join(parts) + (f"[{index}]" if index % 2 else "")
    shown = InputError(path, "is required").in_words()
    field, _, message = shown.partition(": ")
    assert message == "is required"
    assert not re.search(r"[._\[\]]", field), shown
