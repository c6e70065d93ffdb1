"""Theme book and tagging (stub: filled by the signals issue)."""


class ThemeBook:
    pass


def default_themes():
    raise NotImplementedError


def load_themes(path):
    raise NotImplementedError


def tag_themes(articles, themes=None):
    raise NotImplementedError
