"""The noise-specialist models on the camera sample (a 256×256 crop): the pipeline routes to each of them
and each beats its classical route (four seeds). benchmarks/specialists.py measures them against every
classical denoiser on Set12 (the numbers of the model cards)."""
import numpy as np
import pytest

from denoise_core import add_noise, pipeline, weights
from denoise_core.metrics import psnr
from denoise_core.samples import load_sample

CAMERA = np.ascontiguousarray(load_sample("camera")[0][128:384, 128:384])


# measured, mean of seeds 0-3 (noisy / classical route / specialist): mixed 20.47 / 24.86 / 26.65,
# Poisson peak 10 14.83 / 24.81 / 25.47, peak 50 21.13 / 24.86 / 28.62; salt and pepper 5%
# 17.64 / 39.63 / 43.43, 20% 11.69 / 33.57 / 36.87, scribbles 22.36 / 38.83 / 40.40; speckle var 0.02
# 23.42 / 29.70 / 30.54, var 0.08 17.77 / 26.37 / 27.32 dB
ROUTED = [("mixed", {"strength": 0.5}, "ffdnet_mixed", 1.2),
          ("poisson", {"peak": 10}, "ffdnet_poisson", 0.3),
          ("poisson", {"peak": 50}, "ffdnet_poisson", 2.0),
          ("salt_pepper", {"amount": 0.05}, "ffdnet_salt_pepper", 3.0),
          ("salt_pepper", {"amount": 0.2}, "ffdnet_salt_pepper", 2.7),
          ("scribbles", {"count": 8, "thickness": 2}, "ffdnet_salt_pepper", 1.0),
          ("speckle", {"var": 0.02}, "ffdnet_speckle", 0.6),
          ("speckle", {"var": 0.08}, "ffdnet_speckle", 0.7)]


@pytest.mark.parametrize("noise, params, specialist, margin", ROUTED)
def test_the_pipeline_routes_to_the_specialist_and_it_beats_the_classical_route(noise, params, specialist, margin):
    [(method, reason)] = pipeline.route(noise)
    trained = weights.CATALOG[specialist].noise.replace("_", " ")
    assert method == specialist and f"trained for {trained} noise" in reason and noise.replace("_", " ") in reason
    gains = []
    for seed in range(4):
        noisy = add_noise(CAMERA, noise, params, seed=seed)
        result = pipeline.run(noisy, noise_type=noise)
        assert [s.method for s in result.stages] == ["classify", specialist]
        classical = pipeline.run(noisy, noise_type=noise, denoisers=list(pipeline.ROUTES[noise].steps))
        gains.append(psnr(CAMERA, result.image) - psnr(CAMERA, classical.image))
    assert np.mean(gains) >= margin, f"{specialist} on {noise}: {np.mean(gains):+.2f} dB over the classical route"


def test_every_specialist_is_tested():
    specialists = {name for name, entry in weights.CATALOG.items() if entry.noise != "gaussian" and not entry.modality}
    assert specialists == {row[2] for row in ROUTED}
