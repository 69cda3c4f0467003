"""`locust.html`: the HTML report's file name (`--html report_u{u}_r{r}_t{t}.html`).

rlocust renders the report itself, in Rust (`--html`, the web UI's /stats/report); this module has Locust's
helper for the file name, for scripts and plugins that name report files the way `--html` does.
"""


def process_html_filename(options) -> None:
    """Fill `{u}`, `{r}` and `{t}` in `options.html_file` with the user count, spawn rate and run time: a whole
    number without its fraction, else as Python writes it (`2.5`); a placeholder whose option is None stays."""
    for placeholder, value in (("{u}", options.num_users), ("{r}", options.spawn_rate), ("{t}", options.run_time)):
        if value is not None:
            text = str(int(value)) if float(value).is_integer() else str(value)
            options.html_file = options.html_file.replace(placeholder, text)
