"""Trading calendars and day-0 alignment (stub: filled by the market-data issue)."""


def align_events(events, market, *, strict=False):
    raise NotImplementedError
