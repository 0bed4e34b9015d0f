"""The Captioner loads models through from_pretrained (the tiny offline model here) and captions batches."""

import json
import subprocess
import sys

import pytest

from db.errors import ModelLoadError
from indexer.models.captioner import Captioner
from indexer.settings import Settings
from tests.photos import COLOURS, photo


@pytest.fixture(scope="module")
def captioner(tiny_model):
    return Captioner(str(tiny_model), device="cpu", threads=1)


def test_tiny_model_loads_through_from_pretrained(captioner, tiny_model):
    assert captioner.model_id == str(tiny_model)
    assert captioner.device == "cpu"
    # the input side is read from the saved image processor, not assumed
    assert captioner.input_side == 32


def test_batched_captions_equal_one_by_one(captioner):
    images = [photo(colour=colour, noise=30, seed=i) for i, colour in enumerate(COLOURS)]
    batched = captioner.caption(images)
    single = [captioner.caption([image])[0] for image in images]
    assert batched == single
    assert all(isinstance(text, str) and text for text in batched)
    assert all(text == " ".join(text.split()) for text in batched)  # whitespace normalised


def test_empty_batch_captions_nothing(captioner):
    assert captioner.caption([]) == []


def test_batch_too_big_for_gpu_memory_is_split_and_later_batches_shrink(tiny_model, monkeypatch):
    import torch

    captioner = Captioner(str(tiny_model), device="cpu", threads=1)
    images = [photo(colour=colour, noise=30, seed=i) for i, colour in enumerate(COLOURS)]
    expected = captioner.caption(images)
    generate = captioner.model.generate
    sizes = []

    def generate_with_two_photos_of_memory(pixel_values, **kwargs):
        sizes.append(len(pixel_values))
        if len(pixel_values) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return generate(pixel_values=pixel_values, **kwargs)

    monkeypatch.setattr(captioner.model, "generate", generate_with_two_photos_of_memory)
    # same captions, same order: splitting a batch must not drop or shuffle photos
    assert captioner.caption(images) == expected
    assert captioner.max_batch == 2
    sizes.clear()
    captioner.caption(images)
    # the next batch is cut to the size that fitted at once, without failing first
    assert max(sizes) == 2 and len(sizes) == -(-len(images) // 2)


def test_out_of_gpu_memory_for_one_photo_says_what_to_do(tiny_model, monkeypatch):
    import torch

    captioner = Captioner(str(tiny_model), device="cpu", threads=1)

    def no_memory(**kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(captioner.model, "generate", no_memory)
    with pytest.raises(ModelLoadError, match="--device cpu"):
        captioner.caption([photo()])


def test_max_new_tokens_bounds_the_caption(tiny_model):
    short = Captioner(str(tiny_model), device="cpu", max_new_tokens=3)
    # one word per token in the tiny vocabulary: a 3-token budget gives at most 3 words
    assert all(len(text.split()) <= 3 for text in short.caption([photo(), photo(colour=(0, 0, 255))]))
    # and a budget other than the family's default is recorded with the caption
    key = short.caption_settings.key
    assert key.startswith(str(tiny_model)) and '"max_new_tokens": 3' in key


def test_default_model_fails_offline_with_one_line_fix():
    with pytest.raises(ModelLoadError) as raised:
        Captioner("nlpconnect/vit-gpt2-image-captioning", device="cpu")
    message = str(raised.value)
    assert "\n" not in message
    # every way to fix it, named: the flag, the environment variable, a run with network
    assert "nlpconnect/vit-gpt2-image-captioning" in message and "--model PATH" in message
    assert "CAPTIONARY_MODEL" in message and "network" in message


def test_an_unreachable_hub_fails_in_seconds_not_after_retries(monkeypatch):
    import socket
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # as on a user's machine with no network
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # resolving it fails at once, as offline

    def no_network(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", no_network)
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match="is not reachable"):
        Captioner("someone/not-cached-model", device="cpu")
    assert time.monotonic() - started < 10  # was 27 s of the Hub client's retries


def test_a_hub_mirror_on_its_own_port_is_reachable(monkeypatch):
    import socket

    from indexer.models.loading import _hub_unreachable
    from indexer.settings import Settings

    with socket.create_server(("127.0.0.1", 0)) as mirror:  # a mirror on a port of its own, plain http
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{mirror.getsockname()[1]}")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        assert _hub_unreachable(Settings.resolve()) is None


def test_index_says_which_model_it_loads_and_leaves_no_empty_root(photo_tree, data_dir):
    from click.testing import CliRunner

    from db.store import Store
    from indexer.cli import cli

    runner = CliRunner()
    result = runner.invoke(
        cli, ["index", str(photo_tree["root"]), "--data-dir", str(data_dir), "--model", "someone/not-cached-model"]
    )
    assert result.exit_code == 1
    assert "loading model someone/not-cached-model (first use downloads it from the Hugging Face Hub" in result.stderr
    assert "--model PATH" in result.stderr and "CAPTIONARY_MODEL" in result.stderr
    with Store.open(data_dir) as store:
        assert store.roots() == [] and store.stats()["images"] == 0  # was: a root with 0 images


def test_missing_local_folder_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="no such folder"):
        Captioner(str(tmp_path / "nope"), device="cpu")


def test_folder_without_a_captioning_model_is_refused(tmp_path):
    from transformers import GPT2Config

    GPT2Config(n_layer=1, n_embd=8, n_head=2).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="Cannot load model"):
        Captioner(str(tmp_path), device="cpu")


