"""EventStudy result (stub: filled by the engine issue)."""


class EventStudy:
    pass


def event_study(
    changes,
    events,
    *,
    window=(-5, 10),
    estimation=(-120, -11),
    model="mean",
    benchmark=None,
    group_by=None,
    calendar="index",
    car_windows=None,
    tests=None,
    overlap="keep",
):
    raise NotImplementedError
