"""The caller and operator protocol (version 1), without I/O, in both directions.

Text frames carry JSON objects with a ``type``; binary frames carry PCM16 LE mono audio at
the sample rate the client declared in ``hello``. Every message either way is a dataclass
here: :func:`parse_message` turns a client's text frame into one (or raises
:class:`ProtocolError`, a code plus a human message), :func:`encode` turns any message into
its text frame, and :func:`parse_server_message` reads the server's frames back for
clients. Nothing else writes these frames by hand. docs/protocol.md is the specification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar

from hotline.wire.vocabulary import (
    CORRECTABLE,
    PROTOCOL_VERSION,
    QA_SCORE_ITEMS,
    RECORD_FIELDS,
    SAMPLE_RATES,
    CallState,
    ClientType,
    ErrorCode,
    Role,
    ServerType,
    Speaker,
    Status,
    SupervisorMode,
)

__all__ = [
    "CALLER_TYPES",
    "OPERATOR_TYPES",
    "SUPERVISOR_TYPES",
    "QA_TYPES",
    "ProtocolError",
    "ListCalls",
    "OpenCall",
    "Correct",
    "ScoreCall",
    "CallList",
    "CallDetail",
    "Corrected",
    "Scored",
    # client → server
    "Hello",
    "Dtmf",
    "TypedText",
    "Hangup",
    "Available",
    "Accept",
    "Reply",
    "Preview",
    "QuickReply",
    "RecordUpdate",
    "Settings",
    "Supervise",
    "Whisper",
    "RequestUpdate",
    "ReadBackNow",
    "EmergencyAction",
    "SurveyAnswer",
    "REQUEST_TYPES",
    "ClientMessage",
    # server → client
    "ErrorMessage",
    "MenuOption",
    "Menu",
    "CallerReady",
    "OperatorReady",
    "Say",
    "StatusChange",
    "Caption",
    "ReplySent",
    "Clear",
    "Ended",
    "Notice",
    "QueuedCall",
    "Queue",
    "Connected",
    "PreviewResult",
    "RecordSuggestion",
    "RecordSaved",
    "WallCaption",
    "WallCall",
    "Wall",
    "Supervising",
    "ServiceOption",
    "RequestDraft",
    "EmergencyAlert",
    "ReadBack",
    "SurveyPrompt",
    "NewCase",
    "OverdueCase",
    "Overdue",
    "ServerMessage",
    # frames
    "parse_message",
    "parse_server_message",
    "encode",
]

LANGUAGE_MAX = 16
TEXT_MAX = 2000


class ProtocolError(Exception):
    """Bad input from a client. ``fatal`` errors close the connection after the reply."""

    def __init__(self, code: ErrorCode, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


# --- client → server ------------------------------------------------------------------


@dataclass(slots=True)
class Hello:
    TYPE: ClassVar[ClientType] = ClientType.HELLO
    role: Role
    sample_rate: int
    language: str | None = None
    name: str | None = None
    languages: list[str] = field(default_factory=list)
    password: str | None = None
    caller_id: str | None = None
    captions_only: bool = False
    hear_original: bool = True
    auto_accept: bool = True
    token: str | None = None
    protocol: int = PROTOCOL_VERSION


@dataclass(slots=True)
class Dtmf:
    TYPE: ClassVar[ClientType] = ClientType.DTMF
    digit: str


@dataclass(slots=True)
class TypedText:
    """The caller typing instead of speaking."""

    TYPE: ClassVar[ClientType] = ClientType.TEXT
    text: str


@dataclass(slots=True)
class Hangup:
    TYPE: ClassVar[ClientType] = ClientType.HANGUP


@dataclass(slots=True)
class Available:
    TYPE: ClassVar[ClientType] = ClientType.AVAILABLE
    available: bool


@dataclass(slots=True)
class Accept:
    TYPE: ClassVar[ClientType] = ClientType.ACCEPT
    call_id: str


@dataclass(slots=True)
class Reply:
    """Operator's typed reply; ``translation`` is an operator-edited translation to send as is."""

    TYPE: ClassVar[ClientType] = ClientType.REPLY
    text: str
    translation: str | None = None


