"""Programs that talk to a hotline server as callers and operators: the Python ``client`` that
the CLI, the demo, the benchmarks and the tests use; ``demo`` (``hotline demo`` and
``hotline call``); and the terminal ``softphone`` with its sound-card I/O
(``softphone_audio``).

May import: ``hotline.wire``, ``hotline.records`` (to print a record), ``hotline.config``,
``telephony``, and, for the demo, ``hotline.server`` and ``hotline.engines`` to run a server
in-process. The server never imports this package.
"""
