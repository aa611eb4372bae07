"""How the call reaches a party, whatever the transport."""

from __future__ import annotations

from typing import Protocol

from hotline.wire.messages import ServerMessage

__all__ = ["Link"]


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
