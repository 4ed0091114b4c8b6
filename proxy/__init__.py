"""The voice-ops sidecar: a full-duplex ``/api/chat`` proxy in front of PersonaPlex.

The stages, in the order a conversation flows through them:

``relay/``
    Bytes between the browser and the upstream model: the wire codec (``codec``), the query
    sanitiser (``query``), one conversation per upstream with a waiting line (``admission``),
    the two-way relay (``chat``) and the UI files (``ui``).
``listen/``
    What was said: a bounded copy of the audio and text (``tap``) goes to the speech worker
    (``speech/``: decode, VAD, recognisers), which keeps the ``transcript`` and spots the
    trigger phrases and answers (``triggers``; the words themselves are in
    :mod:`voiceops.phrases`).
``actions/``
    What to do about it: control frames become user actions (``controls``); a pure state
    machine (``events``, ``machine``) decides each step's fate and the async runner
    (``runner``, ``perform``, ``effects``) extracts commands, checks them with the guard, runs
    approvals through an executor (``executors/``), writes every decision and run to the
    ``audit`` log and tells the user (``reporter``, ``results``, ``messages``).
``speak/``
    Results spoken into the model's reply audio.
``server/``
    The aiohttp application (``app``), the HTTP API (``api``), the transcript archive
    (``sessions``), authentication, and the wiring that joins a relayed conversation to its
    listener and actions (``pipeline``).

Beside them: ``config`` (flags and environment variables), ``security`` (exposure settings),
``startup`` (builds the long-lived services once) and ``__main__`` (``python -m proxy``).  The
test upstream and the demo live in the ``devtools`` package; nothing here imports it or the
``client`` package.
"""
