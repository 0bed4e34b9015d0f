"""Photos that hold known words, drawn with Pillow's own font (no system font needed): signs at angles, small
and large text, light on dark, a screenshot, and photos with no text at all."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# name -> the words drawn (lower case); an empty list: no text
TEXT_PHOTOS: dict[str, list[str]] = {
    "sign": ["bakery", "open"],
    "angled": ["route", "diner"],
    "night": ["exit"],
    "screenshot": ["meeting", "notes", "budget", "review"],
    "small": ["platform", "seven"],
    "landscape": [],
    "shapes": [],
}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def text_photo(name: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    width, height = size
    if name == "sign":
        image = Image.new("RGB", size, (200, 170, 120))
        ImageDraw.Draw(image).text((40, 150), "BAKERY OPEN", fill=(30, 20, 10), font=_font(64))
    elif name == "angled":
        image = Image.new("RGB", size, (120, 160, 200))
        layer = Image.new("RGBA", (520, 90), (0, 0, 0, 0))
        ImageDraw.Draw(layer).text((10, 10), "ROUTE DINER", fill=(180, 20, 20, 255), font=_font(60))
        turned = layer.rotate(12, expand=True)
        image.paste(turned, (50, 150), turned)
    elif name == "night":  # light on dark
        image = Image.new("RGB", size, (10, 60, 30))
        ImageDraw.Draw(image).text((220, 180), "EXIT", fill=(240, 240, 240), font=_font(80))
    elif name == "screenshot":
        image = Image.new("RGB", size, (255, 255, 255))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 40), fill=(60, 60, 70))
        for row, line in enumerate(["Meeting notes", "Budget review at ten", "Send the slides"]):
            draw.text((30, 80 + row * 60), line, fill=(20, 20, 20), font=_font(32))
    elif name == "small":
        image = Image.new("RGB", size, (230, 230, 225))
        ImageDraw.Draw(image).text((30, 420), "Platform seven", fill=(10, 10, 10), font=_font(22))
    elif name == "landscape":  # sky, hills, sun: edges but no text
        image = Image.new("RGB", size, (120, 170, 230))
        draw = ImageDraw.Draw(image)
        draw.polygon([(0, 330), (200, 220), (420, 320), (640, 240), (640, 480), (0, 480)], fill=(60, 120, 50))
        draw.ellipse((480, 50, 560, 130), fill=(250, 220, 90))
    else:  # shapes
        image = Image.new("RGB", size, (240, 240, 240))
        draw = ImageDraw.Draw(image)
        for index in range(6):
            draw.ellipse((40 + index * 95, 180, 120 + index * 95, 260), fill=(40 * index, 90, 200 - 30 * index))
    return image


def write_text_photos(folder: Path, names: list[str] | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or list(TEXT_PHOTOS):
        paths[name] = folder / f"{name}.jpg"
        text_photo(name).save(paths[name], "JPEG", quality=92)
    return paths
