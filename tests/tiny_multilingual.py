"""A tiny multilingual sentence embedder built offline, laid out as sentence-transformers/paraphrase-multilingual-
MiniLM-L12-v2 is: a BERT encoder (or XLM-RoBERTa, as paraphrase-multilingual-mpnet-base-v2) under an XLM-R
style SentencePiece (Unigram) tokenizer with <s> ... </s>, mean pooling and no Normalize module.

Random weights cannot have learnt that "chien" means "dog", so the word-piece embeddings of each translation
are made those of its English word: what the real model learns from parallel text, set by hand, so a test
can see a query in French, Spanish or German find the English caption through captionary's own code."""

from __future__ import annotations

import json
from pathlib import Path

# English word -> its translations (French, Spanish, German); function words too, so whole sentences match
TRANSLATIONS = {
    "a": ("un", "une", "ein"),
    "the": ("le", "la", "der", "die", "el"),
    "on": ("sur", "auf", "en"),
    "dog": ("chien", "perro", "hund"),
    "cat": ("chat", "gato", "katze"),
    "beach": ("plage", "playa", "strand"),
    "snowy": ("enneigée", "nevada", "verschneiter"),
    "mountain": ("montagne", "montaña", "berg"),
    "red": ("rouge", "rojo", "rotes"),
    "car": ("voiture", "coche", "auto"),
    "cake": ("gâteau", "pastel", "kuchen"),
}
OTHER_WORDS = (
    "running near sea parked city street children playing with ball in park under blue sky plate of food wooden table".split()
)
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]


def _pieces() -> list[str]:
    words = [*TRANSLATIONS, *(word for many in TRANSLATIONS.values() for word in many), *OTHER_WORDS]
    letters = sorted({char for word in words for char in word})
    return list(dict.fromkeys(["▁" + word for word in words] + ["▁", *letters]))


def write_tokenizer(folder: Path) -> list[str]:
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocabulary = [*SPECIAL, *_pieces()]
    # whole words score far above letters, as SentencePiece's learnt scores make them
    scores = [(piece, 0.0 if piece in SPECIAL else -1.0 if len(piece) > 2 else -10.0) for piece in vocabulary]
    tokenizer = Tokenizer(Unigram(scores, unk_id=SPECIAL.index("<unk>"), byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 128, **special})
    )
    (folder / "special_tokens_map.json").write_text(json.dumps(special))
    return vocabulary


def build_tiny_multilingual(folder: Path, architecture: str = "bert", seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    vocabulary = write_tokenizer(folder)
    shapes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    torch.manual_seed(seed)
    if architecture == "bert":
        model = BertModel(BertConfig(vocab_size=len(vocabulary), max_position_embeddings=130, pad_token_id=1, **shapes))
    else:  # positions start after the padding index, as RoBERTa's do
        config = XLMRobertaConfig(
            vocab_size=len(vocabulary), max_position_embeddings=132, pad_token_id=1, type_vocab_size=1, **shapes
        )
        model = XLMRobertaModel(config, add_pooling_layer=False)
    with torch.no_grad():
        table = model.embeddings.word_embeddings.weight
        for english, translations in TRANSLATIONS.items():
            for word in translations:
                table[vocabulary.index("▁" + word)] = table[vocabulary.index("▁" + english)]
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False})
    )
    return folder
