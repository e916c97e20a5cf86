"""Images in and out. Inside the library an image is a float32 array in [0, 1], (H, W) or (H, W, 3).

- ``meta``: the array contract (``check_array``), ``ImageMeta`` and the source's units
- ``read``: ``read_image``, which file is which format, and the suffixes of readable files
- ``limits``: the size limits checked before decoding, and the one-line refusals
- ``pixels``: decoded samples to [0, 1] and back to 8 or 16 bits
- ``npy``, ``nifti``, ``raster``, ``dicom``: one module per format (DICOM both ways)
- ``tiff_units``: the source's units that a 16-bit TIFF carries
- ``write``: ``encode_image`` and ``save_image``, the output formats
- ``volume``: a volume's slices one at a time, and ``write_volume`` (NIfTI, DICOM series, TIFF stack)
- ``display``: display windows and the image the screen shows
"""
from .dicom import encode_dicom
from .display import to_display, window_bounds, window_presets
from .limits import MIN_SIDE
from .meta import ImageMeta, check_array, to_source_units
from .read import read_image
from .volume import volume_format, volume_slices, write_volume
from .write import encode_image, save_image

__all__ = ["MIN_SIDE", "ImageMeta", "check_array", "encode_dicom", "encode_image", "read_image", "save_image",
           "to_display", "to_source_units", "volume_format", "volume_slices", "window_bounds", "window_presets",
           "write_volume"]
