"""The one rectangle of the library: ``Box(top, left, height, width)`` in pixels."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import InvalidParameterError


class Box(NamedTuple):
    """A rectangle of pixels: ``top``, ``left`` and its ``height`` × ``width`` (a tuple in that order)."""

    top: int
    left: int
    height: int
    width: int

    def check(self, shape: tuple[int, ...], name: str = "region") -> Box:
        """``self`` if it lies inside an image of ``shape`` and is at least 2×2, else ``InvalidParameterError``."""
        rows, cols = shape[:2]
        if self.height < 2 or self.width < 2 or self.top < 0 or self.left < 0 \
                or self.top + self.height > rows or self.left + self.width > cols:
            raise InvalidParameterError(f"{name} {self.width}×{self.height} at ({self.left}, {self.top}) does not fit "
                                        f"in the {cols}×{rows} image (or is smaller than 2×2)")
        return self

    def of(self, image: np.ndarray) -> np.ndarray:
        """The pixels of ``image`` inside the box."""
        return image[self.top:self.top + self.height, self.left:self.left + self.width]

    @classmethod
    def square(cls, left: int, top: int, side: int, shape: tuple[int, ...], least: int = 1) -> Box:
        """The ``side``×``side`` box with its top-left corner at (``left``, ``top``), shrunk (not below
        ``least``) and moved so that it lies inside an image of ``shape``."""
        rows, cols = shape[:2]
        side = int(max(least, min(side, rows, cols)))
        return cls(int(min(max(top, 0), rows - side)), int(min(max(left, 0), cols - side)), side, side)
