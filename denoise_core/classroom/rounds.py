"""A round of the classroom: what the lecturer chose, its class code, each voter's pairs and the images.

A round is a sample image (or several) × a noise (or several) × the methods to compare. Each
(image, noise) is a *condition*; every voter gets ``pairs`` of its comparisons (two methods on one
condition) in an order and with sides drawn from the round's code and the voter's id, so a voter who
comes back sees the same pairs, and two voters see different orders.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import secrets
from typing import Any

import numpy as np

from .. import apply, metrics, registry, samples
from ..benchmark.store import Store
from ..errors import InvalidParameterError, one_line
from ..image import to_display, window_bounds, window_presets

CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Letters of a class code: none that reads like another (no I/1, O/0, L)."""
CODE_LENGTH = 5
CHOICES = ("a", "b", "same")


@dataclasses.dataclass(frozen=True)
class Round:
    """What a round shows.

    Parameters
    ----------
    kind : "vote" (blind A/B pairs) or "challenge" (students denoise; scored against the hidden clean image).
    images : sample names (``denoise_core.samples``).
    noises : ``{"model": name, "params": {...}}`` per noise, registered noise models.
    methods : registered denoisers compared (automatic parameters); two or more for a vote.
    pairs : pairs each voter judges, 1 to 200.
    crop : ``(x, y, side)`` in pixels: the zoomed square both sides show, or None for the whole image.
    seed : seed of the first condition's noise (the next condition's is seed + 1, ...).
    code : the class code, once the round is open.
    """

    kind: str
    images: tuple[str, ...]
    noises: tuple[dict, ...]
    methods: tuple[str, ...] = ()
    pairs: int = 10
    crop: tuple[int, int, int] | None = None
    seed: int = 0
    code: str = ""

    def config(self) -> dict[str, Any]:
        """The round as plain JSON values (what the store keeps)."""
        found = dataclasses.asdict(self)
        found.pop("code")
        return found

    @classmethod
    def from_config(cls, code: str, config: dict[str, Any]) -> "Round":
        """The round stored under ``code``."""
        crop = config.get("crop")
        return cls(kind=config["kind"], images=tuple(config["images"]), noises=tuple(config["noises"]),
                   methods=tuple(config["methods"]), pairs=int(config["pairs"]),
                   crop=tuple(crop) if crop else None, seed=int(config["seed"]), code=code)


def check(round_: Round) -> Round:
    """``round_`` when it can run, its noise parameters resolved.

    Raises
    ------
    InvalidParameterError
        No image or noise, an unknown name, fewer than two methods for a vote, pairs outside 1..200, a crop
        smaller than 16 pixels.
    """
    if round_.kind not in ("vote", "challenge"):
        raise InvalidParameterError(f"round kind {round_.kind!r}: use 'vote' or 'challenge'")
    if not round_.images or not round_.noises:
        raise InvalidParameterError("a round needs at least one image and one noise")
    known = {sample.name for sample in samples.samples()}
    for name in round_.images:
        if name not in known:
            raise InvalidParameterError(f"image {one_line(name, 40)!r} is not a sample image "
                                        f"(choose from {', '.join(sorted(known))})")
    noises = tuple({"model": n["model"], "params": registry.get(n["model"], "noise").resolve(n.get("params"))}
                   for n in round_.noises)
    for name in round_.methods:
        registry.get(name, "denoiser")
    if round_.kind == "vote" and len(set(round_.methods)) < 2:
        raise InvalidParameterError("a vote compares at least two methods")
    if not 1 <= round_.pairs <= 200:
        raise InvalidParameterError(f"pairs per student {round_.pairs}: use 1 to 200")
    if round_.crop is not None and round_.crop[2] < 16:
        raise InvalidParameterError(f"zoomed crop of {round_.crop[2]} pixels: use a side of 16 or more")
    return dataclasses.replace(round_, noises=noises, methods=tuple(dict.fromkeys(round_.methods)))


def new_code() -> str:
    """A random class code, e.g. ``K7MXQ``."""
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def open_round(store: Store, round_: Round) -> Round:
    """Check ``round_``, store it under a new class code and return it with that code.

    Raises
    ------
    InvalidParameterError
        See :func:`check`.
    StoreError
        The code drawn is taken.
    """
    round_ = check(round_)
    code = new_code()  # one of 28 million: a code taken already is one line that says to open it again
    store.open_round(code, round_.kind, round_.config())
    return dataclasses.replace(round_, code=code)


