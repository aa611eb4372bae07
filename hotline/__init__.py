"""hotline: a real-time, multilingual voice hotline for a city's public-complaints service.

The rooms, and which way their imports point (docs/architecture.md draws them)::

    cli ─┬─► clients ─► server ─► call ─► engines ─► asr/ translate/ tts/
         └─► bench (imports anything; nothing imports it)
    call, server, clients ─► records ─► wire ◄─ everything (wire imports nothing of ours)

``config`` and ``accounts`` stand alone; ``telephony/`` (codecs, resampling, WAV files) is
shared by every room.
"""
