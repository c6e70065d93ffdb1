"""Signal backtest (stub: filled by the backtest issue)."""


class Rule:
    pass


class BacktestResult:
    pass


def backtest(market, events, *, rules=None, holding=5, cost_bp=0.5):
    raise NotImplementedError
