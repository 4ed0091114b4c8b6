"""Speech recognition for the tap: audio decoding, voice activity, keyphrase spotting, Whisper.

Public entry points: :class:`~proxy.listen.speech.worker.SpeechWorker` (the process that loads
the models once and hosts every session's pipeline),
:class:`~proxy.listen.speech.recognisers.Recognisers` (the models themselves),
:class:`~proxy.listen.speech.settings.TapSettings`, and
:class:`~proxy.listen.speech.pipeline.SpeechPipeline` (one session's pure listening pipeline,
driven by :class:`~proxy.listen.tap.Tap` through the worker).
"""
