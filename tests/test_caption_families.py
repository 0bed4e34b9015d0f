"""Every caption family loads through the product's one path and captions batches: tiny random checkpoints of
each family's real classes (tests/tiny_families.py), prompts reaching the model, output cleaned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.errors import ModelLoadError
from db.store import Store
from indexer.cli import cli
from indexer.models.captioner import Captioner
from indexer.models.families import FAMILIES, CaptionSettings
from tests.conftest import FakeCaptioner
from tests.helpers import index_with
from tests.photos import photo, save_jpeg
from tests.tiny_families import BUILDERS

# Three sizes and shapes in one batch: the processors must resize, pad and mask them together.
SIZES = [(64, 48), (40, 90), (120, 120)]
COLOURS = [(220, 30, 30), (30, 30, 220), (30, 200, 30)]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build(root / name) for name, build in BUILDERS.items()}


def batch():
    return [photo(size=size, colour=colour, noise=20, seed=i) for i, (size, colour) in enumerate(zip(SIZES, COLOURS))]


def spy_on_generate(captioner: Captioner) -> list[dict]:
    """Record what reaches model.generate, and still generate."""
    calls: list[dict] = []
    real = captioner.model.generate

    def generate(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    captioner.model.generate = generate
    return calls


def contains(row: list[int], part: list[int]) -> bool:
    return any(row[start : start + len(part)] == part for start in range(len(row) - len(part) + 1))


def prompt_ids(captioner: Captioner, text: str) -> list[int]:
    return captioner.tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_each_family_captions_a_batch_of_three_sizes_with_its_default_prompt(checkpoints, family):
    captioner = Captioner(str(checkpoints[family]), device="cpu", threads=1, max_new_tokens=5)
    calls = spy_on_generate(captioner)
    captions = captioner.caption(batch())
    # the family table, not a guess, decided how this checkpoint is prompted
    assert captioner.family.name == family
    assert len(captions) == 3 and all(isinstance(text, str) for text in captions)
    # one generate call for the whole batch, with the family's length budget
    assert len(calls) == 1 and calls[0]["max_new_tokens"] == 5
    default = captioner.family.default_prompt
    if default is None:
        # no prompt: the model starts from the pixels alone
        assert "input_ids" not in calls[0]
    else:
        expected = "Describe with a paragraph what is shown in the image." if family == "florence-2" else default
        ids = calls[0]["input_ids"].tolist()
        # every row of the batch carries the whole prompt, in the model's own token ids
        assert all(contains(row, prompt_ids(captioner, expected)) for row in ids)


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_a_batch_captions_each_photo_as_it_would_alone(checkpoints, family):
    captioner = Captioner(str(checkpoints[family]), device="cpu", threads=1, max_new_tokens=5)
    photos = batch()
    captions = captioner.caption(photos)
    # the photos get different captions (the tiny weights are widened for it), so a mix-up would show...
    assert len(set(captions)) > 1
    # ...and batching (padding, attention masks, the answer's column) does not change what a photo gets
    assert captions == [captioner.caption([picture])[0] for picture in photos]


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_each_family_captions_thin_strips_at_a_photos_cost(checkpoints, family):
    import tracemalloc

    captioner = Captioner(str(checkpoints[family]), device="cpu", threads=1, max_new_tokens=3)
    strips = [photo(size=(1, 600), colour=COLOURS[0]), photo(size=(60000, 1), colour=COLOURS[1])]
    tracemalloc.start()
    captioner.model_inputs(strips)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # GIT's and LLaVA's processors scale the shorter side up to their input: a strip became thousands of photos' pixels
    assert peak < 64 * 2**20
    assert len(captioner.caption(strips)) == 2


@pytest.mark.parametrize("family", ["blip", "git", "paligemma", "blip-2"])
def test_a_prefix_prompt_reaches_the_model_and_is_not_part_of_the_caption(checkpoints, family):
    captioner = Captioner(str(checkpoints[family]), device="cpu", threads=1, prompt="a photo of", max_new_tokens=4)
    calls = spy_on_generate(captioner)
    captions = captioner.caption(batch())
    ids = calls[0]["input_ids"].tolist()
    assert all(contains(row, prompt_ids(captioner, "a photo of")) for row in ids)
    if captioner.family.echoes_prompt:  # (BLIP's generate drops the closing [SEP] itself)
        # the prompt's last word is the last token the model sees: a closing [SEP] would end GIT's caption at once
        assert all(row[-1] == prompt_ids(captioner, "of")[0] for row in ids)
    assert not any(text.startswith("a photo of") for text in captions)
    assert captioner.caption_settings.key == CaptionSettings(str(checkpoints[family]), "a photo of", 4).key


@pytest.mark.parametrize("family", ["smolvlm", "gemma-3", "llava"])
def test_chat_models_get_their_chat_template_padded_on_the_left(checkpoints, family):
    captioner = Captioner(str(checkpoints[family]), device="cpu", threads=1, prompt="what is in this photo?", max_new_tokens=4)
    calls = spy_on_generate(captioner)
    captioner.caption(batch())
    decoded = captioner.tokenizer.decode(calls[0]["input_ids"][0])
    # the template's assistant turn closes the input: the answer is the model's turn, not more of the question
    assert decoded.rstrip().endswith(
        {"smolvlm": "assistant :", "gemma-3": "<start_of_turn> model", "llava": "assistant :"}[family]
    )
    assert contains(calls[0]["input_ids"][0].tolist(), prompt_ids(captioner, "what is in this photo?"))
    assert captioner.tokenizer.padding_side == "left"  # answers start at the same column for every row


def test_chat_scaffolding_and_repeats_are_cleaned_from_what_the_model_wrote(checkpoints, monkeypatch):
    captioner = Captioner(str(checkpoints["smolvlm"]), device="cpu", threads=1, max_new_tokens=4)
    written = ["Sure! Here is a description: A dog runs on a beach. A dog runs on a beach.", "a red car, a red car, a red car"]
    monkeypatch.setattr(captioner.tokenizer, "batch_decode", lambda output, **kwargs: written)
    # the preamble and the repeated sentence go; so does a phrase looping on itself
    assert captioner.caption(batch()[:2]) == ["A dog runs on a beach.", "a red car"]


def test_the_default_family_blocks_repeated_phrases_at_generation(tiny_model):
    beams = {}
    for speed in ("exact", "fast", "int8"):
        captioner = Captioner(str(tiny_model), device="cpu", threads=1, speed=speed)
        calls = spy_on_generate(captioner)
        captioner.caption(batch())
        # vit-gpt2's known loop ("a woman in a hospital bed with a woman in a hospital bed") cannot be generated
        assert calls[0]["no_repeat_ngram_size"] == 3
        beams[speed] = calls[0]["num_beams"]
    assert beams == {"exact": 4, "fast": 1, "int8": 1}  # fast and int8 decode greedily


def test_the_default_models_default_speed_on_a_cpu_is_int8_and_is_recorded_with_its_captions(tiny_model):
    from indexer.models.families import CaptionSettings

    captioner = Captioner(str(tiny_model), device="cpu", threads=1)
    assert captioner.speed == "int8" and captioner.num_beams == 1
    key = captioner.caption_settings.key
    assert CaptionSettings.from_key(key).speed == "int8"  # --recaption and the app read it back
    assert CaptionSettings(str(tiny_model)).key == str(tiny_model)  # exact keeps the key libraries already hold


def test_a_prompt_for_a_model_that_takes_none_is_a_one_line_error(tiny_model):
    with pytest.raises(ModelLoadError) as raised:
        Captioner(str(tiny_model), device="cpu", prompt="describe it")
    assert "\n" not in str(raised.value) and "takes no prompt" in str(raised.value)


def test_a_prompt_for_a_model_that_takes_none_is_refused_even_when_no_photo_needs_a_caption(tiny_model, tmp_path):
    root = tmp_path / "photos"
    save_jpeg(batch()[0], root / "photo.jpg")
    data = tmp_path / "data"
    with Store.open(data) as store:
        index_with(store, [root], FakeCaptioner(str(tiny_model)), image_embedder=None)  # nothing left to caption
    arguments = ["index", str(root), "--data-dir", str(data), "--model", str(tiny_model), "--prompt", "describe it"]
    result = CliRunner().invoke(cli, [*arguments, "--no-embeddings", "--image-embedder", "none"])
    # was exit 0: the model, and with it the check, loaded only for a photo to caption
    assert result.exit_code == 1 and "takes no prompt" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_a_prompt_longer_than_the_models_window_is_refused_before_any_photo(checkpoints, family):
    with pytest.raises(ModelLoadError) as raised:
        Captioner(str(checkpoints[family]), device="cpu", threads=1, prompt=" ".join(["dog"] * 9000), max_new_tokens=5)
    # was an IndexError at the first photo (BLIP, GIT, Florence-2, BLIP-2), or a caption past the window (the rest)
    assert "\n" not in str(raised.value)
    assert re.match(r"--prompt: the prompt is 9000 tokens; this model takes at most \d+ \(", str(raised.value))


def test_the_longest_prompt_the_window_takes_captions_and_one_more_token_is_refused(checkpoints):
    model = str(checkpoints["blip-2"])  # the smallest window of the tiny checkpoints: 128 tokens
    with pytest.raises(ModelLoadError) as raised:
        Captioner(model, device="cpu", threads=1, prompt=" ".join(["dog"] * 200), max_new_tokens=5)
    most = int(re.search(r"takes at most (\d+)", str(raised.value)).group(1))
    captioner = Captioner(model, device="cpu", threads=1, prompt=" ".join(["dog"] * most), max_new_tokens=5)
    assert len(captioner.caption(batch()[:1])) == 1
    with pytest.raises(ModelLoadError):
        Captioner(model, device="cpu", threads=1, prompt=" ".join(["dog"] * (most + 1)), max_new_tokens=5)


def test_a_caption_longer_than_the_models_window_is_refused(tiny_model):
    with pytest.raises(ModelLoadError) as raised:
        Captioner(str(tiny_model), device="cpu", threads=1, max_new_tokens=200)  # its GPT-2 has 32 positions
    assert str(raised.value).startswith("--max-new-tokens: this model writes at most 31 tokens")


def test_a_qwen_vl_checkpoint_without_torchvision_is_a_one_line_error_naming_it(tmp_path):
    import importlib.util

    from tests.tiny_families import build_qwen25_vl_parts

    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed: Qwen-VL's processor loads, which is not what this test covers")
    with pytest.raises(ModelLoadError) as raised:
        Captioner(str(build_qwen25_vl_parts(tmp_path / "qwen")), device="cpu")
    # the family is known (not "not an image-to-text model"); what is missing, and the fix, in one line
    message = str(raised.value)
    assert "\n" not in message and "needs torchvision" in message and "pip install" in message


def test_each_family_runs_in_its_half_type_on_cuda_and_float32_on_a_cpu():
    import torch

    from indexer.models.captioner import compute_dtype
    from indexer.models.families import BY_MODEL_TYPE

    assert {
        name: compute_dtype(BY_MODEL_TYPE[name], "cuda") for name in ("vision-encoder-decoder", "florence2", "idefics3", "gemma3")
    } == {
        "vision-encoder-decoder": torch.float16,
        "florence2": torch.float16,
        "idefics3": torch.bfloat16,  # chat models overflow float16 in their activations
        "gemma3": torch.bfloat16,
    }
    assert all(compute_dtype(family, "cpu") == torch.float32 for family in FAMILIES)


@pytest.fixture
def three_photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    for i, picture in enumerate(batch()):
        save_jpeg(picture, root / f"photo{i}.jpg")
    return root


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_each_family_captions_and_indexes_through_the_cli(checkpoints, family, three_photos, tmp_path):
    runner = CliRunner()
    model = str(checkpoints[family])
    photos = sorted(str(path) for path in three_photos.iterdir())
    shown = runner.invoke(cli, ["caption", *photos, "--model", model, "--device", "cpu", "--max-new-tokens", "4", "--json"])
    assert shown.exit_code == 0, shown.output
    assert [row["image"] for row in json.loads(shown.stdout)] == photos
    data = tmp_path / "data"
    arguments = ["index", str(three_photos), "--data-dir", str(data), "--model", model, "--max-new-tokens", "4"]
    indexed = runner.invoke(cli, [*arguments, "--no-embeddings", "--image-embedder", "none", "--no-thumbnails"])
    assert indexed.exit_code == 0, indexed.output
    assert indexed.stdout.startswith("3 captioned")
    stats = json.loads(runner.invoke(cli, ["stats", "--data-dir", str(data), "--json"]).stdout)
    # the captions record the model and the length they were written with
    assert list(stats["models"]) == [CaptionSettings(model, None, 4).key]


def test_recaption_redoes_captions_written_with_other_settings(checkpoints, three_photos, tmp_path):
    runner = CliRunner()
    model, data = str(checkpoints["florence-2"]), str(tmp_path / "data")
    common = [
        str(three_photos),
        "--data-dir",
        data,
        "--model",
        model,
        "--max-new-tokens",
        "3",
        "--no-embeddings",
        "--image-embedder",
        "none",
    ]
    assert runner.invoke(cli, ["index", *common]).stdout.startswith("3 captioned")
    other = [*common, "--prompt", "<CAPTION>"]
    again = runner.invoke(cli, ["index", *other])
    # another prompt alone re-captions nothing, and says how many captions it would change
    assert again.stdout.startswith("0 captioned, 3 unchanged")
    assert "3 captions are from another model or other settings (--recaption" in again.stdout
    redone = runner.invoke(cli, ["index", *other, "--recaption"])
    # the summary adds up: the three re-captioned photos are not also counted unchanged
    assert redone.stdout.startswith("3 captioned, 0 unchanged"), redone.output
    stats = json.loads(runner.invoke(cli, ["stats", "--data-dir", data, "--json"]).stdout)
    assert stats["models"] == {CaptionSettings(model, "<CAPTION>", 3).key: 3}


def test_a_caption_source_round_trips_through_its_key():
    for settings in [CaptionSettings("org/model"), CaptionSettings("/models/x", "caption fr", 40), CaptionSettings("m", None, 9)]:
        assert CaptionSettings.from_key(settings.key) == settings
    # a key some other tool wrote by hand reads as the model alone, never an error
    assert CaptionSettings.from_key('org/model | ["odd"]') == CaptionSettings("org/model")
    # a library from before --prompt records the model id alone: the defaults, not another model
    assert CaptionSettings("nlpconnect/vit-gpt2-image-captioning").key == "nlpconnect/vit-gpt2-image-captioning"


def fake_hub_cache(root: Path, repo_id: str, model_type: str) -> None:
    """What huggingface_hub leaves after a download: refs/main naming a snapshot that holds config.json."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "blobs").mkdir()
    blob = repo / "blobs" / f"config-{model_type}"
    blob.write_text(json.dumps({"model_type": model_type}))
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").symlink_to(blob)


