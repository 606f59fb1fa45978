"""Open data: the market's projects as OCDS 1.1 release packages with the bids extension
(``mapping`` says how a project maps, ``export`` streams them; see docs/opendata.md)."""
