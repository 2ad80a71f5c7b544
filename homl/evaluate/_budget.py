"""What a diagnostic raises when it cannot finish before its deadline."""


class OutOfTime(Exception):
    """A diagnostic could not finish before its deadline."""
