"""Embed search queries with a BERT sentence model in numpy, so searching never loads torch."""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

# The sentence-transformers recipe this reproduces: a BERT or XLM-RoBERTa encoder, mean pooling, unit length
# (all-MiniLM-L6-v2 and its BERT-family relatives; the multilingual paraphrase models, whose tokenizer is
# XLM-R's SentencePiece and which have no Normalize module: captionary makes every vector unit length
# anyway). Anything else is embedded with torch.
SUPPORTED_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]
MODEL_TYPES = ("bert", "xlm-roberta")


def _read_json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def supports(location: str | Path) -> bool:
    """Whether the model folder is a mean-pooled, normalised BERT with safetensors weights."""
    folder = Path(location)
    modules = _read_json(folder / "modules.json")
    config = _read_json(folder / "config.json")
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    if not (isinstance(modules, list) and isinstance(config, dict) and isinstance(pooling, dict)):
        return False
    pooling_modes = {key for key, value in pooling.items() if key.startswith("pooling_mode") and value}
    types = [module.get("type") for module in modules]
    return (
        types in (SUPPORTED_MODULES, SUPPORTED_MODULES[:2])
        and [module.get("path") for module in modules][:2] == ["", "1_Pooling"]
        and pooling_modes == {"pooling_mode_mean_tokens"}
        and config.get("model_type") in MODEL_TYPES
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, and BERT's GELU is the exact one.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def attention(query: np.ndarray, key: np.ndarray, value: np.ndarray, heads: int, causal: bool = False) -> np.ndarray:
    """Multi-head scaled dot-product attention over one text's tokens (tokens x width in, tokens x width out)."""
    tokens, width = query.shape
    head_size = width // heads

    def split_heads(x: np.ndarray) -> np.ndarray:
        return x.reshape(tokens, heads, head_size).transpose(1, 0, 2)

    scores = split_heads(query) @ split_heads(key).transpose(0, 2, 1) / math.sqrt(head_size)
    if causal:  # a token sees itself and what came before it, never what follows
        scores = scores + np.triu(np.full((tokens, tokens), -np.inf, dtype=np.float32), k=1)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    weights = scores / scores.sum(-1, keepdims=True)
    return (weights @ split_heads(value)).transpose(1, 0, 2).reshape(tokens, width)


_ONE_AT_A_TIME = threading.Lock()


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


class OneTextAtATime:
    """What the numpy encoders share: a search embeds a text or two, so there is no batching or padding."""

    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # One BLAS thread: a query's matrices are a few tokens high, and OpenBLAS's threads spin for each product,
        # against each other and whatever else shares the cores (bench/search_latency.py: query embedding)
        # One encode at a time: limit() restores the count it found, and one that began inside another's limit
        # would restore 1 and leave the process (the app serves sessions on threads) at one thread for good
        with _ONE_AT_A_TIME, _blas().limit(limits=1, user_api="blas"):
            for row, text in enumerate(texts):
                vectors[row] = self._embed(text)
        return vectors

    def _embed(self, text: str) -> np.ndarray:
        raise NotImplementedError


class NumpyQueryEncoder(OneTextAtATime):
    """Embeds a few texts at a time (search queries, an edited caption) on the CPU with numpy.

    Same vectors as sentence-transformers to float rounding (tests/test_semantic.py checks it), in a
    few milliseconds, without importing torch: `captionary search` starts in a second, not seven."""

    def __init__(self, model_id: str, location: str | Path, max_tokens: int = 256) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(location)
        self.model_id = model_id
        config = json.loads((folder / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        settings = _read_json(folder / "sentence_bert_config.json")
        settings = settings if isinstance(settings, dict) else {}
        # RoBERTa numbers positions from after the padding index; BERT from 0.
        self.first_position = config.get("pad_token_id", 1) + 1 if config.get("model_type") == "xlm-roberta" else 0
        positions = config.get("max_position_embeddings", max_tokens) - self.first_position
        self.max_tokens = min(max_tokens, settings.get("max_seq_length", max_tokens), positions)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # one text at a time: no padding, no attention mask needed
        self.tokenizer.enable_truncation(self.max_tokens)
        weights = load_file(str(folder / "model.safetensors"))
        # Some checkpoints prefix every name with the architecture ("bert.embeddings...", "roberta.embeddings...").
        self.weights = {
            name.removeprefix("bert.").removeprefix("roberta."): value.astype(np.float32, copy=False)
            for name, value in weights.items()
        }
        self.dimension = config["hidden_size"]

    def _embed(self, text: str) -> np.ndarray:
        w = self.weights
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        hidden = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][self.first_position : self.first_position + len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        hidden = _layer_norm(hidden, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        for layer in range(self.layers):
            hidden = self._layer(hidden, f"encoder.layer.{layer}.")
        pooled = hidden.mean(0)  # mean pooling: every token counts, there is no padding
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def _layer(self, hidden: np.ndarray, prefix: str) -> np.ndarray:
        w = self.weights

        def linear(x: np.ndarray, name: str) -> np.ndarray:
            return x @ w[prefix + name + ".weight"].T + w[prefix + name + ".bias"]

        context = attention(
            linear(hidden, "attention.self.query"),
            linear(hidden, "attention.self.key"),
            linear(hidden, "attention.self.value"),
            self.heads,
        )
        hidden = _layer_norm(
            linear(context, "attention.output.dense") + hidden,
            w[prefix + "attention.output.LayerNorm.weight"],
            w[prefix + "attention.output.LayerNorm.bias"],
            self.eps,
        )
        inner = _gelu(linear(hidden, "intermediate.dense"))
        return _layer_norm(
            linear(inner, "output.dense") + hidden,
            w[prefix + "output.LayerNorm.weight"],
            w[prefix + "output.LayerNorm.bias"],
            self.eps,
        )