@dataclass(slots=True)
class Preview:
    """The operator asks how a reply would be translated, before sending it."""

    TYPE: ClassVar[ClientType] = ClientType.PREVIEW
    text: str


@dataclass(slots=True)
class QuickReply:
    TYPE: ClassVar[ClientType] = ClientType.QUICK_REPLY
    id: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RecordUpdate:
    TYPE: ClassVar[ClientType] = ClientType.RECORD
    fields: dict[str, str]


@dataclass(slots=True)
class Settings:
    TYPE: ClassVar[ClientType] = ClientType.SETTINGS
    captions_only: bool | None = None
    hear_original: bool | None = None
    muted: bool | None = None


@dataclass(slots=True)
class Supervise:
    """A supervisor steps into a call (or changes how), or ``leave``s it."""

    TYPE: ClassVar[ClientType] = ClientType.SUPERVISE
    call_id: str
    mode: SupervisorMode


@dataclass(slots=True)
class Whisper:
    """Typed words for the operator's eyes only."""

    TYPE: ClassVar[ClientType] = ClientType.WHISPER
    text: str


@dataclass(slots=True)
class ListCalls:
    """QA: the recorded calls, newest first, filtered (dates are ``YYYY-MM-DD``; ``pair``
    is ``en-es``)."""

    TYPE: ClassVar[ClientType] = ClientType.CALLS
    since: str | None = None
    until: str | None = None
    pair: str | None = None
    operator: str | None = None
    kind: str | None = None
    status: str | None = None


@dataclass(slots=True)
class OpenCall:
    TYPE: ClassVar[ClientType] = ClientType.OPEN_CALL
    call_id: str


@dataclass(slots=True)
class Correct:
    """QA: what was really said (``original``) or meant (``translation``) in one utterance;
    it becomes the reference for scoring, and the record itself stays as it was."""

    TYPE: ClassVar[ClientType] = ClientType.CORRECT
    utterance_id: int
    field: str
    text: str


@dataclass(slots=True)
class ScoreCall:
    """QA: a call's score, 1–5 for each of QA_SCORE_ITEMS, and free notes."""

    TYPE: ClassVar[ClientType] = ClientType.SCORE
    call_id: str
    scores: dict[str, int]
    notes: str = ""


@dataclass(slots=True)
class RequestUpdate:
    """The operator confirms or corrects the service request: its catalogue service and
    the place (either may be left out)."""

    TYPE: ClassVar[ClientType] = ClientType.REQUEST
    service_code: str | None = None
    place: str | None = None


@dataclass(slots=True)
class ReadBackNow:
    """The operator asks the hotline to read the request back to the caller."""

    TYPE: ClassVar[ClientType] = ClientType.READ_BACK


@dataclass(slots=True)
class EmergencyAction:
    """What the operator did about an emergency: ``transferred`` the caller to the
    emergency numbers, or ``told`` them to call."""

    TYPE: ClassVar[ClientType] = ClientType.EMERGENCY_ACTION
    action: str


@dataclass(slots=True)
class SurveyAnswer:
    """The caller's satisfaction, 1 (not at all) to 5 (very), typed on the caller page."""

    TYPE: ClassVar[ClientType] = ClientType.SURVEY
    score: int


ClientMessage = (
    Hello
    | Dtmf
    | TypedText
    | Hangup
    | Available
    | Accept
    | Reply
    | Preview
    | QuickReply
    | RecordUpdate
    | Settings
    | Supervise
    | Whisper
    | ListCalls
    | OpenCall
    | Correct
    | ScoreCall
    | RequestUpdate
    | ReadBackNow
    | EmergencyAction
    | SurveyAnswer
)