def load_round(store: Store, code: str) -> Round:
    """The round stored under class ``code`` (letters in any case, spaces ignored).

    Raises
    ------
    StoreError
        No round has that code.
    """
    code = "".join(code.split()).upper()
    kind, config = store.round(code)
    return Round.from_config(code, {**config, "kind": kind})


def conditions(round_: Round) -> list[tuple[str, int]]:
    """``(image, noise index)`` of every condition of ``round_``, in order."""
    return [(image, index) for image in round_.images for index in range(len(round_.noises))]


def noise_label(round_: Round, index: int) -> str:
    """The noise model of noise ``index``, with its place when the round has the same model twice."""
    model = round_.noises[index]["model"]
    repeated = sum(n["model"] == model for n in round_.noises) > 1
    return f"{model} #{index + 1}" if repeated else model


@dataclasses.dataclass(frozen=True)
class Pair:
    """One comparison shown to a voter: ``index`` in the voter's list, the condition, method ``a`` on the
    left and ``b`` on the right."""

    index: int
    condition: int
    a: str
    b: str


def schedule(round_: Round, voter: str) -> list[Pair]:
    """The ``round_.pairs`` pairs ``voter`` judges: every comparison once, in an order drawn for this voter,
    before any comes again; each side drawn at random."""
    every = [(c, first, second) for c in range(len(conditions(round_)))
             for first, second in itertools.combinations(round_.methods, 2)]
    digest = hashlib.sha256(f"{round_.code}/{voter}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    order: list[tuple[int, str, str]] = []
    while len(order) < round_.pairs:
        order += [every[i] for i in rng.permutation(len(every))]
    pairs = []
    for index, (condition, first, second) in enumerate(order[:round_.pairs]):
        a, b = (second, first) if rng.random() < 0.5 else (first, second)
        pairs.append(Pair(index, condition, a, b))
    return pairs


def record_vote(store: Store, round_: Round, voter: str, pair: Pair, choice: str) -> bool:
    """Store ``voter``'s ``choice`` ("a", "b" or "same") on ``pair``; False when that vote was stored already.

    Raises
    ------
    InvalidParameterError
        ``choice`` is none of the three.
    """
    if choice not in CHOICES:
        raise InvalidParameterError(f"vote {choice!r}: use 'a', 'b' or 'same'")
    return store.add_vote(round_.code, voter, pair.index, pair.condition, pair.a, pair.b, choice)


def outputs(round_: Round, condition: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], Any]:
    """``(clean, noisy, {method: denoised}, meta)`` of one condition: the noise drawn with seed
    ``round_.seed + condition``, each method with its automatic parameters."""
    image, index = conditions(round_)[condition]
    clean, meta = samples.load_sample(image)
    noise = round_.noises[index]
    noisy = apply.add_noise(clean, noise["model"], noise["params"], seed=round_.seed + condition)
    return clean, noisy, {method: apply.denoise(noisy, method) for method in round_.methods}, meta


def view(round_: Round, image: np.ndarray, meta: Any) -> np.ndarray:
    """``image`` as both sides show it: uint8 in the file's own display window (else its full range), cut to
    the round's crop."""
    presets = window_presets(meta)
    shown = to_display(image, window_bounds(meta, presets.get("From the file", presets["Full range"])))
    if round_.crop is None:
        return shown
    x, y, side = round_.crop
    height, width = shown.shape[:2]
    x, y = min(max(x, 0), max(width - side, 0)), min(max(y, 0), max(height - side, 0))
    return shown[y:y + side, x:x + side]


def scores(round_: Round) -> list[dict[str, Any]]:
    """PSNR, SSIM and LPIPS (when its weights are here) of every method on every condition, against the
    clean image: one dict per (condition, method) with ``condition``, ``image``, ``noise``, ``method`` and
    each metric."""
    names = ["psnr", "ssim"] + (["lpips"] if metrics.available("lpips") else [])
    rows = []
    for condition, (image, index) in enumerate(conditions(round_)):
        clean, _, results, _ = outputs(round_, condition)
        for method, result in results.items():
            rows.append({"condition": condition, "image": image, "noise": noise_label(round_, index),
                         "method": method, **metrics.measure(clean, result, names)})
    return rows
