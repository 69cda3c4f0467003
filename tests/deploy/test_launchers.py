"""rlocust's image run the way each launcher of Locust runs locustio/locust, with only the image changed.

Each test transcribes one launcher's pod spec from its own current files (command, args, env, mounts and which are
read-only, ports, probes, user and security settings; the sources are named in each test), starts its master and
two workers from the image in a private network namespace (conftest.Pod), sends the probes and polls that
launcher's tooling sends, runs a short test against the counting target and checks the master's totals against
what the target served, exactly.

What cannot run here is not faked: there is no Kubernetes, so a ConfigMap is a read-only bind mount of a directory
with its keys, a Service name is a hosts entry, a probe or poll is a request from inside the namespace; and the
community operator's metrics-exporter sidecar (an image that cannot be pulled here) is represented by its poll of
`/stats/requests` and the fields it decodes.
"""

import json
import re

import images
from pods import HERE, TARGET, split

WEB = "http://127.0.0.1:8089"

# One locustfile for every launcher: a helper module beside it (the chart mounts its `lib` ConfigMap at
# <locustfile dir>/lib), and the imports of Locust's dependencies that locustfiles use (they must resolve in the
# image as under locustio/locust). Each user makes REQUESTS requests and then idles until the run ends, so the
# master's total is known in advance and the workers' periodic reports (every 3 s) carry every request before the
# run stops: a report that a worker sends after the master's `stop` is discarded by the master (as Locust's master
# does), which would make a total of requests made up to the stop a race (see the issue 26 report).
REQUESTS = 40
LOCUSTFILE = """\
import requests
from requests.auth import HTTPBasicAuth
from requests.exceptions import RequestException

from locust import HttpUser, task
{lib_import}

assert HTTPBasicAuth and RequestException and requests.Session


class Visitor(HttpUser):
    made = 0

    def wait_time(self):
        return 0.05 if self.made < {requests} else 60

    @task
    def visit(self):
        if self.made < {requests}:
            self.made += 1
            self.client.get({path})
"""

LIB = """\
import random


def pick_page():
    return random.choice(["/a", "/b", "/c"])
"""


def locustfile(with_lib=False):
    if with_lib:
        return LOCUSTFILE.format(lib_import="from lib.pages import pick_page", path="pick_page()", requests=REQUESTS)
    return LOCUSTFILE.format(lib_import="", path='"/a"', requests=REQUESTS)


def stats(pod):
    return pod.json(f"{WEB}/stats/requests")


def aggregated(s):
    return next(row for row in s["stats"] if row["name"] == "Aggregated")


def check_status_poll(s):
    """The fields the official operator's status poll and KEDA's metrics-api scaler read, with their types."""
    assert s["state"] in ("ready", "spawning", "running", "stopped", "cleanup", "stopping", "missing"), s["state"]
    assert isinstance(s["user_count"], int) and isinstance(s["worker_count"], int), s
    assert isinstance(s["fail_ratio"], (int, float)) and isinstance(s["total_rps"], (int, float)), s
    assert isinstance(s["workers"], list), s


def wait_workers(pod, n):
    pod.until(lambda: pod.http("GET", f"{WEB}/stats/requests")[0] == 200 and stats(pod)["worker_count"] == n, 60,
              f"{n} workers did not connect")


def swarm_and_finish(pod, users=4, run_time="12s"):
    """Start the test from the web UI's form (what a person does in these launchers' default web mode), wait until
    it has stopped, then until the master's total is final (the poll is cached 2 s); return the last poll. (The run
    lasts 12 s so the poll sees it running: each look is a `podman exec`, which took seconds while the other lane of
    `make test` loaded the machine, and a 6 s run was once missed whole.)"""
    status, body = pod.http("POST", f"{WEB}/swarm",
                            f"user_count={users}&spawn_rate={users}&host={TARGET}&run_time={run_time}")
    assert status == 200 and json.loads(body)["success"], body
    pod.until(lambda: stats(pod)["state"] == "running", 30, "the test did not start")
    running = stats(pod)
    check_status_poll(running)
    assert running["user_count"] == users, running
    pod.until(lambda: stats(pod)["state"] == "stopped", 60, "the test did not stop")
    served = pod.served()
    pod.until(lambda: aggregated(stats(pod))["num_requests"] == served, 15,
              f"the master's total did not reach the {served} requests the target served")
    return stats(pod)


