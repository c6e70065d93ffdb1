"""Report writer (stub: filled by the end-to-end issue)."""


def write_report(study, bt=None, out=None):
    raise NotImplementedError