CALLER_TYPES = frozenset(
    {ClientType.HELLO, ClientType.DTMF, ClientType.TEXT, ClientType.HANGUP, ClientType.SURVEY}
)
REQUEST_TYPES = frozenset({ClientType.REQUEST, ClientType.READ_BACK, ClientType.EMERGENCY_ACTION})
"""What whoever answers a call does with its service request."""
OPERATOR_TYPES = frozenset(
    {
        ClientType.HELLO,
        ClientType.HANGUP,
        ClientType.AVAILABLE,
        ClientType.ACCEPT,
        ClientType.REPLY,
        ClientType.PREVIEW,
        ClientType.QUICK_REPLY,
        ClientType.RECORD,
        ClientType.SETTINGS,
        *REQUEST_TYPES,
    }
)
SUPERVISOR_TYPES = frozenset(
    {
        ClientType.HELLO,
        ClientType.SUPERVISE,
        ClientType.WHISPER,
        # once a supervisor has taken a call over, they answer it as its operator would
        ClientType.HANGUP,
        ClientType.REPLY,
        ClientType.PREVIEW,
        ClientType.QUICK_REPLY,
        ClientType.RECORD,
        *REQUEST_TYPES,
    }
)
QA_TYPES = frozenset(
    {ClientType.HELLO, ClientType.CALLS, ClientType.OPEN_CALL, ClientType.CORRECT, ClientType.SCORE}
)
_TYPES_OF = {
    Role.CALLER: CALLER_TYPES,
    Role.OPERATOR: OPERATOR_TYPES,
    Role.SUPERVISOR: SUPERVISOR_TYPES,
    Role.QA: QA_TYPES,
}


# --- server → client ------------------------------------------------------------------


@dataclass(slots=True)
class ErrorMessage:
    TYPE: ClassVar[ServerType] = ServerType.ERROR
    code: ErrorCode
    message: str
    fatal: bool = False

    @classmethod
    def of(cls, error: ProtocolError) -> ErrorMessage:
        return cls(error.code, error.message, error.fatal)


@dataclass(slots=True)
class MenuOption:
    digit: str
    language: str
    name: str


@dataclass(slots=True)
class Menu:
    """The spoken language menu; the caller answers with ``dtmf``."""

    TYPE: ClassVar[ServerType] = ServerType.MENU
    options: list[MenuOption]


@dataclass(slots=True)
class CallerReady:
    """The call is recorded; ``reference`` is the number the caller quotes."""

    TYPE: ClassVar[ServerType] = ServerType.READY
    call_id: str
    reference: str
    language: str
    sample_rate: int
    protocol: int = PROTOCOL_VERSION


@dataclass(slots=True)
class OperatorReady:
    """Signed in; ``token`` (until ``expires``, ISO 8601) signs in again without the
    password, from this page or another of the same person's."""

    TYPE: ClassVar[ServerType] = ServerType.READY
    operator: str
    display_name: str
    languages: list[str]
    role: str | None = None
    token: str | None = None
    expires: str | None = None
    protocol: int = PROTOCOL_VERSION


@dataclass(slots=True)
class Say:
    """The text of what the party is about to hear: a ``prompt`` or an utterance's speech."""

    TYPE: ClassVar[ServerType] = ServerType.SAY
    text: str
    prompt: str | None = None
    utterance_id: int | None = None


@dataclass(slots=True)
class StatusChange:
    TYPE: ClassVar[ServerType] = ServerType.STATUS
    state: CallState
    position: int | None = None
    operator_language: str | None = None


@dataclass(slots=True)
class Caption:
    """What the other party said. Partials carry only ``original`` until translated; finals
    carry the whole utterance as recorded."""

    TYPE: ClassVar[ServerType] = ServerType.CAPTION
    speaker: Speaker
    original: str
    final: bool
    text: str | None = None
    translated: bool | None = None
    utterance_id: int | None = None
    language: str | None = None
    source_language: str | None = None
    engine: str | None = None
    note: str | None = None
    route: str | None = None
    """The languages a translation went through, when it pivoted: ``fr → es → en``."""
    unclear: list[str] | None = None
    """Why this turn may be wrong: ``asr`` (low recognition confidence), ``translation``
    (its round trip lost the meaning)."""


