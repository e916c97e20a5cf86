"""Denoise Workbench's library: images in, noise models, denoisers, metrics, evaluation.

Importing the package registers every method: the modules that define them are imported here,
explicitly (the denoisers, enhancers and super-resolution from ``methods/``). The public entry points are
re-exported below; ``registry.methods()`` lists the registered methods.
"""
# registers the methods of every kind, in the order the registry lists them
from .methods import classical, impulse, enhance, learned  # noqa: F401
from . import metrics, noise  # noqa: F401
from .methods import superres  # noqa: F401
from .apply import add_noise, denoise, resolve
from .errors import DenoiseError, InvalidImageError, InvalidParameterError, UnknownMethodError, WeightsError
from .metrics import measure
from .registry import get, names

__all__ = ["add_noise", "denoise", "resolve", "measure", "get", "names", "DenoiseError",
           "InvalidImageError", "InvalidParameterError", "UnknownMethodError", "WeightsError"]
