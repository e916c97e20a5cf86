"""What a number measured on the image is measured on: one caption and one set of labels for every page.

Every metric is computed on the data: the float32 [0, 1] image that ``denoise_core.image`` read,
never on the display window. ``ImageMeta.value_range`` maps [0, 1] back to the file's values (HU
for CT, the stored values otherwise), so an error of the [0, 1] data times the value span is the
same error in the source's units. Plain 8-bit photos (0…255, no modality) get only "8-bit"; every
other image also gets its errors and noise levels in source units.

Pure functions of an ``ImageMeta``-like object (``bit_depth``, ``value_range``, ``units``,
``modality``): no streamlit here.
"""
from __future__ import annotations

SCALED = {"mse": 2, "mae": 1}
"""Metrics whose value in source units is the [0, 1] value times the value span to this power."""


def plain(meta) -> bool:
    """A plain 8-bit image (0…255, no units, no modality): the [0, 1] data speaks for itself."""
    return (meta is None or (not meta.units and not meta.modality and meta.bit_depth == 8
                             and sorted(meta.value_range) == [0.0, 255.0]))


def unit(meta) -> str:
    """The source's unit: ``"HU"`` for CT in Hounsfield units, else ``"raw"`` (the file's stored values)."""
    return (meta.units if meta is not None and meta.units else "raw")


def span(meta) -> float:
    """How many source units [0, 1] spans (``|high − low|`` of ``value_range``; 255 for 8-bit)."""
    low, high = meta.value_range if meta is not None else (0.0, 1.0)
    return abs(float(high) - float(low))


def _number(value: float) -> str:
    text = f"{value:g}"
    return text.replace("-", "−")


def bits(meta) -> str:
    """``"16-bit"`` (``"32-bit float"`` for float files)."""
    return f"{meta.bit_depth}-bit" + (" float" if meta.bit_depth == 32 else "")


def value_map(meta) -> str:
    """How [0, 1] maps to the source, e.g. ``"[0, 1] ↔ −1024…3071 HU"`` (``"inverted"`` for MONOCHROME1)."""
    low, high = meta.value_range
    text = f"[0, 1] ↔ {_number(low)}…{_number(high)} {unit(meta)}"
    return text + (", inverted" if high < low else "")


def measured_on(meta) -> str:
    """What the numbers above are measured on, in one line.

    e.g. ``"Measured on the data (CT, 16-bit, HU; [0, 1] ↔ −1024…3071 HU), never on the display window."``
    and ``"Measured on the data (8-bit)."`` for a plain photo.
    """
    if plain(meta):
        return f"Measured on the data ({kind(meta)})."
    return f"Measured on the data ({kind(meta)}; {value_map(meta)}), never on the display window."


def kind(meta) -> str:
    """The data in a few words: ``"8-bit"`` for a plain photo, else e.g. ``"CT, 16-bit, HU"``, ``"16-bit, raw values"``."""
    if plain(meta):
        return bits(meta) if meta is not None else "[0, 1]"
    return ", ".join([*([meta.modality] if meta.modality else []), bits(meta), meta.units or "raw values"])


def psnr_note(meta) -> str:
    """PSNR's peak, in words: always the full [0, 1] data range."""
    peak = "" if plain(meta) else f" = {_number(span(meta))} {unit(meta)}"
    return f"PSNR on the [0, 1] data: peak = full data range{peak}."


def caption(meta, *, psnr: bool = False) -> str:
    """:func:`measured_on`, plus how PSNR is defined when the table shows it."""
    return measured_on(meta) + (" " + psnr_note(meta) if psnr else "")


def scaled_label(title: str, meta, power: int = 1) -> str:
    """Label of a value in source units: ``"MAE (HU)"``, ``"MSE (HU²)"``, ``"σ (raw)"``."""
    return f"{title} ({unit(meta)}{'²' if power == 2 else ''})"


def scaled(values: dict[str, float], meta, titles: dict[str, str]) -> dict[str, float]:
    """The metrics of :data:`SCALED` in ``values`` (keyed by metric name) in source units, keyed by label.

    Empty for a plain image: its [0, 1] numbers need no second copy.
    """
    if plain(meta):
        return {}
    return {scaled_label(titles.get(name, name.upper()), meta, power): values[name] * span(meta) ** power
            for name, power in SCALED.items() if name in values}


def sigma(value: float, meta) -> str:
    """A noise standard deviation given in [0, 1] units, as people read it: ``"25.00 /255"``, and
    ``"25.00 /255 · 200.6 HU"`` for images with source units."""
    text = f"{value * 255:.2f} /255"
    return text if plain(meta) else f"{text} · {value * span(meta):.4g} {unit(meta)}"
