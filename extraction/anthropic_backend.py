"""Extractor backed by Anthropic's Messages API (official SDK, async client).

One extraction is one ``messages.create`` call that forces the ``propose_commands`` tool.  Rate
limits, overload, 5xx answers and lost connections are retried by the SDK itself (exponential
backoff from 0.5 s to at most 8 s with jitter, or the server's ``retry-after`` /
``retry-after-ms``); one deadline bounds the call with all its retries.  The answer is validated by
:mod:`extraction.prompt`.  Every failure becomes an :class:`Extraction` with no commands and a
reason the operator can hear — :meth:`AnthropicExtractor.extract` never raises.  The API key
is never logged, never in a repr and scrubbed from any error text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import cast

import anthropic
from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam
from pydantic import BaseModel

from extraction.model import Extraction, Recollection, Turn
from extraction.prompt import build_request, parse_response
from extraction.targeting import FleetNames
from fleet.model import FleetSource

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-4-20250514"
MAX_OUTPUT_TOKENS = 2048
MAX_RETRIES_LIMIT = 10
#: Answers the SDK retries (with 5xx): after its retries, the reason says "rate limited" or
#: "unavailable" and how many attempts were made.
_RETRY_STATUSES = frozenset({408, 409, 429})


class AnthropicExtractor:
    """:class:`~extraction.model.Extractor` that asks an Anthropic model for the agreed commands.

    ``timeout`` bounds the whole extraction including retries (seconds); ``max_retries`` is how
    many times the SDK repeats a rate-limited, overloaded, 5xx or unreachable call;
    ``max_commands`` is the most commands accepted (a longer list is rejected as a whole).
    ``fleet`` gives the servers requests may name: the model quotes the words that named them
    and :mod:`extraction.targeting` resolves them, as offline.
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
        fleet: FleetSource | None = None,
    ) -> None:
        if not api_key.strip():
            raise ValueError("an Anthropic API key is required")
        if not 0 < timeout <= 600 or not 0 <= max_retries <= MAX_RETRIES_LIMIT:
            raise ValueError("timeout must be in (0, 600] s and max_retries in [0, 10]")
        if not 1 <= max_commands <= 100:
            raise ValueError("max_commands must be in [1, 100]")
        self._api_key = api_key
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_commands = max_commands
        self._fleet = FleetNames(fleet)
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
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
                return await self._call(turns, context)
        except TimeoutError:
            log.warning("anthropic extraction timed out after %.1f s", self.timeout)
            return Extraction((), f"the language model did not answer within {self.timeout:g} s")

    async def _call(self, turns: Sequence[Turn], context: Sequence[Recollection]) -> Extraction:
        names = self._fleet.now()
        system, messages, tools, tool_choice = build_request(
            turns, context, self.max_commands, names
        )
        started = time.monotonic()
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
            log.error("anthropic call failed: HTTP %d", exc.status_code)
            return Extraction((), self._failure(exc))
        except anthropic.APITimeoutError:
            raise TimeoutError from None
        except anthropic.APIConnectionError as exc:
            log.error("cannot reach the Anthropic API: %s", self._scrub(str(exc)))
            return Extraction((), "the language model service could not be reached")
        result = parse_response(_plain(response), self.max_commands, names)
        log.info(
            "anthropic extraction: %d commands in %.2f s%s",
            len(result.commands),
            time.monotonic() - started,
            f"; {result.reason}" if result.reason else "",
        )
        return result

    def _failure(self, exc: anthropic.APIStatusError) -> str:
        if exc.status_code in _RETRY_STATUSES or exc.status_code >= 500:
            what = "rate limited" if exc.status_code == 429 else "unavailable"
            return (
                f"the language model service was {what} (HTTP {exc.status_code}) "
                f"after {self.max_retries + 1} attempts"
            )
        detail = self._scrub(exc.message)
        return f"the language model call failed (HTTP {exc.status_code}): {detail}"


def _plain(response: object) -> object:
    """The SDK's lenient response object as plain dicts and lists, for strict checking."""
    if isinstance(response, BaseModel):
        return response.model_dump(mode="python", warnings=False)
    return response
