"""Synthetic Pascal VOC 2012 in the real layout and file formats.

Layout (the directory holding ``VOCdevkit``)::

    VOCdevkit/VOC2012/JPEGImages/<id>.jpg             JPEG (JFIF, quality 90), about 500x375 or 375x500
    VOCdevkit/VOC2012/Annotations/<id>.xml            VOC's annotation XML: filename, size, one object
    VOCdevkit/VOC2012/ImageSets/Main/{train,val,trainval}.txt   one id per line, sorted

Ids look like VOC's (``2008_000123``). Images are random crops, flips, rescales and colour changes of
scikit-image's bundled photographs, each with its object's bounding box carried through the crop. As a
defect, one image listed in ``train.txt`` is truncated half-way through its compressed data, so Pillow
cannot decode it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import skimage.data
from PIL import Image

SIZES = ((500, 375), (500, 333), (375, 500), (500, 400), (333, 500))  # (width, height), VOC's common ones
QUALITY = 90


@dataclass(frozen=True)
class Photo:
    """A bundled photograph, its VOC class and the object's box (xmin, ymin, xmax, ymax) in its pixels."""

    name: str
    label: str
    box: tuple[int, int, int, int]

    def load(self) -> np.ndarray:
        image = skimage.data.stereo_motorcycle()[0] if self.name == "motorcycle" else getattr(skimage.data, self.name)()
        return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


PHOTOS = (
    Photo("astronaut", "person", (10, 10, 390, 511)),
    Photo("camera", "person", (20, 40, 340, 511)),
    Photo("chelsea", "cat", (0, 0, 450, 299)),
    Photo("coffee", "diningtable", (0, 0, 599, 399)),
    Photo("rocket", "aeroplane", (250, 130, 330, 426)),
    Photo("motorcycle", "motorbike", (20, 110, 740, 480)),
)


def make_voc(root: Path, *, seed: int, images: int = 24) -> None:
    """Write ``images`` images with annotations and the train/val/trainval lists under ``root``."""
    if images < 2:
        raise ValueError(f"voc needs at least 2 images (one per split), got {images}")
    rng = np.random.default_rng([seed, 0x70C0])
    ids = _image_ids(rng, images)
    order = rng.permutation(images)
    train = sorted(ids[i] for i in order[: images // 2])
    val = sorted(ids[i] for i in order[images // 2 :])
    broken = str(rng.choice(train))
    base = root / "VOCdevkit" / "VOC2012"
    photos = [(photo, photo.load()) for photo in PHOTOS]
    for k, image_id in enumerate(ids):
        photo, pixels = photos[k % len(photos)]
        image, box, truncated = _view(pixels, photo.box, np.random.default_rng([seed, 0x70C1, k]))
        data = _jpeg(image)
        if image_id == broken:
            data = data[: len(data) // 2]
        (base / "JPEGImages").mkdir(parents=True, exist_ok=True)
        (base / "JPEGImages" / f"{image_id}.jpg").write_bytes(data)
        (base / "Annotations").mkdir(parents=True, exist_ok=True)
        xml = annotation(image_id, image.shape[1], image.shape[0], photo.label, box, truncated)
        (base / "Annotations" / f"{image_id}.xml").write_text(xml)
    lists = base / "ImageSets" / "Main"
    lists.mkdir(parents=True, exist_ok=True)
    for name, members in (("train", train), ("val", val), ("trainval", sorted(train + val))):
        (lists / f"{name}.txt").write_text("".join(f"{i}\n" for i in members))


def annotation(
    image_id: str, width: int, height: int, label: str, box: tuple[int, int, int, int], truncated: bool
) -> str:
    """A VOC 2012 annotation with one object (VOC boxes are 1-based, inclusive)."""
    xmin, ymin, xmax, ymax = box
    return f"""<annotation>
\t<folder>VOC2012</folder>
\t<filename>{escape(image_id)}.jpg</filename>
\t<source>
\t\t<database>The VOC{image_id[:4]} Database</database>
\t\t<annotation>PASCAL VOC{image_id[:4]}</annotation>
\t\t<image>flickr</image>
\t</source>
\t<size>
\t\t<width>{width}</width>
\t\t<height>{height}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>{label}</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>{int(truncated)}</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>{xmin}</xmin>
\t\t\t<ymin>{ymin}</ymin>
\t\t\t<xmax>{xmax}</xmax>
\t\t\t<ymax>{ymax}</ymax>
\t\t</bndbox>
\t</object>
</annotation>
"""


def _image_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct VOC-style ids ``<year>_<six digits>``, sorted."""
    ids: set[str] = set()
    while len(ids) < n:
        ids.add(f"{int(rng.integers(2007, 2013))}_{int(rng.integers(1, 9000)):06d}")
    return sorted(ids)


def _view(
    pixels: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int], bool]:
    """A random crop of a VOC size's aspect, rescaled to that size, maybe mirrored, with colour changes;
    the object's box in the new image (1-based) and whether the crop cut it."""
    width, height = SIZES[int(rng.integers(len(SIZES)))]
    h, w = pixels.shape[:2]
    scale = min(w / width, h / height) * rng.uniform(0.6, 1.0)  # source pixels per output pixel
    cw, ch = int(width * scale), int(height * scale)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    image = Image.fromarray(pixels[y0 : y0 + ch, x0 : x0 + cw]).resize((width, height), Image.Resampling.LANCZOS)
    out = np.asarray(image, dtype=np.float64)
    out = 255 * (out / 255) ** rng.uniform(0.8, 1.25) * rng.uniform(0.9, 1.1, 3)  # gamma and colour balance
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    bx0, by0, bx1, by1 = (max(box[0], x0), max(box[1], y0), min(box[2], x0 + cw - 1), min(box[3], y0 + ch - 1))
    truncated = (bx0, by0, bx1, by1) != box
    if bx1 <= bx0 or by1 <= by0:  # the crop missed the object: box the whole image
        bx0, by0, bx1, by1 = x0, y0, x0 + cw - 1, y0 + ch - 1
    xs = [int(np.clip(round((x - x0) / scale), 0, width - 1)) for x in (bx0, bx1)]
    ys = [int(np.clip(round((y - y0) / scale), 0, height - 1)) for y in (by0, by1)]
    if rng.random() < 0.5:
        out = out[:, ::-1]
        xs = [width - 1 - xs[1], width - 1 - xs[0]]
    return np.ascontiguousarray(out), (xs[0] + 1, ys[0] + 1, xs[1] + 1, ys[1] + 1), truncated


def _jpeg(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=QUALITY)
    return buf.getvalue()
