"""The one exception family of the library: every expected failure is a ``DenoiseError``.

The UI and the CLI catch ``DenoiseError`` and show its message as one line; anything else
escaping is a bug. Messages name the bad input and, where there is one, the fix.
"""


class DenoiseError(ValueError):
    """Base class of every error the library raises on purpose."""


class InvalidImageError(DenoiseError):
    """An image that cannot be read or used: corrupt, empty, too large, wrong type or shape."""


class UnknownMethodError(DenoiseError):
    """A method, noise model or metric name that is not registered."""


class InvalidParameterError(DenoiseError):
    """A parameter name the method does not take, or a value outside its range."""


class DuplicateMethodError(InvalidParameterError):
    """A method registered under a name its kind already has, without ``replace=True``."""


class WeightsError(DenoiseError):
    """A weights file that is missing, corrupted (sha256 mismatch) or does not fit its model."""


class BundleError(DenoiseError):
    """A reproducible bundle that cannot be read (corrupt, hostile, another schema) or reproduced here (a method or
    weights file this machine lacks)."""


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` safe to quote in a one-line message: control characters (newlines included) escaped as
    ``\\n``, ``\\x1b``..., and at most ``limit`` characters (cut with ``...``)."""
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return line if limit is None or len(line) <= limit else line[:max(limit - 3, 0)] + "..."

