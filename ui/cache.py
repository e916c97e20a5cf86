"""Cached library calls. Results are keyed by content hashes and explicit parameters, never by
widgets: a cached function here never reads ``st.session_state`` or draws anything.

Arguments whose name starts with ``_`` are not hashed; each such argument travels with a hash
argument that identifies it (``image_hash`` for ``_image``, ``units`` for ``_meta``), so keys stay
cheap and exact. Images and files are kept in ``ui.memo`` (bounded by bytes, arrays shared read-only), small
results in ``st.cache_data``; both are shared by every session, so what belongs to one user (an uploaded
file and its DICOM header, a DICOM download carrying that header) is keyed on the session's secret or kept
in the session's own state, never served to another session.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
import streamlit as st

from denoise_core import apply, image as core_image, metrics, registry, speed, timing

from . import memo, state

PARAMS = tuple  # a method's parameters as a sorted tuple of (name, value): hashable and order-free


def freeze(params: dict) -> tuple:
    return tuple(sorted(params.items()))


@memo.cached()
def load_sample(name: str, slice: int | None = None) -> tuple[np.ndarray, Any]:
    """A sample image from ``denoise_core.samples``: (float32 array in [0, 1], ImageMeta).

    ``slice``: the 0-based slice of a volume sample (None: its middle slice).
    """
    from denoise_core import samples
    return core_image.read_image(samples.sample_path(name), name=name, slice=slice)


def read_upload(data: bytes, name: str, slice: int | None = None) -> tuple[np.ndarray, Any]:
    """An uploaded file read as the workbench's image, cached for this session only (its meta holds the
    file's DICOM header); ``slice`` as in :func:`load_sample`."""
    return _read_upload(st.session_state[state.SECRET], data, name, slice)


@memo.cached()
def _read_upload(session: str, data: bytes, name: str, slice: int | None) -> tuple[np.ndarray, Any]:
    return core_image.read_image(data, name=name, slice=slice)


@memo.cached()
def add_noise(image_hash: str, _image: np.ndarray, model: str, params: PARAMS, seed: int) -> np.ndarray:
    """``_image`` with the noise, its seconds recorded in ``speed`` (as ``noise MODEL``) to estimate the next one."""
    noisy, seconds = timing.timed(lambda: apply.add_noise(_image, model, dict(params), seed=seed))
    speed.record(f"noise {model}", _image.size, seconds)
    return noisy


@st.cache_data(max_entries=64, show_spinner=False)
def noise_level(image_hash: str, _image: np.ndarray) -> dict:
    """The level ``auto`` starts from (``estimate.real_noise_level``)."""
    from denoise_core import estimate
    return estimate.real_noise_level(_image)


@st.cache_data(max_entries=64, show_spinner=False)
def classify(image_hash: str, _image: np.ndarray) -> dict:
    """Noise type probabilities and level (``classifier.inference.predict``)."""
    from denoise_core.classifier import inference
    return inference.predict(_image)


@st.cache_data(max_entries=256, show_spinner=False)
def resolve(image_hash: str, _image: np.ndarray, method: str, level: PARAMS, auto: bool) -> dict:
    """The parameters ``auto`` picks for ``method`` at noise ``level`` (shown next to the controls)."""
    return apply.resolve(registry.get(method, "denoiser"), _image, None, level=dict(level), auto=auto)


@memo.cached()
def denoise(image_hash: str, _image: np.ndarray, method: str, params: PARAMS) -> tuple[np.ndarray, float]:
    """One method on one image with explicit parameters: (result, seconds it took, also recorded in
    ``speed`` to estimate the next run)."""
    out, seconds = timing.timed(lambda: apply.denoise(_image, method, dict(params), auto=False))
    speed.record(method, _image.size, seconds)
    return out, seconds


@st.cache_data(max_entries=256, show_spinner=False)
def measure(ref_hash: str, _ref: np.ndarray, image_hash: str, _image: np.ndarray) -> dict[str, float]:
    """Every registered metric of ``_image`` against ``_ref``."""
    return metrics.measure(_ref, _image)


@st.cache_data(max_entries=256, show_spinner=False)
def no_reference(noisy_hash: str, _noisy: np.ndarray, image_hash: str, _image: np.ndarray) -> dict[str, float]:
    """What ``_image`` left and removed of ``_noisy``, measured without a clean reference (``metrics.no_reference``)."""
    return metrics.no_reference(_noisy, _image)


DOWNLOADS = {"PNG 8-bit": ("png", 8, "image/png"), "TIFF 16-bit": ("tiff", 16, "image/tiff"),
             "DICOM": ("dcm", 16, "application/dicom")}
"""Download formats: label -> (file suffix, bit depth, MIME type)."""


def download_formats(meta) -> list[str]:
    """The formats a result can be downloaded in, the one that keeps the source's data first: DICOM
    (with the source's header) for a DICOM, a 16-bit TIFF (in the source's units) for other deep images."""
    if meta is not None and meta.dicom_header:
        return ["DICOM", "TIFF 16-bit", "PNG 8-bit"]
    return ["TIFF 16-bit", "PNG 8-bit"] if meta is not None and meta.bit_depth > 8 else ["PNG 8-bit", "TIFF 16-bit"]


def units(meta) -> str:
    """Everything of ``meta`` but its name and DICOM header: all that a PNG or TIFF download depends on."""
    return repr(None if meta is None else dataclasses.replace(meta, name="", dicom_header=None))


def encode(image_hash: str, image: np.ndarray, label: str, meta, *, deidentify: bool = False) -> bytes:
    """Download bytes of an image in format ``label`` (a key of ``DOWNLOADS``), in the source's units.

    A DICOM keeps the source's header (a patient's data), so it is encoded for this session and kept in
    its state, de-identified with the session's secret as key when ``deidentify`` (one patient maps to
    one pseudonym within the session); PNG and TIFF hold pixels and units only and share the cache.
    """
    if DOWNLOADS[label][0] != "dcm":
        return _encode_file(image_hash, image, label, units(meta), meta)
    header = hashlib.blake2b(meta.dicom_header or b"", digest_size=10).hexdigest() if meta is not None else ""
    key = (image_hash, units(meta), header, deidentify)
    files = st.session_state[state.DICOM_FILES]
    if key not in files:
        secret = st.session_state[state.SECRET] if deidentify else None
        data = core_image.encode_dicom(image, meta, deidentify_key=secret)
        while len(files) >= SESSION_DICOM_FILES:
            files.pop(next(iter(files)))
        files[key] = data
    return files[key]


SESSION_DICOM_FILES = 16
"""How many DICOM downloads a session keeps encoded (the oldest go first)."""


@memo.cached()
def _encode_file(image_hash: str, _image: np.ndarray, label: str, units: str, _meta) -> bytes:
    suffix, bits, _ = DOWNLOADS[label]
    return core_image.encode_image(_image, format=suffix, bit_depth=bits, meta=_meta)


@memo.cached()
def display(image_hash: str, _image: np.ndarray, bounds: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """uint8 version of an image for the screen, ``bounds`` (the display window) stretched to black..white."""
    return core_image.to_display(_image, bounds)
