"""`locust.stats`: the statistics objects locustfiles read, as views onto the Rust statistics.

Numbers come from Rust (exact HDR histograms); these classes only present them with Locust's names.
"""

import sys

import _rlocust

CONSOLE_STATS_INTERVAL_SEC = 2
HISTORY_STATS_INTERVAL_SEC = 5
CSV_STATS_INTERVAL_SEC = 1
CSV_STATS_FLUSH_INTERVAL_SEC = 10
CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW = 10
PERCENTILES_TO_REPORT = [0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0]
PERCENTILES_TO_STATISTICS = [0.95, 0.99]
PERCENTILES_TO_CHART = [0.5, 0.95]
STATS_NAME_WIDTH = 80
STATS_TYPE_WIDTH = 8
STATS_AUTORESIZE = True


def _is_valid_percentile(parameter):
    """Whether a percentile setting is a number strictly between 0 and 1."""
    try:
        return 0 < float(parameter) < 1
    except ValueError:
        return False


def validate_stats_configuration():
    """Check the percentile settings a locustfile may have changed; on a bad one, write Locust's message and
    exit 1 (as Locust does right after parsing the options)."""
    if len(PERCENTILES_TO_CHART) > 6:
        sys.stderr.write("stats.PERCENTILES_TO_CHART parameter should be a maximum of 6 parameters \n")
        sys.exit(1)
    for name, values in (("PERCENTILES_TO_CHART", PERCENTILES_TO_CHART),
                         ("PERCENTILES_TO_STATISTICS", PERCENTILES_TO_STATISTICS)):
        for percentile in values:
            if not _is_valid_percentile(percentile):
                sys.stderr.write(f"stats.{name} parameter need to be float and value between. "
                                 "0 < percentile < 1 Eg 0.95\n")
                sys.exit(1)


class StatsEntry:
    """One (name, method) row, read from Rust when accessed."""

    def __init__(self, stats, name, method):
        self.stats = stats
        self.name = name
        self.method = method

    def _d(self):
        return _rlocust.stats_entry(None if self.name == "Aggregated" and self.method == "" else self.name,
                                    None if self.name == "Aggregated" and self.method == "" else self.method)

    def __getattr__(self, attr):
        d = self._d()
        if attr in d:
            return d[attr]
        raise AttributeError(attr)

    def get_response_time_percentile(self, percent):
        return self._d()["percentiles"].get(float(percent), _rlocust.stats_percentile(self.name, self.method, float(percent)))

    def get_current_response_time_percentile(self, percent):
        return _rlocust.stats_current_percentile(self.name, self.method, float(percent))

    def percentile(self):
        return ""

    def log(self, response_time, content_length):
        _rlocust.log_request(self.method, self.name, response_time, content_length, None)

    def log_error(self, error):
        from locust._clientlib import parse_error

        _rlocust.log_request(self.method, self.name, None, 0, parse_error(error))

    def to_dict(self):
        d = self._d()
        return {k: d.get(k) for k in ("method", "name", "num_requests", "num_failures", "min_response_time",
                                      "max_response_time", "current_rps", "current_fail_per_sec",
                                      "avg_response_time", "median_response_time", "total_rps",
                                      "total_fail_per_sec", "avg_content_length")}


class _Entries(dict):
    def __init__(self, stats):
        super().__init__()
        self._stats = stats

    def _sync(self):
        for name, method in _rlocust.stats_names():
            if (name, method) not in self:
                dict.__setitem__(self, (name, method), StatsEntry(self._stats, name, method))

    def __missing__(self, key):
        e = StatsEntry(self._stats, key[0], key[1])
        dict.__setitem__(self, key, e)
        return e

    def __iter__(self):
        self._sync()
        return super().__iter__()

    def __len__(self):
        self._sync()
        return super().__len__()

    def items(self):
        self._sync()
        return super().items()

    def values(self):
        self._sync()
        return super().values()

    def keys(self):
        self._sync()
        return super().keys()


class RequestStats:
    """A view of the engine's one set of statistics. Under `rlocust-python` a new one (a new Environment) starts
    empty, as Locust's does: a script or test module that makes Environments one after another sees each one's
    requests only (two Environments running at the same time still share the rows)."""

    def __init__(self, use_response_times_cache=True):
        self.entries = _Entries(self)
        self.total = StatsEntry(self, "Aggregated", "")
        self.history = []
        if _rlocust.library_mode():
            _rlocust.stats_clear()

    @property
    def num_requests(self):
        return self.total.num_requests

    @property
    def num_failures(self):
        return self.total.num_failures

    @property
    def num_none_requests(self):
        return self.total.num_none_requests

    @property
    def last_request_timestamp(self):
        return self.total.last_request_timestamp

    @property
    def start_time(self):
        return self.total.start_time

    @property
    def errors(self):
        """{key: StatsError} for every failure row, as Locust keys them."""
        out = {}
        for method, name, error, occurrences, first_seen, last_seen in _rlocust.stats_errors():
            e = StatsError(method, name, error, occurrences, first_seen, last_seen)
            out[StatsError.create_key(method, name, error)] = e
        return out

    def log_request(self, method, name, response_time, content_length):
        _rlocust.log_request(method, name, response_time, content_length, None)

    def log_error(self, method, name, error):
        from locust._clientlib import parse_error

        _rlocust.log_error(method, name, parse_error(error))

    def get(self, name, method):
        return self.entries[(name, method)]

    def reset_all(self):
        _rlocust.stats_reset()

    def clear_all(self):
        _rlocust.stats_clear()
        dict.clear(self.entries)


