"""The hotline's words, defined once: message types, error codes, roles, call statuses and
states, complaint kinds and the record fields an operator may fill in.

The server, the records, the Python client, the softphone and the browser pages all take
these from here (the pages through the generated ``static/wire.js``, which a test keeps in
step with this module). Adding a word here is a protocol change: docs/protocol.md says what
each one means.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "PROTOCOL_VERSION",
    "CORRECTABLE",
    "QA_SCORE_ITEMS",
    "AccountRole",
    "SAMPLE_RATES",
    "RECORD_FIELDS",
    "CallState",
    "Channel",
    "ClientType",
    "CloseCode",
    "RETRY_LATER_CODES",
    "ErrorCode",
    "Kind",
    "RecordingLeg",
    "Role",
    "ServerType",
    "Speaker",
    "Status",
    "SupervisorMode",
]

PROTOCOL_VERSION = 1
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
RECORD_FIELDS = ("kind", "category", "place", "urgency", "notes")
"""The complaint fields an operator fills in with a ``record`` message."""
QA_SCORE_ITEMS = ("greeting", "language", "accuracy", "courtesy", "resolution")
"""What a QA reviewer scores a call on, each 1 (poor) to 5 (excellent)."""
CORRECTABLE = ("original", "translation")
"""What a QA reviewer may correct in an utterance."""


class Role(StrEnum):
    """Who is at the other end of a ``/call``, ``/operator`` or ``/supervisor`` connection."""

    CALLER = "caller"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    QA = "qa"


class SupervisorMode(StrEnum):
    """How a supervisor is in a call: ``monitor`` hears it; ``whisper`` also talks to the
    operator only; ``barge`` talks to both; ``takeover`` replaces the operator; ``leave``
    steps out."""

    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"
    TAKEOVER = "takeover"
    LEAVE = "leave"


class Speaker(StrEnum):
    """Who said an utterance in a record; ``system`` is the hotline's own prompts."""

    CALLER = "caller"
    OPERATOR = "operator"
    SYSTEM = "system"


class ClientType(StrEnum):
    """Messages a caller or an operator sends to the server."""

    HELLO = "hello"
    DTMF = "dtmf"
    TEXT = "text"
    HANGUP = "hangup"
    AVAILABLE = "available"
    ACCEPT = "accept"
    REPLY = "reply"
    PREVIEW = "preview"
    QUICK_REPLY = "quick_reply"
    RECORD = "record"
    SETTINGS = "settings"
    SUPERVISE = "supervise"
    WHISPER = "whisper"
    CALLS = "calls"
    OPEN_CALL = "open_call"
    CORRECT = "correct"
    SCORE = "score"
    REQUEST = "request"
    READ_BACK = "read_back"
    EMERGENCY_ACTION = "emergency_action"
    SURVEY = "survey"


class ServerType(StrEnum):
    """Messages the server sends to a caller or an operator."""

    ERROR = "error"
    MENU = "menu"
    READY = "ready"
    SAY = "say"
    STATUS = "status"
    CAPTION = "caption"
    CLEAR = "clear"
    ENDED = "ended"
    NOTICE = "notice"
    QUEUE = "queue"
    CONNECTED = "connected"
    PREVIEW = "preview"
    REPLY_SENT = "reply_sent"
    RECORD_SUGGESTION = "record_suggestion"
    RECORD_SAVED = "record_saved"
    WALL = "wall"
    SUPERVISING = "supervising"
    CALL_LIST = "call_list"
    CALL_DETAIL = "call_detail"
    CORRECTED = "corrected"
    SCORED = "scored"
    REQUEST = "request"
    EMERGENCY = "emergency"
    READ_BACK = "read_back"
    SURVEY = "survey"
    CASE = "case"
    OVERDUE = "overdue"


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    BAD_MESSAGE = "bad_message"
    NOT_STARTED = "not_started"
    BAD_SAMPLE_RATE = "bad_sample_rate"
    FRAME_TOO_LARGE = "frame_too_large"
    BAD_AUDIO = "bad_audio"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    NO_CALL = "no_call"
    BAD_CREDENTIALS = "bad_credentials"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    NOT_ALLOWED = "not_allowed"
    RATE_LIMITED = "rate_limited"
    SERVER_FULL = "server_full"
    INTERNAL = "internal"


class CloseCode(IntEnum):
    """How the server closes a websocket (RFC 6455 §7.4); the reason says why in words.

    ``POLICY_VIOLATION`` ends a connection that broke a rule: a fatal protocol error, bad
    credentials, a role that may not do this. ``TRY_AGAIN_LATER`` refuses one the server
    will take later: a per-address limit or a full server.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


RETRY_LATER_CODES = frozenset(
    {ErrorCode.TOO_MANY_ATTEMPTS, ErrorCode.RATE_LIMITED, ErrorCode.SERVER_FULL}
)
"""Error codes whose fatal close is ``TRY_AGAIN_LATER`` rather than ``POLICY_VIOLATION``."""


class CallState(StrEnum):
    """Where a caller's call is, as told by ``status`` messages."""

    QUEUED = "queued"
    CONNECTED = "connected"
    BUSY = "busy"


class Status(StrEnum):
    """A call's status in its record.

    ``queued`` and ``active`` are open; ``completed`` ended normally; ``dropped`` was cut off
    (hang-up mid-call, a lost connection); ``busy`` was turned away because no operator
    could take it, and is still recorded; ``interrupted`` was open when the server stopped
    (a crash, a kill) and was closed when the records were next opened.
    """

    QUEUED = "queued"
    ACTIVE = "active"
    COMPLETED = "completed"
    DROPPED = "dropped"
    BUSY = "busy"
    INTERRUPTED = "interrupted"


class Kind(StrEnum):
    """What kind of contact a complaint record is."""

    CONSULTATION = "consultation"
    HELP_REQUEST = "help_request"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"


class Channel(StrEnum):
    """Which way a call came in."""

    WEB = "web"
    TWILIO = "twilio"
    AUDIOSOCKET = "audiosocket"
    SIP = "sip"


class RecordingLeg(StrEnum):
    """The four recordings of a call: what each party said, and what each party heard."""

    CALLER_IN = "caller_in"
    CALLER_HEARD = "caller_heard"
    OPERATOR_IN = "operator_in"
    OPERATOR_HEARD = "operator_heard"


class AccountRole(StrEnum):
    """What a signed-in person may do: take calls (operator), watch and step into calls
    (supervisor), review recorded calls (qa), and manage accounts (admin)."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    QA = "qa"
    ADMIN = "admin"
