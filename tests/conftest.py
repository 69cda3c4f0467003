"""What every suite under tests/ shares: the tools a test starts get the ordinary Ctrl+C.

A process started with SIGINT ignored (a background job of a non-interactive shell, `nohup make test &`, some CI
runners) passes that on through exec to everything it starts, and Python then installs no KeyboardInterrupt
handler: Locust and rlocust alike ignore the SIGINT a test sends them and run to their time limit (the diff suite's
`sigint` variants failed so, for both tools, in a `make test` started in the background). A handler set here is
reset to the default in each child at exec, so every tool a test starts gets SIGINT as a terminal would send it.
"""

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