def check_exact(pod, final, users=4):
    served = pod.served()
    total = aggregated(final)
    assert served == users * REQUESTS and total["num_requests"] == served and total["num_failures"] == 0, (served, total)
    assert final["fail_ratio"] == 0, final


def test_helm_chart_deliveryhero_locust_0_35(pod, files):
    """deliveryhero/helm-charts stable/locust 0.35.0 with its default values, `image` set to rlocust's.

    templates/master-deployment.yaml and worker-deployment.yaml: command `sh /config/docker-entrypoint.sh` (the
    chart's ConfigMap, templates/configmap-config.yaml: pip-installs a requirements file when one is mounted, then
    `exec {{ loadtest.locustCmd }} $@`, locustCmd `/opt/venv/bin/locust`); args `--master` / `--worker`; env
    LOCUST_HOST, LOCUST_LOGLEVEL, LOCUST_LOCUSTFILE (and LOCUST_MASTER_NODE_HOST = the chart's Service, _PORT
    5557 on workers); ConfigMaps (read-only) at /mnt/locust, /mnt/locust/lib, /config; the image's user (no
    securityContext by default); the master's readiness probe `GET /` on 8089; KEDA's trigger reads `user_count`
    from `/stats/requests`. Web mode (loadtest.headless false): the test is started from the UI.
    """
    service = "locust"  # the chart's fullname for a release named "locust"
    p = pod([service])
    mnt = files({"main.py": locustfile(with_lib=True), "lib/__init__.py": "", "lib/pages.py": LIB}, "locustfile")
    lib = mnt / "lib"
    # what the chart renders into its config ConfigMap with the default values (no requirements file mounted,
    # no pip_packages): the same steps, written here
    config = files({"docker-entrypoint.sh": "#!/bin/sh\nset -eu\n"
                    "if [ -f \"/packages/requirements.txt\" ]; then\n"
                    "    pip install --no-cache-dir -r \"/packages/requirements.txt\"\n"
                    "else\n"
                    "    echo \"WARNING: Requirements file not found: /packages/requirements.txt\"\n"
                    "fi\n"
                    "exec /opt/venv/bin/locust $@\n"}, "config")
    mounts = [(mnt, "/mnt/locust", True), (lib, "/mnt/locust/lib", True), (config, "/config", True)]
    command = ["sh", "/config/docker-entrypoint.sh"]
    env = {"LOCUST_HOST": TARGET, "LOCUST_LOGLEVEL": "INFO", "LOCUST_LOCUSTFILE": "/mnt/locust/main.py"}
    master = p.run("master", ["--master"], command=command, env=env, mounts=mounts)
    worker_env = {"LOCUST_HOST": TARGET, "LOCUST_MASTER_NODE_HOST": service, "LOCUST_MASTER_NODE_PORT": "5557",
                  "LOCUST_LOGLEVEL": "INFO", "LOCUST_LOCUSTFILE": "/mnt/locust/main.py"}
    for i in range(2):
        p.run(f"worker{i}", ["--worker"], command=command, env=worker_env, mounts=mounts)

    p.until(lambda: p.http("GET", f"{WEB}/")[0] == 200, 60, "the readiness probe GET / on 8089 did not pass")
    wait_workers(p, 2)
    keda = stats(p)
    check_status_poll(keda)
    assert keda["user_count"] == 0 and keda["state"] == "ready", keda

    final = swarm_and_finish(p)
    check_exact(p, final)
    assert final["worker_count"] == 2, final
    assert {row["name"] for row in final["stats"]} == {"/a", "/b", "/c", "Aggregated"}, final["stats"]
    assert p.http("GET", f"{WEB}/")[0] == 200  # still ready
    assert "WARNING: Requirements file not found" in p.logs(master)
    assert p.state(master) == "running"


