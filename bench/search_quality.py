"""Search quality on tests/eval: P@10 and R@50 per mode and query kind, and how the similarity floor was chosen.

    python bench/search_quality.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import numpy as np

    from db.store import SIMILARITY_FLOOR
    from indexer.caption import DEFAULT_EMBEDDER, Embedder
    from tests.eval.captions import QUERIES, all_captions, relevant_captions
    from tests.eval.harness import build_eval_store, evaluate, format_table
    from tests.eval.offtopic import OFF_TOPIC

    embedder = Embedder(threads=2)
    with tempfile.TemporaryDirectory() as data_dir:
        store = build_eval_store(Path(data_dir), DEFAULT_EMBEDDER, lambda: embedder)
        print(f"{len(all_captions())} captions, {len(QUERIES)} queries, floor {SIMILARITY_FLOOR}")
        print(format_table(evaluate(store)))
        store.close()
    captions = all_captions()
    vectors = embedder.encode(captions)
    relevant, irrelevant = [], []
    for query in QUERIES:
        similarities = vectors @ embedder.encode([query])[0]
        wanted = relevant_captions(query)
        for caption, similarity in zip(captions, similarities):
            (relevant if caption in wanted else irrelevant).append(similarity)
    off_topic_best = (vectors @ embedder.encode(OFF_TOPIC).T).max(axis=0)
    print(f"\nbest match of each off-topic query: max {off_topic_best.max():.3f}, median {np.median(off_topic_best):.3f}")
    for floor in (0.20, 0.25, 0.30, 0.35):
        print(f"floor {floor:.2f}: keeps {np.mean(np.array(relevant) >= floor):.0%} of relevant pairs, "
              f"{np.mean(np.array(irrelevant) >= floor):.1%} of irrelevant ones, "
              f"{np.sum(off_topic_best >= floor)}/{len(OFF_TOPIC)} off-topic queries get results")


if __name__ == "__main__":
    main()
