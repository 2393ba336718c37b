#!/usr/bin/env python3
"""Runs the Dockerfile's runtime stage without a container engine (called by image-check.sh).

Everything it uses is read from the Dockerfile, so the two cannot drift: the base release, the
stage's RUN instructions (the packages they install, the user they create), where the binary is
copied, USER, WORKDIR, ENV, VOLUME and ENTRYPOINT. It builds a minimal root filesystem of that
Debian release with `debootstrap --variant=minbase` (cached under $BULKOPS_CACHE, keyed by the
release and the RUN instructions), runs the stage's RUN instructions in it, copies the release
binary in, removes every shell (the image must need none at run time), mounts a fresh directory
at the VOLUME path, and runs the ENTRYPOINT as USER with `chroot --userspec`: `--version`, then a
short cancel job against the simulator on 127.0.0.1, then `config show` (the state must be the
image's ENV) and `jobs list` in new processes, to show the job's state lived on the volume.
It also checks that the build stage copies every workspace member's manifest into its
dependency layer, without which cargo cannot load the workspace there.

usage: image_check.py DOCKERFILE BULKOPS_RELEASE_BINARY HATCHET_SIM_BINARY
"""

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
# What the official debian images list, so the stage's apt-get sees the same archive.
SOURCES = """Types: deb
URIs: http://deb.debian.org/debian
Suites: {r} {r}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {r}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# Docker's default PATH for a container.
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELLS = ["bin/sh", "bin/dash", "bin/bash", "usr/bin/sh", "usr/bin/dash", "usr/bin/bash"]
RUNS, OTHER_RUNS = 300, 40


class CheckFailed(Exception):
    pass


def instructions(text):
    """(KEYWORD, arguments) per instruction: continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    for line in logical:
        keyword, _, args = line.strip().partition(" ")
        yield keyword.upper(), args.strip()


def runtime_stage(dockerfile):
    """The last stage of the Dockerfile, as the values this check needs."""
    stages = []
    for keyword, args in instructions(Path(dockerfile).read_text()):
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, args))
    copied = {a for keyword, args in stages[0] if keyword == "COPY" for a in shlex.split(args)}
    root = Path(dockerfile).parent
    members = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["members"]
    for member in members:
        if member != "." and f"{member}/Cargo.toml" not in copied:
            raise CheckFailed(f"the build stage's dependency layer does not COPY {member}/Cargo.toml, "
                              "a workspace member: cargo cannot load the workspace without it")
    stage = stages[-1]
    image = stage[0][1].split()[0]
    found = re.fullmatch(r"debian:([a-z]+)(-slim)?", image)
    if not found:
        raise CheckFailed(f"the runtime stage's base {image} is no debian:RELEASE[-slim] image")
    spec = {"release": found.group(1), "runs": [], "env": {}, "copies": []}
    for keyword, args in stage[1:]:
        if keyword == "RUN":
            spec["runs"].append(args)
        elif keyword == "COPY":
            spec["copies"].append([a for a in shlex.split(args) if not a.startswith("--")])
        elif keyword == "USER":
            spec["user"] = args
        elif keyword == "WORKDIR":
            spec["workdir"] = args
        elif keyword == "ENV":
            spec["env"].update(pair.split("=", 1) for pair in shlex.split(args))
        elif keyword == "VOLUME":
            spec["volumes"] = json.loads(args) if args.startswith("[") else args.split()
        elif keyword == "ENTRYPOINT":
            if not args.startswith("["):
                raise CheckFailed("ENTRYPOINT must be in exec form: the image has no shell to need")
            spec["entrypoint"] = json.loads(args)
    uid, _, gid = spec.get("user", "0").partition(":")
    if not uid.isdigit() or not gid.isdigit() or int(uid) == 0:
        raise CheckFailed(f"USER {spec.get('user')!r}: the image must run as a numeric non-root uid:gid")
    spec["uid"], spec["gid"] = int(uid), int(gid)
    if len(spec.get("volumes", [])) != 1:
        raise CheckFailed("the runtime stage must declare exactly one VOLUME, the state directory")
    spec["volume"] = spec["volumes"][0]
    state = spec["env"].get("BULKOPS_STATE", "")
    if not state.startswith(spec["volume"].rstrip("/") + "/"):
        raise CheckFailed(f"ENV BULKOPS_STATE={state!r} is not on the VOLUME {spec['volume']}")
    binary = [dest for *_, dest in spec["copies"] if dest == spec["entrypoint"][0]]
    if not binary:
        raise CheckFailed("the ENTRYPOINT is no file the runtime stage copies in")
    return spec


