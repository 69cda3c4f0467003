"""Logging set-up with Locust's format and names (`locust.log`)."""

import logging
import logging.config
import socket
from collections import deque

HOSTNAME = socket.gethostname().split(".")[0]

unhandled_greenlet_exception = False


try:
    from _rlocust import log_line as _keep_line
except ImportError:  # the shim imported outside an rlocust run (unit tests)
    def _keep_line(line):
        pass


class LogReader(logging.Handler):
    """Keeps the last 500 formatted lines; the Rust side keeps them too, merged with its own, for the web
    UI's /logs."""

    def __init__(self):
        super().__init__()
        self.logs = deque(maxlen=500)

    def emit(self, record):
        line = self.format(record)
        self.logs.append(line)
        _keep_line(line)


_reader = LogReader()


def get_logs():
    return list(_reader.logs)


def setup_logging(loglevel, logfile=None):
    loglevel = str(loglevel).upper()
    fmt = "[%(asctime)s] " + HOSTNAME + "/%(levelname)s/%(name)s: %(message)s"
    handlers = {
        "console": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"},
        "console_plain": {"class": "logging.StreamHandler", "formatter": "plain", "level": "INFO",
                          "stream": "ext://sys.stderr"},
    }
    targets = ["console"]
    if logfile:
        handlers["file"] = {"class": "logging.FileHandler", "filename": logfile, "formatter": "default"}
        targets = ["file"]
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"format": fmt}, "plain": {"format": "%(message)s"}},
        "handlers": handlers,
        "loggers": {
            "locust": {"handlers": targets, "level": loglevel, "propagate": False},
            "locust.stats_logger": {"handlers": ["console_plain"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": targets, "level": loglevel},
    })
    _reader.setFormatter(logging.Formatter(fmt))
    # on the root logger and on "locust" (which does not propagate), as Locust's log_reader handler
    logging.getLogger().addHandler(_reader)
    logging.getLogger("locust").addHandler(_reader)
    _rust_level(loglevel)


def _rust_level(loglevel):
    """When a script drives the run (`rlocust-python`), the runner's lines written by Rust follow Locust's level."""
    from locust._mode import library_mode

    if library_mode():
        import _rlocust

        _rlocust.lib_log_level(loglevel)


def greenlet_exception_logger(logger, level=logging.CRITICAL):
    def exception_handler(greenlet):
        global unhandled_greenlet_exception
        if greenlet.exc_info[0] is SystemExit:
            logger.log(min(logging.INFO, level), "sys.exit(%s) called (use log level DEBUG for callstack)" % greenlet.exc_info[1])
            logger.log(logging.DEBUG, "Unhandled exception in greenlet: %s", greenlet, exc_info=greenlet.exc_info)
        else:
            logger.log(level, "Unhandled exception in greenlet: %s", greenlet, exc_info=greenlet.exc_info)
        unhandled_greenlet_exception = True

    return exception_handler
