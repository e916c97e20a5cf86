"""Noise models: each one a registered function ``model(image, *, <params>, rng) -> noisy``.

Every model takes an explicit ``numpy.random.Generator`` (``apply.add_noise`` seeds it), never
modifies its input and returns an array of the input's shape as float32. Each docstring says
whether the result is clipped to [0, 1]. Use them through
``apply.add_noise(image, "gaussian", {"sigma": 0.1}, seed=0)``.
"""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from . import progress
from .registry import BoolParam, FloatParam, IntParam, Level, get, register


def _pixel_shape(image: np.ndarray) -> tuple[int, int]:
    return image.shape[:2]


@register("gaussian", kind="noise", title="Gaussian (additive white)",
          level=Level("sigma", 255, (15, 25, 50), "sigma"), params=[
    FloatParam("sigma", default=25 / 255, lo=0.0, hi=0.5, step=0.001,
               help="Noise standard deviation in [0, 1] units (25/255 ≈ 0.098)"),
    BoolParam("clip", default=True,
              help="Clip the result to [0, 1]; off = the evaluation protocol's unclipped noise"),
])
def gaussian(image: np.ndarray, *, sigma: float = 25 / 255, clip: bool = True,
             rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise of standard deviation ``sigma``, clipped to [0, 1] by default.

    The noisy image is ``image + sigma * rng.standard_normal(image.shape)``, the convention of the
    denoising literature (Zhang et al., "Beyond a Gaussian Denoiser", TIP 2017), so a benchmark
    seeded with ``numpy.random.default_rng(seed)`` is reproducible. Colour channels get independent
    noise.

    Parameters
    ----------
    sigma : float in [0, 0.5]
        Standard deviation in [0, 1] intensity units.
    clip : bool
        Clip to [0, 1]. With ``False`` values may stray outside [0, 1], as the evaluation protocol
        requires.
    """
    noisy = image + sigma * rng.standard_normal(image.shape)
    if clip:
        noisy = np.clip(noisy, 0.0, 1.0)
    return noisy.astype(np.float32)


@register("salt_pepper", kind="noise", title="Salt and pepper (impulse)",
          level=Level("amount", 1, (0.05, 0.1, 0.2), "impulse", fit="impulse"), params=[
    FloatParam("amount", default=0.05, lo=0.0, hi=0.9, step=0.01,
               help="Fraction of pixels replaced by black or white"),
    FloatParam("salt_ratio", default=0.5, lo=0.0, hi=1.0, step=0.05,
               help="Share of the replaced pixels that become white (salt)"),
])
def salt_pepper(image: np.ndarray, *, amount: float = 0.05, salt_ratio: float = 0.5,
                rng: np.random.Generator) -> np.ndarray:
    """Impulse noise: a random fraction ``amount`` of pixels set to black (0) or white (1).

    Each pixel is hit independently with probability ``amount``; a hit pixel becomes white with
    probability ``salt_ratio``, else black. In a colour image all three channels of a hit pixel
    change together. Pixels not hit keep their values (no clipping).

    Parameters
    ----------
    amount : float in [0, 0.9]
        Probability that a pixel is replaced.
    salt_ratio : float in [0, 1]
        Probability that a replaced pixel is white rather than black.
    """
    shape = _pixel_shape(image)
    hit = rng.random(shape) < amount
    salt = rng.random(shape) < salt_ratio
    noisy = image.astype(np.float32, copy=True)
    noisy[hit & salt] = 1.0
    noisy[hit & ~salt] = 0.0
    return noisy


@register("speckle", kind="noise", title="Speckle (multiplicative)",
          level=Level("var", 1, (0.02, 0.04, 0.1), fit="var"), params=[
    FloatParam("var", default=0.04, lo=0.0, hi=1.0, step=0.005,
               help="Variance of the multiplicative factor n in x + x·n"),
])
def speckle(image: np.ndarray, *, var: float = 0.04, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative speckle noise ``x + x·n`` with ``n ~ N(0, var)``, clipped to [0, 1].

    The noise standard deviation at a pixel is ``sqrt(var)·x``: dark areas stay clean, bright
    areas get grainy, as in ultrasound and radar images (``skimage.util.random_noise`` calls this
    mode "speckle").

    Parameters
    ----------
    var : float in [0, 1]
        Variance of ``n``.
    """
    noisy = image + image * (np.sqrt(var) * rng.standard_normal(image.shape))
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


@register("poisson", kind="noise", title="Poisson (photon shot noise)",
          level=Level("peak", 1, (10, 30, 100), fit="peak"), params=[
    FloatParam("peak", default=30.0, lo=1.0, hi=1000.0, step=1.0,
               help="Expected photon count at white; smaller is noisier"),
])
def poisson(image: np.ndarray, *, peak: float = 30.0, rng: np.random.Generator) -> np.ndarray:
    """Photon shot noise of a low-dose capture: ``Poisson(x·peak) / peak``, clipped to [0, 1].

    ``peak`` is the expected photon count of a white pixel, so the noise variance at intensity
    ``x`` is ``x / peak``: brighter pixels are noisier in absolute terms, cleaner relative to their
    value. The input is clipped to [0, 1] before sampling.

    Parameters
    ----------
    peak : float in [1, 1000]
        Expected photon count at white; 1–10 is very noisy, 1000 nearly clean.
    """
    counts = rng.poisson(np.clip(image, 0.0, 1.0) * peak)
    return np.clip(counts / peak, 0.0, 1.0).astype(np.float32)


@register("rician", kind="noise", title="Rician (MRI magnitude)",
          level=Level("sigma", 255, (10, 20, 40), "sigma"), params=[
    FloatParam("sigma", default=0.05, lo=0.0, hi=0.3, step=0.005,
               help="Standard deviation of each of the two Gaussian components, in [0, 1] units"),
])
def rician(image: np.ndarray, *, sigma: float = 0.05, rng: np.random.Generator) -> np.ndarray:
    """Rician noise of MRI magnitude images: ``sqrt((x + n1)² + n2²)``, clipped to [0, 1].

    ``n1`` and ``n2`` are independent ``N(0, sigma²)``: the real and imaginary channels of the
    complex MR signal. The magnitude is biased upwards in dark areas (at ``x = 0`` its mean is
    ``sigma·sqrt(pi/2)``) and nearly Gaussian where ``x >> sigma`` (Gudbjartsson and Patz, "The
    Rician distribution of noisy MRI data", MRM 1995).

    Parameters
    ----------
    sigma : float in [0, 0.3]
        Standard deviation of each Gaussian component in [0, 1] units.
    """
    real = image + sigma * rng.standard_normal(image.shape)
    imag = sigma * rng.standard_normal(image.shape)
    return np.clip(np.hypot(real, imag), 0.0, 1.0).astype(np.float32)


@register("rician_snr", kind="noise", title="Rician at a chosen SNR (MRI)",
          level=Level("snr", 1, (5, 10, 20)), params=[
    FloatParam("snr", default=10.0, lo=1.0, hi=100.0, step=0.5,
               help="Signal-to-noise ratio of the foreground: its mean intensity over the noise std"),
])
def rician_snr(image: np.ndarray, *, snr: float = 10.0, rng: np.random.Generator) -> np.ndarray:
    """Rician noise (see ``rician``) whose ``sigma`` makes the foreground reach ``snr``; clipped to [0, 1].

    The foreground is every pixel above 10 % of the image's maximum (the tissue of an MR slice, not
    the air around it); ``sigma = mean(foreground) / snr``, so an MR physicist's "SNR 10" means the
    same on a dark and on a bright slice. A blank image gets no noise.

    Parameters
    ----------
    snr : float in [1, 100]
        Mean foreground intensity divided by the noise standard deviation.
    """
    foreground = image[image > 0.1 * image.max()] if image.max() > 0 else image[:0]
    sigma = float(foreground.mean()) / snr if foreground.size else 0.0
    return rician(image, sigma=sigma, rng=rng)


@register("poisson_gaussian", kind="noise", title="Poisson–Gaussian (X-ray detector)",
          level=Level("peak", 1, (50, 200, 1000)), params=[
    FloatParam("peak", default=200.0, lo=5.0, hi=5000.0, step=5.0,
               help="Expected quanta detected at white; smaller is a lower dose"),
    FloatParam("read_sigma", default=0.01, lo=0.0, hi=0.1, step=0.001,
               help="Electronic (read) noise standard deviation, in [0, 1] units"),
])
def poisson_gaussian(image: np.ndarray, *, peak: float = 200.0, read_sigma: float = 0.01,
                     rng: np.random.Generator) -> np.ndarray:
    """Flat-panel X-ray detector noise: quantum (Poisson) noise plus electronic Gaussian noise, clipped to [0, 1].

    ``Poisson(x·peak) / peak + N(0, read_sigma²)``: the variance at intensity ``x`` is
    ``x / peak + read_sigma²``, affine in ``x`` (Foi et al., "Practical Poissonian-Gaussian noise
    modeling and fitting for single-image raw-data", IEEE TIP 2008). The input is clipped to [0, 1].

    Parameters
    ----------
    peak : float in [5, 5000]
        Expected detected quanta at white (the dose).
    read_sigma : float in [0, 0.1]
        Standard deviation of the signal-independent electronic noise.
    """
    counts = rng.poisson(np.clip(image, 0.0, 1.0) * peak)
    noisy = counts / peak + read_sigma * rng.standard_normal(image.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


CT_MAX_ATTENUATION = 4.0
"""Line integral of the most attenuating ray in ``ct_lowdose`` (e^-4: 1.8 % of the photons get through)."""


CT_CHUNKS = 8
"""Projection and reconstruction each run in this many groups of angles, with progress after each (exact: every
angle is projected alone and filtered back-projection is a sum over angles)."""


def _fbp_of_noisy_sinogram(plane: np.ndarray, photons: float, rng: np.random.Generator,
                           done: float, share: float) -> np.ndarray:
    """One plane's noisy reconstruction; ``done`` and ``share``: where its work lies in the whole (progress)."""
    from skimage.transform import iradon, radon  # heavy (scipy.interpolate): loaded for CT noise only

    height, width = plane.shape
    side = max(height, width)
    square = np.zeros((side, side))
    top, left = (side - height) // 2, (side - width) // 2
    square[top:top + height, left:left + width] = plane
    groups = np.array_split(np.linspace(0.0, 180.0, side, endpoint=False), CT_CHUNKS)
    projections = []
    for step, angles in enumerate(groups, 1):
        projections.append(radon(square, theta=angles, circle=False))
        progress.report(done + share * step / (2 * CT_CHUNKS))
    sinogram = np.concatenate(projections, axis=1)
    scale = CT_MAX_ATTENUATION / sinogram.max() if sinogram.max() > 0 else 1.0
    counts = rng.poisson(photons * np.exp(-sinogram * scale))
    measured = -np.log(np.maximum(counts, 1) / photons) / scale
    recon, first = np.zeros((side, side)), 0
    for step, angles in enumerate(groups, 1):
        part = measured[:, first:first + len(angles)]
        recon += iradon(part, theta=angles, filter_name="ramp", circle=False, output_size=side) * len(angles) / side
        first += len(angles)
        progress.report(done + share * (CT_CHUNKS + step) / (2 * CT_CHUNKS))
    return recon[top:top + height, left:left + width]


@register("ct_lowdose", kind="noise", title="Low-dose CT (projection-domain Poisson)", tags=("modality:CT",),
          level=Level("photons", 1, (500, 2000, 10000)), params=[
    FloatParam("photons", default=2e3, lo=1e2, hi=1e7, step=100.0, log=True,
               help="Incident photons per detector reading; fewer is a lower dose"),
])
def ct_lowdose(image: np.ndarray, *, photons: float = 2e3, rng: np.random.Generator) -> np.ndarray:
    """Low-dose CT: Poisson noise on the projections, reconstructed by filtered back-projection; clipped to [0, 1].

    The image is read as an attenuation map (air = 0), centred in a square of zeros and forward
    projected at as many angles over 180° as the square's side (``skimage.transform.radon``). The
    line integrals are scaled so the most attenuating ray has ``CT_MAX_ATTENUATION``; each reading
    counts ``Poisson(photons · e^-p)`` photons (at least one), the log turns counts back into line
    integrals, and ``iradon`` with the ramp filter reconstructs. The result has CT's streaky,
    spatially correlated noise, whose std falls as ``1/sqrt(photons)``; even with no noise FBP
    leaves small reconstruction errors. Colour channels are processed one by one.

    Parameters
    ----------
    photons : float in [1e2, 1e7]
        Incident photons per detector reading (1e3–1e4 is low dose, 1e6 nearly noise-free).
    """
    planes = image[..., None] if image.ndim == 2 else image
    count = planes.shape[2]
    out = np.stack([_fbp_of_noisy_sinogram(planes[..., c].astype(np.float64), photons, rng, c / count, 1 / count)
                    for c in range(count)], axis=2)
    return np.clip(out.reshape(image.shape), 0.0, 1.0).astype(np.float32)


@register("low_light", kind="noise", title="Low light (phone at night)",
          level=Level("peak", 1, (100, 500, 2000)), params=[
    FloatParam("dim", default=0.2, lo=0.02, hi=1.0, step=0.01,
               help="Fraction of the light that reaches the sensor; smaller is darker"),
    FloatParam("peak", default=500.0, lo=10.0, hi=5000.0, step=10.0,
               help="Photon count that fills the sensor to white (full well)"),
    FloatParam("read_sigma", default=0.005, lo=0.0, hi=0.05, step=0.001,
               help="Sensor read noise standard deviation, in [0, 1] units of the raw signal"),
])
def low_light(image: np.ndarray, *, dim: float = 0.2, peak: float = 500.0, read_sigma: float = 0.005,
              rng: np.random.Generator) -> np.ndarray:
    """A dim scene brightened afterwards: Poisson shot noise plus Gaussian read noise, amplified.

    The sensor receives ``dim·x`` of its full scale, counts ``Poisson(dim·x·peak)`` photons, adds
    read noise ``N(0, read_sigma²)`` and the camera multiplies the result by ``1/dim`` to restore
    the brightness, as a phone does at night. The noise variance at intensity ``x`` is therefore
    ``(dim·x/peak + read_sigma²) / dim²``; the mean stays ``x``. The input is clipped to [0, 1]
    first and the result is clipped to [0, 1].

    Parameters
    ----------
    dim : float in [0.02, 1]
        Exposure relative to a well-lit capture (0.2 = five times too dark).
    peak : float in [10, 5000]
        Photon count that fills the sensor to white.
    read_sigma : float in [0, 0.05]
        Read noise standard deviation of the raw signal, in [0, 1] units.
    """
    counts = rng.poisson(np.clip(image, 0.0, 1.0) * (dim * peak))
    raw = counts / peak + read_sigma * rng.standard_normal(image.shape)
    return np.clip(raw / dim, 0.0, 1.0).astype(np.float32)


@register("scribbles", kind="noise", title="Scribbles and scratches",
          level=Level("count", 1, (4, 8, 16)), params=[
    IntParam("count", default=8, lo=1, hi=60, step=1, help="Number of strokes"),
    IntParam("thickness", default=2, lo=1, hi=12, step=1, help="Stroke width in pixels"),
    FloatParam("cross_ratio", default=0.3, lo=0.0, hi=1.0, step=0.05,
               help="Share of the strokes drawn as cross marks (the rest are zig-zag scribbles)"),
])
def scribbles(image: np.ndarray, *, count: int = 8, thickness: int = 2, cross_ratio: float = 0.3,
              rng: np.random.Generator) -> np.ndarray:
    """Random pen strokes and cross marks drawn in pure black or white, like defaced prints.

    Each stroke is, with probability ``cross_ratio``, a cross mark (two crossing lines), otherwise a
    zig-zag of three segments; its colour is black or white with equal probability and its length
    about 10–40% of the shorter image side. Strokes are drawn with ``cv2.polylines`` (no
    antialiasing); every stroke uses the same number of random draws, so the strokes of
    ``count=n`` are the first ``n`` strokes of any larger ``count`` with the same seed. Painted
    pixels are exactly 0 or 1 in all channels; other pixels keep their values (no clipping).

    Parameters
    ----------
    count : int in [1, 60]
        Number of strokes.
    thickness : int in [1, 12]
        Stroke width in pixels.
    cross_ratio : float in [0, 1]
        Probability that a stroke is a cross mark.
    """
    height, width = _pixel_shape(image)
    side = min(height, width)
    noisy = image.astype(np.float32, copy=True)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(count):
        u = rng.random(9)
        start = np.array([u[0] * width, u[1] * height])
        length = side * (0.1 + 0.3 * u[2])
        angle = 2 * np.pi * u[3]
        if u[4] < cross_ratio:
            half = length / 2
            lines = []
            for turn in (np.pi / 4, -np.pi / 4):
                offset = half * np.array([np.cos(angle + turn), np.sin(angle + turn)])
                lines.append(np.array([start - offset, start + offset]))
        else:
            points, step = [start], length / 3
            for k, bend in enumerate(u[5:8]):
                heading = angle + (1 if k % 2 else -1) * (0.3 + 1.2 * bend)
                points.append(points[-1] + step * np.array([np.cos(heading), np.sin(heading)]))
            lines = [np.array(points)]
        mask[:] = 0
        cv2.polylines(mask, [np.round(line).astype(np.int32) for line in lines], isClosed=False,
                      color=1, thickness=int(thickness), lineType=cv2.LINE_8)
        noisy[mask.astype(bool)] = 1.0 if u[8] < 0.5 else 0.0
    return noisy


@register("jpeg", kind="noise", title="JPEG compression",
          level=Level("quality", 1, (10, 20, 50)), params=[
    IntParam("quality", default=20, lo=1, hi=95, step=1,
             help="JPEG quality; lower gives stronger blocking and ringing"),
])
def jpeg(image: np.ndarray, *, quality: int = 20, rng: np.random.Generator) -> np.ndarray:
    """JPEG compression artefacts: 8-bit encode and decode at ``quality`` with Pillow.

    The image is clipped to [0, 1] and rounded to 8 bits, saved as a baseline JPEG (gray, or RGB
    with Pillow's default chroma subsampling) and read back, so the result lies on the 8-bit grid
    in [0, 1]. Deterministic: ``rng`` is accepted like every noise model's but not used.

    Parameters
    ----------
    quality : int in [1, 95]
        Pillow's JPEG quality; 95 is nearly lossless, below 20 blocks become visible.
    """
    del rng  # JPEG coding is deterministic
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        out = np.asarray(decoded.convert("L" if image.ndim == 2 else "RGB"))
    return (out.astype(np.float32) / 255).reshape(image.shape)


# Components of ``mixed``, in the order they are applied (sensor first, compression last), with how
# a strength t in (0, 1] maps to their parameters: the continuous models get a noise std of about
# 0.2·t at mid-grey, the others comparable damage.
_MIX_RULES = {
    "low_light": lambda t: {"dim": round(1.0 - 0.9 * t, 3), "peak": round(min(5000.0, 500 / t), 1),
                            "read_sigma": 0.003},
    "poisson": lambda t: {"peak": round(min(1000.0, 12.5 / t ** 2), 1)},
    "gaussian": lambda t: {"sigma": round(0.2 * t, 4), "clip": True},
    "speckle": lambda t: {"var": round(0.16 * t ** 2, 4)},
    "rician": lambda t: {"sigma": round(0.2 * t, 4)},
    "salt_pepper": lambda t: {"amount": round(0.2 * t, 4), "salt_ratio": 0.5},
    "scribbles": lambda t: {"count": 1 + int(round(19 * t)), "thickness": 1 + int(round(3 * t)),
                            "cross_ratio": 0.3},
    "jpeg": lambda t: {"quality": int(round(90 - 80 * t))},
}
MIX_COMPONENTS = tuple(_MIX_RULES)
"""The noise models ``mixed`` draws from, in the order it applies them."""


def mixed_recipe(rng: np.random.Generator | int, *, strength: float = 0.5) -> list[tuple[str, dict]]:
    """The components ``mixed`` applies for this generator or seed: ``[(model, params), ...]``.

    Draws how many components (1, 2 or 3, equally likely), which ones (distinct, uniformly among
    ``MIX_COMPONENTS``) and a strength ``t = strength · U(0.5, 1)`` for each. Passing the seed given
    to ``apply.add_noise(image, "mixed", ..., seed=seed)`` returns the recipe that call used.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Generator (consumed) or seed.
    strength : float in [0.1, 1]
        Overall strength.

    Returns
    -------
    list of (str, dict)
        Model names with checked parameters, in the order they are applied.
    """
    strength = get("mixed", "noise").param("strength").check(strength)
    rng = np.random.default_rng(rng)
    number = int(rng.integers(1, 4))
    picked = rng.choice(len(MIX_COMPONENTS), size=number, replace=False)
    levels = strength * rng.uniform(0.5, 1.0, size=number)
    chosen = {MIX_COMPONENTS[i]: float(t) for i, t in zip(picked, levels)}
    return [(name, get(name, "noise").resolve(_MIX_RULES[name](chosen[name])))
            for name in MIX_COMPONENTS if name in chosen]


@register("mixed", kind="noise", title="Mixed (random combination)",
          level=Level("strength", 1, (0.3, 0.5, 0.7)), params=[
    FloatParam("strength", default=0.5, lo=0.1, hi=1.0, step=0.05,
               help="Overall strength of the randomly chosen components"),
])
def mixed(image: np.ndarray, *, strength: float = 0.5, rng: np.random.Generator) -> np.ndarray:
    """A random combination of 1–3 of the other noise models, for blind-denoising practice.

    The generator first draws the recipe (see ``mixed_recipe``): the number of components (1–3),
    which models (distinct, from ``MIX_COMPONENTS``: low_light, poisson, gaussian, speckle,
    rician, salt_pepper, scribbles, jpeg) and a strength ``t = strength · U(0.5, 1)`` for each,
    mapped to its parameters so that the continuous models add a noise std of about ``0.2·t`` at
    mid-grey (gaussian sigma ``0.2·t``, poisson peak ``12.5/t²``, ...) and the others comparable
    damage (salt_pepper amount ``0.2·t``, jpeg quality ``90 - 80·t``, ...). The
    components then run in that fixed order with the same generator, sensor noise first and
    JPEG last; ``mixed_recipe(seed, strength=...)`` tells which were used. The input is clipped
    to [0, 1] first and every component keeps it there, so the result is in [0, 1].

    Parameters
    ----------
    strength : float in [0.1, 1]
        Overall strength: 0.1 is light, 1 strong.
    """
    noisy = np.clip(image, 0.0, 1.0).astype(np.float32)
    for name, params in mixed_recipe(rng, strength=strength):
        noisy = get(name, "noise").func(noisy, rng=rng, **params)
    return noisy


@register("camera", kind="noise", title="Camera (shot + read noise, demosaiced, JPEG)",
          level=Level("peak", 1, (30, 100, 300)), params=[
    FloatParam("peak", default=100.0, lo=5.0, hi=5000.0, step=5.0, log=True,
               help="Photo-electrons that fill a pixel to white; smaller is a darker scene or a higher ISO"),
    FloatParam("read_sigma", default=0.01, lo=0.0, hi=0.1, step=0.001,
               help="Read noise standard deviation, in [0, 1] units"),
    FloatParam("spread", default=0.7, lo=0.0, hi=2.0, step=0.05,
               help="Width in pixels of the Gaussian that correlates the noise (demosaicing); 0 = white"),
    IntParam("quality", default=90, lo=50, hi=100, step=1,
             help="JPEG quality of the saved file (96–99 save as 95); 100 = not compressed"),
])
def camera(image: np.ndarray, *, peak: float = 100.0, read_sigma: float = 0.01, spread: float = 0.7,
           quality: int = 90, rng: np.random.Generator) -> np.ndarray:
    """A camera's noise: signal-dependent, spatially correlated and compressed, as in a real photograph.

    Poisson–Gaussian noise ``Poisson(x·peak) / peak + N(0, read_sigma²) − x`` (variance
    ``x / peak + read_sigma²`` before correlation) is blurred by a Gaussian of width ``spread``
    pixels, as demosaicing and the camera's processing spread each pixel's noise to its
    neighbours, added to the image, clipped to [0, 1] and saved as a JPEG at ``quality`` (below
    100). The blur lowers the per-pixel variance by the kernel's squared norm (0.17 at 0.7 px) and
    moves the noise to lower frequencies, where white-noise estimators do not look. The input is
    clipped to [0, 1] first; the result is clipped to [0, 1].

    Parameters
    ----------
    peak : float in [5, 5000]
        Photo-electrons at white.
    read_sigma : float in [0, 0.1]
        Read noise standard deviation before correlation.
    spread : float in [0, 2]
        Correlation width in pixels.
    quality : int in [50, 100]
        JPEG quality; 100 skips compression.
    """
    clean = np.clip(image, 0.0, 1.0).astype(np.float64)
    noise = rng.poisson(clean * peak) / peak + read_sigma * rng.standard_normal(image.shape) - clean
    if spread > 0:
        noise = ndimage.gaussian_filter(noise, (spread, spread) + (0,) * (image.ndim - 2), mode="reflect")
    noisy = np.clip(clean + noise, 0.0, 1.0).astype(np.float32)
    return noisy if quality >= 100 else jpeg(noisy, quality=min(quality, 95), rng=rng)
