"""VADER sentiment (stub: filled by the signals issue)."""


def score_sentiment(articles, *, lexicon="vader+finance"):
    raise NotImplementedError
