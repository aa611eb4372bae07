"""Cases beside the call records: filed from a call when it ends (or posted through
Open311), moved through their workflow with a history line per change, linked to earlier
cases about the same place and service, and listed against their clocks.

``CaseStore`` works on a :class:`~hotline.records.RecordStore` (same file, same
migrations, same thread rules); ``AsyncCaseStore`` runs it on the server's record-writer
thread. Plain SQL only, so the same code can move to PostgreSQL.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hotline.cases.catalogue import Catalogue, Service
from hotline.cases.followup import follow_up, place_key
from hotline.cases.models import (
    DONE_STATUSES,
    Case,
    CaseError,
    CaseStatus,
    HistoryLine,
    UnknownCase,
)
from hotline.cases.places import find_place
from hotline.records import AsyncRecordStore, ComplaintRecord, RecordStore, UnknownCall
from hotline.wire.vocabulary import Speaker

__all__ = ["AsyncCaseStore", "CaseStore", "NEXT_STATUSES", "DUPLICATE_WINDOW"]

DUPLICATE_WINDOW = timedelta(hours=72)
"""Calls about the same place and service this close together are one problem."""

NEXT_STATUSES: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.DISPATCHED, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.DISPATCHED: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.IN_PROGRESS}),
    CaseStatus.CLOSED: frozenset(),
}
"""Where a case may go next: forward, or back to work from resolved (the caller says it is
not fixed). A closed case stays closed."""

RECORDING_URL = "/qa/audio?call={call}&leg={leg}"
"""Where a signed-in QA reviewer fetches a recording (the server adds the token)."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class CaseStore:
    """Cases in the records file; one instance per thread, like its RecordStore."""

    def __init__(
        self,
        records: RecordStore,
        catalogue: Catalogue,
        *,
        duplicate_window: timedelta = DUPLICATE_WINDOW,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.records = records
        self.catalogue = catalogue
        self.duplicate_window = duplicate_window
        self.now = now
        """The clock (a test gives its own)."""

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.records.connection

    # --- filing -------------------------------------------------------------------------

    def file_from_call(self, call: str, who: str = "hotline") -> Case | None:
        """The call's service request: filed once (filing again returns the same case).
        None when the call gave nothing to file: no service and nothing the caller said."""
        record = self.records.get(call)
        if record is None:
            raise UnknownCall(f"no call {call!r}")
        existing = self.for_call(record.call.id)
        if existing is not None:
            return existing
        said = [u for u in record.utterances if u.speaker == Speaker.CALLER and u.original]
        code = record.call.service_code
        classification = dict(record.call.classification or {})
        if code is None and said:
            found = self._classify(record)
            code = found.get("code") or next(iter(found.get("candidates", [])), [None])[0]
            classification = found
        service = self.catalogue.get(code) if code else None
        if service is None:
            return None
        caller_language = record.call.caller_language or (said[0].language if said else "en")
        translations = [u.translation for u in said if u.translation]
        place = record.call.place or _place_from(said)
        steps = []
        if record.call.readback_confirmed is not None:
            answer = "confirmed" if record.call.readback_confirmed else "not confirmed"
            how = next((r["how"] for r in reversed(record.readbacks) if r["answer"]), None)
            steps.append(f"read back and {answer}" + (f" ({how})" if how else ""))
        if record.call.emergency:
            steps.append(f"emergency ({record.call.emergency_action or 'no action recorded'})")
        note = f"filed from call {record.call.reference}" + (
            f"; {'; '.join(steps)}" if steps else ""
        )
        return self._insert(
            service_request_id=record.call.reference,
            service=service,
            channel=record.call.channel,
            caller_language=caller_language,
            description=" ".join(u.original for u in said),
            description_translated=" ".join(translations) or None,
            translated_language=next((u.translation_language for u in said if u.translation), None),
            place=place,
            emergency=record.call.emergency,
            emergency_action=record.call.emergency_action,
            classification=classification,
            readback_confirmed=record.call.readback_confirmed,
            satisfaction=record.call.satisfaction,
            call_id=record.call.id,
            who=who,
            note=note,
            requested_at=record.call.ended_at or self.now(),
        )

    def post(
        self,
        service_code: str,
        description: str,
        language: str,
        *,
        who: str,
        place: str | None = None,
        lat: float | None = None,
        long: float | None = None,
        contact: dict[str, str] | None = None,
        description_translated: str | None = None,
        translated_language: str | None = None,
        channel: str = "open311",
    ) -> Case:
        """A request posted through the API (or typed by an operator without a call)."""
        service = self.catalogue.get(service_code)
        if service is None:
            raise CaseError(f"unknown service_code {service_code!r}")
        now = self.now()
        day = now.strftime("%Y%m%d")
        seq = self._conn.execute(
            "SELECT COUNT(*) + 1 FROM cases WHERE service_request_id LIKE ?", (f"R-{day}-%",)
        ).fetchone()[0]
        return self._insert(
            service_request_id=f"R-{day}-{seq:04d}",
            service=service,
            channel=channel,
            caller_language=language,
            description=description,
            description_translated=description_translated,
            translated_language=translated_language,
            place=place,
            lat=lat,
            long=long,
            classification={"by": "api", "code": service_code},
            contact=contact or {},
            who=who,
            note=f"posted through {channel}",
            requested_at=now,
        )

    def _insert(
        self,
        *,
        service_request_id: str,
        service: Service,
        channel: str,
        caller_language: str,
        description: str,
        requested_at: datetime,
        who: str,
        note: str,
        description_translated: str | None = None,
        translated_language: str | None = None,
        place: str | None = None,
        lat: float | None = None,
        long: float | None = None,
        emergency: bool = False,
        emergency_action: str | None = None,
        classification: dict[str, Any] | None = None,
        readback_confirmed: bool | None = None,
        satisfaction: int | None = None,
        call_id: str | None = None,
        contact: dict[str, str] | None = None,
    ) -> Case:
        urgency = "emergency" if emergency else service.urgency
        clock = self.catalogue.clock(urgency)
        key = place_key(place)
        with self.records.transaction() as conn:
            duplicate_of = self._first_about(conn, service.code, key, lat, long, requested_at)
            if duplicate_of:
                note += f"; same place and service as {duplicate_of}"
            cursor = conn.execute(
                """
                INSERT INTO cases (service_request_id, call_id, channel, service_code, agency,
                    urgency, status, caller_language, description, description_translated,
                    translated_language, place, place_key, lat, long, emergency,
                    emergency_action, classification, readback_confirmed, satisfaction,
                    duplicate_of, requested_at, updated_at, dispatch_due, feedback_due, contact)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                    ?, ?)
                """,
                (
                    service_request_id,
                    call_id,
                    channel,
                    service.code,
                    service.agency,
                    urgency,
                    CaseStatus.OPEN,
                    caller_language,
                    description,
                    description_translated,
                    translated_language,
                    place,
                    key,
                    lat,
                    long,
                    int(emergency),
                    emergency_action,
                    json.dumps(classification or {}, ensure_ascii=False),
                    None if readback_confirmed is None else int(readback_confirmed),
                    satisfaction,
                    duplicate_of,
                    _iso(requested_at),
                    _iso(requested_at),
                    _iso(requested_at + clock.dispatch),
                    _iso(requested_at + clock.feedback),
                    json.dumps(contact or {}, ensure_ascii=False),
                ),
            )
            self._history(
                conn, int(cursor.lastrowid or 0), requested_at, who, CaseStatus.OPEN, note
            )
        case = self.get(service_request_id)
        assert case is not None
        return case

    def _first_about(
        self,
        conn: sqlite3.Connection,
        code: str,
        key: str | None,
        lat: float | None,
        long: float | None,
        at: datetime,
    ) -> str | None:
        """The first case still within the window about this place and service."""
        since = _iso(at - self.duplicate_window)
        rows = conn.execute(
            "SELECT service_request_id, duplicate_of, place_key, lat, long FROM cases "
            "WHERE service_code = ? AND requested_at >= ? ORDER BY requested_at, id",
            (code, since),
        ).fetchall()
        for row in rows:
            same_key = key is not None and row["place_key"] == key
            near = (
                lat is not None
                and long is not None
                and row["lat"] is not None
                and abs(row["lat"] - lat) < 0.0005
                and abs(row["long"] - long) < 0.0005
            )
            if same_key or near:
                return row["duplicate_of"] or row["service_request_id"]
        return None

    def _classify(self, record: ComplaintRecord) -> dict[str, Any]:
        # Imported here: the classifier brings scikit-learn, which `hotline cases` and the
        # reports never need.
        from hotline.cases.classify import ServiceClassifier

        said = [u for u in record.utterances if u.speaker == Speaker.CALLER and u.original]
        texts: list[tuple[str, str]] = []
        for language in dict.fromkeys(u.language for u in said):
            texts.append((" ".join(u.original for u in said if u.language == language), language))
        for language in dict.fromkeys(u.translation_language for u in said if u.translation):
            texts.append(
                (
                    " ".join(
                        u.translation or ""
                        for u in said
                        if u.translation and u.translation_language == language
                    ),
                    language or "",
                )
            )
        found = ServiceClassifier.default().classify_call(texts, allowed=self.catalogue.codes())
        return {**found.to_dict(), "by": "classifier"}

    # --- workflow -----------------------------------------------------------------------

    def move(self, service_request_id: str, status: str, who: str, note: str = "") -> Case:
        """Change a case's status, keeping a history line; only the workflow's next steps
        are allowed (``NEXT_STATUSES``). Resolving writes the follow-up to the caller."""
        try:
            new = CaseStatus(status)
        except ValueError:
            raise CaseError(
                f"unknown status {status!r}; statuses are {', '.join(map(str, CaseStatus))}"
            ) from None
        if not who:
            raise CaseError("every change says who made it")
        case = self._require(service_request_id)
        if new not in NEXT_STATUSES[case.status]:
            allowed = ", ".join(sorted(NEXT_STATUSES[case.status])) or "nothing: it is closed"
            raise CaseError(
                f"case {service_request_id} is {case.status}; it can become {allowed}, not {new}"
            )
        now = self.now()
        values: dict[str, Any] = {"status": new, "updated_at": _iso(now)}
        if new == CaseStatus.DISPATCHED:
            values["dispatched_at"] = _iso(now)
        if new == CaseStatus.RESOLVED:
            values["resolved_at"] = _iso(now)
            service = self.catalogue.get(case.service_code)
            name = service.name_in(case.caller_language) if service else case.service_code
            values["follow_up"] = follow_up(
                case.caller_language, case.service_request_id, name, case.place, note
            )
        if new == CaseStatus.CLOSED:
            values["closed_at"] = _iso(now)
            if case.resolved_at is None:
                values["resolved_at"] = _iso(now)
        if new == CaseStatus.IN_PROGRESS and case.status == CaseStatus.RESOLVED:
            values["resolved_at"] = None
        self._update(service_request_id, values, who, new, note)
        return self._require(service_request_id)

    def dispatch(
        self, service_request_id: str, who: str, agency: str | None = None, note: str = ""
    ) -> Case:
        """Send the case to an agency (its service's own, unless another is named)."""
        case = self._require(service_request_id)
        if agency and agency != case.agency:
            with self.records.transaction() as conn:
                conn.execute(
                    "UPDATE cases SET agency = ? WHERE service_request_id = ?",
                    (agency, service_request_id),
                )
        dispatched_to = agency or case.agency
        return self.move(
            service_request_id,
            CaseStatus.DISPATCHED,
            who,
            f"to {dispatched_to}" + (f": {note}" if note else ""),
        )

    def reclassify(self, service_request_id: str, service_code: str, who: str) -> Case:
        """The operator corrects the service: agency and clocks follow the new one."""
        service = self.catalogue.get(service_code)
        if service is None:
            raise CaseError(f"unknown service_code {service_code!r}")
        case = self._require(service_request_id)
        urgency = "emergency" if case.emergency else service.urgency
        clock = self.catalogue.clock(urgency)
        values = {
            "service_code": service.code,
            "agency": service.agency,
            "urgency": urgency,
            "dispatch_due": _iso(case.requested_at + clock.dispatch),
            "feedback_due": _iso(case.requested_at + clock.feedback),
            "classification": json.dumps(
                {**case.classification, "by": "operator", "code": service.code},
                ensure_ascii=False,
            ),
            "updated_at": _iso(self.now()),
        }
        self._update(
            service_request_id,
            values,
            who,
            case.status,
            f"service {case.service_code} → {service.code}",
        )
        return self._require(service_request_id)

    def set_satisfaction(self, service_request_id: str, score: int) -> Case:
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise CaseError(f"satisfaction is 1 to 5, not {score!r}")
        with self.records.transaction() as conn:
            conn.execute(
                "UPDATE cases SET satisfaction = ? WHERE service_request_id = ?",
                (score, service_request_id),
            )
        return self._require(service_request_id)

    def _update(
        self,
        service_request_id: str,
        values: dict[str, Any],
        who: str,
        status: CaseStatus,
        note: str,
    ) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        with self.records.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM cases WHERE service_request_id = ?", (service_request_id,)
            ).fetchone()
            if row is None:
                raise UnknownCase(f"no case {service_request_id!r}")
            conn.execute(f"UPDATE cases SET {columns} WHERE id = ?", (*values.values(), row["id"]))
            self._history(conn, row["id"], self.now(), who, status, note)

    @staticmethod
    def _history(
        conn: sqlite3.Connection,
        case_id: int,
        at: datetime,
        who: str,
        status: CaseStatus,
        note: str,
    ) -> None:
        conn.execute(
            "INSERT INTO case_history (case_id, at, who, status, note) VALUES (?, ?, ?, ?, ?)",
            (case_id, _iso(at), who, status, note),
        )

    # --- reading ------------------------------------------------------------------------

    def get(self, service_request_id: str) -> Case | None:
        row = self._conn.execute(
            "SELECT * FROM cases WHERE service_request_id = ?", (service_request_id,)
        ).fetchone()
        return None if row is None else self._case(row)

    def for_call(self, call_id: str) -> Case | None:
        row = self._conn.execute("SELECT * FROM cases WHERE call_id = ?", (call_id,)).fetchone()
        return None if row is None else self._case(row)

    def list(
        self,
        *,
        ids: Iterable[str] = (),
        service_codes: Iterable[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        statuses: Iterable[str] = (),
        overdue_at: datetime | None = None,
        limit: int | None = 1000,
    ) -> builtins.list[Case]:
        """Cases newest first. ``statuses`` takes the workflow's (``dispatched``...) and
        Open311's two (``open``: not yet resolved; ``closed``: resolved or closed);
        ``overdue_at`` keeps only cases past a clock at that moment."""
        where, params = [], []
        ids, codes, wanted = list(ids), list(service_codes), set(statuses)
        if ids:
            where.append(f"service_request_id IN ({', '.join('?' * len(ids))})")
            params += ids
        if codes:
            where.append(f"service_code IN ({', '.join('?' * len(codes))})")
            params += codes
        if start is not None:
            where.append("requested_at >= ?")
            params.append(_iso(start))
        if end is not None:
            where.append("requested_at <= ?")
            params.append(_iso(end))
        detailed = set()
        for status in wanted:
            if status == "open":
                detailed |= set(CaseStatus) - DONE_STATUSES
            elif status == "closed":
                detailed |= DONE_STATUSES
            else:
                try:
                    detailed.add(CaseStatus(status))
                except ValueError:
                    raise CaseError(f"unknown status {status!r}") from None
        if detailed:
            where.append(f"status IN ({', '.join('?' * len(detailed))})")
            params += sorted(detailed)
        sql = "SELECT * FROM cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY requested_at DESC, id DESC"
        if limit is not None and overdue_at is None:
            sql += f" LIMIT {int(limit)}"
        cases = [self._case(row) for row in self._conn.execute(sql, params).fetchall()]
        if overdue_at is not None:
            cases = [c for c in cases if c.overdue(overdue_at)][: limit or None]
        return cases

    def recordings(self, case: Case) -> builtins.list[str]:
        """Links to the recordings of the call a case came from."""
        if case.call_id is None:
            return []
        rows = self._conn.execute(
            "SELECT leg FROM recordings WHERE call_id = ? ORDER BY id", (case.call_id,)
        ).fetchall()
        return [RECORDING_URL.format(call=case.call_id, leg=row["leg"]) for row in rows]

    def _require(self, service_request_id: str) -> Case:
        case = self.get(service_request_id)
        if case is None:
            raise UnknownCase(f"no case {service_request_id!r}")
        return case

    def _case(self, row: sqlite3.Row) -> Case:
        history = self._conn.execute(
            "SELECT * FROM case_history WHERE case_id = ? ORDER BY id", (row["id"],)
        ).fetchall()
        reference = None
        if row["call_id"] is not None:
            found = self._conn.execute(
                "SELECT reference FROM calls WHERE id = ?", (row["call_id"],)
            ).fetchone()
            reference = found["reference"] if found else None
        return Case(
            service_request_id=row["service_request_id"],
            service_code=row["service_code"],
            agency=row["agency"],
            urgency=row["urgency"],
            status=CaseStatus(row["status"]),
            channel=row["channel"],
            caller_language=row["caller_language"],
            description=row["description"],
            description_translated=row["description_translated"],
            translated_language=row["translated_language"],
            requested_at=_time(row["requested_at"]),  # type: ignore[arg-type]
            updated_at=_time(row["updated_at"]),  # type: ignore[arg-type]
            dispatch_due=_time(row["dispatch_due"]),  # type: ignore[arg-type]
            feedback_due=_time(row["feedback_due"]),  # type: ignore[arg-type]
            place=row["place"],
            lat=row["lat"],
            long=row["long"],
            call_id=row["call_id"],
            call_reference=reference,
            emergency=bool(row["emergency"]),
            emergency_action=row["emergency_action"],
            classification=json.loads(row["classification"] or "{}"),
            readback_confirmed=None
            if row["readback_confirmed"] is None
            else bool(row["readback_confirmed"]),
            satisfaction=row["satisfaction"],
            duplicate_of=row["duplicate_of"],
            dispatched_at=_time(row["dispatched_at"]),
            resolved_at=_time(row["resolved_at"]),
            closed_at=_time(row["closed_at"]),
            follow_up=row["follow_up"],
            contact=json.loads(row["contact"] or "{}"),
            history=[
                HistoryLine(_time(h["at"]), h["who"], CaseStatus(h["status"]), h["note"])  # type: ignore[arg-type]
                for h in history
            ],
        )


def _place_from(said: Iterable[Any]) -> str | None:
    """The place as the caller said it, when the operator did not write one."""
    for utterance in said:
        place = find_place(utterance.original)
        if place:
            return place
    return None


T = TypeVar("T")


class AsyncCaseStore:
    """The case store for the server, on the record store's writer thread."""

    def __init__(self, records: AsyncRecordStore, catalogue: Catalogue) -> None:
        self.records = records
        self.catalogue = catalogue

    async def run(self, fn: Callable[[CaseStore], T]) -> T:
        """``fn(case_store)`` on the writer thread."""
        catalogue = self.catalogue
        return await self.records.with_store(lambda store: fn(CaseStore(store, catalogue)))
