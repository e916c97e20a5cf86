"""Views of the Noise Lab: the noisy image, its residual, and what the noise looks like."""
from __future__ import annotations

import numpy as np
import streamlit as st

from denoise_core import analysis, noise, registry
from denoise_core.box import Box

from . import cache, controls, page, state, units, views


def residual_gain(residual: np.ndarray) -> float:
    """Gain that shows a residual around mid-gray with ±3 std using the full range."""
    spread = float(np.std(residual))
    return 0.5 / (3 * spread) if spread > 1e-6 else 1.0


def noisy_id(model: str, params: dict, seed: int) -> str:
    """Identifier of a noisy image: clean image hash, noise model, parameters, seed."""
    return f"{state.get(state.IMAGE_HASH)}|{model}|{sorted(params.items())}|{seed}"


def show_images(clean, noisy, residual, gain: float, label: str, noisy_key: str) -> None:
    views.show_row([("Clean", page.screen(state.get(state.IMAGE_HASH), clean)),
                    ("Noisy", page.screen(noisy_key, noisy)),
                    ("Noise residual (noisy − clean)", views.signed(residual, gain))],
                   captions=["", label, f"mid-gray = 0, contrast ×{gain:.1f}"])


def show_levels(model: str, params: dict, clean, noisy, residual, noisy_key: str) -> None:
    """The true noise next to what a blind estimator reads from the noisy image."""
    estimate = cache.noise_level(noisy_key, noisy)
    meta = state.get(state.IMAGE_META)
    level = registry.get(model, "noise").level
    nominal_sigma = params.get(level.param) if level.estimate == "sigma" else None
    nominal_impulse = params.get(level.param) if level.estimate == "impulse" else None
    c = st.columns(4)
    c[0].metric("σ measured: std(noisy − clean)", units.sigma(float(np.std(residual)), meta),
                help="The true noise level, measured against the clean image")
    c[1].metric("σ estimated (blind, from noisy only)", units.sigma(estimate["sigma"], meta),
                delta=None if nominal_sigma is None else f"{(estimate['sigma'] - nominal_sigma) * 255:+.2f} vs nominal",
                delta_color="off", help="denoise_core.estimate.noise_level: what 'auto' settings start from")
    what, value = analysis.fitted_level(level.fit, clean, noisy)
    c[2].metric(what.split(":")[0], f"{100 * value:.2f} %" if level.fit == "impulse" else f"{value:.3g}",
                help=what + " (clipping to [0, 1] hides part of the noise near black and white)")
    c[3].metric("Impulses estimated (blind)", f"{100 * estimate['impulse']:.2f} %",
                delta=None if nominal_impulse is None else f"{100 * (estimate['impulse'] - nominal_impulse):+.2f} pp vs nominal",
                delta_color="off")
    nominal = "" if nominal_sigma is None else (
        f"Nominal σ = {nominal_sigma * 255:.2f}/255 = {nominal_sigma:.4f}"
        + ("" if units.plain(meta) else f" = {nominal_sigma * units.span(meta):.4g} {units.unit(meta)}") + ". "
        + ("Clipping to [0, 1] lowers the measured σ near black and white. " if params.get("clip") else ""))
    st.caption(nominal + units.measured_on(meta))


def show_histograms(model: str, params: dict, clean, noisy, residual) -> None:
    left, right = st.columns(2)
    edges = np.linspace(-0.05, 1.05, 111)
    with left:
        fig = views.histogram_figure([("clean", edges, analysis.histogram(clean, edges)),
                                      ("noisy", edges, analysis.histogram(noisy, edges))],
                                     title="Intensity histograms", xaxis="intensity [0, 1]")
        views.show_chart(fig, key="nl.hist")
    with right:
        impulses = registry.get(model, "noise").level.fit == "impulse"
        shown = residual[np.abs(residual) > 1e-6] if impulses else residual  # impulse noise: the impulses only
        spread = max(4 * float(np.std(residual)), 0.02) if not impulses else 1.0
        res_edges = np.linspace(-spread, spread, 121)
        expected, note = analysis.expected_residual(model, params, clean, res_edges)
        centres = (res_edges[:-1] + res_edges[1:]) / 2
        lines = [("expected", centres, expected)] if expected is not None else []
        fig = views.histogram_figure([("residual", res_edges, analysis.histogram(shown, res_edges) if shown.size
                                       else np.zeros(len(res_edges) - 1))],
                                     lines=lines, title="Residual noisy − clean vs expected" if not impulses else
                                     "Residual of the changed pixels (noisy − clean)",
                                     xaxis="residual (intensity, [0, 1] units)")
        views.show_chart(fig, key="nl.residual")
        st.caption(("Expected: " if expected is not None else "No expected curve: ") + note
                   + (f" The {100 * (1 - shown.size / residual.size):.1f}% of values left unchanged (0) are left out."
                      if impulses else ""))


