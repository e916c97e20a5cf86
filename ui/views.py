"""Views shared by the pages: before/after slider, image rows and grids, zoomed crops, difference
maps, metric tables and charts, downloadable figures.

The image helpers at the top are pure numpy/PIL (testable without streamlit); the ``show_*``
functions draw.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components
from PIL import Image, ImageDraw, ImageFont

from denoise_core.box import Box

from . import memo, state
from .state import content_hash

# --- pure image helpers ------------------------------------------------------------------------

_INFERNO = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                     [245, 125, 21], [250, 193, 39], [252, 255, 164]], np.float32)
_LUT = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_INFERNO)), _INFERNO[:, c])
                 for c in range(3)], axis=1).astype(np.uint8)


def as_rgb(u8: np.ndarray) -> np.ndarray:
    return np.repeat(u8[..., None], 3, axis=2) if u8.ndim == 2 else u8


def magnify(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: every pixel becomes a factor×factor block (no smoothing)."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def zoom(u8: np.ndarray, box: Box, out_side: int = 256) -> np.ndarray:
    """The region ``box`` magnified nearest-neighbour to about ``out_side`` pixels."""
    region = box.of(u8)
    return magnify(region, max(1, out_side // region.shape[0]))


def mark(u8: np.ndarray, box: Box, color=(255, 64, 64)) -> np.ndarray:
    """A copy of ``u8`` (as RGB) with ``box`` outlined just outside its border."""
    out = Image.fromarray(as_rgb(u8))
    line = max(1, round(max(u8.shape[:2]) / 256))
    ImageDraw.Draw(out).rectangle([box.left - line, box.top - line, box.left + box.width + line - 1,
                                   box.top + box.height + line - 1], outline=color, width=line)
    return np.asarray(out)


def mark_row(u8: np.ndarray, row: int, color=(255, 64, 64)) -> np.ndarray:
    """An RGB copy of ``u8`` with image row ``row`` drawn across it (three pixels thick where it fits)."""
    out = as_rgb(u8).copy()
    out[max(0, row - 1):row + 2] = color
    return out


def heat(values: np.ndarray, vmax: float) -> np.ndarray:
    """Non-negative values (e.g. |clean − result|) as an inferno-coloured uint8 RGB image."""
    gray = values if values.ndim == 2 else values.mean(axis=2)
    index = np.clip(gray / max(vmax, 1e-9), 0, 1) * 255
    return _LUT[index.astype(np.uint8)]


def signed(values: np.ndarray, gain: float) -> np.ndarray:
    """Signed values (e.g. noisy − result) around mid-gray: 0 → gray, ± → lighter / darker."""
    return (np.clip(0.5 + gain * values, 0, 1) * 255 + 0.5).astype(np.uint8)


def colour_bar(low: float, high: float, unit: str, *, signed_gray: bool = False, width: int = 480) -> np.ndarray:
    """A horizontal colour bar labelled at both ends and the middle, in ``unit``: the inferno scale of
    :func:`heat`, or the gray of :func:`signed` (black at ``low``, mid-gray at 0, white at ``high``)."""
    ramp = np.linspace(0, 1, width)
    colours = np.repeat(np.round(ramp * 255).astype(np.uint8)[:, None], 3, axis=1) if signed_gray else \
        _LUT[np.round(ramp * 255).astype(np.uint8)]
    sheet = Image.new("RGB", (width + 80, 42), "white")
    sheet.paste(Image.fromarray(np.repeat(colours[None], 16, axis=0)), (40, 2))
    draw = ImageDraw.Draw(sheet)
    for fraction in (0.0, 0.5, 1.0):
        text = f"{low + fraction * (high - low):.3g} {unit}".strip()
        x = 40 + fraction * (width - 1) - draw.textlength(text, font=_font(13)) / 2
        draw.text((x, 22), text, fill=(20, 20, 20), font=_font(13))
    return np.asarray(sheet)


def png(u8: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(u8).save(buffer, format="PNG")
    return buffer.getvalue()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def figure_png(tiles: Sequence[tuple[str, np.ndarray]], *, columns: int = 4, title: str = "") -> bytes:
    """:func:`figure_grid`, cached by the tiles' labels and pixels and the title."""
    ids = tuple((label, content_hash(u8)) for label, u8 in tiles)
    return _cached_figure(ids, tiles, columns, title)


@memo.cached()
def _cached_figure(ids: tuple, _tiles: Sequence[tuple[str, np.ndarray]], columns: int, title: str) -> bytes:
    return figure_grid(_tiles, columns=columns, title=title)


