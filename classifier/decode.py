"""Turn untrusted image bytes into an upright RGB Pillow image, or raise InvalidImageError.

The format is sniffed from the content (never from a file name): JPEG, PNG, WebP, HEIC, AVIF,
GIF, BMP or TIFF. Big JPEGs are decoded at a reduced scale (draft mode), a pixel limit stops
decompression bombs before any pixel is decoded, and the EXIF (or HEIF) orientation is applied.
"""

from __future__ import annotations

import io
import warnings

import pi_heif
from PIL import Image, ImageOps, UnidentifiedImageError, features

from classifier.errors import InvalidImageError
from classifier.formatting import or_list

# HEIC/HEIF (what an iPhone sends as a file) through pi-heif, the decode-only build of
# pillow-heif (LGPL libheif + libde265, no GPL encoder). It applies the HEIF rotation itself
# and resets the EXIF orientation, so exif_transpose below cannot turn a photo twice. No
# thumbnails, depth maps or auxiliary images: only the primary image is ever looked at.
pi_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# Pillow format name -> the name people know it by, for every format decode_image accepts.
# AVIF is Pillow's own plugin (libavif in Pillow's wheels); a Pillow built without it lacks it.
_FORMAT_NAMES = {
    "JPEG": "JPEG",
    "MPO": "JPEG",  # multi-picture JPEG from some cameras
    "PNG": "PNG",
    "WEBP": "WebP",
    "HEIF": "HEIC",
    **({"AVIF": "AVIF"} if features.check("avif") else {}),
    "GIF": "GIF",
    "BMP": "BMP",
    "TIFF": "TIFF",
}
SUPPORTED_FORMATS = frozenset(_FORMAT_NAMES)
# "JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP or TIFF": what every "please send ..." message names.
ACCEPTED_FORMATS = or_list(dict.fromkeys(_FORMAT_NAMES.values()))
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: bigger than any phone photo, far below a bomb
DEFAULT_MAX_BYTES = 25 * 1024 * 1024  # Telegram bots cannot download more than 20 MB anyway

# How files of the accepted formats start: bytes that start like one of them but do not decode
# are a damaged image, anything else is not an image at all.
_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)
_ISO_BMFF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_ISO_BMFF_BRANDS += (b"avif", b"avis") if "AVIF" in SUPPORTED_FORMATS else ()


def looks_like_image(data: bytes) -> bool:
    """Whether ``data`` starts like a file of an accepted format (whole or not)."""
    return (
        data.startswith(_MAGIC)
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (data[4:8] == b"ftyp" and data[8:12] in _ISO_BMFF_BRANDS)
    )


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in SUPPORTED_FORMATS:
                raise InvalidImageError(
                    f"{img.format or 'This'} images are not supported; please send a "
                    f"{ACCEPTED_FORMATS} photo."
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
            img.seek(0)  # animated GIF/WebP/TIFF/AVIF, HEIF sequences: the first frame
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return to_rgb(img)
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError("The image is too large to decode safely.") from exc
    except UnidentifiedImageError as exc:
        if looks_like_image(data):  # e.g. a HEIC whose header is cut off
            raise InvalidImageError(
                "The image is damaged or incomplete; please send it again."
            ) from exc
        raise InvalidImageError(
            f"This file is not an image I can read; please send a {ACCEPTED_FORMATS} photo."
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
