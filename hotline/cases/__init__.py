"""From call to resolved case: the catalogue of city services, the classifier that files a
call's words under one of them, the live emergency detector, the case workflow with its
SLA clocks and duplicate links, and the three rates (response, resolution, satisfaction)
that a hotline is judged on.

Cases live beside the call records, in the same file and through the same migrations
(``hotline.records.schema``). This package may import ``hotline.records``, ``hotline.wire``
and ``hotline.config``; never the call, the server or an engine package.
"""

from hotline.cases.catalogue import CLOCKS, Catalogue, Clock, Service, load_catalogue
from hotline.cases.models import Case, CaseError, CaseStatus, HistoryLine

__all__ = [
    "CLOCKS",
    "Case",
    "CaseError",
    "CaseStatus",
    "Catalogue",
    "Clock",
    "HistoryLine",
    "Service",
    "load_catalogue",
]
