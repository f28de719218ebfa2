"""Time units, defined once. SimPy's clock counts minutes."""

HOUR_MIN = 60
DAY_MIN = 24 * HOUR_MIN
WEEK_MIN = 7 * DAY_MIN
YEAR_MIN = 365 * DAY_MIN
