#!/usr/bin/env python3
"""Checks the Kubernetes manifests in deploy/ (called by k8s-check.sh, with the test venv's python).

1. Every object validates, strictly (no unknown field), against the Kubernetes JSON schemas that
   the pinned kubernetes-validate package ships, offline: for the oldest Kubernetes the manifests
   need (podFailurePolicy is GA from 1.31) and for the newest the package knows.
2. What a schema cannot say: the CronJob forbids overlap and maps bulkops' exit codes (2 fails the
   Job at once, 3 is retried up to 3 times); secrets come from a Secret, never a literal value;
   the pods run as the Dockerfile's USER and mount its VOLUME; the Deployment's probes, scrape
   annotations and Service point at ports the container declares.
3. The CronJob's command line is accepted by this bulkops: it runs, with `--dry-run`, against the
   simulator on 127.0.0.1. The Deployment's `serve` arguments are accepted too: with
   `--check-config`, serve checks them (and the environment the manifest gives it) as it does
   before it listens, and exits without listening; without its API token, the same is refused.

usage: k8s_check.py DEPLOY_DIR DOCKERFILE BULKOPS_BINARY HATCHET_SIM_BINARY
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from image_check import CheckFailed, runtime_stage, simulator  # noqa: E402

OLDEST, NEWEST = "1.31.0", kubernetes_validate.latest_version()
SECRET_VARIABLES = {"HATCHET_CLIENT_TOKEN", "BULKOPS_STATE", "BULKOPS_API_TOKEN"}


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def load(deploy):
    objects = {}
    for path in sorted(Path(deploy).glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            for version in (OLDEST, NEWEST):
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    raise CheckFailed(f"{path.name}: {document['kind']} against Kubernetes "
                                      f"{version}: {error.message} at {list(error.path)}")
                except kubernetes_validate.SchemaNotFoundError as error:
                    raise CheckFailed(f"{path.name}: {error.message}")
            objects[document["kind"]] = document
    require({"CronJob", "Deployment", "Service"} <= objects.keys(),
            f"deploy/ holds {sorted(objects)}: a CronJob, a Deployment and a Service are needed")
    return objects


def check_pod(kind, pod, image):
    security = pod.get("securityContext", {})
    require(security.get("runAsNonRoot") is True
            and (security.get("runAsUser"), security.get("runAsGroup")) == (image["uid"], image["gid"]),
            f"{kind}: the pod must run as non-root {image['uid']}:{image['gid']}, the Dockerfile's USER")
    container = next((c for c in pod["containers"] if c["name"] == "bulkops"), None)
    require(container, f"{kind}: no container named bulkops")
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    require(image["volume"] in mounts, f"{kind}: nothing mounted at the image's VOLUME {image['volume']}")
    for variable in container.get("env", []):
        if variable["name"] in SECRET_VARIABLES:
            require("value" not in variable and "secretKeyRef" in variable.get("valueFrom", {}),
                    f"{kind}: {variable['name']} must come from a Secret (secretKeyRef), not a value")
    names = {v["name"] for v in container.get("env", [])}
    require({"HATCHET_CLIENT_TOKEN", "BULKOPS_STATE"} <= names,
            f"{kind}: HATCHET_CLIENT_TOKEN and BULKOPS_STATE must be set")
    return container


def check_cronjob(cronjob, image):
    spec = cronjob["spec"]
    require(spec.get("concurrencyPolicy") == "Forbid", "CronJob: concurrencyPolicy must be Forbid")
    job = spec["jobTemplate"]["spec"]
    require(job.get("backoffLimit") == 3, "CronJob: backoffLimit must be 3 (exit 3 is retried 3 times)")
    actions = {}
    for rule in job.get("podFailurePolicy", {}).get("rules", []):
        codes = rule.get("onExitCodes")
        if codes and codes.get("operator") == "In":
            for code in codes["values"]:
                actions[code] = rule["action"]
    require(actions.get(2) == "FailJob", "CronJob: podFailurePolicy must fail the Job on exit 2")
    require(actions.get(3) == "Count", "CronJob: podFailurePolicy must count (retry) exit 3")
    pod = job["template"]["spec"]
    require(pod.get("restartPolicy") == "Never", "CronJob: podFailurePolicy needs restartPolicy Never")
    return check_pod("CronJob", pod, image)


def port_of(container, port):
    """The containerPort a probe or Service names (by name or number), or None."""
    for declared in container.get("ports", []):
        if port in (declared.get("name"), declared["containerPort"]):
            return declared["containerPort"]
    return None


def check_serve(deployment, service, image):
    template = deployment["spec"]["template"]
    labels = template["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    require(selector.items() <= labels.items(), "Deployment: its selector does not match its pods")
    container = check_pod("Deployment", template["spec"], image)
    require(container.get("args", [])[:1] == ["serve"], "Deployment: the container must run `bulkops serve`")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet", {})
        require(get.get("path") == path and port_of(container, get.get("port")),
                f"Deployment: {probe} must GET {path} on a declared port")
    annotations = template["metadata"].get("annotations", {})
    require(annotations.get("prometheus.io/scrape") == "true"
            and annotations.get("prometheus.io/path") == "/metrics"
            and str(port_of(container, "metrics")) == annotations.get("prometheus.io/port"),
            "Deployment: the scrape annotations must name /metrics on the port named metrics")
    require(service["spec"]["selector"].items() <= labels.items(), "Service: its selector misses the pods")
    for port in service["spec"]["ports"]:
        require(port_of(container, port["targetPort"]), f"Service: targetPort {port['targetPort']} is no container port")


def check_command_line(container, bulkops, sim_binary):
    """The CronJob's args, as they are, with --dry-run against the simulator: exit 0, a count."""
    args = container["args"]
    workflow = args[args.index("--workflow") + 1]
    literal = {v["name"]: v["value"] for v in container.get("env", []) if "value" in v}
    with tempfile.TemporaryDirectory(prefix="bulkops-k8s-") as work:
        sim, server = simulator(sim_binary, Path(work))
        try:
            now = datetime.now(timezone.utc)
            body = {"runs": 25, "status": "QUEUED", "workflow": workflow,
                    "created_from": (now - timedelta(days=3)).isoformat(),
                    "created_to": (now - timedelta(days=2)).isoformat()}
            request = urllib.request.Request(f"{server['url']}/_sim/seed", data=json.dumps(body).encode(),
                                             headers={"content-type": "application/json"})
            urllib.request.urlopen(request, timeout=30).close()
            env = {"PATH": os.environ["PATH"], **literal, "HATCHET_CLIENT_TOKEN": server["token"],
                   "BULKOPS_STATE": f"{work}/state.db"}
            ran = subprocess.run([bulkops, *args, "--dry-run"], env=env, capture_output=True,
                                 text=True, timeout=120)
        finally:
            sim.kill()
            sim.wait()
    require(ran.returncode == 0, f"CronJob: bulkops refuses its args (exit {ran.returncode}): {ran.stderr.strip()}")
    summary = json.loads(ran.stdout.strip().splitlines()[-1])
    require(summary.get("matching") == 25, f"CronJob: the dry run of its args matched {summary}, not the 25 seeded runs")