def figure_grid(tiles: Sequence[tuple[str, np.ndarray]], *, columns: int = 4, tile_side: int = 320,
                title: str = "") -> bytes:
    """One PNG with every (label, uint8 image) tile in a grid, labelled: the comparison figure."""
    if not tiles:
        raise ValueError("no images to put in the figure")
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    label_h, pad, title_h = 28, 8, 34 if title else 0
    scaled = []
    for label, u8 in tiles:
        img = Image.fromarray(as_rgb(u8))
        ratio = tile_side / max(img.size)
        resample = Image.NEAREST if ratio >= 1 else Image.LANCZOS
        img = img.resize((max(1, round(img.width * ratio)), max(1, round(img.height * ratio))), resample)
        scaled.append((label, img))
    cell_h = max(img.height for _, img in scaled) + label_h
    sheet = Image.new("RGB", (columns * (tile_side + pad) + pad, title_h + rows * (cell_h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 8), title, fill=(20, 20, 20), font=_font(18))
    for i, (label, img) in enumerate(scaled):
        col, row = i % columns, i // columns
        left = pad + col * (tile_side + pad)
        top = title_h + pad + row * (cell_h + pad)
        draw.text((left, top + 4), label, fill=(20, 20, 20), font=_font(16))
        sheet.paste(img, (left + (tile_side - img.width) // 2, top + label_h))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


# --- drawing -----------------------------------------------------------------------------------

def show_row(items: Sequence[tuple[str, np.ndarray]], *, captions: Sequence[str] | None = None) -> None:
    """Images side by side, each filling its column."""
    columns = st.columns(len(items))
    for i, (column, (label, u8)) in enumerate(zip(columns, items)):
        column.markdown(f"**{label}**")
        column.image(u8, width="stretch", caption=captions[i] if captions else None)


_SLIDER = components.declare_component("compare_slider", path=str(Path(__file__).parent / "slider_frontend"))


def _data_url(u8: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(u8)).decode("ascii")


@memo.cached()
def _cached_data_url(u8_hash: str, _u8: np.ndarray) -> str:
    return _data_url(_u8)


def compare_slider(before: np.ndarray, after: np.ndarray, label_before: str, label_after: str, *,
                   key: str, max_height: int = 900) -> None:
    """Drag-to-compare view of two uint8 images (gray or RGB) that fills the column's width.

    A small Streamlit component shipped in ``ui/slider_frontend`` (no network: the package
    ``streamlit_image_comparison`` loads its script from a CDN, which an offline laptop in a lecture
    hall does not reach, and it takes a fixed pixel width). Images travel as lossless PNG, cached by
    the screen pixels themselves, so both halves always show what the caller rendered now (in the
    current display window).
    """
    if before.shape[:2] != after.shape[:2]:
        raise ValueError("the two images of a comparison must have the same size")
    urls = [_cached_data_url(content_hash(u8), u8) for u8 in (before, after)]
    _SLIDER(before=urls[0], after=urls[1], label_before=label_before, label_after=label_after,
            width=int(before.shape[1]), height=int(before.shape[0]), max_height=max_height, start=50,
            key=key, default=None)


SERIES = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
"""Chart series colours told apart by colour-blind viewers too (Okabe and Ito's palette); maps use inferno."""


def _layout(fig: go.Figure, *, height: int = 300, title: str = "", **axes) -> go.Figure:
    """The charts' common look; larger type and thicker lines when the projector theme is on."""
    projector = bool(st.session_state.get(state.PROJECTOR))
    fig.update_layout(template="plotly_white", height=height + 40 * projector, colorway=SERIES,
                      font=dict(size=17 if projector else 12, color="#000000" if projector else None),
                      margin=dict(l=10, r=44, t=40 + 10 * projector if title else 10, b=10),
                      title=dict(text=title, x=0.01, font=dict(size=21 if projector else 15)) if title else None,
                      legend=dict(orientation="h", yanchor="top", y=0.99, xanchor="right", x=0.99,
                                  bgcolor="rgba(255,255,255,0.7)"),
                      modebar=dict(orientation="v"), **axes)
    if projector:
        fig.update_traces(line_width=4, selector=dict(type="scatter"))
    return fig


def layout(fig: go.Figure, *, height: int = 300, title: str = "", **axes) -> go.Figure:
    """The charts' common look (see ``_layout``) for a figure a page builds itself."""
    return _layout(fig, height=height, title=title, **axes)


def show_chart(fig: go.Figure, *, key: str, on_select=None) -> None:
    """A chart; with ``on_select`` (a callback) a box dragged on it is reported (``selected_box``)."""
    if on_select is None:
        st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})
    else:
        st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False}, on_select=on_select,
                        selection_mode="box")


