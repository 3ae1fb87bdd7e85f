"""Decoding image files into the arrays every stage uses."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

EXIF_ORIENTATION = 0x0112

def read_image(path: Path) -> np.ndarray | None:
    """Decode an image file to uint8 RGB/RGBA/gray, upright, or None when unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return decode_image(data)


def decode_image(data: bytes) -> np.ndarray | None:
    """Decode an image file's bytes to uint8 RGB/RGBA/gray [H, W(, C)], turned upright per
    its EXIF orientation (JPEG, PNG, WebP), or None when empty or not a readable image.

    16-bit images are scaled to 8 bits, float images stretched to 0-255, palette images
    expanded."""
    if not data:
        return None
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)  # keeps alpha and depth, ignores EXIF
    except cv2.error:
        return None
    if image is None or image.size == 0:
        return None
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return upright(image, exif_orientation(data))


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` [H, W(, C)] uint8 turned as ``PIL.ImageOps.exif_transpose`` turns a picture
    whose EXIF orientation tag is ``orientation`` (1: as stored)."""
    if orientation == 1:
        return image
    picture = Image.fromarray(image)
    picture.getexif()[EXIF_ORIENTATION] = orientation  # what exif_transpose reads, and removes
    return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(picture)))


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation tag (1-8) of a JPEG, PNG or WebP file's bytes; 1 when it has
    none or another format (TIFF decoders apply their own)."""
    if not data.startswith((b"\xff\xd8", b"\x89PNG")) and data[8:12] != b"WEBP":
        return 1
    try:
        with Image.open(io.BytesIO(data)) as header:  # parses the header only
            orientation = header.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError):
        return 1
    return orientation if orientation in range(1, 9) else 1
