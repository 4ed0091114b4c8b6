"""The shared pipeline parts as one session uses them, each behind a call that never raises.

Extraction, memory, the guard, the executor and the audit log can each fail (a model API down,
a full disk, a bug).  None of that may leave a session stuck or hide a result from the user: a
failure is logged and turned into the value that means "nothing" (no context, no extraction, a
refusal, a failed run), so the runner only has to act on values.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from extraction.model import Extraction, Extractor, Recollection, Turn
from guard.decision import Approval, Decision, Refused
from proxy.actions.audit import AuditLog
from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.limits import ExecLimiter
from proxy.actions.ports import CommandChecker, MemoryStore, TranscriptSource
from voiceops.records.audit import AuditRecord
from voiceops.records.commands import CommandResult

log = logging.getLogger(__name__)

#: Characters of command output kept in a memory record.
MEMORY_OUTPUT_CHARS = 4000


class Effects:
    """What one session may do to the world; shared parts, session-specific records."""

    def __init__(
        self,
        session_id: str,
        *,
        extractor: Extractor,
        guard: CommandChecker,
        executor: Executor,
        audit: AuditLog | None,
        memory: MemoryStore | None,
        recall_k: int,
        limiter: ExecLimiter | None = None,
    ) -> None:
        self.session_id = session_id
        #: Who is acting (``principal``, ``peer``): named in every audit record.
        self.actor: dict[str, str] = {}
        self._limiter = limiter
        self.executor = executor
        self._extractor = extractor
        self._guard = guard
        self._audit = audit
        self._memory = memory
        self._recall_k = recall_k

    @staticmethod
    def conversation(transcript: TranscriptSource | None) -> Sequence[Turn]:
        """The conversation so far (empty when there is none or it cannot be read)."""
        if transcript is None:
            return ()
        try:
            return transcript()
        except Exception:
            log.exception("transcript source failed")
            return ()

    async def recall(self, text: str) -> tuple[Recollection, ...]:
        """Past requests similar to ``text`` (none without memory or when it fails)."""
        if self._memory is None or not text.strip():
            return ()
        try:
            found = await asyncio.to_thread(self._memory.recall, text, self._recall_k)
        except Exception:
            log.exception("memory recall failed; extracting without context")
            return ()
        return tuple(found)

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection]
    ) -> Extraction | None:
        """The commands agreed in ``turns``, or ``None`` when extraction failed."""
        try:
            return await self._extractor.extract(turns, context)
        except Exception:
            log.exception("extractor failed")
            return None

    def check(self, command: str, node: str | None = None) -> Decision:
        """The guard's decision (for fleet node ``node``); a guard that raises refuses."""
        try:
            return self._guard.check(command, node)
        except Exception:
            # Guard.check is documented never to raise; if it does, nothing runs.
            log.exception("guard failed")
            return Refused(command, "the guard could not check this command", "guard-error", node)

    async def run(self, step_id: str, approval: Approval) -> RunResult:
        """Run ``approval`` within the limits; an executor that raises gives a failed run naming
        the error, a limit gives a failed run naming the limit."""
        limiter = self._limiter
        if limiter is not None:
            principal = self.actor.get("principal", "anonymous")
            refusal = limiter.start(self.session_id, principal)
            if refusal is not None:
                log.warning(
                    "session %s (%s): %s refused: %s", self.session_id, principal, step_id, refusal
                )
                return RunResult(
                    approval.argv, None, "", "", 0, 0, 0.0, error=f"refused: {refusal}"
                )
        try:
            return await self.executor.run(approval)
        except Exception as exc:
            log.exception("executor failed for %s", step_id)
            return RunResult(approval.argv, None, "", "", 0, 0, 0.0, error=f"executor error: {exc}")
        finally:
            if limiter is not None:
                limiter.finish()

    async def store(self, words: str, results: Sequence[CommandResult]) -> None:
        """Remember a finished request in memory (when there is one)."""
        if self._memory is None:
            return
        try:
            from extraction.memory import InteractionRecord  # noqa: PLC0415 (loads ChromaDB)

            output = "\n".join(f"{r.command}: {r.output or r.reason or ''}" for r in results)
            record = InteractionRecord(
                request=words,
                commands=tuple(r.command for r in results),
                decisions=tuple(r.status for r in results),
                exit_codes=tuple(r.exit_code for r in results),
                output=output[:MEMORY_OUTPUT_CHARS],
                session_id=self.session_id,
                time=time.time(),
            )
            await asyncio.to_thread(self._memory.store, record)
        except Exception:
            log.exception("memory store failed; the request itself succeeded")

    async def write(self, record: AuditRecord) -> None:
        """Append ``record`` to the audit log (when there is one), naming who acted."""
        if self._audit is None:
            return
        actor = self.actor
        try:
            await self._audit.write(
                record, principal=actor.get("principal"), peer=actor.get("peer")
            )
        except OSError:
            # A full disk must not hide the result from the user; the log line says what is
            # missing from the audit trail.
            log.exception("audit write failed for %r", record)