def image_figure(u8: np.ndarray) -> go.Figure:
    """An image as a chart, one unit per pixel and the y axis downwards, in box-select mode for drawing regions."""
    height, width = u8.shape[:2]
    fig = go.Figure(go.Image(z=as_rgb(u8)))
    fig.update_xaxes(visible=False, range=[-0.5, width - 0.5])
    fig.update_yaxes(visible=False, range=[height - 0.5, -0.5], scaleanchor="x")
    fig.update_layout(dragmode="select", margin=dict(l=0, r=0, t=0, b=0), height=360)
    return fig


def selected_box(event, shape: tuple[int, ...]) -> Box | None:
    """The region a box drag on :func:`image_figure` selected (``event``: the chart's selection state), inside
    an image of ``shape`` and at least 2×2; None when nothing was dragged."""
    boxes = (event or {}).get("selection", {}).get("box", [])  # the chart's state is a dict
    if not boxes:
        return None
    (x0, x1), (y0, y1) = (sorted(boxes[-1]["x"]), sorted(boxes[-1]["y"]))
    rows, cols = shape[:2]
    top, left = int(np.clip(round(y0 + 0.5), 0, rows - 2)), int(np.clip(round(x0 + 0.5), 0, cols - 2))
    bottom, right = int(np.clip(round(y1 + 0.5), top + 2, rows)), int(np.clip(round(x1 + 0.5), left + 2, cols))
    return Box(top, left, bottom - top, right - left)


BEST, OTHER, REFERENCE = "#1a5fb4", "#99c1f1", "#c01c28"
"""Bar charts: the best bar, the others, the reference line (the noisy input)."""


def bars(values: dict[str, float], *, title: str, higher_is_better: bool | None, fmt: str = ".3g",
         reference: tuple[str, float] | None = None) -> go.Figure:
    """Horizontal bars of one metric over methods with their full names, the best first and highlighted;
    ``reference`` (a label and a value, e.g. the noisy input's) is drawn as a dashed line."""
    order = sorted(values, key=lambda n: values[n], reverse=higher_is_better is not False)
    best = order[0] if higher_is_better is not None and order else None
    numbers = [values[n] for n in order]
    fig = go.Figure(go.Bar(y=order, x=numbers, orientation="h", text=[format(v, fmt) for v in numbers],
                           marker_color=[BEST if n == best else OTHER for n in order],
                           textposition="auto", insidetextanchor="end"))
    arrow = " ↑" if higher_is_better else (" ↓" if higher_is_better is False else "")
    if reference is not None and np.isfinite(reference[1]):
        fig.add_vline(x=reference[1], line_dash="dash", line_color=REFERENCE)
        arrow += f"  <span style='color:{REFERENCE}'>┆ {reference[0]} {format(reference[1], fmt)}</span>"
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(range=_bar_range(numbers + ([reference[1]] if reference else [])))
    return _layout(fig, height=max(170, 80 + 28 * len(order)), title=title + arrow)