@dataclass(slots=True)
class ReplySent(Caption):
    """The operator's own reply, as the caller received it."""

    TYPE: ClassVar[ServerType] = ServerType.REPLY_SENT

    @classmethod
    def of(cls, caption: Caption) -> ReplySent:
        return cls(**{f.name: getattr(caption, f.name) for f in fields(caption)})


@dataclass(slots=True)
class Clear:
    """Barge-in: drop any audio buffered for playing."""

    TYPE: ClassVar[ServerType] = ServerType.CLEAR


@dataclass(slots=True)
class Ended:
    TYPE: ClassVar[ServerType] = ServerType.ENDED
    call_id: str
    reference: str
    status: Status | None = None


@dataclass(slots=True)
class Notice:
    TYPE: ClassVar[ServerType] = ServerType.NOTICE
    text: str


@dataclass(slots=True)
class QueuedCall:
    call_id: str
    language: str
    waiting_s: float


@dataclass(slots=True)
class Queue:
    TYPE: ClassVar[ServerType] = ServerType.QUEUE
    calls: list[QueuedCall]


@dataclass(slots=True)
class Connected:
    """A call is the operator's; ``*_asr`` say whether each side's speech can be recognized."""

    TYPE: ClassVar[ServerType] = ServerType.CONNECTED
    call_id: str
    reference: str
    caller_language: str
    operator_language: str
    caller_asr: bool
    operator_asr: bool
    quick_replies: list[str]


@dataclass(slots=True)
class PreviewResult:
    TYPE: ClassVar[ServerType] = ServerType.PREVIEW
    text: str
    translation: str
    translated: bool
    note: str | None = None


@dataclass(slots=True)
class RecordSuggestion:
    """Complaint fields suggested by what the caller said, to prefill the operator's form."""

    TYPE: ClassVar[ServerType] = ServerType.RECORD_SUGGESTION
    fields: dict[str, str]


@dataclass(slots=True)
class RecordSaved:
    TYPE: ClassVar[ServerType] = ServerType.RECORD_SAVED
    call_id: str


@dataclass(slots=True)
class WallCaption:
    speaker: Speaker
    original: str
    text: str | None = None


@dataclass(slots=True)
class WallCall:
    """One call on the supervisors' wall: waiting (``queued``) or connected."""

    call_id: str
    reference: str
    state: CallState
    caller_language: str | None
    seconds: float
    operator: str | None = None
    operator_language: str | None = None
    supervisors: list[str] = field(default_factory=list)
    captions: list[WallCaption] = field(default_factory=list)


@dataclass(slots=True)
class Wall:
    """Every live call, for supervisors; sent again whenever it changes."""

    TYPE: ClassVar[ServerType] = ServerType.WALL
    calls: list[WallCall]


@dataclass(slots=True)
class Supervising:
    """How this supervisor is now in a call (``leave``: no longer)."""

    TYPE: ClassVar[ServerType] = ServerType.SUPERVISING
    call_id: str
    mode: SupervisorMode


@dataclass(slots=True)
class CallList:
    """QA: recorded calls (each a call record's fields, as ``hotline records show``)."""

    TYPE: ClassVar[ServerType] = ServerType.CALL_LIST
    calls: list[dict[str, Any]]


@dataclass(slots=True)
class CallDetail:
    """QA: one call's record (redacted for QA reviewers), each leg's loudness over time for
    its waveform, the reviewers' corrections and scores."""

    TYPE: ClassVar[ServerType] = ServerType.CALL_DETAIL
    record: dict[str, Any]
    legs: list[dict[str, Any]]
    corrections: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    redacted: bool = True


@dataclass(slots=True)
class Corrected:
    TYPE: ClassVar[ServerType] = ServerType.CORRECTED
    utterance_id: int
    field: str
    text: str
    by: str


@dataclass(slots=True)
class Scored:
    TYPE: ClassVar[ServerType] = ServerType.SCORED
    call_id: str
    scores: dict[str, int]
    notes: str
    by: str


@dataclass(slots=True)
class ServiceOption:
    code: str
    name: str


