"""Transcript → proposed commands (Anthropic or offline understanding), plus memory.

Use :func:`make_extractor` to get the configured :class:`~extraction.model.Extractor`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from extraction.anthropic_backend import DEFAULT_MODEL, AnthropicExtractor
from extraction.model import Extractor
from extraction.understand import UnderstandingExtractor
from extraction.vocabulary import fleet_words, known_names, service_aliases
from fleet.model import FleetSource

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL", "fleet_words", "known_names", "make_extractor", "service_aliases"]


def make_extractor(
    api_key: str | None,
    model: str = DEFAULT_MODEL,
    base_url: str | None = None,
    rules_path: Path | None = None,
    *,
    timeout: float = 20.0,
    max_retries: int = 3,
    fleet: FleetSource | None = None,
) -> Extractor:
    """The Anthropic extractor when ``api_key`` is non-empty, else the offline one (rules, then
    meaning: :class:`~extraction.understand.UnderstandingExtractor`).

    ``fleet`` gives the servers requests may name (:mod:`extraction.targets`); each command
    then carries the nodes it runs on.  Logs which one was chosen (model and base URL, never
    the key).  A broken rules file raises
    :class:`extraction.rules.RulesError` so a misconfiguration shows at start-up.
    """
    if api_key and api_key.strip():
        log.info("extractor: Anthropic model %s at %s", model, base_url or "the default API URL")
        return AnthropicExtractor(
            api_key.strip(), model, base_url, timeout=timeout, max_retries=max_retries, fleet=fleet
        )
    extractor = UnderstandingExtractor(rules_path, fleet=fleet)
    log.info(
        "extractor: offline rules from %s and intent matching (no Anthropic API key set)",
        extractor.rules_path,
    )
    return extractor