def bars_svg(values: dict[str, float], *, title: str, higher_is_better: bool | None, fmt: str = ".3g",
             reference: tuple[str, float] | None = None) -> str:
    """:func:`bars` drawn as a static SVG (class ``metric-bars``): the same bars, full names, order, highlight and
    dashed reference line, but no chart library to load, so a page of them opens fast."""
    big = bool(st.session_state.get(state.PROJECTOR))
    size, row = (17, 34) if big else (12, 24)
    order = sorted(values, key=lambda n: values[n], reverse=higher_is_better is not False)
    best = order[0] if higher_is_better is not None and order else None
    numbers = [values[n] for n in order]
    label = int(0.6 * size * max((len(n) for n in order), default=4)) + 12
    width, top = max(420, label + 20 * size), int(2.4 * size)
    lo, hi = _bar_range(numbers + ([reference[1]] if reference and np.isfinite(reference[1]) else [])) or [0.0, 1.0]
    span = (hi - lo) or 1.0

    def x(value: float) -> float:
        return label + (width - label - 16) * (min(max(value, lo), hi) - lo) / span

    arrow = " ↑" if higher_is_better else (" ↓" if higher_is_better is False else "")
    parts = [f'<text x="4" y="{size + 6}" font-size="{size + 3}" font-weight="600">{html.escape(title + arrow)}']
    if reference is not None and np.isfinite(reference[1]):
        parts.append(f'<tspan fill="{REFERENCE}" font-weight="400">  ┆ {html.escape(reference[0])} '
                     f'{format(reference[1], fmt)}</tspan>')
    parts.append("</text>")
    for number, (name, value) in enumerate(zip(order, numbers)):
        y = top + number * row
        end = x(value) if np.isfinite(value) else label
        colour = BEST if name == best else OTHER
        parts.append(f'<text x="{label - 8}" y="{y + 0.7 * row}" text-anchor="end" class="bar-label">'
                     f'{html.escape(name)}</text>')
        parts.append(f'<rect x="{label}" y="{y + 3}" width="{max(end - label, 0):.1f}" height="{row - 6}" '
                     f'fill="{colour}"><title>{html.escape(name)}: {format(value, fmt)}</title></rect>')
        inside = end - label > 7 * size
        parts.append(f'<text x="{end - 4 if inside else end + 4:.1f}" y="{y + 0.7 * row}" '
                     f'text-anchor="{"end" if inside else "start"}" '
                     f'fill="{"#ffffff" if inside and name == best else "#000000"}">{format(value, fmt)}</text>')
    height = top + len(order) * row + 8
    if reference is not None and np.isfinite(reference[1]):
        parts.append(f'<line x1="{x(reference[1]):.1f}" x2="{x(reference[1]):.1f}" y1="{top - 4}" y2="{height - 4}" '
                     f'stroke="{REFERENCE}" stroke-width="2" stroke-dasharray="6 4"/>')
    return (f'<svg class="metric-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" style="max-width: 100%; height: auto" font-family="sans-serif" font-size="{size}" role="img" aria-label="{html.escape(title)}">'
            + "".join(parts) + "</svg>")


def _bar_range(numbers: list[float]) -> list[float] | None:
    """The x range: from zero where the values reach down near it, else from just below the smallest
    (PSNRs differ by tenths of a dB, not by tens)."""
    finite = [v for v in numbers if np.isfinite(v)]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    span = hi - lo or abs(hi) or 1.0
    start = 0.0 if lo >= 0 and lo < span else lo - 0.15 * span
    return [start, hi + 0.05 * span]


def metrics_table(frame: pd.DataFrame, higher_is_better: dict[str, bool | None], formats: dict[str, str]):
    """A Styler with the best value of each column in bold on a highlight (respecting direction)."""
    def best(column: pd.Series):
        direction = higher_is_better.get(column.name)
        numbers = pd.to_numeric(column, errors="coerce")
        if direction is None or numbers.isna().all() or len(numbers.dropna()) < 2:
            return [""] * len(column)
        target = numbers.max() if direction else numbers.min()
        return ["font-weight: 700; background-color: #d6f5d6" if v == target else "" for v in numbers]
    return frame.style.apply(best, axis=0).format({k: f"{{:{v}}}" for k, v in formats.items() if k in frame},
                                                  na_rep="—")


def histogram_figure(series: Iterable[tuple[str, np.ndarray, np.ndarray]], *, title: str, xaxis: str,
                     lines: Iterable[tuple[str, np.ndarray, np.ndarray]] = (), height: int = 300) -> go.Figure:
    """Step histograms (name, bin edges, density) and optional curves (name, x, y) on one chart."""
    fig = go.Figure()
    for name, edges, density in series:
        centres = (edges[:-1] + edges[1:]) / 2
        fig.add_trace(go.Bar(x=centres, y=density, width=np.diff(edges), name=name, opacity=0.55))
    for name, x, y in lines:
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines", line=dict(width=2.5, color=SERIES[3])))
    fig.update_layout(barmode="overlay", bargap=0)
    return _layout(fig, height=height, title=title, xaxis_title=xaxis, yaxis_title="density")


def heatmap_figure(values: np.ndarray, *, title: str, colorscale: str = "Inferno", height: int = 340,
                   colorbar: str = "") -> go.Figure:
    fig = go.Figure(go.Heatmap(z=values, colorscale=colorscale, colorbar=dict(title=colorbar)))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    return _layout(fig, height=height, title=title)


def surface_figure(surfaces: Sequence[tuple[str, np.ndarray]], *, title: str, height: int = 420) -> go.Figure:
    """3-D surfaces of intensity over a region; several are offset in z so both stay visible."""
    fig = go.Figure()
    scales = ["Greys", "Viridis", "Plasma"]
    for i, (name, z) in enumerate(surfaces):
        fig.add_trace(go.Surface(z=z, name=name, colorscale=scales[i % len(scales)], showscale=False,
                                 opacity=1.0 if i == 0 else 0.85))
    fig.update_layout(scene=dict(zaxis=dict(range=[0, 1], title="intensity"), xaxis_title="x", yaxis_title="y",
                                 aspectratio=dict(x=1, y=1, z=0.6)))
    return _layout(fig, height=height, title=title)


