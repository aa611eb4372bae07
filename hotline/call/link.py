"""How the call reaches a party, whatever the transport."""

from __future__ import annotations

from typing import Protocol

from hotline.wire.messages import ServerMessage
from telephony import StreamResampler, pcm_from_bytes, pcm_to_bytes

__all__ = ["Link", "ResampledLink"]


class Link(Protocol):
    """A websocket today, a phone bridge tomorrow: each turns these into its own wire format.
    Sending to a party that has gone away is not an error; its transport notices and ends
    the call."""

    async def send(self, message: ServerMessage) -> None: ...

    async def send_audio(self, pcm: bytes) -> None:
        """PCM16 little-endian mono at the party's sample rate."""
        ...

    async def segment_sent(self, name: str) -> None:
        """The last audio of one spoken segment (a prompt, a translation) has been sent. A
        transport that learns when the party has actually heard it (Twilio's marks) uses
        this; others do nothing."""
        ...


class ResampledLink:
    """A link whose party listens at another rate than the audio is made at (a supervisor
    who took over an operator's call)."""

    def __init__(self, link: Link, from_rate: int, to_rate: int) -> None:
        self.link = link
        self._resampler = StreamResampler(from_rate, to_rate)

    async def send(self, message: ServerMessage) -> None:
        await self.link.send(message)

    async def send_audio(self, pcm: bytes) -> None:
        out = self._resampler.process(pcm_from_bytes(pcm))
        if out.size:
            await self.link.send_audio(pcm_to_bytes(out))

    async def segment_sent(self, name: str) -> None:
        await self.link.segment_sent(name)