@dataclass(slots=True)
class RequestDraft:
    """The service request the call will file, as it stands: the service (classified from
    what the caller said, or set by the operator: ``classification["by"]``), the place, and
    the catalogue to correct it from."""

    TYPE: ClassVar[ServerType] = ServerType.REQUEST
    call_id: str
    service_code: str | None = None
    service_name: str | None = None
    agency: str | None = None
    urgency: str | None = None
    place: str | None = None
    classification: dict[str, Any] = field(default_factory=dict)
    services: list[ServiceOption] = field(default_factory=list)
    emergency: bool = False
    confirmed: bool | None = None


@dataclass(slots=True)
class EmergencyAlert:
    """Words of danger in the call: tell or transfer the caller to ``numbers`` now."""

    TYPE: ClassVar[ServerType] = ServerType.EMERGENCY
    call_id: str
    kinds: list[str]
    words: list[str]
    text: str
    language: str
    numbers: dict[str, str]
    action: str | None = None


@dataclass(slots=True)
class ReadBack:
    """The request as read back to the caller (in the caller's language), and the caller's
    answer once given: ``yes``, ``no`` or ``none``, by ``dtmf``, ``speech`` or ``typed``."""

    TYPE: ClassVar[ServerType] = ServerType.READ_BACK
    text: str
    language: str
    answer: str | None = None
    how: str | None = None


@dataclass(slots=True)
class SurveyPrompt:
    """The caller is asked how satisfied they are: 1 to ``scale``."""

    TYPE: ClassVar[ServerType] = ServerType.SURVEY
    text: str
    scale: int = 5


@dataclass(slots=True)
class NewCase:
    """A service request that came in without a call (Open311, a city website), for the
    operators, with its description in the operator's language."""

    TYPE: ClassVar[ServerType] = ServerType.CASE
    service_request_id: str
    service_code: str
    service_name: str
    urgency: str
    place: str | None
    description: str
    language: str
    translation: str | None = None
    translated_language: str | None = None
    note: str | None = None


@dataclass(slots=True)
class OverdueCase:
    service_request_id: str
    service_name: str
    agency: str
    urgency: str
    overdue: list[str]
    due: str
    """When the first clock it missed ran out (ISO 8601)."""


@dataclass(slots=True)
class Overdue:
    """The cases past a clock now (dispatch or feedback), most urgent first; sent to every
    operator on a timer, so a hotline never sits on a late case."""

    TYPE: ClassVar[ServerType] = ServerType.OVERDUE
    cases: list[OverdueCase]
    total: int


ServerMessage = (
    ErrorMessage
    | Menu
    | CallerReady
    | OperatorReady
    | Say
    | StatusChange
    | Caption
    | ReplySent
    | Clear
    | Ended
    | Notice
    | Queue
    | Connected
    | PreviewResult
    | RecordSuggestion
    | RecordSaved
    | Wall
    | Supervising
    | CallList
    | CallDetail
    | Corrected
    | Scored
    | RequestDraft
    | EmergencyAlert
    | ReadBack
    | SurveyPrompt
    | NewCase
    | Overdue
)


# --- frames -----------------------------------------------------------------------------


