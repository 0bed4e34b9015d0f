"""Text in photos: RapidOCR (PP-OCRv6 detection and recognition, the ONNX models shipped in its wheel, run by
onnxruntime) behind one small class. Every photo is detected once; only boxes shaped like a line of text are
recognised, so shapes and edges the detector mistakes for text never become words."""

from __future__ import annotations

import threading
import unicodedata
from typing import TYPE_CHECKING

from db.errors import ModelLoadError
from indexer.imaging import bounded_aspect

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

# The photo's longer side as the detector sees it: signs and receipts in a 12 MP photo stay legible, and the
# decode the captioner needs (224 px) is enlarged to this only when OCR is on (indexer/stages.py).
OCR_SIDE = 1280
# The shorter side a decode keeps when OCR is on: a 12 MP JPEG is then decoded at 1/4 (1000 x 750), not 1/8.
OCR_DECODE_SIDE = 720
# A text box lower than this share of the photo's shorter side is grain, a texture or unreadable print.
MIN_BOX_HEIGHT = 0.012
MAX_BOX_HEIGHT = 0.3  # a "line" taller than this share is a row of shapes or the whole frame, not print
MIN_LINE_RATIO = 1.5
MIN_BOX_SCORE = 0.6  # the detector's own confidence in a box; shapes and edges score lower than print
MIN_CONFIDENCE = 0.6  # recognised lines below this score are dropped (docs/search.md: Text in photos)
MAX_TEXT = 4000
# The detector scales a photo's shorter side up to its input and the longer side with it, so its memory grows
# with the ratio of the sides (docs/search.md: Text in photos); a thinner picture is padded to this ratio first.
OCR_MAX_ASPECT = 3


class TextReader:
    """One engine for the run, called one photo at a time (its step methods are not documented as thread-safe),
    each call using `threads` onnxruntime threads while captioning goes on in the main thread.

    The photo is detected once; only the boxes shaped like a line of text are recognised, and a photo with
    none costs detection alone. (The engine's one-call API detects and recognises every box, and calling it
    after a detection-only call detected twice: 421 ms a text photo against 219 now, bench/ocr.py.) The steps
    used are RapidOCR's own methods (preprocess_img, detect_and_crop, cls_and_rotate, recognize_txt), which
    its __call__ runs in this order; rapidocr is pinned below 4 and tests/test_ocr.py runs them."""

    def __init__(self, threads: int = 1) -> None:
        try:
            from importlib.metadata import version

            from rapidocr import RapidOCR
        except ImportError as error:  # pragma: no cover - rapidocr is a declared dependency
            raise ModelLoadError(f"The OCR engine is not installed ({error}); pip install rapidocr onnxruntime") from None
        settings = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
        params = {"Global.log_level": "critical", **{f"EngineConfig.onnxruntime.{k}": v for k, v in settings.items()}}
        self.engine = RapidOCR(params=params)
        self.engine_id = f"rapidocr-{version('rapidocr')}-PP-OCRv6"
        self.threads = threads
        self.lock = threading.Lock()
        self.detections = 0
        self.recognitions = 0  # photos whose text was recognised: what the detector's skip saves is the rest

    def __reduce__(self) -> tuple:
        # Sent to a reader process, an engine is built there anew, with one thread: the processes are the
        # parallelism (onnxruntime's sessions do not pickle, and sharing one would serialise every read).
        return (TextReader, (1,))

    def read(self, image: Image.Image) -> str:
        """The text lines recognised in the photo, one per line; "" when there is none worth reading."""
        import numpy as np
        from rapidocr.main import RapidOCRError

        picture = image.convert("RGB")
        if max(picture.size) > OCR_SIDE:
            picture = picture.copy()
            picture.thumbnail((OCR_SIDE, OCR_SIDE))
        picture = bounded_aspect(picture, OCR_MAX_ASPECT, OCR_SIDE)
        pixels = np.ascontiguousarray(np.asarray(picture)[:, :, ::-1])  # the engine reads OpenCV's BGR
        with self.lock:
            self.detections += 1
            prepared, record = self.engine.preprocess_img(pixels)
            try:
                crops, found = self.engine.detect_and_crop(prepared, record)
            except RapidOCRError:  # no box at all
                return ""
            lines = text_lines(found.boxes, found.scores, min(prepared.shape[:2]))
            if not lines.any():
                return ""
            self.recognitions += 1
            upright, _ = self.engine.cls_and_rotate([crop for crop, keep in zip(crops, lines) if keep])
            result = self.engine.recognize_txt(upright)
        read = [clean_line(text) for text, score in zip(result.txts or (), result.scores or ()) if score >= MIN_CONFIDENCE]
        return "\n".join(line for line in read if line)[:MAX_TEXT]


def text_lines(boxes, scores, shorter_side: int):
    """Which detected boxes look like a line of text: tall enough to read (MIN_BOX_HEIGHT of the photo) but
    not the height of a whole scene (MAX_BOX_HEIGHT), at least MIN_LINE_RATIO times as long as high (a word
    of two letters or more; a ball, a window or a sun detected as "text" is about square), and confident.
    Boxes are four corner points along the line, so turned text is measured on its own sides."""
    import numpy as np

    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4, 2)
    along = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    across = np.linalg.norm(boxes[:, 2] - boxes[:, 1], axis=1)
    confident = np.asarray(scores if scores is not None else [1.0] * len(boxes), dtype=float) >= MIN_BOX_SCORE
    readable = (across >= MIN_BOX_HEIGHT * shorter_side) & (across <= MAX_BOX_HEIGHT * shorter_side)
    return readable & (along >= MIN_LINE_RATIO * across) & confident


def clean_line(text: str) -> str:
    return " ".join("".join(c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c) != "Cc").split())
