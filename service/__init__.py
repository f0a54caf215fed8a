"""service/: the library the faces and flows use. It answers queries (`Library`), parses the query options
that CLI and web share, opens the library and ledger from settings, runs ingest and matching for the flows,
and builds, renders and sends the weekly report.

It imports the stages (spiders, nlp, index) and the domain; never flows or the faces (scout/).
"""