def encode(message: ClientMessage | ServerMessage) -> str:
    """The text frame of one message: its ``type``, then every field that is not None."""
    return json.dumps({"type": str(message.TYPE), **_plain(message)}, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return {
            f.name: _plain(v) for f in fields(value) if (v := getattr(value, f.name)) is not None
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _text(obj: dict[str, Any], key: str, *, required: bool = True, limit: int = TEXT_MAX) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, f"'{obj.get('type')}' needs a '{key}' string"
            )
        return None
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a string")
    if len(value) > limit:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' is longer than {limit} characters")
    return value


def _flag(obj: dict[str, Any], key: str, default: bool | None) -> bool | None:
    value = obj.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be true or false")
    return value


def _language(value: Any, key: str = "language") -> str:
    if not isinstance(value, str) or not value or len(value) > LANGUAGE_MAX:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a language code such as 'en'")
    return value.lower()


def _hello(obj: dict[str, Any], role: Role) -> Hello:
    version = obj.get("protocol", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version {version!r} is not supported; this server speaks {PROTOCOL_VERSION}",
            fatal=True,
        )
    rate = obj.get("sample_rate", 16000)
    if not isinstance(rate, int) or isinstance(rate, bool) or rate not in SAMPLE_RATES:
        raise ProtocolError(
            ErrorCode.BAD_SAMPLE_RATE,
            f"sample_rate {rate!r} is not supported; use one of {', '.join(map(str, SAMPLE_RATES))}",
            fatal=True,
        )
    language = obj.get("language")
    languages = obj.get("languages", [])
    if not isinstance(languages, list):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "'languages' must be a list of language codes")
    hello = Hello(
        role=role,
        sample_rate=rate,
        language=None if language is None else _language(language),
        name=_text(obj, "name", required=False, limit=64),
        languages=[_language(v, "languages") for v in languages],
        password=_text(obj, "password", required=False, limit=256),
        caller_id=_text(obj, "caller_id", required=False, limit=32),
        token=_text(obj, "token", required=False, limit=128),
        captions_only=bool(_flag(obj, "captions_only", False)),
        hear_original=bool(_flag(obj, "hear_original", True)),
        auto_accept=bool(_flag(obj, "auto_accept", True)),
    )
    if role != Role.CALLER:
        if hello.token is None and not (hello.name and hello.password):
            raise ProtocolError(
                ErrorCode.BAD_CREDENTIALS,
                f"a{'n' if role == Role.OPERATOR else ''} {role} hello needs a 'name' and "
                "'password', or the 'token' of a session",
                fatal=True,
            )
        if not hello.languages and hello.language:
            hello.languages = [hello.language]
    return hello


def parse_message(role: Role, frame: str) -> ClientMessage:
    """Parse one text frame from a caller or an operator."""
    try:
        obj = json.loads(frame)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be a JSON object")
    kind = obj.get("type")
    allowed = _TYPES_OF[role]
    if not isinstance(kind, str) or kind not in allowed:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown message type {kind!r} for a {role}; expected one of {', '.join(sorted(allowed))}",
        )
    match ClientType(kind):
        case ClientType.HELLO:
            return _hello(obj, role)
        case ClientType.DTMF:
            digit = _text(obj, "digit", limit=1)
            if digit not in set("0123456789*#"):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'digit' must be one of 0-9, * or #")
            return Dtmf(digit)
        case ClientType.TEXT:
            return TypedText(_text(obj, "text"))
        case ClientType.HANGUP:
            return Hangup()
        case ClientType.AVAILABLE:
            return Available(bool(_flag(obj, "available", True)))
        case ClientType.ACCEPT:
            return Accept(_text(obj, "call_id", limit=64))
        case ClientType.REPLY:
            return Reply(_text(obj, "text"), _text(obj, "translation", required=False))
        case ClientType.PREVIEW:
            return Preview(_text(obj, "text"))
        case ClientType.QUICK_REPLY:
            params = obj.get("params", {})
            if not isinstance(params, dict) or not all(
                isinstance(v, str | int) for v in params.values()
            ):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'params' must map names to strings")
            return QuickReply(_text(obj, "id", limit=64), {k: str(v) for k, v in params.items()})
        case ClientType.RECORD:
            record = obj.get("fields")
            if not isinstance(record, dict) or not set(record) <= set(RECORD_FIELDS):
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE,
                    f"'fields' must be an object with keys among {', '.join(sorted(RECORD_FIELDS))}",
                )
            if not all(isinstance(v, str) and len(v) <= TEXT_MAX for v in record.values()):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "record fields must be strings")
            return RecordUpdate(record)
        case ClientType.SETTINGS:
            return Settings(
                captions_only=_flag(obj, "captions_only", None),
                hear_original=_flag(obj, "hear_original", None),
                muted=_flag(obj, "muted", None),
            )
        case ClientType.SUPERVISE:
            mode = obj.get("mode")
            if not isinstance(mode, str) or mode not in set(SupervisorMode):
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE,
                    f"'mode' must be one of {', '.join(SupervisorMode)}",
                )
            return Supervise(_text(obj, "call_id", limit=64), SupervisorMode(mode))
        case ClientType.WHISPER:
            return Whisper(_text(obj, "text"))
        case ClientType.CALLS:
            return ListCalls(
                *(
                    _text(obj, name, required=False, limit=32)
                    for name in ("since", "until", "pair", "operator", "kind", "status")
                )
            )
        case ClientType.OPEN_CALL:
            return OpenCall(_text(obj, "call_id", limit=64))
        case ClientType.CORRECT:
            utterance_id = obj.get("utterance_id")
            if not isinstance(utterance_id, int) or isinstance(utterance_id, bool):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'utterance_id' must be a number")
            field = obj.get("field")
            if not isinstance(field, str) or field not in CORRECTABLE:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, f"'field' must be one of {', '.join(CORRECTABLE)}"
                )
            return Correct(utterance_id, field, _text(obj, "text"))
        case ClientType.SCORE:
            scores = obj.get("scores")
            if (
                not isinstance(scores, dict)
                or set(scores) != set(QA_SCORE_ITEMS)
                or not all(
                    isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5
                    for v in scores.values()
                )
            ):
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE,
                    f"'scores' must give each of {', '.join(QA_SCORE_ITEMS)} a whole number 1-5",
                )
            return ScoreCall(
                _text(obj, "call_id", limit=64),
                {k: scores[k] for k in QA_SCORE_ITEMS},
                _text(obj, "notes", required=False) or "",
            )
        case ClientType.REQUEST:
            return RequestUpdate(
                _text(obj, "service_code", required=False, limit=64),
                _text(obj, "place", required=False, limit=200),
            )
        case ClientType.READ_BACK:
            return ReadBackNow()
        case ClientType.EMERGENCY_ACTION:
            action = obj.get("action")
            if action not in ("transferred", "told"):
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, "'action' must be 'transferred' or 'told'"
                )
            return EmergencyAction(action)
        case ClientType.SURVEY:
            score = obj.get("score")
            if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'score' must be a whole number 1-5")
            return SurveyAnswer(score)
    raise AssertionError(kind)


