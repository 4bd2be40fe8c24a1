"""The one error type a user can cause: it names the field and the expected form."""


class InputError(ValueError):
    """Bad input. ``field`` is a dotted path (``schedule.basal.rate``); ``expected`` says what
    would have been accepted. Entry points turn it into exit code 2 / HTTP 422."""

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
