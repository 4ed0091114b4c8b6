"""Speech recognition for the tap: audio decoding, voice activity, keyphrase spotting, Whisper.

Public entry points: :class:`proxy.speech.worker.SpeechWorker` (the process that loads the models
once and hosts every session's pipeline), :class:`proxy.speech.recognisers.Recognisers` (the
models themselves), :class:`proxy.speech.settings.TapSettings`, and
:class:`proxy.speech.pipeline.SpeechPipeline` (one session's pure listening pipeline, driven by
:class:`proxy.tap.Tap` through the worker).
"""
