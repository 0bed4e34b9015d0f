"""Search quality on three unlike libraries (tests/eval/libraries.py), per mode and query kind, and the
related-photo rule's trade-off.

    python bench/search_quality.py            # the table: precision, recall, P@10, R-precision, AP
    python bench/search_quality.py --sweep    # the same metrics for other floors and z-scores
    python bench/search_quality.py --heldout  # libraries and queries that played no part in choosing them
    python bench/search_quality.py --negation # "beach without dogs": queries saying what a photo must not show
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="also try other related-photo thresholds")
    parser.add_argument("--heldout", action="store_true", help="measure on the held-out libraries instead")
    parser.add_argument("--negation", action="store_true", help="measure queries that say what must not be shown")
    arguments = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    from db import ranking
    from indexer.models.caption_embedder import DEFAULT_EMBEDDER, Embedder
    from tests.eval.harness import build_library_store, evaluate_library, format_table
    from tests.eval.heldout import heldout_libraries
    from tests.eval.libraries import libraries
    from tests.eval.negation import negation_libraries
    from tests.eval.offtopic import OFF_TOPIC

    embedder = Embedder(threads=2)
    print(
        f"related photos: cosine >= {ranking.RELATED_FLOOR} ({ranking.PARTIAL_FLOOR} with some of the query's words) "
        f"and z >= {ranking.RELATED_Z}\n"
    )
    with tempfile.TemporaryDirectory() as temporary:
        stores = []
        chosen = heldout_libraries() if arguments.heldout else negation_libraries() if arguments.negation else libraries()
        for library in chosen:
            if library.name == "varied":  # queries about nothing any photo shows
                library.queries.update({query: ("off-topic", frozenset()) for query in OFF_TOPIC})
            store = build_library_store(Path(temporary) / library.name, library, DEFAULT_EMBEDDER, lambda: embedder)
            stores.append((library, store))
            print(f"{library.name}: {len(library.captions)} captions, {len(library.queries)} queries")
            print(format_table(library.name, evaluate_library(store, library)) + "\n")
        if arguments.sweep and not arguments.heldout:
            sweep(stores)
        for _, store in stores:
            store.close()


def sweep(stores) -> None:
    """Hybrid mode's headline figures for other thresholds: what each choice costs where."""
    from db import ranking
    from tests.eval.harness import evaluate_library

    print(
        "| floor | partial floor | z | shapes precision | shapes recall | varied synonym R-prec | varied keyword precision "
        "| beach absent: empty | varied off-topic: empty |"
    )
    print("|---" * 9 + "|")
    for floor, partial, z in [
        (floor, partial, z)
        for floor in (0.25, 0.28, 0.30, 0.33, 0.35)
        for partial in (0.33, 0.40, 0.45)
        for z in (0.0, 2.0, 2.5)
        if partial >= floor
    ]:
        ranking.RELATED_FLOOR, ranking.PARTIAL_FLOOR, ranking.RELATED_Z = floor, partial, z
        if True:
            scores = {library.name: evaluate_library(store, library, ("hybrid",))["hybrid"] for library, store in stores}
            print(
                f"| {floor:.2f} | {partial:.2f} | {z:.1f} | {scores['shapes']['all']['precision']:.2f} "
                f"| {scores['shapes']['all']['recall']:.2f} | {scores['varied']['synonym']['R-prec']:.2f} "
                f"| {scores['varied']['keyword']['precision']:.2f} | {scores['beach']['absent']['precision']:.2f} "
                f"| {scores['varied']['off-topic']['precision']:.2f} |"
            )


if __name__ == "__main__":
    main()
