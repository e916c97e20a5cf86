"""Denoise Workbench's library: images in, noise models, denoisers, metrics, evaluation.

Importing the package registers every method: the modules that define them are imported here,
explicitly. The public entry points are re-exported below.
"""
from . import classical, enhance, learned, metrics, noise, superres  # noqa: F401  (registers the methods of every kind)
from .apply import add_noise, denoise, resolve
from .errors import DenoiseError, InvalidImageError, InvalidParameterError, UnknownMethodError, WeightsError
from .metrics import measure
from .registry import get, methods, names

__all__ = ["add_noise", "denoise", "resolve", "measure", "get", "methods", "names", "DenoiseError",
           "InvalidImageError", "InvalidParameterError", "UnknownMethodError", "WeightsError"]
