"""The noise-specialist routes on a held-apart image: a 256×256 crop of the astronaut sample's luminance,
in neither the specialists' training data, nor Set12 (which chose the routes), nor BSD68 (which measured
the margins of pipeline.MARGINS). The pipeline routes each noise type to its specialist, stating the
measured margin, and the specialist beats the classical route (four seeds). benchmarks/specialists.py
measures them against every classical denoiser (the numbers of the model cards and of the table)."""
import numpy as np
import pytest
from skimage.color import rgb2gray

from denoise_core import add_noise, pipeline, weights
from denoise_core.metrics import psnr
from denoise_core.samples import load_sample

ASTRONAUT = np.ascontiguousarray(rgb2gray(load_sample("astronaut")[0])[128:384, 128:384].astype(np.float32))


# measured, mean of seeds 0-3 (noisy / classical route / specialist): mixed 19.93 / 24.64 / 26.92,
# Poisson peak 10 14.56 / 24.22 / 24.86, peak 50 20.73 / 28.34 / 29.19; salt and pepper 5%
# 17.73 / 38.36 / 41.79, 20% 11.72 / 33.00 / 36.23, scribbles 21.56 / 36.98 / 38.20; speckle var 0.02
# 22.63 / 30.11 / 31.22, var 0.08 17.26 / 26.30 / 27.31 dB
ROUTED = [("mixed", {"strength": 0.5}, "ffdnet_mixed", 1.8),
          ("poisson", {"peak": 10}, "ffdnet_poisson", 0.4),
          ("poisson", {"peak": 50}, "ffdnet_poisson", 0.6),
          ("salt_pepper", {"amount": 0.05}, "ffdnet_salt_pepper", 3.0),
          ("salt_pepper", {"amount": 0.2}, "ffdnet_salt_pepper", 2.9),
          ("scribbles", {"count": 8, "thickness": 2}, "ffdnet_salt_pepper", 1.0),
          ("speckle", {"var": 0.02}, "ffdnet_speckle", 0.9),
          ("speckle", {"var": 0.08}, "ffdnet_speckle", 0.8)]


@pytest.mark.parametrize("noise, params, specialist, margin", ROUTED)
def test_the_pipeline_routes_to_the_specialist_and_it_beats_the_classical_route(noise, params, specialist, margin):
    measured = pipeline.MARGINS[(specialist, noise)]
    [(method, reason)] = pipeline.route(noise)
    trained = weights.CATALOG[specialist].noise.replace("_", " ")
    assert method == specialist and f"trained for {trained} noise" in reason
    assert measured.db > 0 and f"{measured.db:+.2f} dB over" in reason and "bsd68" in reason
    gains = []
    for seed in range(4):
        noisy = add_noise(ASTRONAUT, noise, params, seed=seed)
        result = pipeline.run(noisy, noise_type=noise)
        assert [s.method for s in result.stages] == ["classify", specialist]
        classical = pipeline.run(noisy, noise_type=noise, denoisers=list(pipeline.ROUTES[noise].steps))
        gains.append(psnr(ASTRONAUT, result.image) - psnr(ASTRONAUT, classical.image))
    assert np.mean(gains) >= margin, f"{specialist} on {noise}: {np.mean(gains):+.2f} dB over the classical route"


def test_every_specialist_is_tested():
    specialists = {name for name, entry in weights.CATALOG.items() if entry.noise != "gaussian" and not entry.modality}
    assert specialists == {row[2] for row in ROUTED}
