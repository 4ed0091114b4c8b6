"""The voice-ops sidecar: a full-duplex ``/api/chat`` proxy in front of PersonaPlex.

The stages, in the order a conversation flows through them:

``relay/``
    Bytes between the browser and the upstream model: the wire codec (``codec``), the query
    sanitiser (``query``), one conversation per upstream with a waiting line (``admission``),
    the two-way relay (``chat``) and the UI files (``ui``).
``listen/``
    What was said: a bounded copy of the audio and text (``tap``) goes to the speech worker
    (``speech/``: decode, VAD, recognisers), which keeps the ``transcript`` and spots the
    trigger phrases (``triggers``, ``confirm``).
``actions/``
    What to do about it: a pure state machine (``machine``) and its async runner (``flow``)
    extract commands, check them with the guard, run approvals through an executor
    (``executors/``) and write every decision and run to the ``audit`` log.
``server/``
    The aiohttp application (``app``), the HTTP API (``api``) and the wiring that joins a
    relayed conversation to its listener and actions (``pipeline``).

Beside them: ``config`` (flags and environment variables), ``startup`` (builds the long-lived
services once) and ``__main__`` (``python -m proxy``). The test upstream and the demo live in
the ``devtools`` package; nothing here imports it or the ``client`` package.
"""
