"""Article readers (stub: filled by the signals issue)."""


def read_articles(source, *, format=None, tz=None, errors="raise", **columns):
    raise NotImplementedError("read_articles is not implemented yet")
