# %% [markdown]
# # newsbt walk-through (notebook-style script)
#
# Runs offline on the shipped sample corpus and the bundled snapshot of real market series.
# Open it in Jupyter (jupytext) or VS Code as cells, or run it: `python -m backtests.examples.notebook`.

# %%
import backtests
import signals
from signals._paths import data_path

# %% [markdown]
# ## 1. News in: articles, themes, sentiment, events

# %%
arts = signals.read_articles(data_path("news", "sample_articles.jsonl"))
tagged = signals.score_sentiment(signals.tag_themes(arts))
events = signals.extract_events(tagged, gap="6h")
print(f"{len(arts)} articles -> {len(events)} events")
print(events[["theme", "timestamp", "n_articles", "sentiment", "headline"]].head(10).to_string())

# %% [markdown]
# ## 2. Market: real UST, JGB and USD/JPY series, day-0 alignment per market

# %%
market = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], start="2021-06-01", source="sample")
changes = backtests.to_changes(market)  # bp: yield first differences, 1e4 x FX log returns
seed = events[events["theme"] == "japan_treasury_holdings"].head(1)
print(backtests.align_events(seed, market)[["series", "local_time", "day0", "reason"]].to_string())

# %% [markdown]
# ## 3. Event study: abnormal changes, CAR/CAAR and the test battery

# %%
study = backtests.event_study(
    changes,
    events,
    window=(-5, 10),
    estimation=(-120, -11),
    group_by=["theme", "series"],  # model "raw" and calendar "observed" are the defaults
    car_windows=[(0, 1)],
    placebo_draws=200,
)
print(study.summary())
fig = study.plot()

# %% [markdown]
# ## 4. Would trading on it have paid?

# %%
bt = backtests.backtest(market, events, holding=5, cost_bp=0.5, placebo=50)
print(bt.summary())
fig = bt.plot()

# %% [markdown]
# ## 5. Official intervention days (MOF) as events

# %%
official = backtests.load_interventions()
print(official.groupby("jpy_direction").size())
