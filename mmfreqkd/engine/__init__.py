"""Runner extensions: hooks."""
from . import hooks  # noqa: F401  (registration)
