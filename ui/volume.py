"""The whole volume on Denoise & Compare: one chosen method over every slice of the current NIfTI or DICOM
volume, with progress and cancel, downloaded as a NIfTI file, a zipped DICOM series or a 16-bit TIFF stack."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from denoise_core import samples, speed
from denoise_core.errors import DenoiseError
from denoise_core.volume import denoise_volume

from . import controls, page, state, views

FORMATS = {"NIfTI (.nii.gz)": "volume.nii.gz", "DICOM series (.zip)": "series", "TIFF stack, 16-bit (.tif)": "volume.tif"}
"""Download choice -> the output name that selects its format (``image.volume_format``)."""


def source() -> tuple[str | bytes, str] | None:
    """The current volume's file (a sample's path, or an upload's bytes) and its name; None for a plain image
    or a volume whose other slices are not kept."""
    meta = state.get(state.IMAGE_META)
    if state.slices(meta) <= 1:
        return None
    if state.get(state.SAMPLE):
        path = samples.sample_path(state.get(state.SAMPLE))
        return str(path), path.name
    kept = state.get(state.SOURCE)
    return (kept["data"], kept["name"]) if kept else None


def formats(meta) -> list[str]:
    """The outputs this source can give: NIfTI keeps a NIfTI source's affine, so only a NIfTI source offers it."""
    return [label for label in FORMATS if meta.format == "NIfTI" or not label.startswith("NIfTI")]


def show_export(results: list, noise: tuple[str, dict, int] | None) -> None:
    """Method, format and a button; the run shows each slice's progress and can be cancelled. With ``noise``
    (model, parameters, seed: the noise this page adds) every slice gets it first and is scored."""
    found, meta = source(), state.get(state.IMAGE_META)
    if found is None or not results:
        return
    st.markdown(f"##### The whole volume ({meta.slices} slices)")
    if st.session_state.get("w.vol.cancel"):
        st.info("Cancelled: the volume was not written.", icon=":material/stop:")
    left, right = st.columns(2)
    by_name = {r.name: r for r in results}
    chosen = by_name[left.selectbox("Method", list(by_name), format_func=lambda n: by_name[n].title, key="w.vol.method")]
    label = right.selectbox("Download as", formats(meta), key="w.vol.format")
    estimate = speed.estimate(chosen.name, meta.slices * chosen.image.size)
    st.caption(("Each slice gets the noise above (its seed + the slice's index), then " if noise else
                "The file's slices as they are (marked already noisy), ")
               + ("the parameters 'auto' picks for its own noise level" if chosen.auto else
                  f"{controls.format_params(chosen.params)}")
               + (f"; {speed.describe(estimate)} on this machine." if estimate is not None else "."))
    settings = (found[1], chosen.name, label, noise)
    if st.button(f"Denoise all {meta.slices} slices", key="w.vol.run", icon=":material/view_in_ar:"):
        done = run(found, chosen, FORMATS[label], noise)
        if done is not None:
            state.put(state.VOLUME_EXPORT, (settings, *done))
    stored = state.get(state.VOLUME_EXPORT)
    if stored and stored[0] == settings:
        _, data, result = stored
        name = f"{page.download_stem(meta, False)}_{chosen.name}_{FORMATS[label].replace('series', 'series.zip')}"
        st.download_button(f"{label}: {len(data) / 1e6:.1f} MB", data, file_name=name, key="w.vol.download",
                           icon=":material/download:", on_click="ignore")
        show_scores(result)


def show_scores(result) -> None:
    """Per slice and for the whole volume: PSNR of the noisy and the denoised slices, SSIM."""
    if not result.scores:
        return
    table = pd.DataFrame(result.scores).assign(slice=lambda t: t["slice"] + 1).drop(columns="mse")
    st.metric("PSNR over the whole volume", f"{result.volume_psnr:.2f} dB",
              help="From the mean squared error over every voxel of every slice")
    st.dataframe(table.rename(columns={"noisy_psnr": "noisy PSNR (dB)", "psnr": "PSNR (dB)", "ssim": "SSIM"}),
                 hide_index=True, width="stretch", height=300)


def run(found: tuple[str | bytes, str], chosen, out_name: str, noise) -> tuple[bytes, object] | None:
    """Denoise the volume into a temporary folder: (the download's bytes, ``VolumeResult``); None when it failed
    (one line). A click on Cancel reruns the page, which stops the run at the next slice and leaves nothing."""
    bar, cancel = st.progress(0.0, text="Starting…"), st.empty()
    cancel.button("Cancel", key="w.vol.cancel", help="Stops at the next slice; nothing is kept")  # its click reruns
    params = None if chosen.auto else chosen.params
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / out_name
        try:
            result = denoise_volume(found[0], out, chosen.name, params, name=found[1], noise=noise,
                                    progress=lambda done, total: bar.progress(done / total, text=f"Slice {done} of {total}"))
        except DenoiseError as exc:
            views.error_line(exc)
            return None
        finally:
            cancel.empty()
        bar.empty()
        speed.record(chosen.name, result.slices * chosen.image.size, result.seconds)
        return (_zipped(out) if out.is_dir() else out.read_bytes()), result


def _zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{folder.name}/{file.name}")
    return buffer.getvalue()
