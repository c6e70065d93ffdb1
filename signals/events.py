"""Articles to events (stub: filled by the signals issue)."""


def extract_events(tagged, *, gap="6h", min_articles=1):
    raise NotImplementedError


def events_from_table(df):
    raise NotImplementedError
