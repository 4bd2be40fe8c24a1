"""The one error type a user can cause: it names the field and the expected form."""

import re


class InputError(ValueError):
    """Bad input. ``field`` is a dotted path (``schedule.basal.rate``); ``expected`` says what
    would have been accepted. Entry points turn it into exit code 2 / HTTP 422.

    ``str()`` is ``<field>: <message> (expected …)``, the path a file's author edits (CLI, logs);
    a form shows :meth:`in_words`, the same with the path in words."""

    def __init__(self, field: str, message: str, expected: str | None = None) -> None:
        self.field = field
        self.message = message
        self.expected = expected
        text = f"{field}: {message}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)

    def at(self, prefix: str) -> "InputError":
        """The same error with ``prefix`` prepended to its field path."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return InputError(field, self.message, self.expected)

    def in_words(self) -> str:
        """The error as a nurse reads it: ``Battery voltage: cannot read 'x' …``."""
        return in_words(str(self))


# Path segments whose plain reading would mislead ("battery at" is the time of the reading).
_SEGMENT_WORDS = {
    "at": "time",
    "toml": "file",
    "mrn": "MRN",
    "ipg": "IPG",
    "eos": "end-of-service",
    "id": "record",
    "values": "readings",
}
_INDEX = re.compile(r"\[(\d+)\]")
# The "<field>: " that InputError puts first: a lowercase word, then dotted segments (a contact
# name such as "L1:0" may follow a dot) and [n] indexes.
_FIELD_PREFIX = re.compile(r"([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_:]+|\[\d+\])*): ", re.ASCII)


def field_words(field: str) -> str:
    """A field path in words: ``battery.voltage`` → "battery voltage",
    ``patient.date_of_birth`` → "patient date of birth", ``leads[0].serial`` → "leads 1 serial"
    (indexes count from 1, as a nurse counts rows)."""
    spaced = _INDEX.sub(lambda m: f" {int(m.group(1)) + 1}", field)
    words = [_SEGMENT_WORDS.get(w, w) for w in re.split(r"[._\s]+", spaced) if w]
    return " ".join(words)


def field_label(field: str) -> str:
    """:func:`field_words` capitalised, as a form shows it: "Battery voltage"."""
    words = field_words(field)
    return f"{words[:1].upper()}{words[1:]}"


def in_words(text: str) -> str:
    """``text`` with a leading ``<field path>: `` (as :class:`InputError` writes it) in words,
    capitalised; any other text is returned unchanged. Forms and error pages show errors
    through this, so the field reads as the label a nurse sees, not as the program's key."""
    m = _FIELD_PREFIX.match(text)
    if m is None or not any(c in m.group(1) for c in "._["):
        return text
    return f"{field_label(m.group(1))}: {text[m.end() :]}"
