"""Benchmarks: the one place timings are measured. ``common`` holds what they share,
``engines`` measures each engine alone, ``asr_peer`` the ``/asr`` endpoint against
vosk-server, ``calls`` whole translated calls on ``hotline serve`` (and the soak), and
``cli`` is ``hotline bench``. No product module imports this package; it may import any of
them.
"""