def test_settings_take_the_flag_then_the_environment_then_the_default(tmp_path):
    default = Settings.resolve(environ={})
    assert default.model == "nlpconnect/vit-gpt2-image-captioning" and not default.model_named
    assert default.embedder == "sentence-transformers/all-MiniLM-L6-v2" and not default.debug
    environment = {
        "CAPTIONARY_MODEL": "/models/blip",
        "CAPTIONARY_DATA_DIR": str(tmp_path / "env"),
        "CAPTIONARY_EMBEDDER": "/models/e5",
        "CAPTIONARY_DEBUG": "1",
        "HF_HUB_OFFLINE": "true",
    }
    from_env = Settings.resolve(environ=environment)
    assert (from_env.model, from_env.data_dir, from_env.embedder) == ("/models/blip", tmp_path / "env", "/models/e5")
    assert from_env.model_named and from_env.debug and from_env.hub_offline  # the app's Caption view needs model_named
    flags = Settings.resolve(data_dir=tmp_path / "flag", model="explicit", embedder="mine", environ=environment)
    assert (flags.model, flags.data_dir, flags.embedder) == ("explicit", tmp_path / "flag", "mine")


def test_a_model_folder_is_named_by_its_absolute_path_wherever_it_was_typed(tmp_path, monkeypatch):
    mine = tmp_path / "models" / "mine"
    mine.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    typed_here = Settings.resolve(model="./models/mine", image_embedder="./models/mine", environ={})
    monkeypatch.chdir(tmp_path / "models")
    typed_there = Settings.resolve(environ={"CAPTIONARY_MODEL": "./mine"})
    assert typed_here.model == typed_there.model == typed_here.image_embedder == str(mine)
    # a name that could be a Hub id stays one, even beside a folder of that name
    (tmp_path / "models" / "none").mkdir()
    assert Settings.resolve(model="mine", image_embedder="none", environ={}).model == "mine"
    assert Settings.resolve(image_embedder="none", environ={}).image_embedder is None


SEARCH_IN_A_FRESH_PROCESS = """
import json, sys
from click.testing import CliRunner
from indexer.cli import cli
runner = CliRunner()
stats = runner.invoke(cli, ["stats", "--json", "--data-dir", sys.argv[1]])
search = runner.invoke(cli, ["search", "dog", "--json", "--data-dir", sys.argv[1]])
hits = json.loads(search.output or "[]")
print(json.dumps({"stats": stats.exit_code, "search": search.exit_code, "hits": len(hits),
                  "mode": hits[0]["mode"] if hits else None,
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


@pytest.mark.parametrize("with_embeddings", [False, True])
def test_search_and_stats_never_import_torch(photo_tree, tmp_path, with_embeddings):
    # `captionary search` and `stats` must start fast: no torch, no transformers, also in the default
    # hybrid mode, where the query is embedded by the numpy encoder
    from db.store import Store
    from indexer.models.caption_embedder import DEFAULT_EMBEDDER, embedder_location
    from indexer.models.query_encoder import NumpyQueryEncoder
    from tests.conftest import FakeCaptioner
    from tests.helpers import index_with

    data_dir = tmp_path / "data"
    with Store.open(data_dir) as store:
        store.use_embedder(DEFAULT_EMBEDDER, lambda: NumpyQueryEncoder(DEFAULT_EMBEDDER, embedder_location(DEFAULT_EMBEDDER)))
        index_with(store, [photo_tree["root"]], FakeCaptioner(), embeddings=with_embeddings)
        assert store.has_embeddings() is with_embeddings
    out = subprocess.run(
        [sys.executable, "-c", SEARCH_IN_A_FRESH_PROCESS, str(data_dir)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "stats": 0,
        "search": 0,
        "hits": 10,
        "mode": "hybrid" if with_embeddings else "keyword",
        "torch": False,
        "transformers": False,
    }
