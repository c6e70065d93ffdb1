"""Japan's official FX intervention days (MOF daily records 1991-2024) as an events table."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from backtests.market.sample import snapshot_meta
from signals._paths import data_path

log = logging.getLogger(__name__)

__all__ = ["INTERVENTION_HOUR_JST", "load_interventions"]

#: MOF records operation dates only; the timestamp is set to this hour (Tokyo) on that date.
INTERVENTION_HOUR_JST = 9


def load_interventions() -> pd.DataFrame:
    """Official intervention days as events (theme ``yen_intervention``).

    Returns
    -------
    pandas.DataFrame
        One row per MOF record (date x currency pair, 383 rows 1991-05-13 .. 2024-07-12):
        ``event_id`` (``"mof_fx_<date>_<pair>"``), ``date`` (MOF's operation date, naive),
        ``timestamp`` (UTC; 09:00 Tokyo on that date, i.e. before the Tokyo 15:00 JGB close and
        the same day's New York closes, since MOF gives no times), ``theme``, ``pair``,
        ``currency_sold``, ``currency_bought``, ``jpy_direction`` (``sell_jpy``, ``buy_jpy``,
        ``none``), ``amount_jpy_100m`` (100 million yen, MOF's unit), ``amount_jpy_bn`` (billion
        yen), ``direction_usdjpy`` (+1 when yen were sold, i.e. USD/JPY pushed up; -1 when yen were
        bought; NaN with no yen leg), ``source`` (attribution).

    Notes
    -----
    Some operations took place in New York hours (2022-10-21, 2024-05-01, 2024-07-11/12); MOF's date
    can then be the New York date, and the 09:00 JST convention puts them before the move. Users with
    intraday times should overwrite ``timestamp``.
    """
    meta = snapshot_meta()["interventions"]
    df = pd.read_csv(data_path("market", meta["file"]), dtype={"pair": str, "jpy_direction": str})
    date = pd.DatetimeIndex(pd.to_datetime(df["date"], format="%Y-%m-%d")).as_unit("ns")
    ts = (date + pd.Timedelta(hours=INTERVENTION_HOUR_JST)).tz_localize("Asia/Tokyo").tz_convert("UTC")
    sign = df["jpy_direction"].map({"sell_jpy": 1.0, "buy_jpy": -1.0}).astype(float)
    out = pd.DataFrame(
        {
            "event_id": "mof_fx_"
            + date.strftime("%Y-%m-%d")
            + "_"
            + df["pair"].str.replace("/", "", regex=False),
            "date": date,
            "timestamp": ts,
            "theme": "yen_intervention",
            "pair": df["pair"],
            "currency_sold": df["currency_sold"],
            "currency_bought": df["currency_bought"],
            "jpy_direction": df["jpy_direction"],
            "amount_jpy_100m": df["amount_jpy_100m"].astype(np.int64),
            "amount_jpy_bn": df["amount_jpy_bn"].astype(float),
            "direction_usdjpy": sign.to_numpy(),
            "source": meta["attribution"],
        }
    )
    out.attrs["source"] = meta["attribution"]
    return out
