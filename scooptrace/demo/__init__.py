"""The offline demo: a fictional news world served over local HTTP and replayed through the real pipeline.

``model`` loads the world (data under ``world/``), ``render`` turns it into feeds and pages, ``server`` serves
them behind a clock, ``replay`` runs ingest rounds as cron would, and ``cli`` adds ``scooptrace demo``.
"""