class StatsError:
    """One failure row: method, name, error text, occurrences."""

    def __init__(self, method, name, error, occurrences=0, first_seen=None, last_seen=None):
        self.method = method
        self.name = name
        self.error = error
        self.occurrences = occurrences
        self.first_seen = first_seen
        self.last_seen = last_seen

    @classmethod
    def parse_error(cls, error):
        if isinstance(error, str):
            return error
        from locust._clientlib import parse_error

        return parse_error(error)

    @classmethod
    def create_key(cls, method, name, error):
        import hashlib

        key = f"{method}.{name}.{StatsError.parse_error(error)!r}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def to_name(self):
        error = self.error
        if error.startswith("CatchResponseError(") and error.endswith(")"):
            import ast

            try:
                error = ast.literal_eval(error[len("CatchResponseError("):-1])
            except (ValueError, SyntaxError):
                pass
        return f"{self.method} {self.name}: {error}"

    def to_dict(self):
        return {"method": self.method, "name": self.name, "error": self.error, "occurrences": self.occurrences,
                "first_seen": self.first_seen, "last_seen": self.last_seen}


def calculate_response_time_percentile(response_times, num_requests, percent):
    num_of_request = int(num_requests * percent)
    processed = 0
    for rt in sorted(response_times.keys(), reverse=True):
        processed += response_times[rt]
        if num_requests - processed <= num_of_request:
            return rt
    return 0


def get_readable_percentiles(percentile_list):
    return [
        f"{int(p * 100) if (p * 100).is_integer() else round(100 * p, 6)}%" for p in percentile_list
    ]


# ---- console tables, history and CSV files for scripts that drive a run (`rlocust-python`) ----------------------
#
# The numbers and the table layouts are Rust's (the same tables the command line prints); these functions take
# Locust's arguments (a RequestStats, a runner, an Environment) and read the one set of statistics of the process.

def _log_table(which):
    import logging

    text = _rlocust.stats_text(which)
    if not text:
        return
    console_logger = logging.getLogger("locust.stats_logger")
    for line in text.split("\n")[:-1]:
        console_logger.info(line)


def print_stats(stats, current=True):
    _log_table("stats" if current else "stats_total")


def print_percentile_stats(stats):
    _log_table("percentiles")


def print_error_report(stats):
    _log_table("errors")


def stats_printer(stats):
    """A function for `gevent.spawn`: the stats table now and every CONSOLE_STATS_INTERVAL_SEC."""
    import gevent

    def stats_printer_func():
        try:
            while True:
                print_stats(stats)
                gevent.sleep(CONSOLE_STATS_INTERVAL_SEC)
        except KeyboardInterrupt:
            pass

    return stats_printer_func


def update_stats_history(runner):
    _rlocust.stats_sample_history()


def stats_history(runner):
    """For `gevent.spawn`: a point of the run's history (charts, report) every HISTORY_STATS_INTERVAL_SEC while a
    test runs."""
    import gevent

    try:
        while True:
            if runner.state not in ("ready", "stopped"):
                update_stats_history(runner)
            gevent.sleep(HISTORY_STATS_INTERVAL_SEC)
    except KeyboardInterrupt:
        pass


class StatsCSV:
    """Locust's CSV column sets (the files themselves are written by StatsCSVFileWriter)."""

    def __init__(self, environment, percentiles_to_report):
        self.environment = environment
        self.percentiles_to_report = percentiles_to_report
        self.percentiles_na = ["N/A"] * len(self.percentiles_to_report)
        self.requests_csv_columns = [
            "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
            "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
            *get_readable_percentiles(self.percentiles_to_report),
        ]
        self.failures_columns = ["Method", "Name", "Error", "Occurrences"]
        self.exceptions_columns = ["Count", "Message", "Traceback", "Nodes"]


class StatsCSVFileWriter(StatsCSV):
    """`{base_filepath}_stats.csv`, `_stats_history.csv`, `_failures.csv` and `_exceptions.csv`, as Locust writes
    them (created with their headers now; `stats_writer` rewrites them every CSV_STATS_INTERVAL_SEC;
    `close_files` writes the last rows)."""

    def __init__(self, environment, percentiles_to_report, base_filepath, full_history=False):
        super().__init__(environment, percentiles_to_report)
        self.base_filepath = base_filepath
        self.full_history = full_history
        self._files = _rlocust.CsvFiles(base_filepath, bool(full_history))

    def __call__(self):
        self.stats_writer()

    def stats_writer(self):
        import gevent

        while True:
            self._files.tick()
            gevent.sleep(CSV_STATS_INTERVAL_SEC)

    def stats_history_file_name(self):
        return self.base_filepath + "_stats_history.csv"

    def close_files(self):
        self._files.close()
