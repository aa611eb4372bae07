"""Writing records out for other systems: JSON (one object per call, as ``to_dict``) and CSV
(one row per utterance)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from hotline.records.models import ComplaintRecord

__all__ = ["CSV_COLUMNS", "write_csv", "write_json"]


CSV_COLUMNS: tuple[str, ...] = (
    "reference",
    "call_id",
    "channel",
    "status",
    "started_at",
    "ended_at",
    "end_reason",
    "caller_id_masked",
    "caller_language",
    "operator",
    "operator_language",
    "kind",
    "category",
    "place",
    "urgency",
    "notes",
    "utterance_id",
    "speaker",
    "language",
    "original",
    "translation",
    "translation_language",
    "translated",
    "note",
    "start_s",
    "end_s",
    "confidence",
    "spoken_by_tts",
    "typed",
)
"""CSV export columns: the call's fields, then one utterance's (``utterance_id`` is its id).

There is one row per utterance; a call with none (a busy call, say) has one row with the
utterance columns empty. Booleans are ``true``/``false``; empty means None. Recordings are only
in the JSON export.
"""


def write_json(records: Iterable[ComplaintRecord], out: TextIO) -> int:
    """A JSON list of ``ComplaintRecord.to_dict()``; returns how many were written."""
    count = 0
    out.write("[")
    for record in records:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(record.to_dict(), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_csv(records: Iterable[ComplaintRecord], out: TextIO) -> int:
    """CSV with the columns in ``CSV_COLUMNS``; returns how many calls were written."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        call_fields = record.call.to_dict()
        call_fields["call_id"] = call_fields.pop("id")
        if not record.utterances:
            writer.writerow(_csv_row(call_fields))
        for utterance in record.utterances:
            fields = utterance.to_dict()
            fields["utterance_id"] = fields.pop("id")
            del fields["call_id"]
            writer.writerow(_csv_row({**call_fields, **fields}))
        count += 1
    return count


def _csv_row(fields: dict[str, Any]) -> dict[str, str]:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: cell(fields.get(name)) for name in CSV_COLUMNS}