def show_spectrum(clean, noisy, residual) -> None:
    specs = {name: analysis.power_spectrum(img) for name, img in
             (("clean", clean), ("noisy", noisy), ("residual", residual))}
    left, right = st.columns(2)
    with left:
        which = st.radio("Spectrum of", list(specs), index=2, horizontal=True, key="w.nl.spectrum")
        views.show_chart(views.heatmap_figure(specs[which], title=f"log10 power spectrum: {which}",
                                              colorbar="log10 P"), key="nl.spectrum")
        st.caption("Centre = low frequencies. White noise is flat; structured noise (JPEG blocks, "
                   "scribbles) shows lines and peaks.")
    with right:
        series = []
        for name, spec in specs.items():
            f, p = analysis.radial_profile(spec)
            series.append((name, f, p))
        views.show_chart(views.lines_figure(series, title="Radially averaged spectrum", xaxis="frequency (cycles/pixel)",
                                            yaxis="log10 power"), key="nl.radial")
        st.caption("The power at each distance from the centre, averaged over directions: white noise is a flat "
                   "line, natural images fall with frequency, blur removes the high end.")


def show_region(clean, noisy) -> None:
    height, width = clean.shape[:2]
    left, right = st.columns([1, 2])
    with left:
        side = min(height, width)
        size = views.int_slider(st, "Region size (pixels)", min(8, side), min(64, side), min(32, side), key="w.nl.size")
        x = views.int_slider(st, "Region x", 0, width - size, (width - size) // 2, key="w.nl.x")
        y = views.int_slider(st, "Region y", 0, height - size, (height - size) // 2, key="w.nl.y")
        box = Box.square(x, y, size, clean.shape)
        st.image(views.mark(page.screen(state.get(state.IMAGE_HASH), clean), box), width="stretch",
                 caption=f"Region ({x}, {y}), {size}×{size}")
    with right:
        a, b = st.columns(2)
        cz = analysis.luminance(box.of(clean))
        nz = analysis.luminance(box.of(noisy))
        with a:
            views.show_chart(views.surface_figure([("clean", cz)], title="Clean, 3-D"), key="nl.surface.clean")
        with b:
            views.show_chart(views.surface_figure([("noisy", nz)], title="Noisy, 3-D"), key="nl.surface.noisy")
        st.caption("Height = intensity in [0, 1] (the channel mean for colour) over the region's pixels: noise turns "
                   "smooth slopes into rough ground. Drag to turn the surface.")


def show_profile(clean, noisy) -> None:
    height, width = clean.shape[:2]
    row = st.slider("Row", 0, height - 1, height // 2, key="w.nl.row")
    xs = np.arange(width)
    series = [("clean", xs, analysis.luminance(clean)[row]), ("noisy", xs, analysis.luminance(noisy)[row])]
    left, right = st.columns([1, 3])
    left.image(views.mark_row(page.screen(state.get(state.IMAGE_HASH), clean), row), width="stretch",
               caption=f"Row {row} (red)")
    with right:
        colour = " (channel mean)" if clean.ndim == 3 else ""
        views.show_chart(views.lines_figure(series, title=f"Line profile, row {row}", xaxis="x (pixels)",
                                            yaxis=f"intensity [0, 1]{colour}"), key="nl.profile")


def file_tag(model: str, params: dict) -> str:
    """The noise as a file-name part: the model and its level in the units people use (``gaussian-sigma25``)."""
    level = registry.get(model, "noise").level
    if level is None or level.param not in params:
        return model
    return f"{model}-{level.param}{params[level.param] * level.scale:g}"


def recipe_caption(model: str, params: dict, seed: int) -> str:
    """The noise in one line, reproducible: model, parameters, seed (and what ``mixed`` drew)."""
    title = registry.get(model, "noise").title
    text = f"{title}: {controls.format_params(params)} · seed {seed}"
    if model == "mixed":
        drawn = noise.mixed_recipe(seed, **params)
        text += " · drew " + " then ".join(f"{name}({controls.format_params(p)})" for name, p in drawn)
    return text
