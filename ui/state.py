"""Every ``st.session_state`` key of the workbench, initialised in one place, and the URL scheme.

Two kinds of keys:

* **persistent** keys (below, in ``DEFAULTS``) hold what the user chose: the image, the noise
  model, its parameters, the seed, the denoisers and theirs. They survive page switches.
* **widget** keys start with ``w.`` and belong to one widget each. Streamlit forgets a widget's
  key when a page without that widget runs, so widgets are seeded from the persistent keys
  (``seed_widget``) and copy their value back after they are drawn. Two pickers are also set by the app:
  ``ui.benchmark_results.SHOWN`` to a run just made, ``ui.model_lab.MODEL`` to weights just imported.
  The download buttons of ``ui.zoo`` keep nothing in the session: ``w.methods.fetch.<model>`` (the
  method picker) and ``w.ml.fetch.<model>`` (Model Lab) fetch a published model, ``w.cmp.fetch.lpips``
  (Denoise & Compare) and ``w.bench.fetch.lpips`` (Benchmark) the LPIPS weights, into the cache that every
  session shares.

The page configuration is mirrored in the URL query parameters so a lecturer can bookmark a demo:

    ?img=<sample>&slice=<n>&noise=<model>&seed=<int>&n.<param>=<value>...
     &m=<denoiser>&m=<denoiser>...            (repeated; "m=median,bm3d" is read too)
     &d.<denoiser>=auto                        (parameters picked from the estimated noise level)
     &d.<denoiser>.<param>=<value>...          (manual parameters)

e.g. ``?img=xray&noise=gaussian&n.sigma=0.0980392&n.clip=false&seed=0&m=median&m=bm3d&d.median=auto
&d.bm3d.sigma=0.1``. Only URL-safe characters, so a link reads as it is written.

The view: ``left`` and ``right`` (the slider's panels: ``clean``, ``noisy`` or a denoiser), ``tab`` (the open tab of
Denoise & Compare: ``zoom``, ``differences``, ``roi``, ``downloads``; none: the metrics), ``zoom=<x>,<y>,<side>``
(the zoomed region) and ``win=<centre>,<width>`` (the display window, in the image's units). The Self Tuning
page adds ``cal=<denoiser>``, the method it tunes.

``img=upload`` marks an uploaded image (not shareable by link); ``ref=none`` marks an image used
without a clean reference. ``slice`` is the slice of a volume (NIfTI, multi-frame DICOM) counted from
1, as the Slice slider shows it; it is written only for volumes.
"""
from __future__ import annotations

import copy
import hashlib
import secrets
from typing import Any

import numpy as np
import streamlit as st

from denoise_core import registry
from denoise_core.apply import check_seed
from denoise_core.errors import DenoiseError, one_line

