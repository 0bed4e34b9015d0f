"""Make photo trees with Pillow: nested folders, every format, EXIF rotation, odd names and bad files."""

from __future__ import annotations

import functools
import io
import os
import random
import re
from pathlib import Path

from PIL import Image

# Colours the fake captioner recognises, with the caption it gives them.
CAPTIONS = {
    (220, 30, 30): "a red car parked on a city street",
    (30, 30, 220): "a dog running on the beach near the sea",
    (30, 200, 30): "two children playing with a ball in a park",
    (240, 240, 240): "a snowy mountain under a blue sky",
    (230, 200, 40): "a plate of food on a wooden table",
}
COLOURS = list(CAPTIONS)


def photo(size=(64, 48), colour=(220, 30, 30), noise: int = 0, seed: int = 0) -> Image.Image:
    """A flat colour, optionally with noise (sigma `noise`) so JPEG files have realistic entropy."""
    image = Image.new("RGB", size, colour)
    if noise:
        random.seed(seed)  # effect_noise draws from C's rand; this keeps the Python side reproducible
        channels = [Image.effect_noise(size, noise) for _ in range(3)]
        grain = Image.merge("RGB", channels)
        # Noise centred on the colour: blend keeps the average near `colour`.
        image = Image.blend(image, grain, 0.25)
    return image


def save_jpeg(
    image: Image.Image,
    path: Path,
    orientation: int | None = None,
    taken: str | None = None,
    camera: str | None = None,
    gps: dict | None = None,
    make: str | None = None,
) -> Path:
    """gps: the EXIF GPS tags as written, e.g. {1: "N", 2: (35.0, 0.0, 41.8), 3: "E", 4: (135.0, 46.0, 5.2)}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825).update(gps)
    if orientation:
        exif[0x0112] = orientation
    if camera:
        exif[272] = camera
    if make:
        exif[271] = make
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    image.save(path, "JPEG", exif=exif.tobytes(), quality=90)
    return path


def write_all_formats(folder: Path, colour=(30, 30, 220)) -> list[Path]:
    """One image per supported format (and odd pixel modes), all of the same colour."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    folder.mkdir(parents=True, exist_ok=True)
    base = photo(colour=colour)
    made = []
    for name, converted, options in [
        ("photo.jpg", base, {}),
        ("PHOTO_UPPER.JPEG", base, {}),
        ("palette.png", base.convert("P"), {}),
        ("transparent.png", base.convert("RGBA"), {}),
        ("grey.png", base.convert("L"), {}),
        ("image.webp", base, {}),
        ("animated.gif", base.convert("P"), {"save_all": True, "append_images": [photo(colour=(0, 0, 0)).convert("P")]}),
        ("bitmap.bmp", base, {}),
        ("scan.tif", base.convert("CMYK"), {}),
        ("scan16.tiff", base.convert("L").convert("I;16"), {}),
        ("iphone.heic", base, {}),
    ]:
        target = folder / name
        converted.save(target, **options)
        made.append(target)
    return made


def write_bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bad = {}
    bad["empty"] = folder / "empty.jpg"
    bad["empty"].write_bytes(b"")
    good = folder / "_whole.jpg"
    photo(size=(200, 150), noise=40).save(good, "JPEG")
    bad["truncated"] = folder / "truncated.jpg"
    bad["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    good.unlink()
    bad["text"] = folder / "notes.png"
    bad["text"].write_text("this is not a picture\n")
    bad["bomb"] = folder / "bomb.png"
    bad["bomb"].write_bytes(_bomb_png())
    return bad


@functools.lru_cache(maxsize=1)
def _bomb_png() -> bytes:
    """Tiny on disk, enormous when decoded: Pillow's decompression-bomb check must refuse it."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def make_photo_tree(root: Path) -> dict:
    """A realistic little archive; returns what a test needs to know about it."""
    tree: dict = {"root": root}
    tree["red"] = save_jpeg(
        photo(colour=COLOURS[0]), root / "2019" / "city trip" / "IMG_0001.jpg", taken="2019:06:01 12:00:00", camera="Pixel 4"
    )
    tree["beach"] = save_jpeg(
        photo(colour=COLOURS[1]), root / "2019" / "holidays" / "beach_2019" / "img_001.jpg", taken="2019:08:15 10:30:00"
    )
    tree["park"] = save_jpeg(photo(colour=COLOURS[2]), root / "2020" / "spring" / "park.jpg")
    # Stored landscape, shown portrait: orientation 6 means "rotate 90 degrees clockwise to view".
    tree["rotated"] = save_jpeg(photo(size=(80, 40), colour=COLOURS[3]), root / "2020" / "rotated.jpg", orientation=6)
    tree["unicode"] = save_jpeg(photo(colour=COLOURS[4]), root / "2021" / "été à Paris" / "crème brûlée 1.jpg")
    tree["formats"] = write_all_formats(root / "2021" / "formats", colour=COLOURS[1])
    tree["bad"] = write_bad_files(root / "broken")
    (root / "2021" / "notes.txt").write_text("ignored")
    hidden = root / ".thumbnails"
    hidden.mkdir()
    photo().save(hidden / "hidden.jpg")
    photo().save(root / "2020" / ".hidden.jpg")
    # A link back into the tree: must not hang the crawl nor index photos twice.
    os.symlink(root, root / "2020" / "loop")
    return tree


# cjpeg -arithmetic's pictures of one colour: 4000x3000 (4 bytes of picture data), and 16x16 progressive
FLAT_ARITHMETIC = bytes.fromhex(
    "ffd8ffdb00430006040506050406060506070706080a100a0a09090a140e0f0c1017141818171416161a1d251f1a1b231c1616202c202326"
    "27292a29191f2d302d283025282928ffdb0043010707070a080a130a0a13281a161a28282828282828282828282828282828282828282828"
    "28282828282828282828282828282828282828282828282828282828ffc90011080bb80fa003012200021101031101ffcc000a0010100501"
    "101105ffda000c03010002110311003f00ff00a3819e67c12812acffd9"
)
SMALL_ARITHMETIC_PROGRESSIVE = FLAT_ARITHMETIC[: FLAT_ARITHMETIC.index(b"\xff\xc9")] + bytes.fromhex(
    "ffca0011080010001003012200021101031101ffcc000600100110ff"
    "da000c03010002100310000001ff00444cdf08ffcc00041005ffda0008010100010502c0ffcc00041105ffda0008010301013f01c0ffcc00"
    "041105ffda0008010201013f01c0ffcc00041005ffda0008010100063f02c0ffcc00041005ffda0008010100013f21c0ffda000c03010002"
    "000300000010fcffcc00041105ffda0008010301013f10c0ffcc00041105ffda0008010201013f10c0ffcc00041005ffda0008010100013f"
    "10c0ffd9"
)


def with_scans_repeated(data: bytes, copies: int, claimed: int | None = None) -> bytes:
    """The JPEG with its last scan given `copies` times more, its frame claiming `claimed` x `claimed` pixels."""
    frame = re.search(rb"\xff[\xc0-\xcb]", data).start()  # type: ignore[union-attr]
    if claimed is not None:
        data = data[: frame + 5] + claimed.to_bytes(2, "big") * 2 + data[frame + 9 :]
    last, end = data.rindex(b"\xff\xda"), data.rindex(b"\xff\xd9")
    return data[:end] + data[last:end] * copies + data[end:]
