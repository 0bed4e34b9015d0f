"""Embed search queries with CLIP's text tower in numpy, so a search by pixels never loads torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from indexer.models.query_encoder import OneTextAtATime, _gelu, _layer_norm, _read_json, attention

PREFIX = "text_model."


def supports(location: str | Path) -> bool:
    """Whether the folder holds a CLIP model (safetensors weights, a tokenizer.json) this encoder reproduces.
    SigLIP and others are embedded with torch."""
    folder = Path(location)
    config = _read_json(folder / "config.json")
    if not isinstance(config, dict) or config.get("model_type") != "clip":
        return False
    text = config.get("text_config") or {}
    return (
        text.get("hidden_act", "quick_gelu") in ("quick_gelu", "gelu")
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _quick_gelu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-1.702 * x))


class NumpyClipTextEncoder(OneTextAtATime):
    """CLIP's text transformer (causal attention, pooled at the end-of-text token, projected), for a few texts at
    a time. Same vectors as transformers' CLIPModel.get_text_features to float rounding (tests/test_clip_text.py)."""

    def __init__(self, model_id: str, location: str | Path) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        folder = Path(location)
        self.model_id = model_id
        text = json.loads((folder / "config.json").read_text()).get("text_config") or {}
        self.heads = int(text.get("num_attention_heads", 8))
        self.layers = int(text.get("num_hidden_layers", 12))
        self.eps = float(text.get("layer_norm_eps", 1e-5))
        self.activation = _quick_gelu if text.get("hidden_act", "quick_gelu") == "quick_gelu" else _gelu
        self.max_tokens = int(text.get("max_position_embeddings", 77))
        self.eos_token_id = int(text.get("eos_token_id", 2))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # one text at a time: nothing to pad
        self.tokenizer.enable_truncation(self.max_tokens)
        # Only the text tower is read: the file also holds the vision tower, most of its bytes.
        with safe_open(str(folder / "model.safetensors"), framework="numpy") as weights:
            self.weights = {
                name: weights.get_tensor(name).astype(np.float32, copy=False)
                for name in weights.keys()
                if name.startswith(PREFIX) or name == "text_projection.weight"
            }
        self.dimension = self.weights["text_projection.weight"].shape[0]

    def _embed(self, text: str) -> np.ndarray:
        w = self.weights
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        hidden = (
            w[PREFIX + "embeddings.token_embedding.weight"][ids] + w[PREFIX + "embeddings.position_embedding.weight"][: len(ids)]
        )
        for layer in range(self.layers):
            hidden = self._layer(hidden, f"{PREFIX}encoder.layers.{layer}.")
        hidden = _layer_norm(hidden, w[PREFIX + "final_layer_norm.weight"], w[PREFIX + "final_layer_norm.bias"], self.eps)
        # Pooled at the end-of-text token (older configs say eos 2 and mean the highest id, as transformers does).
        at = int(np.argmax(ids)) if self.eos_token_id == 2 else int(np.argmax(ids == self.eos_token_id))
        projected = hidden[at] @ w["text_projection.weight"].T
        return projected / max(float(np.linalg.norm(projected)), 1e-12)

    def _layer(self, hidden: np.ndarray, prefix: str) -> np.ndarray:
        w = self.weights

        def linear(x: np.ndarray, name: str) -> np.ndarray:
            return x @ w[prefix + name + ".weight"].T + w[prefix + name + ".bias"]

        normed = _layer_norm(hidden, w[prefix + "layer_norm1.weight"], w[prefix + "layer_norm1.bias"], self.eps)
        context = attention(
            linear(normed, "self_attn.q_proj"),
            linear(normed, "self_attn.k_proj"),
            linear(normed, "self_attn.v_proj"),
            self.heads,
            causal=True,
        )
        hidden = hidden + linear(context, "self_attn.out_proj")
        normed = _layer_norm(hidden, w[prefix + "layer_norm2.weight"], w[prefix + "layer_norm2.bias"], self.eps)
        return hidden + linear(self.activation(linear(normed, "mlp.fc1")), "mlp.fc2")