IMAGE = "image"                  # np.ndarray float32 [0, 1]: the clean image (or the noisy one without reference)
IMAGE_META = "image_meta"        # denoise_core.image.ImageMeta of IMAGE
IMAGE_ID = "image_id"            # "sample:<name>" or "upload:<hash>"
IMAGE_HASH = "image_hash"        # content hash of IMAGE: the cache key of everything derived from it
SAMPLE = "sample"                # sample name, or None for an upload
HAS_CLEAN = "has_clean"          # False: the image is already noisy and there is no clean reference
PENDING = "pending_upload"       # a large upload waiting for "downscale" or "crop"
NOISE = "noise_model"
NOISE_PARAMS = "noise_params"    # {model: {param: value}}
SEED = "seed"
METHODS = "methods"              # selected denoiser names, in selection order
METHOD_PARAMS = "method_params"  # {denoiser: {param: value}}  (manual values)
METHOD_AUTO = "method_auto"      # {denoiser: bool}
URL = "_url"                     # the query parameters this session last wrote or applied
NOTICE = "_notice"               # one-line message for the next run (e.g. a link that could not be applied)
WINDOW = "display_window"        # (label, (centre, width) in source units) for the current image, or None
PAGE = "_page"                   # title of the page that ran last
SOURCE = "image_source"          # {"name", "data"} of an uploaded volume, to read its other slices; else None
SLICE_ERROR = "_slice_error"     # one line: why the slice asked for could not be read (shown once, by the picker)
SECRET = "_secret"               # a random token of this session: keys its uploads, seeds its de-identification
DICOM_FILES = "_dicom_files"     # {key: bytes}: this session's DICOM downloads (they carry its patients' headers)
LESSON = "_lesson"               # (label, what it set) of the preset applied last: shown while its noise and image stay
UPLOAD_TOKEN = "_upload_token"   # the upload last read, so a rerun does not read it again
PIPELINE_RUN = "pipeline_run"    # (settings, pipeline.Result) of the Pipeline page's last run
MODEL_TIMING = "model_timing"    # (model, image hash, seconds) of the Model Lab's last timing
DONE_JOBS = "_done_jobs"         # job keys computed in this session: those need no progress indicator
CANCELLED = "_cancelled"         # True from a Cancel click until the page has said what it left unrun
NOISE_CANCELLED = "_noise_cancelled"  # (image hash, model, params, seed) of the noise whose generation was cancelled
VOLUME_EXPORT = "_volume_export"  # (settings, bytes, VolumeResult) of the last whole volume denoised in this session
PROJECTOR = "projector"          # True: the high-contrast theme for a lecture hall (larger type, black text)
VIEW = "compare_view"            # what Denoise & Compare shows: {"left", "right": panels, "tab", "zoom": [x, y, size]}
WAS_AUTO = "_was."               # prefix: WAS_AUTO + an "auto" checkbox's key holds its value on the last run

DEFAULT_METHODS = ("median", "gaussian", "wavelet")
DEFAULTS: dict[str, Any] = {
    IMAGE: None, IMAGE_META: None, IMAGE_ID: None, IMAGE_HASH: None, SAMPLE: None, HAS_CLEAN: True,
    PENDING: None, NOISE: "gaussian", NOISE_PARAMS: {}, SEED: 0, METHODS: None,
    METHOD_PARAMS: {}, METHOD_AUTO: {}, URL: None, NOTICE: None, WINDOW: None, PAGE: None,
    SOURCE: None, SLICE_ERROR: None, DICOM_FILES: {}, LESSON: None, UPLOAD_TOKEN: None, PIPELINE_RUN: None,
    MODEL_TIMING: None, DONE_JOBS: set(), CANCELLED: False, NOISE_CANCELLED: None, VOLUME_EXPORT: None, PROJECTOR: False, VIEW: {},
}

# --- Self Tuning: a denoiser tuned on the noisy image alone (ui.calibrate) ---
CALIBRATE_METHOD = "calibrate_method"  # the denoiser the Self Tuning page tunes (the link's cal=)
CALIBRATION = "calibration"            # (settings, calibrate.Calibration) of this session's last tuning, or None
CALIBRATE_URL = "cal"                  # the link's key for CALIBRATE_METHOD
DEFAULTS.update({CALIBRATE_METHOD: "nlm", CALIBRATION: None})


# --- reproducible bundles (ui.bundles) ---
BUNDLE_OPENED = "_bundle_opened"  # (name, size, file id) of the bundle last opened on Home: a rerun does not reopen it
DEFAULTS[BUNDLE_OPENED] = None


