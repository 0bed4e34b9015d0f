"""Fill a store with synthetic indexed photos (no pixels): for export and search-scale tests and benches."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from sqlalchemy import insert

from db.models import Content, File, Root, Tag, utcnow
from db.sequence import next_seq
from db.store import Store
from db.tags import auto_tags

SUBJECTS = [
    "a man",
    "a woman",
    "two children",
    "a dog",
    "a cat",
    "a group of people",
    "a red car",
    "a bird",
    "a surfer",
    "a skier",
    "a plate of food",
    "a train",
    "a boat",
    "a horse",
    "a little girl",
    "an old building",
    "a bicycle",
    "a giraffe",
    "an elephant",
    "a teddy bear",
]
ACTIONS = [
    "standing",
    "sitting",
    "riding a wave",
    "running",
    "playing with a ball",
    "parked",
    "flying",
    "eating",
    "walking",
    "lying",
    "waiting",
    "jumping",
]
PLACES = [
    "on the beach",
    "in a park",
    "on a city street",
    "in the snow",
    "next to a lake",
    "in a kitchen",
    "on a wooden table",
    "in a field of grass",
    "under a blue sky",
    "at night",
    "in front of a house",
    "on top of a mountain",
    "near the sea",
    "in a living room",
]


def synthetic_caption(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}"


def insert_synthetic(store: Store, count: int, root: str = "/photos", seed: int = 7, with_tags: bool = True) -> None:
    """`count` photos under `root` in 2,000 folders over 20 years, COCO-style captions, auto-tags."""
    rng = random.Random(seed)
    tag_cache: dict[str, list[str]] = {}
    with store.sessions.begin() as session:
        seq = next_seq(session)
        session.merge(Root(path=root, added_at=utcnow(), last_indexed_at=utcnow()))
        now = utcnow()
        for start in range(0, count, 10_000):
            contents, files, tags = [], [], []
            for i in range(start, min(count, start + 10_000)):
                taken = datetime(2005, 1, 1) + timedelta(minutes=rng.randrange(20 * 365 * 24 * 60))
                caption = synthetic_caption(rng)
                contents.append(
                    {
                        "id": i + 1,
                        "hash": hashlib.sha256(f"{seed}-{i}".encode()).hexdigest(),
                        "width": 4000,
                        "height": 3000,
                        "format": "JPEG",
                        "caption": caption,
                        "model": "synthetic",
                        "captioned_at": now,
                    }
                )
                folder = f"{root}/{taken.year}/event_{i % 2000:04}"
                files.append(
                    {
                        "id": i + 1,
                        "path": f"{folder}/IMG_{i:06}.jpg",
                        "root": root,
                        "folder": folder,
                        "name": f"IMG_{i:06}.jpg",
                        "ext": "jpg",
                        "size": 3_000_000,
                        "mtime_ns": int(taken.timestamp() * 1e9),
                        "taken_at": taken,
                        "camera": "Pixel 4",
                        "content_id": i + 1,
                        "error": None,
                        "indexed_at": now,
                        "seen_run": 1,
                        "ft_seq": seq,
                    }
                )
                if with_tags:
                    if caption not in tag_cache:
                        tag_cache[caption] = auto_tags(caption)
                    tags.extend({"content_id": i + 1, "tag": tag, "source": "auto"} for tag in tag_cache[caption])
            session.execute(insert(Content), contents)
            session.execute(insert(File), files)
            if tags:
                session.execute(insert(Tag), tags)
