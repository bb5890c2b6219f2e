"""Turn untrusted image bytes into an upright RGB Pillow image, or raise InvalidImageError.

The format is sniffed from the content (never from a file name); big JPEGs are decoded at a
reduced scale (draft mode), and a pixel limit stops decompression bombs before any pixel is
decoded.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from classifier.errors import InvalidImageError

SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: bigger than any phone photo, far below a bomb
DEFAULT_MAX_BYTES = 25 * 1024 * 1024  # Telegram bots cannot download more than 20 MB anyway
_HEIF_SIGNATURES = (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1", b"ftypavif")


def sniff_format(data: bytes) -> str | None:
    """Return the Pillow format name of ``data`` if it looks like a supported image, else None."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format if img.format in SUPPORTED_FORMATS else None
    except Exception:  # noqa: BLE001 - any failure means "not an image we read"
        return None


def decode_image(
    data: bytes,
    *,
    min_side: int = 256,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Image.Image:
    """Decode ``data`` to an RGB image whose short side is at least ``min_side`` when possible.

    Raises InvalidImageError with a user-safe message for every kind of bad input.
    """
    if not data:
        raise InvalidImageError("The file is empty.")
    if len(data) > max_bytes:
        raise InvalidImageError(
            f"The file is too large ({len(data) / 1e6:.0f} MB); please send an image under "
            f"{max_bytes // (1024 * 1024)} MB."
        )
    if data[4:12] in _HEIF_SIGNATURES:
        raise InvalidImageError(
            "HEIC/HEIF/AVIF images are not supported yet; please send the photo as JPEG or PNG "
            "(in Telegram, send it as a photo rather than as a file)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in SUPPORTED_FORMATS:
                raise InvalidImageError(
                    f"{img.format or 'This'} images are not supported; please send a JPEG, PNG, "
                    "WebP, GIF, BMP or TIFF photo."
                )
            width, height = img.size
            if width < 1 or height < 1:
                raise InvalidImageError("The image has no pixels.")
            if width * height > max_pixels:
                raise InvalidImageError(
                    f"The image is too large ({width}x{height} pixels); please send a smaller one."
                )
            if img.format in {"JPEG", "MPO"}:
                # Decode at 1/2, 1/4 or 1/8 scale while the short side stays >= min_side.
                scale = min_side / min(width, height)
                if scale < 1:
                    img.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
            img.seek(0)  # animated GIF/WebP/TIFF: the first frame
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return to_rgb(img)
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError("The image is too large to decode safely.") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError(
            "This file is not an image I can read; please send a JPEG, PNG or WebP photo."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as exc:
        message = "The image is damaged or incomplete; please send it again."
        raise InvalidImageError(message) from exc
    except Exception as exc:  # Pillow plugins raise odd things on hostile input
        raise InvalidImageError("The image could not be decoded; please send another one.") from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is flattened onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        # High bit depth: stretch the actual range to 0..255 instead of clipping.
        img = img.convert("F") if img.mode != "F" else img
        lo, hi = img.getextrema()
        span = (hi - lo) or 1.0
        img = img.point(lambda v: (v - lo) * 255.0 / span).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode in {"LA", "La", "PA"}:
        img = img.convert("RGBA")
    if img.mode in {"RGBA", "RGBa"}:
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return background
    return img.convert("RGB")