def lines_figure(series: Sequence[tuple[str, np.ndarray, np.ndarray]], *, title: str, xaxis: str, yaxis: str,
                 height: int = 300, log_y: bool = False) -> go.Figure:
    fig = go.Figure()
    for name, x, y in series:
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines"))
    if log_y:
        fig.update_yaxes(type="log")
    return _layout(fig, height=height, title=title, xaxis_title=xaxis, yaxis_title=yaxis)


def grid_figure(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, title: str, xaxis: str,
                yaxis: str, marks: Sequence[tuple[str, float, float, str]] = (), vlines: Sequence[tuple[str, float]] = (),
                log_x: bool = False, height: int = 320) -> go.Figure:
    """Lines through the points of a parameter grid (name, x, y), ``marks`` (name, x, y, marker symbol) drawn
    large on top, in the series colours after the lines', and ``vlines`` (name, x) as dashed vertical lines."""
    fig = go.Figure()
    for name, x, y in series:
        fig.add_trace(go.Scatter(x=list(x), y=list(y), name=name, mode="lines+markers", marker=dict(size=6)))
    for i, (name, x, y, symbol) in enumerate(marks):
        colour = SERIES[(len(series) + i) % len(SERIES)]
        fig.add_trace(go.Scatter(x=[x], y=[y], name=name, mode="markers",
                                 marker=dict(symbol=symbol, size=15, color=colour, line=dict(width=1, color="#000000"))))
    for i, (name, x) in enumerate(vlines):
        colour = SERIES[(len(series) + len(marks) + i) % len(SERIES)]
        fig.add_vline(x=x, line_dash="dash", line_color=colour)
        fig.add_trace(go.Scatter(x=[None], y=[None], name=name, mode="lines", line=dict(dash="dash", color=colour)))
    if log_x:
        fig.update_xaxes(type="log")
    return _layout(fig, height=height, title=title, xaxis_title=xaxis, yaxis_title=yaxis)


def markdown_section(text: str, heading: str) -> str:
    """The section of a Markdown ``text`` whose heading starts with ``heading`` ("" if there is none)."""
    depth = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), len(lines))
    end = next((i for i in range(start + 1, len(lines)) if 0 < len(lines[i]) - len(lines[i].lstrip("#")) <= depth),
               len(lines))
    return "\n".join(lines[start:end])


def int_slider(container, label: str, lo: int, hi: int, value: int, *, key: str, **kwargs) -> int:
    """An integer slider, or just ``lo`` when there is nothing to choose (``hi <= lo``: a region as large
    as a small image), since Streamlit refuses a slider whose ends are equal."""
    if hi <= lo:
        return int(lo)
    return int(container.slider(label, int(lo), int(hi), int(min(max(value, lo), hi)), key=key, **kwargs))


def error_line(exc: Exception | str) -> None:
    """An expected failure (``DenoiseError``, or its line with the file it concerns) as one line; never a
    traceback."""
    st.error(str(exc), icon=":material/error:")


def band_figure(lines: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], *, title: str,
                xaxis: str, yaxis: str, marks: Sequence[tuple[float, float, str]] = (), height: int = 360) -> go.Figure:
    """One line per (name, x, y, low, high) with its band shaded between low and high, and ✕ marks (x, y, hover
    text) such as crossovers."""
    fig = go.Figure()
    for number, (name, x, y, low, high) in enumerate(lines):
        colour = SERIES[number % len(SERIES)]
        shade = "rgba({}, {}, {}, 0.18)".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
        fig.add_trace(go.Scatter(x=x, y=high, mode="lines", line=dict(width=0), legendgroup=name, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=low, mode="lines", line=dict(width=0), fill="tonexty", fillcolor=shade,
                                 legendgroup=name, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers", line=dict(color=colour, width=2.5),
                                 legendgroup=name))
    if marks:
        fig.add_trace(go.Scatter(x=[m[0] for m in marks], y=[m[1] for m in marks], text=[m[2] for m in marks],
                                 name="crossover", mode="markers", hoverinfo="text",
                                 marker=dict(symbol="x", size=12, color="#000000")))
    return _layout(fig, height=height, title=title, xaxis_title=xaxis, yaxis_title=yaxis)