def check_serve_command_line(deployment, bulkops):
    """The Deployment's args, as they are, with --check-config: exit 0 with its Secret's
    variables set, and exit 2 without the API token that its non-loopback address needs."""
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "bulkops")
    args = container["args"]
    literal = {v["name"]: v["value"] for v in container.get("env", []) if "value" in v}
    with tempfile.TemporaryDirectory(prefix="bulkops-k8s-serve-") as work:
        env = {"PATH": os.environ["PATH"], **literal, "BULKOPS_STATE": f"{work}/state.db",
               "BULKOPS_API_TOKEN": "k8s-check-api-token"}
        checked = subprocess.run([bulkops, *args, "--check-config", "-o", "json"], env=env,
                                 capture_output=True, text=True, timeout=60)
        require(checked.returncode == 0,
                f"Deployment: bulkops serve refuses its args (exit {checked.returncode}): {checked.stderr.strip()}")
        said = json.loads(checked.stdout.strip().splitlines()[-1])
        require(said.get("valid") is True, f"Deployment: serve --check-config said {said}")
        del env["BULKOPS_API_TOKEN"]
        unprotected = subprocess.run([bulkops, *args, "--check-config"], env=env,
                                     capture_output=True, text=True, timeout=60)
        require(unprotected.returncode == 2 and "BULKOPS_API_TOKEN" in unprotected.stderr,
                f"Deployment: without BULKOPS_API_TOKEN, serve --check-config should refuse its address "
                f"(exit {unprotected.returncode}): {unprotected.stderr.strip()}")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    deploy, dockerfile, bulkops, sim_binary = sys.argv[1:]
    try:
        image = runtime_stage(dockerfile)
        objects = load(deploy)
        container = check_cronjob(objects["CronJob"], image)
        check_serve(objects["Deployment"], objects["Service"], image)
        check_command_line(container, bulkops, sim_binary)
        check_serve_command_line(objects["Deployment"], bulkops)
    except CheckFailed as error:
        sys.exit(f"k8s-check: {error}")
    print(f"k8s-check: deploy/ valid against Kubernetes {OLDEST} and {NEWEST}; exit codes, secrets, "
          "user, volume, probes and ports as required; the CronJob's args run as a dry run; "
          "serve's args pass --check-config")


if __name__ == "__main__":
    main()
