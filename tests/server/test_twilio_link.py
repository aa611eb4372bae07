"""What the Twilio link sends for the call, and how it learns what the caller heard."""

from __future__ import annotations

import base64
import json

import numpy as np

from hotline.server.twilio import TwilioLink
from hotline.wire.messages import Caption, Clear
from hotline.wire.vocabulary import Speaker
from telephony import ulaw_decode


class Socket:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, frame: str) -> None:
        self.sent.append(json.loads(frame))


async def test_audio_leaves_in_20_ms_frames_and_each_segment_ends_with_a_mark():
    ws = Socket()
    link = TwilioLink(ws, "MZ1")
    pcm = (np.arange(1000) % 200 * 50 - 5000).astype(np.int16)
    await link.send_audio(pcm[:800].tobytes())
    await link.send_audio(pcm[800:].tobytes())
    await link.segment_sent("1-greeting")
    media = [m for m in ws.sent if m["event"] == "media"]
    payloads = [base64.b64decode(m["media"]["payload"]) for m in media]
    assert [len(p) for p in payloads] == [160] * 7, "1000 samples: six frames and a padded one"
    decoded = ulaw_decode(b"".join(payloads))
    assert np.abs(decoded[:1000].astype(int) - pcm).max() < 300 and not decoded[1000:].any()
    assert ws.sent[-1] == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "1-greeting"}}
    assert link.pending == ["1-greeting"] and not link.all_played.is_set()


async def test_echoed_marks_were_heard_unless_a_clear_dropped_them():
    ws = Socket()
    link = TwilioLink(ws, "MZ1")
    await link.segment_sent("1-greeting")
    await link.segment_sent("2-utterance-4")
    link.marked("1-greeting")
    await link.send(Clear())
    assert ws.sent[-1] == {"event": "clear", "streamSid": "MZ1"}
    link.marked("2-utterance-4")
    link.marked("9-never-sent")
    assert link.played == ["1-greeting"] and link.cleared == ["2-utterance-4"]
    assert link.all_played.is_set()


async def test_text_for_screens_never_reaches_a_phone():
    ws = Socket()
    await TwilioLink(ws, "MZ1").send(Caption(Speaker.OPERATOR, "hola", final=True))
    assert ws.sent == []
