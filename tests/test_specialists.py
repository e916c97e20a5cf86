"""The noise-specialist models: each beats the pipeline's classical route for its noise on the camera
sample (a crop, four seeds), and the pipeline routes to it. benchmarks/specialists.py measures them
against every classical denoiser on Set12 (the numbers of the model cards)."""
import numpy as np
import pytest

from denoise_core import add_noise, pipeline
from denoise_core.samples import load_sample

CAMERA = np.ascontiguousarray(load_sample("camera")[0][128:384, 128:384])


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(x, 0, 1).astype(np.float64) - y) ** 2)))


# measured, mean of seeds 0-3 (noisy / classical route / specialist): mixed 20.47 / 23.30 / 23.71,
# scribbles 22.36 / 22.51 / 26.29 dB
@pytest.mark.parametrize("noise, params, specialist, margin", [
    ("mixed", {"strength": 0.5}, "ffdnet_mixed", 0.2),
    ("scribbles", {"count": 8, "thickness": 2}, "ffdnet_mixed", 2.5),
])
def test_the_pipeline_routes_to_the_specialist_and_it_beats_the_classical_route(noise, params, specialist, margin):
    [(method, reason)] = pipeline.route(noise)
    assert method == specialist and f"trained for {noise} noise" in reason
    gains = []
    for seed in range(4):
        noisy = add_noise(CAMERA, noise, params, seed=seed)
        result = pipeline.run(noisy, noise_type=noise)
        assert [s.method for s in result.stages] == ["classify", specialist]
        classical = pipeline.run(noisy, noise_type=noise, denoisers=list(pipeline.ROUTES[noise].steps))
        gains.append(psnr(result.image, CAMERA) - psnr(classical.image, CAMERA))
    assert np.mean(gains) >= margin, f"{specialist} on {noise}: {np.mean(gains):+.2f} dB over the classical route"
