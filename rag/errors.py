"""The few exceptions the library raises. The CLI prints their message and exits with code 2."""


class RagError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class InputError(RagError):
    """A file, line or field given by the user cannot be used."""


class ModelError(RagError):
    """A model is missing, corrupt, or does not match the index."""


class StoreError(RagError):
    """An index is missing, damaged, or was built differently from what is asked."""


def check_counts(*named: tuple[str, object], kinds: tuple[type, ...] = (int,)) -> None:
    """Raise ``InputError`` unless every ``(name, value)`` given is a whole number of at least 1 (of ``kinds``;
    ``True`` is not one)."""
    for name, value in named:
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 1:
            raise InputError(f"{name} must be a whole number of at least 1, got {value!r}")
