"""One CSV row per request (`locust.contrib.csv_request_logger` of Locust 2.47): a `request` listener that appends
what each call reported, for analyses that need every data point rather than the aggregated `--csv` files.

    logger = CsvRequestLogger("requests.csv")

    @events.init.add_listener
    def _(environment, **kw):
        logger.register(environment)

Columns: timestamp (the request's start, unix seconds), request_type, name, response_time_ms (2 decimals; empty
when the event had none), response_length, status_code (0 without a response), exception (its str, or empty). The
file is truncated when the logger registers and closed at `quitting`. Note that any `request` listener makes rlocust
hand every request to Python (as Locust does anyway): expect the CPU per request of a run with listeners.
"""

import csv
import logging
import time

logger = logging.getLogger(__name__)

CSV_COLUMNS = ("timestamp", "request_type", "name", "response_time_ms", "response_length", "status_code", "exception")


def _status_code(response, exception):
    if exception is not None and response is None:
        return 0
    try:
        return int(response.status_code)
    except (AttributeError, TypeError, ValueError):
        return 0


class CsvRequestLogger:
    """Writes a row per `request` event to `filepath`, flushing every `flush_interval` rows (1: each row)."""

    def __init__(self, filepath, *, flush_interval=1):
        self.filepath = filepath
        self.flush_interval = max(1, flush_interval)
        self._filehandle = None
        self._writer = None
        self._pending = 0

    def register(self, environment):
        """Listen to `environment`'s request and quitting events and start the file (header row)."""
        environment.events.request.add_listener(self._on_request)
        environment.events.quitting.add_listener(self._on_quitting)
        self._open()
        logger.debug("CsvRequestLogger: writing per-request log to %s", self.filepath)

    def close(self):
        """Flush and close the file (again: nothing)."""
        fh = self._filehandle
        if fh is not None and not fh.closed:
            fh.flush()
            fh.close()
            logger.debug("CsvRequestLogger: closed %s", self.filepath)
        self._filehandle = None
        self._writer = None
        self._pending = 0

    def _open(self):
        self.close()
        self._filehandle = open(self.filepath, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._filehandle)
        self._writer.writerow(CSV_COLUMNS)
        self._filehandle.flush()

    def _on_request(self, *, request_type, name, response_time, response_length, exception=None, response=None,
                    start_time=None, context=None, **kwargs):
        if self._writer is None:
            return
        self._writer.writerow([
            round(start_time if start_time is not None else time.time(), 6),
            request_type,
            name,
            "" if response_time is None else round(response_time, 2),
            response_length,
            _status_code(response, exception),
            "" if exception is None else str(exception),
        ])
        self._pending += 1
        if self._pending >= self.flush_interval:
            self._filehandle.flush()
            self._pending = 0

    def _on_quitting(self, **kwargs):
        self.close()
