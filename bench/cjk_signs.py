"""Text in photos in Chinese and Japanese, read by the shipped PP-OCRv6 models and searched by part of it: signs
drawn in a CJK font, indexed with OCR, and queries for a part of each sign's text.

    python bench/cjk_signs.py                   # needs a CJK font: apt-get install fonts-wqy-zenhei
    python bench/cjk_signs.py --code /tmp/old   # the same with another checkout's code (git worktree add /tmp/old REV)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
SIGNS = {
    "tokyo": "東京タワー展望台",
    "beijing": "北京欢迎你",
    "station": "新宿駅 南口",
    "seoul": "서울에서 만나요",
    "shop": "营业时间 早上九点",
    "exit": "出口はこちら",
    "menu": "ラーメン 大盛り",
}
QUERIES = {
    "東京": "tokyo",
    "展望台": "tokyo",
    "タワー": "tokyo",
    "北京": "beijing",
    "欢迎": "beijing",
    "新宿": "station",
    "南口": "station",
    "서울": "seoul",
    "营业时间": "shop",
    "出口": "exit",
    "ラーメン": "menu",
    "大盛": "menu",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code indexes and searches")
    arguments = parser.parse_args()
    sys.path.insert(0, str(arguments.code.resolve()))
    if arguments.code.resolve() != ROOT:
        sys.path.insert(1, str(ROOT))  # tests/ helpers of this checkout, if the other lacks them

    from PIL import Image, ImageDraw, ImageFont

    from db.store import Store
    from indexer.models.ocr import TextReader
    from tests.conftest import FakeCaptioner
    from tests.helpers import index_with, paths_found

    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "photos"
        root.mkdir()
        for name, text in SIGNS.items():
            image = Image.new("RGB", (800, 400), (210, 200, 180))
            ImageDraw.Draw(image).text((40, 150), text, fill=(20, 20, 20), font=ImageFont.truetype(FONT, 64))
            image.save(root / f"{name}.jpg", quality=92)
        with Store.open(Path(temporary) / "data") as store:
            index_with(store, [root], FakeCaptioner(), ocr=True, text_reader_factory=lambda _: TextReader(threads=1))
            for name in SIGNS:
                print(f"{name}: read {store.image_by_path(str(root / f'{name}.jpg')).text!r}")
            exact = 0
            for query, name in QUERIES.items():
                found = sorted(Path(path).stem for path in paths_found(store, query))
                exact += found == [name]
                print(f"{query}: {found}")
            print(f"{exact} of {len(QUERIES)} queries find exactly their sign ({arguments.code})")


if __name__ == "__main__":
    main()
