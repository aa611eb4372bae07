"""Wire formats without I/O, parsed AND built: the caller/operator protocol (``messages``),
its vocabulary (``vocabulary``), the vosk-server protocol (``vosk``), the browser's copy of
the vocabulary (``javascript``), and the phone networks' formats: Twilio Media Streams
(``twilio``), Asterisk AudioSocket (``audiosocket``), and SIP with its SDP and RTP
(``sip``, ``sdp``, ``rtp``).

Modules here import only the standard library and each other: never the server, the call,
the engines or any engine package, so every parser can be tested and fuzzed on its own.
"""
