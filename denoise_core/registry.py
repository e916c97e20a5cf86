"""The registry: every denoiser, noise model and metric is one function plus one ``register``.

``REGISTRY`` is the one ``Registry`` of the process; every question (``get``, ``names``, ``methods``) is
asked of it when it is needed, so methods added while the app runs (imported or fetched weights) are
seen everywhere. A method declares its parameters as a schema (``Param`` subclasses). The UI builds its controls
from the schema, the CLI parses ``--set k=v`` with it, the benchmark records it, and a test checks
it against the function's signature. ``auto`` maps a noise level to parameter values.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .errors import DuplicateMethodError, InvalidParameterError, UnknownMethodError

KINDS = ("denoiser", "noise", "metric", "enhance", "superres")
NAME_RULE = "2-40 lower-case letters, digits or '_', starting with a letter"
_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


def check_name(name: object, what: str = "name") -> str:
    """``name`` if it follows ``NAME_RULE`` (the whole string: no trailing newline); else ``InvalidParameterError``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name[:40]) + "…" if isinstance(name, str) and len(name) > 40 else repr(name)
        raise InvalidParameterError(f"{what} {shown}: use {NAME_RULE}")
    return name


NoiseLevel = Mapping[str, float]
"""Estimated or known noise strength: ``{"sigma": std in [0, 1] units, "impulse": fraction}``."""


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a method: its name, default and one-line help."""

    name: str
    default: Any
    help: str = ""

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise if it is out of range."""
        return value

    def parse(self, text: str) -> Any:
        """Read a value from its command-line spelling."""
        return self.check(text)

    def _fail(self, value: Any, expected: str) -> None:
        raise InvalidParameterError(f"parameter '{self.name}' = {value!r}: expected {expected}")


