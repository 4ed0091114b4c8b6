"""The ONNX MiniLM gives the same vectors as the sentence-transformers (torch) reference."""

from __future__ import annotations

import numpy as np
import pytest

from extraction import embedding

TEXTS = [
    "please check the disk space",
    "could you restart the nginx service now please",
    "x",
    "",
    "word " * 400,  # longer than the 256-token window: truncated the same way
    "Ünïcode – dashes; df -h | grep /dev",
]


def test_vectors_match_the_torch_reference() -> None:
    reference = pytest.importorskip("sentence_transformers")
    model = reference.SentenceTransformer(
        str(embedding.model_path()), device="cpu", local_files_only=True
    )
    theirs = model.encode(TEXTS, normalize_embeddings=True, show_progress_bar=False)
    ours = np.stack(embedding.embed(TEXTS))
    assert ours.shape == (len(TEXTS), embedding.DIMENSIONS)
    cosine = np.sum(ours * theirs, axis=1)
    assert float(np.min(cosine)) > 1 - 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batches_do_not_change_a_vector() -> None:
    alone = embedding.embed(["restart nginx"])[0]
    padded = embedding.embed(["restart nginx", "a much longer sentence " * 20])[0]
    assert float(np.dot(alone, padded)) > 1 - 1e-6