def test_models_lists_every_family_and_what_the_cache_holds(tmp_path, monkeypatch):
    from huggingface_hub import constants

    fake_hub_cache(tmp_path, "Salesforce/blip-image-captioning-large", "blip")
    fake_hub_cache(tmp_path, "someone/florence-finetune", "florence2")
    fake_hub_cache(tmp_path, "sentence-transformers/all-MiniLM-L6-v2", "bert")  # not a caption model
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    listed = json.loads(CliRunner().invoke(cli, ["models", "--json"]).stdout)
    assert [row["name"] for row in listed["families"]] == [family.name for family in FAMILIES]
    assert [row["checkpoint"] for row in listed["families"] if row["cached"]] == ["Salesforce/blip-image-captioning-large"]
    # a cached checkpoint the guide does not name is listed with the family that can run it; an embedder is not
    assert listed["other_cached"] == {"someone/florence-finetune": "florence-2"}
    text = CliRunner().invoke(cli, ["models"]).stdout
    assert "cached  blip" in text and "florence-community/Florence-2-base" in text


def test_a_hub_model_whose_weights_never_came_is_not_cached(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from indexer.models.loading import hub_cached

    # what a Ray driver leaves: it reads a model's config and processor, never its weights
    fake_hub_cache(tmp_path, "someone/captioner", "vision-encoder-decoder")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert not hub_cached("someone/captioner")  # so a later load downloads the weights instead of failing offline-only
    snapshot = tmp_path / "models--someone--captioner" / "snapshots" / "abc123"
    (snapshot / "model.safetensors").write_bytes(b"weights")
    assert hub_cached("someone/captioner")
