"""Line charts as PNG files, drawn with Pillow (plotly's static export needs kaleido and a browser)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
"""Okabe and Ito's palette, as the app's charts (``ui.views.SERIES``): told apart by colour-blind readers too."""
_SIZE, _MARGIN = (720, 440), (70, 40, 190, 50)  # left, top, right, bottom
_LABEL_GAP = 44  # pixels between the x labels drawn


def line_chart(lines: Mapping[str, list[tuple[float, float]]], title: str, path: Path) -> Path:
    """Draw one line per name through its ``(x, y)`` points, with axes, ticks and a legend; save a PNG."""
    points = [(x, y) for line in lines.values() for x, y in line if np.isfinite(y)]
    image = Image.new("RGB", _SIZE, "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    left, top, right, bottom = _MARGIN[0], _MARGIN[1], _SIZE[0] - _MARGIN[2], _SIZE[1] - _MARGIN[3]
    draw.text((left, 12), title, fill="black", font=font)
    draw.rectangle((left, top, right, bottom), outline="black")
    if points:
        xs, ys = [x for x, _ in points], [y for _, y in points]
        scale = _scaler((min(xs), max(xs)), (left + 20, right - 20), (min(ys), max(ys)), (bottom - 20, top + 20))
        _ticks(draw, font, scale, sorted(set(xs)), np.linspace(min(ys), max(ys), 5), (left, bottom))
        for number, (name, line) in enumerate(lines.items()):
            colour = _COLOURS[number % len(_COLOURS)]
            pixels = [scale(x, y) for x, y in line if np.isfinite(y)]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=2)
            for px, py in pixels:
                draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=colour)
            draw.line((right + 12, top + 8 + 18 * number, right + 32, top + 8 + 18 * number), fill=colour, width=3)
            draw.text((right + 38, top + 2 + 18 * number), str(name)[:24], fill="black", font=font)
    image.save(path)
    return path


def _scaler(x_range: tuple[float, float], x_pixels: tuple[float, float], y_range: tuple[float, float],
            y_pixels: tuple[float, float]):
    def to_pixels(x: float, y: float) -> tuple[float, float]:
        return (np.interp(x, x_range, x_pixels) if x_range[1] > x_range[0] else sum(x_pixels) / 2,
                np.interp(y, y_range, y_pixels) if y_range[1] > y_range[0] else sum(y_pixels) / 2)
    return to_pixels


def _ticks(draw: ImageDraw.ImageDraw, font: Any, scale: Any, xs: list[float], ys: np.ndarray,
           corner: tuple[int, int]) -> None:
    left, bottom = corner
    labelled = -np.inf
    for x in xs:
        px, _ = scale(x, ys[0])
        draw.line((px, bottom, px, bottom + 5), fill="black")
        if px - labelled >= _LABEL_GAP:  # close ticks (a refined grid) keep their mark, not an overlapping label
            draw.text((px - 8, bottom + 8), f"{x:.4g}", fill="black", font=font)
            labelled = px
    for y in dict.fromkeys(ys):
        _, py = scale(xs[0], y)
        draw.line((left - 5, py, left, py), fill="black")
        draw.text((4, py - 6), f"{y:.3g}", fill="black", font=font)
