"""Speech recognition for the tap: audio decoding, voice activity, keyphrase spotting, Whisper.

Public entry points: :class:`proxy.speech.recognisers.Recognisers` (load once per process),
:class:`proxy.speech.settings.TapSettings`, and :class:`proxy.speech.pipeline.SpeechPipeline`
(one session's pure listening pipeline, driven by :class:`proxy.tap.Tap`).
"""