@dataclass(frozen=True)
class FloatParam(Param):
    lo: float = 0.0
    hi: float = 1.0
    step: float | None = None
    log: bool = False
    """Spans decades (photon counts): a control steps through it on a logarithmic scale."""

    def check(self, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self._fail(value, f"a number in [{self.lo}, {self.hi}]")
        if not self.lo <= number <= self.hi:
            self._fail(value, f"a number in [{self.lo}, {self.hi}]")
        return number


@dataclass(frozen=True)
class IntParam(Param):
    lo: int = 0
    hi: int = 100
    step: int = 1

    def check(self, value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            self._fail(value, f"an integer in [{self.lo}, {self.hi}]")
        if number != float(value) or not self.lo <= number <= self.hi:
            self._fail(value, f"an integer in [{self.lo}, {self.hi}]")
        if (number - self.lo) % self.step:
            self._fail(value, f"an integer in [{self.lo}, {self.hi}] in steps of {self.step}")
        return number


@dataclass(frozen=True)
class ChoiceParam(Param):
    choices: tuple = ()

    def check(self, value: Any) -> Any:
        if value not in self.choices:
            self._fail(value, "one of " + ", ".join(map(str, self.choices)))
        return value


@dataclass(frozen=True)
class BoolParam(Param):
    def check(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        self._fail(value, "true or false")

    def parse(self, text: str) -> bool:
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if str(text).lower() not in words:
            self._fail(text, "true or false")
        return words[str(text).lower()]


@dataclass(frozen=True)
class Level:
    """The parameter that sets a noise model's strength, and how people write it.

    Levels are shown and typed as the parameter × ``scale`` (Gaussian σ on the 0–255 scale); ``sweep`` holds
    the usual levels in those units; ``estimate`` names the key of ``estimate.noise_level`` that measures it
    blind from a noisy image (``sigma``, ``impulse``), empty when none does; ``fit`` how the level is
    measured with the clean image at hand.
    """

    param: str
    scale: float = 1.0
    sweep: tuple[float, ...] = ()
    estimate: str = ""
    fit: str = ""
    """How ``analysis.fitted_level`` measures the level from the clean and the noisy image: ``impulse`` (the
    share of pixels changed), ``peak`` (Poisson: mean / variance of the residual), ``var`` (speckle: residual
    variance / mean square); empty: the residual's σ."""

    @property
    def label(self) -> str:
        """The parameter as levels are written, e.g. ``sigma × 255``."""
        return self.param + (f" × {self.scale:g}" if self.scale != 1 else "")


@dataclass(frozen=True)
class Method:
    """A registered function with its schema and how it is shown and compared."""

    name: str
    kind: str
    func: Callable
    params: tuple[Param, ...] = ()
    family: str = ""
    title: str = ""
    auto: Callable[[NoiseLevel], dict] | None = None
    higher_is_better: bool | None = None
    value_range: tuple[float, float] | None = None
    tags: tuple[str, ...] = field(default=())
    level: Level | None = None
    """A noise model's strength parameter (``Level``)."""

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (inspect.getdoc(self.func) or "").splitlines()[0] if self.func.__doc__ else ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        valid = ", ".join(p.name for p in self.params) or "none"
        raise InvalidParameterError(f"{self.kind} '{self.name}' has no parameter {name!r} (valid: {valid})")

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def resolve(self, given: Mapping[str, Any] | None = None, level: NoiseLevel | None = None) -> dict:
        """Full, checked parameters: defaults, then ``auto(level)`` when a level is given, then ``given``."""
        values = self.defaults()
        if level is not None and self.auto is not None:
            values.update(self.auto(level))
        for name, value in (given or {}).items():
            values[name] = self.param(name).check(value)
        return {name: self.param(name).check(value) for name, value in values.items()}

    def parse(self, assignments: list[str]) -> dict:
        """Parse CLI ``k=v`` strings with this method's schema."""
        values = {}
        for item in assignments:
            name, sep, text = item.partition("=")
            if not sep:
                raise InvalidParameterError(f"'--set {item}': expected NAME=VALUE")
            values[name] = self.param(name.strip()).parse(text.strip())
        return values


class Registry:
    """The registered methods by (kind, name), in registration order."""

    def __init__(self, methods: dict[tuple[str, str], Method] | None = None):
        self._methods = dict(methods or {})

    def add(self, method: Method, *, replace: bool = False) -> None:
        """Register ``method``; a name its kind already has raises ``DuplicateMethodError`` unless ``replace``."""
        if (method.kind, method.name) in self._methods and not replace:
            raise DuplicateMethodError(f"{method.kind} '{method.name}' is already registered; choose another name")
        self._methods[method.kind, method.name] = method

    def get(self, name: str, kind: str) -> Method:
        """The method registered as ``name`` of ``kind``; ``UnknownMethodError`` lists the valid names."""
        try:
            return self._methods[kind, name]
        except KeyError:
            raise UnknownMethodError(f"unknown {kind} {name!r} (valid: {', '.join(self.names(kind))})") from None

    def methods(self, kind: str | None = None, family: str | None = None) -> list[Method]:
        """Registered methods of ``kind`` and ``family`` (all when None), in registration order."""
        return [m for (k, _), m in self._methods.items()
                if (kind is None or k == kind) and (family is None or m.family == family)]

    def names(self, kind: str | None = None, family: str | None = None) -> list[str]:
        return [m.name for m in self.methods(kind, family)]

    def copy(self) -> "Registry":
        """An independent registry holding the same methods (a test's or a sandbox's)."""
        return Registry(self._methods)


REGISTRY = Registry()


def register(name: str, *, kind: str, params: list[Param] | tuple = (), family: str = "", title: str = "",
             auto: Callable[[NoiseLevel], dict] | None = None, higher_is_better: bool | None = None,
             value_range: tuple[float, float] | None = None, tags: tuple[str, ...] = (),
             level: Level | None = None, replace: bool = False) -> Callable:
    """Decorator that registers ``func`` under ``(kind, name)`` in ``REGISTRY`` and returns it unchanged.

    Raises ``InvalidParameterError`` for a name that breaks ``NAME_RULE`` and ``DuplicateMethodError`` for
    one already registered, unless ``replace`` (re-imported weights take their name back). A noise model
    states its strength parameter as ``level``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    check_name(name, f"{kind} name")
    if level is not None and level.param not in {p.name for p in params}:
        raise InvalidParameterError(f"{kind} '{name}': level parameter {level.param!r} is not in its schema")

    def decorate(func: Callable) -> Callable:
        REGISTRY.add(Method(name, kind, func, tuple(params), family, title or name, auto, higher_is_better,
                            value_range, tuple(tags), level), replace=replace)
        return func

    return decorate


def get(name: str, kind: str) -> Method:
    """``REGISTRY.get``: the method registered as ``name`` of ``kind``."""
    return REGISTRY.get(name, kind)


def names(kind: str | None = None, family: str | None = None) -> list[str]:
    """``REGISTRY.names``: registered names of ``kind`` and ``family`` (all when None), in registration order."""
    return REGISTRY.names(kind, family)


def methods(kind: str | None = None, family: str | None = None) -> list[Method]:
    """``REGISTRY.methods``."""
    return REGISTRY.methods(kind, family)
