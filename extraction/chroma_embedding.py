"""The ChromaDB side of the embedding: imported only when memory is opened (chromadb is slow
to import and not needed with ``--no-memory``)."""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from extraction.embedding import embed

EMBEDDING_NAME = "voiceops_packaged_minilm_l6_v2"


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
