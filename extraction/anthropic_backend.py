"""Extractor backed by Anthropic's Messages API (official SDK, async client).

One extraction is one ``messages.create`` call that forces the ``propose_commands`` tool.  Rate
limits, overload and 5xx answers are retried here with bounded exponential backoff (the SDK's
own retries are off so the whole call fits one deadline); the answer is validated by
:mod:`extraction.prompt`.  Every failure becomes an :class:`Extraction` with no commands and a
reason the operator can hear — :meth:`AnthropicExtractor.extract` never raises.  The API key
is never logged, never in a repr and scrubbed from any error text.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import cast

import anthropic
from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam
from pydantic import BaseModel

from extraction.model import Extraction, Recollection, Turn
from extraction.prompt import build_request, parse_response

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-4-20250514"
MAX_OUTPUT_TOKENS = 2048
MAX_BACKOFF_SECONDS = 8.0
MAX_RETRIES_LIMIT = 10
_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class AnthropicExtractor:
    """:class:`~extraction.model.Extractor` that asks an Anthropic model for the agreed commands.

    ``timeout`` bounds the whole extraction including retries (seconds); ``max_retries`` is how
    many times a rate-limited, overloaded or 5xx call is repeated; ``max_commands`` is the most
    commands accepted (a longer list is rejected as a whole); ``backoff`` is the first retry
    delay in seconds, doubled each time up to 8 s, or the server's ``retry-after`` when given.
    """

    def __init__(  # noqa: PLR0917 - the positional order is the published interface
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = 20.0,
        max_retries: int = 3,
        max_commands: int = 10,
        *,
        backoff: float = 0.5,
    ) -> None:
        if not api_key.strip():
            raise ValueError("an Anthropic API key is required")
        if not 0 < timeout <= 600 or not 0 <= max_retries <= MAX_RETRIES_LIMIT:
            raise ValueError("timeout must be in (0, 600] s and max_retries in [0, 10]")
        if not 1 <= max_commands <= 100 or not 0 <= backoff <= MAX_BACKOFF_SECONDS:
            raise ValueError("max_commands must be in [1, 100] and backoff in [0, 8] s")
        self._api_key = api_key
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_commands = max_commands
        self.backoff = backoff
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    def __repr__(self) -> str:
        return (
            f"AnthropicExtractor(model={self.model!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout}, max_retries={self.max_retries}, api_key=<hidden>)"
        )

    async def aclose(self) -> None:
        """Close the HTTP connections held by the client."""
        await self._client.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "<hidden>")[:300]

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        """Turns (both speakers) plus recalled context → the agreed commands, or none and why."""
        if not any(t.speaker == "user" and t.text.strip() for t in turns):
            return Extraction((), "nothing was said by the user since the last execution")
        try:
            async with asyncio.timeout(self.timeout):
                return await self._call_with_retries(turns, context)
        except TimeoutError:
            log.warning("anthropic extraction timed out after %.1f s", self.timeout)
            return Extraction((), f"the language model did not answer within {self.timeout:g} s")

    async def _call_with_retries(
        self, turns: Sequence[Turn], context: Sequence[Recollection]
    ) -> Extraction:
        system, messages, tools, tool_choice = build_request(turns, context, self.max_commands)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = await self._client.messages.create(
                    model=self.model,
                    max_tokens=MAX_OUTPUT_TOKENS,
                    system=system,
                    messages=cast("list[MessageParam]", messages),
                    tools=cast("list[ToolParam]", tools),
                    tool_choice=cast("ToolChoiceToolParam", tool_choice),
                )
            except anthropic.AuthenticationError:
                log.error("anthropic rejected the API key (401)")
                return Extraction((), "the Anthropic API key was rejected: check ANTHROPIC_API_KEY")
            except anthropic.PermissionDeniedError:
                log.error("anthropic denied access (403) for model %s", self.model)
                return Extraction((), f"the Anthropic API key may not use model {self.model}")
            except anthropic.NotFoundError:
                log.error("anthropic: model %s or endpoint not found (404)", self.model)
                return Extraction((), f"model {self.model} was not found: check ANTHROPIC_MODEL")
            except anthropic.APIStatusError as exc:
                delay = self._retry_delay(exc, attempt)
                if exc.status_code not in _RETRY_STATUSES or delay is None:
                    log.error("anthropic call failed: HTTP %d", exc.status_code)
                    return Extraction((), self._failure(exc, attempt))
                log.warning(
                    "anthropic HTTP %d, retry %d in %.2f s", exc.status_code, attempt + 1, delay
                )
                await asyncio.sleep(delay)
            except anthropic.APITimeoutError:
                raise TimeoutError from None
            except anthropic.APIConnectionError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    log.error("cannot reach the Anthropic API: %s", self._scrub(str(exc)))
                    return Extraction((), "the language model service could not be reached")
                log.warning("anthropic unreachable, retry %d in %.2f s", attempt + 1, delay)
                await asyncio.sleep(delay)
            else:
                result = parse_response(_plain(response), self.max_commands)
                log.info(
                    "anthropic extraction: %d commands in %.2f s (%d attempts)%s",
                    len(result.commands),
                    time.monotonic() - started,
                    attempt + 1,
                    f"; {result.reason}" if result.reason else "",
                )
                return result
            attempt += 1

    def _retry_delay(self, exc: anthropic.APIError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when retries are used up."""
        if attempt >= self.max_retries:
            return None
        # Jitter spreads replicas that were throttled together; it needs no crypto randomness.
        jitter = random.uniform(0.75, 1.0)  # noqa: S311
        delay = min(MAX_BACKOFF_SECONDS, self.backoff * 2.0**attempt) * jitter
        response = getattr(exc, "response", None)
        header: str | None = response.headers.get("retry-after") if response is not None else None
        try:
            if header is not None and 0 <= float(header) <= MAX_BACKOFF_SECONDS:
                delay = float(header)
        except ValueError:
            pass
        return delay

    def _failure(self, exc: anthropic.APIStatusError, attempt: int) -> str:
        if exc.status_code in _RETRY_STATUSES:
            what = "rate limited" if exc.status_code == 429 else "unavailable"
            return (
                f"the language model service was {what} (HTTP {exc.status_code}) "
                f"after {attempt + 1} attempts"
            )
        detail = self._scrub(exc.message)
        return f"the language model call failed (HTTP {exc.status_code}): {detail}"


def _plain(response: object) -> object:
    """The SDK's lenient response object as plain dicts and lists, for strict checking."""
    if isinstance(response, BaseModel):
        return response.model_dump(mode="python", warnings=False)
    return response