def packages(runs):
    """The packages the RUN instructions install with apt-get (name=version)."""
    names = []
    for run in runs:
        for command in re.split(r"&&|;", run):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                names += [w for w in words[2:] if not w.startswith("-")]
    return names


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, **kwargs)


def rootfs(spec, cache):
    """The stage's root filesystem before COPY: debootstrap, then its RUN instructions."""
    key = hashlib.sha256(json.dumps([spec["release"], spec["runs"]]).encode()).hexdigest()[:12]
    root = cache / f"{spec['release']}-{key}"
    if (root / ".complete").exists():
        print(f"image-check: cached root filesystem {root}")
        return root
    for stale in cache.glob("*"):
        shutil.rmtree(stale, ignore_errors=True)
    building = cache / f"{root.name}.building"
    cache.mkdir(parents=True, exist_ok=True)
    print(f"image-check: debootstrap --variant=minbase {spec['release']} (cached for later runs)")
    sh("debootstrap", "--variant=minbase", spec["release"], str(building), MIRROR,
       stdout=subprocess.DEVNULL)
    (building / "etc/apt/sources.list").unlink(missing_ok=True)
    (building / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES.format(r=spec["release"]))
    shutil.copy("/etc/resolv.conf", building / "etc/resolv.conf")
    sh("mount", "--bind", "/proc", str(building / "proc"))
    try:
        for run in spec["runs"]:
            print(f"image-check: RUN {' '.join(run.split())}")
            sh("chroot", str(building), "/bin/sh", "-c", run, stdout=subprocess.DEVNULL)
    finally:
        sh("umount", str(building / "proc"))
    (building / "etc/resolv.conf").unlink()
    building.rename(root)
    (root / ".complete").touch()
    return root


def installed_version(root, name):
    out = sh("chroot", str(root), "dpkg-query", "-W", "-f=${Version}", name,
             capture_output=True, text=True)
    return out.stdout


class Image:
    """The runtime stage in a scratch copy of the root filesystem, with the VOLUME mounted."""

    def __init__(self, spec, base, binary, work):
        self.spec, self.root, self.volume = spec, work / "rootfs", work / "volume"
        sh("cp", "-a", str(base), str(self.root))
        target = self.root / spec["entrypoint"][0].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(binary, target)
        target.chmod(0o755)
        for shell in SHELLS:
            path = self.root / shell
            if path.is_symlink() or path.exists():
                path.unlink()
        self.volume.mkdir()
        os.chown(self.volume, spec["uid"], spec["gid"])
        self.volume.chmod(0o700)
        self.mountpoint = self.root / spec["volume"].lstrip("/")
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        sh("mount", "--bind", str(self.volume), str(self.mountpoint))

    def close(self):
        subprocess.run(["umount", str(self.mountpoint)], check=False)

    def run(self, args, env):
        """The ENTRYPOINT with ARGS, as USER, in WORKDIR, with the image's ENV and ENV."""
        spec = self.spec
        home = next(line.split(":")[5] for line in (self.root / "etc/passwd").read_text().splitlines()
                    if line.split(":")[2] == str(spec["uid"]))
        variables = {"PATH": PATH, "HOME": home, **spec["env"], **env}
        # env(1), not a shell: chroot(8) always starts in /, the image starts in WORKDIR.
        command = ["chroot", f"--userspec={spec['uid']}:{spec['gid']}", str(self.root),
                   "/usr/bin/env", "-i", f"--chdir={spec.get('workdir', '/')}",
                   *(f"{k}={v}" for k, v in variables.items()), *spec["entrypoint"], *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)


def expect(ran, what):
    if ran.returncode != 0:
        raise CheckFailed(f"{what}: exit {ran.returncode}\n{ran.stdout}\n{ran.stderr}")
    return ran.stdout


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def simulator(binary, work):
    log = open(work / "sim.log", "w")
    process = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True)
    line = process.stdout.readline()
    if not line:
        raise CheckFailed(f"the simulator did not start: {(work / 'sim.log').read_text()}")
    return process, json.loads(line)


