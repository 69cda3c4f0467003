"""An HTTP request from inside a pod's network namespace (what a kubelet probe, KEDA's metrics-api scaler or an
operator's status poll sends): `python3 probe.py METHOD URL [FORM]`; prints the status on the first line, then the
body. Standard library only: it runs with the image's own Python."""

import sys
import urllib.error
import urllib.request


def main():
    method, url = sys.argv[1], sys.argv[2]
    data = sys.argv[3].encode() if len(sys.argv) > 3 else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except OSError as e:
        status, body = 0, str(e).encode()
    sys.stdout.write(f"{status}\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(body)


if __name__ == "__main__":
    main()
