"""Why a session could not happen, each with the exit code ``python -m client`` returns for it."""

from __future__ import annotations

from client.summary import ExitCode
from voiceops.errors import VoiceOpsError


class SessionError(VoiceOpsError):
    """A session that could not start; ``str(error)`` is the message for the person."""

    exit_code: ExitCode = ExitCode.SESSION_ERROR


class ConnectFailedError(SessionError):
    """No WebSocket: refused, unreachable, timed out, TLS failure, not a WebSocket server."""

    exit_code = ExitCode.CONNECT_FAILED


class RejectedError(SessionError):
    """The server answered the upgrade with an HTTP error; ``body`` is its readable reason."""

    exit_code = ExitCode.REJECTED

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class AuthFailedError(RejectedError):
    """The server answered 401 or 403."""

    exit_code = ExitCode.AUTH_FAILED


class MicrophoneUnavailableError(SessionError):
    """``--mic`` without ``sounddevice``, PortAudio or an input device."""

    exit_code = ExitCode.USAGE
