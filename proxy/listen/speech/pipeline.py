"""One session's listening pipeline: relayed messages in, tap events out (no threads, no sockets).

Client 0x01 pages → :class:`PageDecoder` (24 kHz → 16 kHz) → :class:`KeyphraseSpotter` and
:class:`Segmenter` (energy or Silero VAD) → per utterance :class:`Transcriber` → user
:class:`Turn` → :class:`TriggerMatcher` (which may ask the transcriber for a decision pass, or
for a second look at a missed "execute plan").
A request that names nothing is heard again with the known names (:mod:`.names`) for the
transcript only.
Server 0x01 pages advance the assistant clock (80 ms each); server 0x02 pieces build assistant
turns.  Only the client's audio can fire a trigger.  Pages the tap dropped because the worker was
behind are reported as a gap (:meth:`SpeechPipeline.skip`): both clocks move on by the audio they
held, so the proxy's own speech is placed where the user really heard it (echo safety).

The pipeline calls the recognisers synchronously; the speech worker process
(:mod:`proxy.listen.speech.worker`, driven by :class:`proxy.listen.tap.Tap`) runs it, so none of
this ever runs in the proxy's process, let alone on its event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from extraction.model import Turn
from proxy.listen.speech.audio import ASR_RATE, BadAudioError, PageDecoder
from proxy.listen.speech.events import AssistantSpoke, TapEvent, TriggerHeard, UserSpoke
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.spotter import KeyphraseHit
from proxy.listen.speech.transcriber import Heard
from proxy.listen.speech.vad import Utterance
from proxy.listen.transcript import AssistantAssembler, Transcript
from proxy.listen.triggers import TriggerMatcher
from proxy.relay.codec import Action, Kind

log = logging.getLogger(__name__)

#: Keyphrase hits this close (s) outside an utterance's bounds still belong to it: the spotter
#: reports a phrase a little after it ended, the VAD may cut a soft first syllable.
HIT_SLACK_S = 0.5


@dataclass(slots=True)
class PipelineStats:
    """Counters for metrics and logs."""

    client_pages: int = 0
    server_pages: int = 0
    bad_audio: int = 0
    bad_text: int = 0
    utterances: int = 0
    triggers: int = 0
    #: Seconds of user audio decoded, and seconds spent recognising it (the real-time factor
    #: is their ratio).
    heard_seconds: float = 0.0
    busy_seconds: float = 0.0
    #: Second looks at a missed "execute plan" (each a few teacher-forced decoder passes).
    second_looks: int = 0
    #: Seconds of user audio the tap dropped (the worker was behind): never heard.
    skipped_seconds: float = 0.0


class SpeechPipeline:
    """Raw relayed messages in (``client(data)`` / ``server(data)``), :data:`TapEvent` lists out."""

    def __init__(self, session_id: str, recognisers: Recognisers, transcript: Transcript) -> None:
        s = recognisers.settings
        self.session_id = session_id
        self.transcript = transcript
        self.stats = PipelineStats()
        self._transcriber = recognisers.transcriber
        self._names = recognisers.names
        self._decoder = PageDecoder()
        self._vad = recognisers.vad()
        self._spotter = recognisers.spotter()
        phrases = s.phrases
        if not self._transcriber.reliable:
            # Without Whisper the text is too poor to decide on, and nothing can check it twice:
            # the spotter has to.
            phrases = tuple(
                replace(
                    p,
                    keyphrase_alone=True,
                    min_logprob=None,
                    rivals=(),
                    decision_rivals=(),
                    second_look=0,
                )
                for p in phrases
            )
        self._matcher = TriggerMatcher(phrases, s.cooldown_s)
        self._assistant = AssistantAssembler(s.assistant_gap_s)
        self._server_page_s = s.server_page_s
        self._hits: list[KeyphraseHit] = []
        self._echo_tail_s = s.echo_tail_s
        self._speaking: list[tuple[float, float]] = []  # the proxy's own speech, user clock

    @property
    def server_seconds(self) -> float:
        """The assistant's audio clock: server pages × 80 ms."""
        return self.stats.server_pages * self._server_page_s

    def client(self, data: bytes) -> list[TapEvent]:
        """A message the client sent (only 0x01 audio matters)."""
        if not data or data[0] != Kind.AUDIO:
            return []
        began = time.perf_counter()
        try:
            return self._client_audio(data)
        finally:
            self.stats.busy_seconds += time.perf_counter() - began

    def _client_audio(self, data: bytes) -> list[TapEvent]:
        self.stats.client_pages += 1
        try:
            pcm = self._decoder.push(bytes(data[1:]))
        except BadAudioError as exc:
            self.stats.bad_audio += 1
            if self.stats.bad_audio == 1:  # logged once per session: a broken client floods
                log.warning(
                    "session %s: bad client audio (%s); counting further ones", self.session_id, exc
                )
            return []
        if pcm.size == 0:
            return []
        self.stats.heard_seconds += pcm.size / ASR_RATE
        self._hits.extend(self._spotter.push(pcm))
        events: list[TapEvent] = []
        for utt in self._vad.push(pcm):
            events.extend(self._utterance(utt))
        return events

    def server(self, data: bytes) -> list[TapEvent]:
        """A message the server sent: 0x01 advances the clock, 0x02 is the model's words."""
        if not data:
            return []
        if data[0] == Kind.AUDIO:
            self.stats.server_pages += 1
            return self._assistant_closed(self._assistant.tick(self.server_seconds))
        if data[0] == Kind.TEXT:
            try:
                text = bytes(data[1:]).decode("utf-8")
            except UnicodeDecodeError:
                self.stats.bad_text += 1
                return []
            return self._assistant_closed(self._assistant.piece(text, self.server_seconds))
        return []

    def skip(self, client_pages: int, server_pages: int) -> list[TapEvent]:
        """The tap dropped ``client_pages`` client and ``server_pages`` server audio pages here
        (the worker was behind): the clocks move on by the audio they held, and the user's open
        utterance ends where their audio stopped (it is transcribed now)."""
        events: list[TapEvent] = []
        if server_pages > 0:
            self.stats.server_pages += server_pages
            events += self._assistant_closed(self._assistant.tick(self.server_seconds))
        if client_pages > 0:
            seconds = self._decoder.skip(client_pages)
            self.stats.skipped_seconds += seconds
            self._spotter.skip(seconds)
            cut = self._vad.skip(seconds)
            log.info(
                "session %s: %.2f s of the user's audio skipped (the worker was behind)%s",
                self.session_id,
                seconds,
                "; the utterance it cut is heard now" if cut is not None else "",
            )
            if cut is not None:
                events += self._utterance(cut)
        return events

    def proxy_speaks(self, seconds: float) -> list[TapEvent]:
        """The proxy starts playing ``seconds`` of its own speech to the user now: whatever the
        user's channel carries meanwhile (and for ``echo_tail_s`` after) may be its echo, so
        utterances overlapping that stretch fire no trigger.  They are still transcribed."""
        now = self._decoder.seconds
        self._speaking = [w for w in self._speaking if w[1] > now - 60.0]
        self._speaking.append((now, now + max(0.0, seconds) + self._echo_tail_s))
        return []

    def finish(self) -> list[TapEvent]:
        """End of session: the last utterance and the open assistant turn."""
        events = self._assistant_closed(self._assistant.flush())
        tail = self._decoder.finish()
        if tail.size:
            self._hits.extend(self._spotter.push(tail))
            for utt in self._vad.push(tail):
                events.extend(self._utterance(utt))
        last = self._vad.flush()
        if last is not None:
            events.extend(self._utterance(last))
        self._spotter.close()
        return events

    def settle(self) -> list[TapEvent]:
        """The user pressed EXECUTE: whatever they are saying ends here and is transcribed now.

        An EXECUTE trigger inside that last utterance is left out: the press already is one.
        """
        last = self._vad.flush()
        if last is None:
            return []
        return [
            e
            for e in self._utterance(last)
            if not (isinstance(e, TriggerHeard) and e.action is Action.EXECUTE)
        ]

    def _assistant_closed(self, turn: Turn | None) -> list[TapEvent]:
        if turn is None:
            return []
        self.transcript.add(turn)
        return [AssistantSpoke(turn)]

    def _utterance(self, utt: Utterance) -> list[TapEvent]:
        self.stats.utterances += 1
        spotted = [
            h.phrase for h in self._hits if utt.start - HIT_SLACK_S <= h.at <= utt.end + HIT_SLACK_S
        ]
        self._hits = [h for h in self._hits if h.at > utt.end + HIT_SLACK_S]
        try:
            heard = self._transcriber.hear(utt.pcm)
        except Exception:  # a recogniser failure loses one utterance, never the session
            log.exception("session %s: transcription failed", self.session_id)
            heard = Heard("")
        text = heard.text

        def recheck(hotwords: str, once: bool = False) -> str:
            try:
                return self._transcriber.hear(utt.pcm, hotwords, once=once).text
            except Exception:  # no second hearing: the phrase that needed it does not fire
                log.exception("session %s: decision pass failed", self.session_id)
                return ""

        def score(texts: Sequence[str], prompt: bool = True) -> list[float]:
            try:
                return self._transcriber.score(utt.pcm, texts, prompt=prompt)
            except Exception:  # no scores: the phrase that needed them does not fire
                what = "second look" if prompt else "forced reading"
                log.exception("session %s: %s failed", self.session_id, what)
                return []

        def rescore(texts: Sequence[str]) -> list[float]:
            self.stats.second_looks += 1
            return score(texts)

        echoed = any(utt.start < until and utt.end > since for since, until in self._speaking)
        matches = []
        if echoed:
            if text.strip():
                log.info(
                    "session %s: %r overlaps our own speech; no trigger", self.session_id, text
                )
        else:
            matches = self._matcher.utterance(
                text,
                spotted,
                utt.end,
                logprob=heard.logprob,
                recheck=recheck,
                rescore=rescore,
                rivalry=lambda texts: score(texts, prompt=False),
            )
        # Triggers are matched on the text pass; the extractor reads the names pass.  A reply
        # or our own echo needs no names (and a reply must not wait for a decode).
        said = text
        if (
            self._names is not None
            and not echoed
            and all(m.action is Action.EXECUTE for m in matches)
        ):
            said = self._names.transcript_text(text, lambda names: recheck(names, once=True))
            if said != text:
                log.info("session %s: names pass: %r heard as %r", self.session_id, text, said)
        # The model's open turn was spoken before this utterance ended: keep the order.
        events = self._assistant_closed(self._assistant.flush())
        turn = Turn("user", said, round(utt.start, 3), round(utt.end, 3))
        if said.strip():
            self.transcript.add(turn)
            events.append(UserSpoke(turn))
        for match in matches:
            self.stats.triggers += 1
            log.info(
                "session %s: trigger %s (%r%s, by %s) at %.2fs",
                self.session_id,
                match.action.name,
                match.phrase,
                "" if match.named is None else f" naming {match.named!r}",
                match.source,
                match.at,
            )
            events.append(
                TriggerHeard(
                    match.action, match.phrase, match.at, self.transcript.turns(), match.named
                )
            )
        return events
