"""On a CPU the models of a run take turns: the model thread's `generate` and the writer thread's caption
embedding each start their own team of torch threads, and two teams on the same cores spin against each other."""

from __future__ import annotations

import threading
import time

from indexer.models.caption_embedder import Embedder
from indexer.models.captioner import Captioner
from indexer.models.loading import cpu_turn
from tests.photos import photo


def test_caption_embedding_waits_while_the_captioner_generates_on_a_cpu(tiny_model):
    captioner = Captioner(str(tiny_model), device="cpu", threads=1)
    embedder = Embedder(device="cpu")
    generating, generated_at = threading.Event(), []
    real_generate = captioner.model.generate

    def slow_generate(**inputs):
        generating.set()
        time.sleep(0.4)  # long beside an embedding of one short caption (milliseconds)
        output = real_generate(**inputs)
        generated_at.append(time.perf_counter())
        return output

    captioner.model.generate = slow_generate
    model_thread = threading.Thread(target=captioner.caption, args=([photo()],))
    model_thread.start()
    assert generating.wait(30)
    vectors = embedder.encode(["a dog on a beach"])
    embedded_at = time.perf_counter()
    model_thread.join()
    assert vectors.shape[0] == 1
    assert generated_at and embedded_at > generated_at[0]


def test_a_gpu_call_does_not_wait_for_the_cpus_turn():
    holding, release = threading.Event(), threading.Event()

    def hold_the_cpu() -> None:
        with cpu_turn("cpu"):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_cpu)
    holder.start()
    assert holding.wait(10)
    started = time.perf_counter()
    with cpu_turn("cuda"):
        waited = time.perf_counter() - started
    release.set()
    holder.join()
    assert waited < 1