def test_official_operator_locustio_k8s_operator(pod, files):
    """locustio/k8s-operator (Locust's docs, "Kubernetes Operator"), a LocustTest with an inline locustfile.

    locust_operator/objects.py: the image's entry point with args `--master` + shlex-split `spec.args` (master
    Job, restartPolicy Never) and `--worker --master-host <name>-master` + the same args (worker Job, parallelism
    = workers); `spec.env` on both; the locustfile ConfigMap (key locustfile.py) mounted read-only at /home/locust,
    the image's home and working directory, so Locust's default `-f locustfile.py` finds it; ports 5557, 5558,
    8089; the image's user. controller.py's status daemon polls `/stats/requests` every 5 s for state,
    fail_ratio, total_rps, user_count and worker_count (or len(workers)). spec.args as in the docs' inline
    example (web mode: the run is started from the UI).
    """
    name = "load-test"
    p = pod([f"{name}-master", f"{name}-webui"])
    home = files({"locustfile.py": locustfile()}, "home")
    spec_args = f"--host {TARGET} --run-time=6s --users=4 --spawn-rate=4"
    env = {"LOCUST_LOGLEVEL": "INFO"}
    mounts = [(home, "/home/locust", True)]
    master = p.run("master", ["--master", *split(spec_args)], env=env, mounts=mounts)
    for i in range(2):
        p.run(f"worker{i}", ["--worker", "--master-host", f"{name}-master", *split(spec_args)], env=env,
              mounts=mounts)

    wait_workers(p, 2)
    poll = stats(p)
    check_status_poll(poll)
    assert poll["state"].upper() == "READY" and len(poll["workers"]) == 2, poll

    final = swarm_and_finish(p)
    check_exact(p, final)
    assert final["worker_count"] == 2 and final["state"].upper() == "STOPPED", final
    assert p.state(master) == "running"


def test_community_operator_v2_locust_k8s_operator(pod, files):
    """AbdelrhmanHamouda/locust-k8s-operator v2, a LocustTest with `testFiles` and the security settings of its
    config/samples/locust_v2_locusttest_with_security.yaml.

    internal/resources/command.go: master args = `master.command` split on spaces + `--master --master-port=5557
    --expect-workers=<replicas> --autostart --autoquit <timeout> --enable-rebalancing --only-summary` +
    `master.extraArgs`; worker args = `worker.command` + `--worker --master-port=5557 --master-host=<name>-master`.
    job.go/env.go/constants.go: as the image's arguments (its entry point kept); the Kafka variables on every
    pod; the test files' ConfigMap at /lotest/src and the library's at /opt/locust/lib; Jobs with restartPolicy
    Never and backoffLimit 0 (the master must exit 0 on its own); the metrics exporter sidecar polls
    `http://localhost:8089/stats/requests`. Security: runAsNonRoot (the image's user must be numeric and not 0),
    allowPrivilegeEscalation false, all capabilities dropped.
    """
    name = "sample-test"
    p = pod([f"{name}-master"])
    src = files({"locustfile.py": locustfile()}, "src")
    lib = files({"helpers.py": LIB}, "lib")
    kafka = {"KAFKA_BOOTSTRAP_SERVERS": "localhost:9092", "KAFKA_SECURITY_ENABLED": "false",
             "KAFKA_SECURITY_PROTOCOL_CONFIG": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
             "KAFKA_SASL_JAAS_CONFIG": "", "KAFKA_USERNAME": "", "KAFKA_PASSWORD": ""}
    mounts = [(src, "/lotest/src", True), (lib, "/opt/locust/lib", True)]
    security = ["--cap-drop=all", "--security-opt=no-new-privileges"]
    user = images.podman("image", "inspect", "--format", "{{.Config.User}}", p.image).stdout.strip()
    assert user.isdigit() and user != "0", f"runAsNonRoot needs a numeric non-root user, the image has {user!r}"

    command = f"--locustfile /lotest/src/locustfile.py --host {TARGET}"
    autoquit = 4  # the CR's master.autoquit.timeout (the operator's default is 60)
    master_args = [*command.split(), "--master", "--master-port=5557", "--expect-workers=2", "--autostart",
                   "--autoquit", str(autoquit), "--enable-rebalancing", "--only-summary",
                   "--users", "4", "--spawn-rate", "4", "--run-time", "6s"]  # the last six: master.extraArgs
    worker_args = ["--locustfile", "/lotest/src/locustfile.py", "--worker", "--master-port=5557",
                   f"--master-host={name}-master"]
    master = p.run("master", master_args, env=kafka, mounts=mounts, extra=security)
    workers = [p.run(f"worker{i}", worker_args, env=kafka, mounts=mounts, extra=security) for i in range(2)]

    # the exporter sidecar's poll while the test runs: the fields it decodes
    p.until(lambda: p.http("GET", f"{WEB}/stats/requests")[0] == 200 and stats(p)["state"] == "running", 60,
            "the master did not start the test on its own (--autostart with 2 expected workers)")
    s = stats(p)
    check_status_poll(s)
    assert s["user_count"] == 4 and s["worker_count"] == 2, s
    for row in s["stats"]:
        for field in ("method", "name", "num_requests", "num_failures", "avg_response_time", "min_response_time",
                      "max_response_time", "current_rps", "median_response_time", "avg_content_length"):
            assert field in row, (field, row)
    assert isinstance(s["errors"], list)

    assert p.wait(master, 60) == 0, p.all_logs()  # the Job succeeds: --autoquit ended it with exit code 0
    assert [p.wait(w, 30) for w in workers] == [0, 0], p.all_logs()
    served = p.served()
    summary = p.logs(master)
    line = next(ln for ln in summary.splitlines() if re.match(r"\s+Aggregated\s+\d", ln))
    assert int(line.split()[1]) == served == 4 * REQUESTS, (served, line)
    assert "0(0.00%)" in line, line