def init() -> None:
    """Create every persistent key that does not exist yet (call first on every page)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = copy.deepcopy(value)
    if SECRET not in st.session_state:
        st.session_state[SECRET] = secrets.token_hex(16)
    if st.session_state[METHODS] is None:
        known = registry.names("denoiser")
        st.session_state[METHODS] = [m for m in DEFAULT_METHODS if m in known]
    if st.session_state[NOISE] not in registry.names("noise") and registry.names("noise"):
        st.session_state[NOISE] = registry.names("noise")[0]


def get(key: str) -> Any:
    return st.session_state[key]


def put(key: str, value: Any) -> None:
    st.session_state[key] = value


def seed_widget(key: str, value: Any) -> None:
    """Give widget ``key`` its starting value unless the user already moved it this visit."""
    if key not in st.session_state:
        st.session_state[key] = value


def force_widget(key: str, value: Any) -> None:
    """Set widget ``key`` (before it is drawn), e.g. after a preset or a link."""
    st.session_state[key] = value


def enter_page(title: str) -> None:
    """On arriving from another page, drop every widget key so the widgets reseed from the persistent
    keys (Streamlit does not carry a widget's value to the same key on another page)."""
    if st.session_state[PAGE] != title:
        forget_widgets("w.")
        st.session_state[PAGE] = title


def forget_widgets(prefix: str) -> None:
    """Drop the widget keys starting with ``prefix`` so they reseed from the persistent state."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]


# --- the image ---------------------------------------------------------------------------------

def content_hash(image: np.ndarray) -> str:
    digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=10)
    digest.update(repr((image.shape, image.dtype.str)).encode())
    return digest.hexdigest()


def slices(meta: Any) -> int:
    """How many slices the file of ``meta`` holds (1 for a plain image, and when there is no image)."""
    return 1 if meta is None else int(meta.slices)


def slice_index(meta: Any) -> int:
    """The 0-based slice of its file that ``meta``'s image is (0 for a plain image)."""
    return 0 if meta is None else int(meta.slice_index)


IMAGE_WIDGETS = ("w.window", "w.roi.", "w.cmp.z", "w.nl.", "w.deid.", "w.noise.")
"""Widgets whose values belong to one image (display window, regions, zoom box, de-identification, noise
levels shown in the image's units): reset for a new image (the noise reseeds from the state)."""


def set_image(image: np.ndarray, meta: Any, *, sample: str | None, has_clean: bool | None = None,
              source: dict | None = None, same_volume: bool = False) -> None:
    """Make ``image`` the workbench's current image (on every page).

    ``has_clean`` None: a sample of real noise has no clean reference (``samples.is_noisy``), any other
    image has one.
    ``source`` ({"name", "data"}) keeps an uploaded volume's bytes so its other slices can be read.
    ``same_volume``: ``image`` is another slice of the current volume, so the display window and the
    regions stay (every slice maps to [0, 1] the same way and has the same size); otherwise they reset.
    """
    digest = content_hash(image)
    st.session_state[IMAGE] = image
    st.session_state[IMAGE_META] = meta
    st.session_state[IMAGE_HASH] = digest
    st.session_state[SAMPLE] = sample
    where = f"#{slice_index(meta) + 1}" if slices(meta) > 1 else ""
    st.session_state[IMAGE_ID] = (f"sample:{sample}" if sample else f"upload:{digest}") + where
    if has_clean is None:
        from denoise_core.samples import is_noisy
        has_clean = not (sample and is_noisy(sample))
    st.session_state[HAS_CLEAN] = bool(has_clean)
    st.session_state[SOURCE] = source if slices(meta) > 1 else None
    st.session_state[PENDING] = None
    if not same_volume:
        st.session_state[WINDOW] = None
        for prefix in IMAGE_WIDGETS:
            forget_widgets(prefix)
        _fit_noise(meta)


def _fit_noise(meta: Any) -> None:
    """A noise model made for one modality (a ``modality:CT`` tag: low-dose CT) gives way to the default
    noise on an image of another kind, so that a photo never inherits a CT's scanner noise."""
    made_for = {tag.split(":", 1)[1] for tag in registry.get(st.session_state[NOISE], "noise").tags
                if tag.startswith("modality:")}
    if made_for and getattr(meta, "modality", None) not in made_for:
        st.session_state[NOISE] = DEFAULTS[NOISE]


def display_bounds() -> tuple[float, float]:
    """The display window of the current image in [0, 1] units (the full range when none is set)."""
    from denoise_core.image import window_bounds
    chosen, meta = st.session_state[WINDOW], st.session_state[IMAGE_META]
    return (0.0, 1.0) if chosen is None or meta is None else window_bounds(meta, chosen[1])


def noise_params(model: str) -> dict:
    """The stored parameters of noise ``model`` (its defaults when never set), checked."""
    method = registry.get(model, "noise")
    stored = st.session_state[NOISE_PARAMS].get(model, {})
    return method.resolve({k: v for k, v in stored.items() if k in {p.name for p in method.params}})


def method_params(name: str) -> dict:
    method = registry.get(name, "denoiser")
    stored = st.session_state[METHOD_PARAMS].get(name, {})
    return method.resolve({k: v for k, v in stored.items() if k in {p.name for p in method.params}})


def method_auto(name: str) -> bool:
    method = registry.get(name, "denoiser")
    return method.auto is not None and st.session_state[METHOD_AUTO].get(name, True)


# --- the URL -----------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def url_dict(*, with_methods: bool) -> dict[str, str | list[str]]:
    """The current configuration as query parameters (see the module docstring)."""
    out: dict[str, str | list[str]] = {}
    sample = st.session_state[SAMPLE]
    out["img"] = sample if sample else "upload"
    meta = st.session_state[IMAGE_META]
    if slices(meta) > 1:
        out["slice"] = str(slice_index(meta) + 1)
    if not st.session_state[HAS_CLEAN]:
        out["ref"] = "none"
    else:
        model = st.session_state[NOISE]
        out["noise"] = model
        out["seed"] = str(int(st.session_state[SEED]))
        for name, value in noise_params(model).items():
            out[f"n.{name}"] = _text(value)
    if with_methods:
        chosen = [m for m in st.session_state[METHODS] if m in registry.names("denoiser")]
        if chosen:
            out["m"] = chosen if len(chosen) > 1 else chosen[0]
        for name in chosen:
            if method_auto(name):
                out[f"d.{name}"] = "auto"
            else:
                for key, value in method_params(name).items():
                    out[f"d.{name}.{key}"] = _text(value)
        view = st.session_state[VIEW]
        out.update({key: view[key] for key in ("left", "right") if view.get(key)})
        if view.get("tab", "metrics") != "metrics":
            out["tab"] = view["tab"]
        if view.get("zoom"):
            out["zoom"] = ",".join(str(int(v)) for v in view["zoom"])
    if st.session_state[WINDOW] is not None:
        out["win"] = ",".join(_text(v) for v in st.session_state[WINDOW][1])
    return out


def current_url() -> dict[str, str | list[str]]:
    """The address bar's query parameters, repeated keys as lists."""
    out = {}
    for key in st.query_params:
        values = st.query_params.get_all(key)
        out[key] = values if len(values) > 1 else (values[0] if values else "")
    return out


def write_url(*, with_methods: bool, extra: dict[str, str] | None = None) -> None:
    """Mirror the configuration into the address bar (only when it changed); ``extra``: a page's own keys."""
    wanted = {**url_dict(with_methods=with_methods), **(extra or {})}
    if current_url() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[URL] = wanted


def _parse(method: registry.Method, items: dict[str, str]) -> tuple[dict, list[str]]:
    values, problems = {}, []
    for name, text in items.items():
        try:
            values[name] = method.param(name).parse(text) if not isinstance(method.param(name), registry.ChoiceParam) \
                else _choice(method.param(name), text)
        except Exception as exc:  # DenoiseError; a bad link must not break the page
            problems.append(str(exc))
    return values, problems


def _apply_slice(text: str, use_slice) -> None:
    """The link's ``slice`` (1-based): read it unless it is the current one; a bad one is one error line."""
    meta = st.session_state[IMAGE_META]
    if meta is None:  # no image yet (a link without img=): nothing to take a slice of
        return
    count = slices(meta)
    name = st.session_state[SAMPLE] or meta.name
    try:
        number = int(text)
    except ValueError:
        st.session_state[SLICE_ERROR] = f"Slice '{one_line(text, 40)}' in the link is not a whole number; showing slice " \
                                        f"{slice_index(meta) + 1} of {count}"
        return
    if number == slice_index(meta) + 1:
        return
    if not 1 <= number <= count:
        st.session_state[SLICE_ERROR] = (f"Slice {number} in the link is out of range: {name} has "
                                         + (f"slices 1 to {count}; showing slice {slice_index(meta) + 1}"
                                            if count > 1 else "a single slice"))
        return
    try:
        use_slice(number - 1)
    except DenoiseError as exc:
        st.session_state[SLICE_ERROR] = f"Slice {number} could not be read: {exc}"


def _choice(param: registry.ChoiceParam, text: str) -> Any:
    for choice in param.choices:
        if str(choice) == text:
            return choice
    return param.check(text)


def _single(given: dict[str, str | list[str]], key: str, problems: list[str]) -> str:
    """The link's value of ``key``; a key given more than once keeps its first value, and says so."""
    value = given[key]
    if isinstance(value, list):
        problems.append(f"'{one_line(key, 40)}' is given {len(value)} times; using the first, '{one_line(value[0], 40)}'")
        return value[0]
    return value


def _apply_seed(text: str, problems: list[str]) -> None:
    try:
        st.session_state[SEED] = check_seed(text)
    except DenoiseError as exc:
        problems.append(f"{exc}; keeping seed {st.session_state[SEED]}")


def _numbers(text: str, count: int, what: str, problems: list[str]) -> list[float] | None:
    """``count`` comma-separated finite numbers, or None with a problem line."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(np.isfinite(numbers)):
        problems.append(f"{what} '{one_line(text, 40)}': expected {count} numbers separated by commas")
        return None
    return numbers


def _apply_view(values: dict[str, str], problems: list[str]) -> None:
    """The link's view: the slider's panels, the zoomed region and the display window."""
    view = {key: values[key] for key in ("left", "right", "tab") if key in values}
    zoom = _numbers(values["zoom"], 3, "zoom", problems) if "zoom" in values else None
    if zoom is not None:
        view["zoom"] = [int(v) for v in zoom]
    st.session_state[VIEW] = view
    window = _numbers(values["win"], 2, "win", problems) if "win" in values else None
    if window is not None and window[1] > 0:
        st.session_state[WINDOW] = ("Custom", (window[0], window[1]))


def apply_url(load_sample, use_slice=None) -> None:
    """Apply the query parameters when they differ from what this session last wrote.

    That is: a bookmarked or shared link opened in a new session, or an address edited by hand.
    ``load_sample(name)`` loads a sample (the cached loader of ``ui.cache``); ``use_slice(index)``
    makes slice ``index`` (0-based) of the current volume the current image or raises
    ``DenoiseError``. Problems (a bad value, a key given twice) become one notice line; the rest of
    the link still applies. A slice that cannot be read becomes one error line instead
    (``SLICE_ERROR``) and the image stays.
    """
    given = current_url()
    if not given or given == st.session_state[URL]:
        return
    problems: list[str] = []
    values = {key: _single(given, key, problems) for key in given if key != "m"}
    img = values.get("img")
    image_ok = True
    if img and img != "upload" and img != st.session_state[SAMPLE]:
        try:
            image, meta = load_sample(img)
            set_image(image, meta, sample=img)
        except DenoiseError as exc:  # an unknown sample name, a missing file
            problems.append(f"image '{one_line(img, 40)}': {exc}")
            image_ok = False
    elif img == "upload" and st.session_state[SAMPLE] is not None:
        problems.append("the link refers to an uploaded image, which a link cannot carry; showing the current image")
        image_ok = False
    if "slice" in values and image_ok and use_slice is not None:
        _apply_slice(values["slice"], use_slice)
    model = values.get("noise")
    if model:
        if model in registry.names("noise"):
            st.session_state[NOISE] = model
            items = {k[2:]: v for k, v in values.items() if k.startswith("n.")}
            parsed, bad = _parse(registry.get(model, "noise"), items)
            problems += bad
            st.session_state[NOISE_PARAMS] = {**st.session_state[NOISE_PARAMS], model: parsed}
        else:
            problems.append(f"unknown noise model '{one_line(model, 40)}'")
    if "seed" in values:
        _apply_seed(values["seed"], problems)
    if CALIBRATE_URL in values:  # checked by the Self Tuning page, which knows what can be tuned
        st.session_state[CALIBRATE_METHOD] = values[CALIBRATE_URL]
    if "m" in given:
        known = registry.names("denoiser")
        listed = given["m"] if isinstance(given["m"], list) else [given["m"]]
        chosen = list(dict.fromkeys(m for item in listed for m in item.split(",") if m))  # each once, in order
        problems += [f"unknown denoiser '{one_line(m, 40)}'" for m in chosen if m not in known]
        chosen = [m for m in chosen if m in known]
        st.session_state[METHODS] = chosen
        for name in chosen:
            items = {k[len(name) + 3:]: v for k, v in values.items() if k.startswith(f"d.{name}.")}
            auto = not items  # "d.<name>=auto", or nothing given: auto
            st.session_state[METHOD_AUTO] = {**st.session_state[METHOD_AUTO], name: auto}
            if not auto:
                parsed, bad = _parse(registry.get(name, "denoiser"), items)
                problems += bad
                st.session_state[METHOD_PARAMS] = {**st.session_state[METHOD_PARAMS], name: parsed}
    _apply_view(values, problems)
    forget_widgets("w.")
    st.session_state[URL] = given
    if problems:
        st.session_state[NOTICE] = "Link partly applied: " + "; ".join(one_line(p, 200) for p in problems)


# --- the classroom: the Vote and Challenge pages, the lecturer's passcode of a served class ---------------------

LECTURER = "_lecturer"            # True once this session gave the lecturer's passcode (classroom mode)
VOTE_CODE = "vote_code"           # class code of the vote round this session opened or joined, or None
VOTED = "_voted"                  # {class code: {pair index: choice}}: this session's votes
CHALLENGE_CODE = "challenge_code"  # class code of the challenge this session opened or joined, or None
SUBMITTED = "_submitted"          # {class code: [(method, params, stored?)]}: this session's submissions
DEFAULTS.update({LECTURER: False, VOTE_CODE: None, VOTED: {}, CHALLENGE_CODE: None, SUBMITTED: {}})


def anonymous_id() -> str:
    """This session's anonymous voter and student id: drawn from its secret, so it names nobody and no other
    session can take it."""
    return hashlib.sha256(f"classroom:{st.session_state[SECRET]}".encode()).hexdigest()[:16]


# --- noise forensics ---------------------------------------------------------------------------

FORENSICS = "forensics"            # the Noise Forensics page's settings: {"ref", "block", "log"}
FORENSICS_URL = "_forensics_url"   # the fx.* query parameters that page last wrote or applied
FORENSICS_DEFAULTS = {"ref": "clean", "block": 8, "log": False}
FORENSICS_REFS = ("clean", "smooth")   # residual against the clean image, or against a smooth estimate
FORENSICS_BLOCKS = (4, 8, 16, 32)


def forensics_settings() -> dict:
    """The Noise Forensics settings (``FORENSICS_DEFAULTS`` until changed)."""
    if FORENSICS not in st.session_state:
        st.session_state[FORENSICS] = dict(FORENSICS_DEFAULTS)
    return st.session_state[FORENSICS]


def _forensics_params(settings: dict) -> dict[str, str]:
    return {f"fx.{key}": _text(value) for key, value in settings.items()}


def apply_forensics_url() -> None:
    """The link's ``fx.ref`` (clean or smooth), ``fx.block`` (4, 8, 16 or 32) and ``fx.log`` (true or false), when
    they differ from what this page last wrote; a bad value is one notice line and keeps the current one."""
    given = {k: v for k, v in current_url().items() if k.startswith("fx.")}
    if not given or given == st.session_state.get(FORENSICS_URL):
        return
    settings, problems = dict(forensics_settings()), []
    readers = {"ref": lambda t: t if t in FORENSICS_REFS else None,
               "block": lambda t: int(t) if t.isdigit() and int(t) in FORENSICS_BLOCKS else None,
               "log": lambda t: {"true": True, "false": False}.get(t)}
    for key, read in readers.items():
        text = given.get(f"fx.{key}")
        if text is not None:
            value = read(text if isinstance(text, str) else text[0])
            if value is None:
                problems.append(f"fx.{key} '{one_line(text, 40)}' is not one of its choices; keeping {settings[key]}")
            else:
                settings[key] = value
    st.session_state[FORENSICS] = settings
    st.session_state[FORENSICS_URL] = given
    forget_widgets("w.fx.")
    if problems:
        st.session_state[NOTICE] = "Link partly applied: " + "; ".join(problems)


def write_forensics_url() -> None:
    """Mirror the configuration and the Noise Forensics settings into the address bar."""
    extra = _forensics_params(forensics_settings())
    write_url(with_methods=False, extra=extra)
    st.session_state[FORENSICS_URL] = extra


# --- sweeps ------------------------------------------------------------------------------------
# The Sweeps page's settings in the link: sw.mode (sweep | experiment), sw.exp, sw.noise, sw.range
# (start:stop:count, in the level's units), sw.m (denoisers, comma-separated), sw.img (current | samples | set12 |
# bsd68), sw.limit, sw.size, sw.seeds, sw.metric (comma-separated), sw.workers.

SWEEP = "sweep_settings"         # the Sweeps page's settings (keys of SWEEP_DEFAULTS)
SWEEP_RESULT = "sweep_result"    # (settings, [(part title, noise, param, rows)]) of this session's last sweep
SWEEP_LINK = "_sweep_link"       # the sw.* query parameters this session last wrote or applied
SWEEP_DEFAULTS: dict[str, Any] = {"mode": "sweep", "exp": "fixed_sigma", "noise": "gaussian", "range": "5:75:8",
                                  "m": ["wiener", "ffdnet_gray_blind"], "img": "current", "limit": 2, "size": 96,
                                  "seeds": 1, "metric": ["psnr", "ssim"], "workers": 0}
_SWEEP_LISTS = ("m", "metric")
_SWEEP_INTS = {"limit": (0, 500), "size": (0, 4096), "seeds": (1, 20), "workers": (0, 64)}


def sweep_settings() -> dict:
    """The Sweeps page's settings, defaults filled in."""
    st.session_state.setdefault(SWEEP, copy.deepcopy(SWEEP_DEFAULTS))
    st.session_state.setdefault(SWEEP_RESULT, None)
    return st.session_state[SWEEP]


def sweep_query(settings: dict) -> dict[str, str]:
    """``settings`` as sw.* query parameters, lists comma-separated."""
    return {f"sw.{key}": ",".join(value) if key in _SWEEP_LISTS else str(value) for key, value in settings.items()}


def apply_sweep_url() -> None:
    """Take the link's sw.* settings when they differ from what this session last wrote; a bad value keeps its
    default and becomes one notice line. Drops the Sweeps widgets so they reseed from the settings."""
    given = {key: value for key, value in current_url().items() if key.startswith("sw.")}
    if not given or given == st.session_state.get(SWEEP_LINK):
        return
    settings, problems = copy.deepcopy(SWEEP_DEFAULTS), []
    for key, value in given.items():
        name = key[3:]
        if name in _SWEEP_LISTS:
            settings[name] = [item for item in _single(given, key, problems).split(",") if item]
        elif name in _SWEEP_INTS:
            lo, hi = _SWEEP_INTS[name]
            number = int(value) if isinstance(value, str) and value.isdigit() else None
            if number is None or not lo <= number <= hi:
                problems.append(f"'{key}' = '{one_line(str(value), 40)}': expected a whole number from {lo} to {hi}")
            else:
                settings[name] = number
        elif name in SWEEP_DEFAULTS:
            settings[name] = _single(given, key, problems)
    st.session_state[SWEEP] = settings
    st.session_state[SWEEP_LINK] = given
    forget_widgets("w.sw.")
    if problems:
        st.session_state[NOTICE] = "Link partly applied: " + "; ".join(problems)


def write_sweep_url(settings: dict) -> None:
    """The link: the image (as every page writes it) and the Sweeps settings."""
    extra = sweep_query(settings)
    write_url(with_methods=False, extra=extra)
    st.session_state[SWEEP_LINK] = {key: value for key, value in extra.items() if key.startswith("sw.")}
