# diff: -u 2 -r 100 -t 5s
# diff-extra-args: --mtls-url {mtls_url} --mtls-dir {mtls_dir}
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
"""TLS as requests configures it: `verify=` a CA bundle file (and a directory), `cert=` a (cert, key) pair, one
combined PEM file, or a session's `cert`; a server certificate from an unknown CA with verify=True; files that do
not exist or hold no certificate. The server is nginx on loopback (`localhost`, so SNI is sent) with a test CA:
`/` says whether a client certificate was verified, `/required` answers 403 without one. FastHttpUser takes none of
these (geventhttpclient's ssl_context_factory), and is checked with its default (insecure) only."""
import os
import re
import sys

from locust import FastHttpUser, HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--mtls-url", default="")
    parser.add_argument("--mtls-dir", default="")


def show(label, call):
    try:
        r = call()
        err = getattr(r, "error", None)
        out = (r.status_code, (r.text or "").strip()[:60], type(err).__name__ if err else None,
               str(err)[:400] if err else "")
    except Exception as e:
        out = f"raised {type(e).__module__}.{type(e).__name__}: {e}"
    out = re.sub(r"0x[0-9a-f]+", "0x?", re.sub(r"(localhost|127\.0\.0\.1):\d+", r"\1:PORT", str(out)))
    out = out.replace(os.environ.get("MTLS_DIR_FOR_MARKS", "\0"), "DIR")
    print(f"MARK {label}: {out}", file=sys.stderr)


class Requests(HttpUser):
    wait_time = constant(100)
    fixed_count = 1
    host = "http://unused.invalid"

    @task
    def cases(self):
        o = self.environment.parsed_options
        d = o.mtls_dir
        os.environ["MTLS_DIR_FOR_MARKS"] = d
        url = o.mtls_url
        c = self.client
        ca = os.path.join(d, "ca.pem")
        pair = (os.path.join(d, "client.pem"), os.path.join(d, "client.key"))
        show("ca bundle", lambda: c.get(url + "/", verify=ca, name="ca bundle"))
        show("ca dir", lambda: c.get(url + "/", verify=os.path.join(d, "cadir"), name="ca dir"))
        show("unknown ca", lambda: c.get(url + "/", name="unknown ca"))
        show("no verify", lambda: c.get(url + "/", verify=False, name="no verify"))
        show("required without cert", lambda: c.get(url + "/required", verify=ca, name="required none"))
        show("cert pair", lambda: c.get(url + "/required", verify=ca, cert=pair, name="cert pair"))
        show("cert combined", lambda: c.get(url + "/required", verify=ca, cert=os.path.join(d, "client-combined.pem"),
                                            name="cert combined"))
        show("cert no verify", lambda: c.get(url + "/required", verify=False, cert=pair, name="cert no verify"))
        show("missing bundle", lambda: c.get(url + "/", verify=os.path.join(d, "nope.pem"), name="missing bundle"))
        show("missing cert", lambda: c.get(url + "/", verify=ca, cert=os.path.join(d, "nope.pem"), name="missing cert"))
        show("missing key", lambda: c.get(url + "/", verify=ca, cert=(pair[0], os.path.join(d, "nope.key")),
                                          name="missing key"))
        show("bundle without certs", lambda: c.get(url + "/", verify=os.path.join(d, "empty.pem"),
                                                   name="empty bundle"))
        show("cert on plain http", lambda: c.get(url.replace("https://", "http://") + "/", cert=os.path.join(
            d, "nope.pem"), name="cert plain http"))
        c.cert = pair
        c.verify = ca
        show("session cert and verify", lambda: c.get(url + "/required", name="session cert"))
        c.cert = None
        c.verify = True


class Fast(FastHttpUser):
    wait_time = constant(100)
    fixed_count = 1
    host = "http://unused.invalid"

    @task
    def cases(self):
        url = self.environment.parsed_options.mtls_url
        show("fast insecure", lambda: self.client.get(url + "/", name="fast"))
