"""Noise-type classification: hand-crafted statistics of the noise and a small MLP over them.

``inference.predict(image)`` names the noise of an image (one of ``inference.CLASSES``) with
probabilities and its strength. The features (``features``) are intensive statistics, so they mean
the same on a 96-pixel crop and on a photograph: the estimated sigma and impulse density, how the
noise std grows with intensity (flat for Gaussian, ``sqrt`` for Poisson, linear for speckle), the
share of pixels exactly at 0 or 1 and how many of them form thin strokes, 8×8 blockiness and DCT
zeros on the JPEG grid, the shape of the residual distribution and how the noise level changes at
half resolution. They are measured on the image rounded to 8 bits, as it would be saved, so an
array and the PNG written from it get the same answer.

The network (``models.NoiseClassifier``) is trained on noisy crops of train400 (``training``:
``TRAIN_RANGES``) and checked on held-out images (``EVAL_RANGES``;
``benchmarks/classifier_accuracy.py`` measures BSD68)::

    python -m denoise_core train-classifier --out weights/noise_classifier
"""