def check(dockerfile, binary, sim_binary):
    spec = runtime_stage(dockerfile)
    wanted = packages(spec["runs"])
    print(f"image-check: runtime stage: debian {spec['release']}, packages {' '.join(wanted)}, "
          f"user {spec['uid']}:{spec['gid']}, volume {spec['volume']}, entrypoint {spec['entrypoint']}")
    cache = Path(os.environ.get("BULKOPS_CACHE", Path.home() / ".cache/bulkops")) / "image-rootfs"
    base = rootfs(spec, cache)
    for package in wanted:
        name, _, version = package.partition("=")
        have = installed_version(base, name)
        if version and have != version:
            raise CheckFailed(f"{name} {have} is installed, the Dockerfile pins {version}")
    work = Path(tempfile.mkdtemp(prefix="bulkops-image-"))
    image = sim = None
    try:
        image = Image(spec, base, binary, work)
        version = tomllib.loads(Path(dockerfile).with_name("Cargo.toml").read_text())["package"]["version"]
        out = expect(image.run(["--version"], {}), "bulkops --version").strip()
        if out != f"bulkops {version}":
            raise CheckFailed(f"bulkops --version printed {out!r}, Cargo.toml says {version}")
        print(f"image-check: {out} runs as {spec['uid']}:{spec['gid']} with no shell in the image")

        sim, server = simulator(sim_binary, work)
        now = datetime.now(timezone.utc)
        window = {"created_from": (now - timedelta(minutes=50)).isoformat(),
                  "created_to": (now - timedelta(minutes=5)).isoformat()}
        post(f"{server['url']}/_sim/seed", {"runs": RUNS, "status": "QUEUED", "workflow": "image-wf", **window})
        post(f"{server['url']}/_sim/seed", {"runs": OTHER_RUNS, "status": "QUEUED", "workflow": "other-wf", **window})
        token = {"HATCHET_CLIENT_TOKEN": server["token"]}
        ran = image.run(["-o", "json", "runs", "cancel", "--since", "1h", "--status", "QUEUED",
                         "--workflow", "image-wf", "--rate", "200", "--yes", "--reason", "image check"], token)
        summary = json.loads(expect(ran, "bulkops runs cancel").strip().splitlines()[-1])
        if summary["counts"]["done"] != RUNS or summary["counts"]["total"] != RUNS:
            raise CheckFailed(f"the cancel job ended with {summary['counts']}, not {RUNS} done")
        with urllib.request.urlopen(f"{server['url']}/_sim/stats", timeout=30) as response:
            stats = json.load(response)
        by_workflow = stats["runs_by_workflow"]
        if by_workflow["image-wf"]["CANCELLED"] != RUNS or by_workflow["other-wf"]["QUEUED"] != OTHER_RUNS:
            raise CheckFailed(f"the simulator holds {by_workflow}")
        state = image.volume / Path(spec["env"]["BULKOPS_STATE"]).relative_to(spec["volume"])
        if not state.is_file() or state.stat().st_uid != spec["uid"]:
            raise CheckFailed(f"no state file of uid {spec['uid']} on the volume at {state}")
        shown = json.loads(expect(image.run(["-o", "json", "config", "show"], {}), "bulkops config show"))
        state_shown = next(s for s in shown["settings"] if s["name"] == "state")
        if (state_shown["value"], state_shown["source"]) != (spec["env"]["BULKOPS_STATE"], "env"):
            raise CheckFailed(f"config show in the image gives the state as {state_shown}, not the image's ENV")
        listed = json.loads(expect(image.run(["-o", "json", "jobs", "list"], {}), "bulkops jobs list"))
        if summary["job"] not in json.dumps(listed):
            raise CheckFailed(f"jobs list in a new process does not show job {summary['job']}: {listed}")
        print(f"image-check: cancelled {RUNS} runs on the simulator from the image (other-wf untouched); "
              f"job {summary['job']} is in {spec['env']['BULKOPS_STATE']} on the volume")
    finally:
        if sim:
            sim.kill()
            sim.wait()
        if image:
            image.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        check(*sys.argv[1:])
    except (CheckFailed, subprocess.CalledProcessError) as error:
        sys.exit(f"image-check: {error}")
    print("image-check: ok")


if __name__ == "__main__":
    main()