def test_locust_docker_compose(pod, files):
    """Locust's documented docker-compose file (examples/docker-compose/docker-compose.yml, docs "Running in
    Docker"), with rlocust's image: master `-f /mnt/locust/locustfile.py --master -H <host>` with port 8089
    published, workers `-f /mnt/locust/locustfile.py --worker --master-host master` (`--scale worker=2`), the
    project directory bind-mounted read-write at /mnt/locust. The file's `-H` points at the master's own UI; here
    it is the target, so the totals can be counted.
    """
    p = pod(["master", "worker"])
    project = files({"locustfile.py": locustfile()}, "project")
    project.chmod(0o777)  # a read-write bind mount, as compose makes it
    mounts = [(project, "/mnt/locust", False)]
    master = p.run("master", ["-f", "/mnt/locust/locustfile.py", "--master", "-H", TARGET], mounts=mounts)
    for i in range(2):
        p.run(f"worker{i}", ["-f", "/mnt/locust/locustfile.py", "--worker", "--master-host", "master"],
              mounts=mounts)
    wait_workers(p, 2)
    final = swarm_and_finish(p)
    check_exact(p, final)
    assert p.state(master) == "running"
    compose = (HERE.parents[1] / "examples/docker-compose/docker-compose.yml").read_text()
    for expected in ("command: -f /mnt/locust/locustfile.py --master -H http://master:8089",
                     "command: -f /mnt/locust/locustfile.py --worker --master-host master", "- ./:/mnt/locust",
                     '- "8089:8089"'):
        assert expected in compose, expected


def test_kubernetes_doc_names_the_change_and_the_test_of_each_launcher():
    """docs/kubernetes.md says per launcher what changes and which test above runs its pod spec."""
    doc = (HERE.parents[1] / "docs/kubernetes.md").read_text()
    sections = {part.split("\n", 1)[0]: part for part in doc.split("\n### ")[1:]}
    for launcher, test in (("deliveryhero/locust", test_helm_chart_deliveryhero_locust_0_35),
                           ("locustio/k8s-operator", test_official_operator_locustio_k8s_operator),
                           ("AbdelrhmanHamouda/locust-k8s-operator", test_community_operator_v2_locust_k8s_operator),
                           ("Docker Compose", test_locust_docker_compose)):
        section = next(text for title, text in sections.items() if launcher in title)
        assert "**Change:**" in section and f"`{test.__name__}`" in section, (launcher, test.__name__)
