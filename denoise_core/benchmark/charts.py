"""Line charts as PNG (drawn with Pillow) or SVG files (plotly's static export needs kaleido and a browser)."""
from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
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
            colour = OKABE_ITO[number % len(OKABE_ITO)]
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


Band = Sequence[tuple[float, float, float, float]]
"""A line with its band: ``(x, y, low, high)`` points (a NaN bound: no band there)."""
_BAND_SIZE, _BAND_MARGIN = (980, 440), (70, 40, 340, 50)  # a legend of names up to 48 characters


def band_chart(lines: Mapping[str, Band], marks: Sequence[tuple[float, float]], *, title: str, x_label: str,
               y_label: str, fmt: str = "png") -> bytes:
    """One line per name with a shaded band (a confidence interval) and ✕ marks (crossovers), as PNG or SVG bytes."""
    finite = [v for line in lines.values() for x, *ys in line for v in ys if np.isfinite(v)]
    xs = sorted({x for line in lines.values() for x, *_ in line})
    left, top, right, bottom = _BAND_MARGIN[0], _BAND_MARGIN[1], _BAND_SIZE[0] - _BAND_MARGIN[2], _BAND_SIZE[1] - _BAND_MARGIN[3]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    scale = _scaler((min(xs, default=0), max(xs, default=1)), (left + 20, right - 20), (low, high),
                    (bottom - 20, top + 20))
    draw = _svg_chart if fmt == "svg" else _png_chart
    return draw(lines, marks, scale, (title, x_label, y_label), (xs, np.linspace(low, high, 5)))


def _band_polygon(line: Band, scale: Any) -> list[tuple[float, float]]:
    kept = [(x, lo, hi) for x, _, lo, hi in line if np.isfinite(lo) and np.isfinite(hi)]
    return [scale(x, hi) for x, _, hi in kept] + [scale(x, lo) for x, lo, _ in reversed(kept)]


def _png_chart(lines: Mapping[str, Band], marks: Sequence[tuple[float, float]], scale: Any,
               labels: tuple[str, str, str], ticks: tuple[list[float], np.ndarray]) -> bytes:
    image = Image.new("RGBA", _BAND_SIZE, "white")
    shade, font = Image.new("RGBA", _BAND_SIZE, (0, 0, 0, 0)), ImageFont.load_default()
    left, top, right, bottom = _BAND_MARGIN[0], _BAND_MARGIN[1], _BAND_SIZE[0] - _BAND_MARGIN[2], _BAND_SIZE[1] - _BAND_MARGIN[3]
    for number, line in enumerate(lines.values()):
        polygon = _band_polygon(line, scale)
        if len(polygon) > 2:
            ImageDraw.Draw(shade).polygon(polygon, fill=_rgb(OKABE_ITO[number % len(OKABE_ITO)]) + (56,))
    image = Image.alpha_composite(image, shade)
    draw = ImageDraw.Draw(image)
    draw.text((left, 12), labels[0], fill="black", font=font)
    draw.text(((left + right) // 2 - 30, _BAND_SIZE[1] - 18), labels[1], fill="black", font=font)
    draw.text((4, top - 18), labels[2], fill="black", font=font)
    draw.rectangle((left, top, right, bottom), outline="black")
    if ticks[0]:
        _ticks(draw, font, scale, ticks[0], ticks[1], (left, bottom))
    for number, (name, line) in enumerate(lines.items()):
        colour = OKABE_ITO[number % len(OKABE_ITO)]
        pixels = [scale(x, y) for x, y, *_ in line if np.isfinite(y)]
        if len(pixels) > 1:
            draw.line(pixels, fill=colour, width=2)
        for px, py in pixels:
            draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=colour)
        draw.line((right + 12, top + 8 + 18 * number, right + 32, top + 8 + 18 * number), fill=colour, width=3)
        draw.text((right + 38, top + 2 + 18 * number), str(name)[:48], fill="black", font=font)
    for x, y in marks:
        px, py = scale(x, y)
        draw.line((px - 6, py - 6, px + 6, py + 6), fill="black", width=2)
        draw.line((px - 6, py + 6, px + 6, py - 6), fill="black", width=2)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _svg_chart(lines: Mapping[str, Band], marks: Sequence[tuple[float, float]], scale: Any,
               labels: tuple[str, str, str], ticks: tuple[list[float], np.ndarray]) -> bytes:
    left, top, right, bottom = _BAND_MARGIN[0], _BAND_MARGIN[1], _BAND_SIZE[0] - _BAND_MARGIN[2], _BAND_SIZE[1] - _BAND_MARGIN[3]
    text = 'font-family="sans-serif" font-size="11"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_BAND_SIZE[0]}" height="{_BAND_SIZE[1]}">',
             f'<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="24" font-family="sans-serif" font-size="13">{escape(labels[0])}</text>',
             f'<text x="{(left + right) / 2:.1f}" y="{_BAND_SIZE[1] - 8}" {text} text-anchor="middle">{escape(labels[1])}</text>',
             f'<text x="4" y="{top - 8}" {text}>{escape(labels[2])}</text>',
             f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="black"/>']
    for x in ticks[0]:
        px, _ = scale(x, ticks[1][0])
        parts.append(f'<text x="{px:.1f}" y="{bottom + 16}" {text} text-anchor="middle">{x:g}</text>')
    for y in dict.fromkeys(ticks[1]):
        _, py = scale(ticks[0][0] if ticks[0] else 0, y)
        parts.append(f'<text x="{left - 6}" y="{py + 4:.1f}" {text} text-anchor="end">{y:.3g}</text>')
    for number, (name, line) in enumerate(lines.items()):
        colour = OKABE_ITO[number % len(OKABE_ITO)]
        polygon = _band_polygon(line, scale)
        if len(polygon) > 2:
            parts.append(f'<polygon points="{_points(polygon)}" fill="{colour}" fill-opacity="0.22"/>')
        pixels = [scale(x, y) for x, y, *_ in line if np.isfinite(y)]
        parts.append(f'<polyline points="{_points(pixels)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in pixels]
        ly = top + 8 + 18 * number
        parts += [f'<line x1="{right + 12}" y1="{ly}" x2="{right + 32}" y2="{ly}" stroke="{colour}" stroke-width="3"/>',
                  f'<text x="{right + 38}" y="{ly + 4}" {text}>{escape(str(name)[:48])}</text>']
    for x, y in marks:
        px, py = scale(x, y)
        parts.append(f'<path d="M{px - 6:.1f},{py - 6:.1f}L{px + 6:.1f},{py + 6:.1f}M{px - 6:.1f},{py + 6:.1f}'
                     f'L{px + 6:.1f},{py - 6:.1f}" stroke="black" stroke-width="2"/>')
    return "\n".join([*parts, "</svg>"]).encode()


def _points(pixels: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pixels)


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
