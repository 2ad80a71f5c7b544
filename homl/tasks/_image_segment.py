"""Colour segmentation of an image, as in the book's chapter 9: cluster the pixels' colours with
k-means and paint every pixel with its cluster's mean colour."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homl._atomic import write_bytes_atomic
from homl.errors import ConfigError, DataError

#: File suffixes ``homl segment`` reads as images rather than tables.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Colours when none is asked for: the silhouette prefers very few colours on photographs (two on the
#: book's flower), which paints little of the picture; eight keep its shapes.
DEFAULT_COLOURS = 8
#: Pixels the colours are learned from (every pixel is then painted).
PIXEL_SAMPLE = 50_000


@dataclass
class ImageSegmentResult:
    """The colours found (RGB, 0-255), the share of pixels each paints, and the image written."""

    colours: np.ndarray
    shares: np.ndarray
    output: Path
    choice: str

    @property
    def n_clusters(self) -> int:
        return len(self.colours)


def is_image(source: object) -> bool:
    return isinstance(source, (str, Path)) and Path(str(source)).suffix.lower() in IMAGE_SUFFIXES


def segment_image(source: str | Path, output: str | Path, *, k: int | None = None, seed: int = 42,
                  overwrite: bool = False) -> ImageSegmentResult:
    """Cluster the colours of the image at ``source`` into ``k`` colours (``DEFAULT_COLOURS`` if
    not given) and write the image painted with them to ``output`` (PNG)."""
    from PIL import Image, UnidentifiedImageError

    from homl.models import Segmenter

    output = Path(output)
    if output.suffix.lower() != ".png":
        raise ConfigError(f"output '{output}' must be a .png file for a segmented image")
    if output.exists() and not overwrite:
        raise ConfigError(f"output '{output}' exists; use overwrite to replace it")
    k = DEFAULT_COLOURS if k is None else k
    if k < 1:
        raise ConfigError(f"k must be at least 1 colour; got {k}")
    try:
        with Image.open(source) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=float) / 255
    except FileNotFoundError:
        raise DataError(f"image '{source}' not found") from None
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"'{source}' cannot be read as an image: {error}") from None
    height, width, _ = pixels.shape
    flat = pixels.reshape(-1, 3)
    rng = np.random.default_rng(seed)
    sample = flat if len(flat) <= PIXEL_SAMPLE else flat[rng.choice(len(flat), PIXEL_SAMPLE, replace=False)]
    k = min(k, len(np.unique(sample, axis=0)))  # an image of fewer colours keeps them all
    segmenter = Segmenter(method="kmeans", n_clusters=k, random_state=seed)
    try:
        segmenter.fit(sample)
    except ValueError as error:  # one colour only, or fewer colours than asked
        raise DataError(f"image '{source}': {error}") from None
    labels = segmenter.predict(flat)
    colours = segmenter.cluster_centers_
    painted = (colours[labels].reshape(height, width, 3) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(painted).save(buffer, format="PNG")
    write_bytes_atomic(output, buffer.getvalue())
    shares = np.bincount(labels, minlength=len(colours)) / len(labels)
    return ImageSegmentResult((colours * 255).round().astype(int), shares, output, segmenter.choice_)
