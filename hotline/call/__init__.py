"""A call, from the caller's hello to the end of the record, whatever transport carries it.

``journey`` is the IVR every transport shares (menu, greeting, queue, busy) and connects the
call; ``pipeline`` is the connected call itself (audio in, recognize, translate, speak, audio
out, record), built from two ``party`` objects; ``playout`` paces what each party hears;
``recording`` owns a call's four WAVs and ``log`` is the one path that writes its record;
``routing`` is the switchboard; ``prompts`` and ``intake`` are what the hotline says and
suggests. ``link`` is the one thing a transport must implement.

May import: ``hotline.wire``, ``hotline.engines``, ``hotline.records``, ``hotline.cases``,
``hotline.config``, ``telephony``. Never the server, the clients, or an engine package.
"""

from __future__ import annotations

from hotline.call.journey import CallerJourney, CallServices
from hotline.call.link import Link
from hotline.call.party import Party
from hotline.call.pipeline import Call
from hotline.call.playout import Playout
from hotline.call.routing import OperatorSeat, QueueFull, Switchboard

__all__ = [
    "Call",
    "CallServices",
    "CallerJourney",
    "Link",
    "OperatorSeat",
    "Party",
    "Playout",
    "QueueFull",
    "Switchboard",
]
