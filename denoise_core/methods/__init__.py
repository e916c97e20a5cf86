"""The methods: each module registers its functions with ``registry.register`` when imported.

- ``classical``: the classical denoisers (local filters, non-local and transform methods, diffusion)
- ``impulse``: the impulse filters, which redraw only the pixels taken for impulses
- ``learned``: every present weights entry registered as a denoiser; torch loads on a model's first call
- ``enhance``: post-processing after denoising (sharpening)
- ``superres``: super-resolution, interpolation and Real-ESRGAN (ncnn or torch, loaded on first call)

``import denoise_core`` imports them all; import a module itself for its other names
(``from denoise_core.methods import learned``).
"""