_SERVER_TYPES: dict[ServerType, type] = {
    cls.TYPE: cls
    for cls in (
        ErrorMessage,
        Menu,
        Say,
        StatusChange,
        Caption,
        ReplySent,
        Clear,
        Ended,
        Notice,
        Queue,
        Connected,
        PreviewResult,
        RecordSuggestion,
        RecordSaved,
        Wall,
        Supervising,
        CallList,
        CallDetail,
        Corrected,
        Scored,
        RequestDraft,
        EmergencyAlert,
        ReadBack,
        SurveyPrompt,
        NewCase,
        Overdue,
    )
}
_NESTED: dict[tuple[type, str], type] = {
    (Menu, "options"): MenuOption,
    (Queue, "calls"): QueuedCall,
    (Wall, "calls"): WallCall,
    (RequestDraft, "services"): ServiceOption,
    (Overdue, "cases"): OverdueCase,
}
_ENUMS: dict[str, type] = {
    "code": ErrorCode,
    "state": CallState,
    "speaker": Speaker,
    "status": Status,
    "mode": SupervisorMode,
}


def parse_server_message(frame: str) -> ServerMessage:
    """A server's text frame as a typed message, for clients; a ``ProtocolError`` when the
    frame is not a message of this protocol version. Fields a newer server adds are ignored."""
    try:
        obj = json.loads(frame)
        kind = ServerType(obj["type"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"not a server message: {exc}") from None
    if kind == ServerType.READY:
        cls: type = OperatorReady if "operator" in obj else CallerReady
    else:
        cls = _SERVER_TYPES[kind]
    try:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in obj:
                continue
            value = obj[f.name]
            nested = _NESTED.get((cls, f.name))
            if nested is not None:
                value = [nested(**item) for item in value]
            elif f.name in _ENUMS and value is not None:
                value = _ENUMS[f.name](value)
            values[f.name] = value
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"bad {kind} message: {exc}") from None
