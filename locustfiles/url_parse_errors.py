# diff: -u 1 -r 100 -t 20s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
"""URLs requests refuses, and the exception chain a traceback shows: requests' InvalidURL for a URL urllib3 cannot
parse ("Failed to parse: …") is raised while handling urllib3's LocationParseError, so it carries it as
__context__ (printed first, then "During handling of the above exception, another exception occurred"); one that
parses but has no host, or a bad label, carries nothing. The last case escapes the task: both tools log the chain
and count one exception row."""
import sys
import traceback

from locust import HttpUser, constant, task


def describe(client, url):
    try:
        client.get(url, name="bad url")
        return "no error"
    except Exception as e:
        ctx = e.__context__
        return (type(e).__module__, type(e).__name__, str(e).replace(client.base_url, "BASE"),
                None if ctx is None else (type(ctx).__module__, type(ctx).__name__, ctx.args,
                                          getattr(ctx, "location", None), ctx.__context__ is None),
                e.__cause__ is None, e.__suppress_context__)


class Probe(HttpUser):
    wait_time = constant(100)

    @task
    def cases(self):
        base = self.host
        for name, url in [
            ("port not a number", ":x"),
            ("port too big", "http://127.0.0.1:99999/"),
            ("bad host character", "http://exa mple.com/"),
            ("no host", "http:///path"),
            ("bad label", "http://.example.com/"),
            ("relative colon path", f"{base}:8:9/"),
        ]:
            print(f"MARK {name}: {describe(self.client, url)}", file=sys.stderr)
        try:
            self.client.get(":x")
        except Exception:
            chain = [line for line in traceback.format_exc().splitlines()
                     if line and not line.startswith(" ") and "Traceback" not in line]
            print(f"MARK chain: {chain}", file=sys.stderr)
        self.environment.runner.quit()
