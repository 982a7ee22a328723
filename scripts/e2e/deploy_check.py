#!/usr/bin/env python3
"""Checks the deploy/ recipes without a Docker engine or a cluster.

Parses deploy/Dockerfile, deploy/docker-compose.yml (+ deploy/compose/*.toml),
deploy/kubernetes/*.yaml and deploy/systemd/sessiongate.service, and checks that they agree
with proxy.toml.example and with each other: ports, probe endpoints, the config path, the
secrets every `${NAME}` needs, grace periods versus drain_timeout, the sandbox, and that the
Dockerfile's build command is the one the READMEs tell people to run. Every shipped config is
also validated by `.build/debug/sessiongate check`. Exit 1 on any failure, with one line each.

Every Dockerfile in the repository is also checked against the build context it is built with
(docker-compose.yml's `build:` and every `docker build` command in the docs): the context is
taken from a clean clone of HEAD (tracked files only, never the working tree), so a `COPY`/`ADD`
of a file that is not in git, or that the Dockerfile's .dockerignore excludes, fails here as it
would fail `docker build` on a fresh clone.

Usage: deploy_check.py [--dockerfile PATH]   (PATH stands in for deploy/Dockerfile, e.g. an old
version from `git show REV:deploy/Dockerfile`)
"""

import argparse
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"  # --dockerfile replaces it
BINARY = ROOT / ".build" / "debug" / "sessiongate"
CONFIG_PATH = "/etc/sessiongate/proxy.toml"
BUILD_COMMAND_START = "swift build -c release"

failures: list[str] = []
passed = 0


def check(condition: bool, message: str) -> bool:
    """Records `message` as a failure unless `condition` holds."""
    global passed
    if condition:
        passed += 1
    else:
        failures.append(message)
    return condition


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def host_of(address: str) -> str:
    return address.rsplit(":", 1)[0].strip("[]")


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(int(n) * units[u] for n, u in parts)


def env_references(value) -> set[str]:
    """`${NAME}` references in a string, or in every string value of a parsed config."""
    if isinstance(value, dict):
        return set().union(*(env_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(env_references(v) for v in value))
    if isinstance(value, str):
        return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value))
    return set()


def url_parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, ignoring any user:password@."""
    match = re.fullmatch(r"([a-z]+)://(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(/.*)?", url)
    assert match, f"not a URL: {url}"
    default = {"http": 80, "https": 443, "redis": 6379, "postgres": 5432}.get(match[1], 0)
    return match[1], match[2].strip("[]"), int(match[3] or default)


# ---- proxy.toml.example: the reference ------------------------------------------------------

EXAMPLE = tomllib.loads((ROOT / "proxy.toml.example").read_text())
EXAMPLE_LISTEN = port_of(EXAMPLE["server"]["listen"])
EXAMPLE_ADMIN = port_of(EXAMPLE["server"]["admin_listen"])


def drain_seconds(config: dict) -> float:
    return seconds(config.get("server", {}).get("drain_timeout", EXAMPLE["server"].get("drain_timeout", "30s")))


def check_listeners(config: dict, where: str, hosts: tuple[str, ...]) -> None:
    """The ports are the example's; the hosts are reachable where they must be."""
    server = config["server"]
    check(port_of(server["listen"]) == EXAMPLE_LISTEN,
          f"{where}: listen port {port_of(server['listen'])} != proxy.toml.example's {EXAMPLE_LISTEN}")
    check(port_of(server["admin_listen"]) == EXAMPLE_ADMIN,
          f"{where}: admin_listen port {port_of(server['admin_listen'])} != proxy.toml.example's {EXAMPLE_ADMIN}")
    check(host_of(server["listen"]) in hosts, f"{where}: listen host {host_of(server['listen'])} not in {hosts}")
    check(host_of(server["admin_listen"]) in hosts + ("127.0.0.1",),
          f"{where}: admin_listen host {host_of(server['admin_listen'])} unreachable by health checks")


# ---- Dockerfile -------------------------------------------------------------------------------

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#")))
    out = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out


def extract_build_command(line: str) -> str:
    start = line.index(BUILD_COMMAND_START)
    return re.split(r"\s*(?:&&|\|\||;|`|#|\\$)", line[start:], maxsplit=1)[0].strip()


def check_dockerfile() -> str:
    path = DOCKERFILE
    instructions = dockerfile_instructions(path.read_text())
    args = {}
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            stages.append([(keyword, re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], ""), rest))])
        elif stages:
            stages[-1].append((keyword, rest))
    check(len(stages) >= 2, "Dockerfile: not a multi-stage build")
    build_image = stages[0][0][1].split()[0]
    runtime_image = stages[-1][0][1].split()[0]
    check(build_image.startswith("swift:"), f"Dockerfile: build stage is {build_image}, not a swift image")
    check(not runtime_image.startswith("swift:"), f"Dockerfile: runtime stage {runtime_image} is the full toolchain")

    check_toolchain(build_image)

    runs = [rest for stage in stages for keyword, rest in stage if keyword == "RUN" and BUILD_COMMAND_START in rest]
    check(len(runs) == 1, f"Dockerfile: {len(runs)} RUN lines contain '{BUILD_COMMAND_START}', expected 1")
    command = extract_build_command(runs[0]) if runs else ""
    check("--static-swift-stdlib" in command.split(), f"Dockerfile: build without --static-swift-stdlib: {command}")
    check("--product sessiongate" in command, f"Dockerfile: build does not name --product sessiongate: {command}")

    final = {keyword: rest for keyword, rest in stages[-1]}
    user = final.get("USER", "root").split(":")[0]
    check(user not in ("root", "0"), "Dockerfile: the runtime stage runs as root")
    check(any(k == "COPY" and r.startswith("--from=") and "sessiongate" in r for k, r in stages[-1]),
          "Dockerfile: the runtime stage does not copy the built binary")
    exposed = {int(p.split("/")[0]) for p in final.get("EXPOSE", "").split()}
    check({EXAMPLE_LISTEN, EXAMPLE_ADMIN} <= exposed, f"Dockerfile: EXPOSE {sorted(exposed)} lacks 8080/9090")
    health = final.get("HEALTHCHECK", "")
    match = re.search(r"http://[^/\s\"]+:(\d+)(/[^\s\"]*)", health)
    check(bool(match), "Dockerfile: HEALTHCHECK has no http URL")
    if match:
        check(int(match[1]) == EXAMPLE_ADMIN, f"Dockerfile: HEALTHCHECK port {match[1]} != admin port {EXAMPLE_ADMIN}")
        check(match[2] == "/livez", f"Dockerfile: HEALTHCHECK probes {match[2]}, not /livez")
    cmd = yaml.safe_load(final.get("CMD", "[]"))
    entry = yaml.safe_load(final.get("ENTRYPOINT", "[]"))
    check(bool(entry) and entry[-1].endswith("/sessiongate"), f"Dockerfile: ENTRYPOINT {entry}")
    check(cmd == ["serve", "--config", CONFIG_PATH], f"Dockerfile: CMD {cmd} does not serve {CONFIG_PATH}")
    check(final.get("STOPSIGNAL") == "SIGTERM", "Dockerfile: STOPSIGNAL is not SIGTERM (graceful drain)")
    return command


def tools_version(manifest: Path) -> tuple[int, ...]:
    match = re.match(r"//\s*swift-tools-version:\s*(\d+(?:\.\d+)*)", manifest.read_text())
    return tuple(int(part) for part in match[1].split(".")) if match else (0,)


def check_toolchain(build_image: str) -> None:
    """The build image's Swift can read every manifest: the root and each resolved dependency
    (a dependency counts with its oldest variant, Package@swift-X.Y.swift included)."""
    match = re.match(r"swift:(\d+)\.(\d+)", build_image)
    if not check(bool(match), f"Dockerfile: build image {build_image} names no Swift version (swift:X.Y-...)"):
        return
    image = (int(match[1]), int(match[2]))
    checkouts = ROOT / ".build" / "checkouts"
    check(checkouts.is_dir(), f"{checkouts} is missing: resolve the package first")
    needs = {"the root package": tools_version(ROOT / "Package.swift")}
    for package in sorted(checkouts.iterdir()) if checkouts.is_dir() else []:
        manifests = list(package.glob("Package.swift")) + list(package.glob("Package@swift-*.swift"))
        if manifests:
            needs[package.name] = min(tools_version(m) for m in manifests)
    for name, version in needs.items():
        check(version[:2] <= image, f"Dockerfile: {build_image} is older than the Swift "
              f"{'.'.join(map(str, version))} that {name} needs")


def check_readmes(dockerfile_command: str) -> None:
    """Every README line that shows the release build shows the Dockerfile's command."""
    found_in_deploy = 0
    for readme in (DEPLOY / "README.md", ROOT / "README.md"):
        if not readme.exists():
            continue
        for number, line in enumerate(readme.read_text().splitlines(), 1):
            if BUILD_COMMAND_START not in line:
                continue
            found_in_deploy += readme.parent == DEPLOY
            command = extract_build_command(line)
            check(command == dockerfile_command,
                  f"{readme.relative_to(ROOT)}:{number} builds with `{command}`, "
                  f"deploy/Dockerfile with `{dockerfile_command}`: make them the same")
    check(found_in_deploy > 0, f"deploy/README.md shows no '{BUILD_COMMAND_START}' command")


# ---- build contexts: what a clean clone gives `docker build` ----------------------------------

# `docker build` options that take a value (so that the value is not taken for the context).
BUILD_OPTIONS_WITH_VALUE = {"-f", "--file", "-t", "--tag", "--build-arg", "--target", "--platform", "--label",
                            "--secret", "--ssh", "--cache-from", "--cache-to", "-o", "--output", "--progress",
                            "--network", "--build-context", "--iidfile", "--metadata-file", "--add-host", "--shm-size"}


def clean_clone(folder: Path) -> Path | None:
    """A clone of HEAD (tracked files only) in `folder`, or None (and a failure) without git."""
    clone = folder / "clone"
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if not check(head.returncode == 0, f"build context: {ROOT} is not a git checkout with a commit: {head.stderr.strip()}"):
        return None
    steps = (["git", "clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(clone)],
             ["git", "-C", str(clone), "-c", "advice.detachedHead=false", "checkout", "--quiet", head.stdout.strip()])
    for step in steps:
        run = subprocess.run(step, capture_output=True, text=True, timeout=120)
        if not check(run.returncode == 0, f"build context: {' '.join(step[:2])} failed: {run.stderr.strip()}"):
            return None
    return clone


def tracked_files() -> list[str]:
    """The repository paths git tracks in this checkout (`git ls-files`)."""
    return subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True).stdout.splitlines()


def tracked_dockerfiles() -> list[str]:
    """Repository paths of the Dockerfiles git tracks (Dockerfile, Dockerfile.*, *.Dockerfile;
    not their .dockerignore files)."""
    return sorted(f for f in tracked_files() if not f.endswith(".dockerignore") and
                  (posixpath.basename(f) == "Dockerfile" or posixpath.basename(f).startswith("Dockerfile.")
                   or f.endswith(".Dockerfile")))


def documented_builds() -> list[tuple[str, str, str]]:
    """(where, Dockerfile path, context path), repository-relative, for every way the repository
    says to build an image: docker-compose `build:` entries and `docker build` commands in the
    docs and in Dockerfile comments: lines that start with the command (run from the repository
    root, as they say)."""
    builds = []
    tracked = tracked_files()
    compose_files = [f for f in tracked if re.fullmatch(r"(docker-)?compose[\w.-]*\.ya?ml", posixpath.basename(f))]
    for compose_path in (ROOT / f for f in compose_files):
        compose = yaml.safe_load(compose_path.read_text()) or {}
        for name, service in (compose.get("services") or {}).items():
            build = (service or {}).get("build")
            if build is None:
                continue
            build = {"context": build} if isinstance(build, str) else build
            base = compose_path.parent
            context = os.path.relpath((base / build.get("context", ".")).resolve(), ROOT)
            dockerfile = os.path.relpath((base / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve(), ROOT)
            builds.append((f"{compose_path.relative_to(ROOT)} service {name}", dockerfile, context))
    sources = [ROOT / f for f in tracked if f.endswith(".md")] + [ROOT / f for f in tracked_dockerfiles()]
    for source in sources:
        if not source.is_file():
            continue
        for number, line in enumerate(source.read_text().splitlines(), 1):
            match = re.match(r"\s*(?:#\s*)?(?:\$\s*)?docker (?:image |buildx )?build\b(.*)", line)
            if not match:
                continue
            try:
                words = shlex.split(match[1].split(" #", 1)[0].split("`", 1)[0], comments=True)
            except ValueError:
                continue
            dockerfile, positional, index = None, [], 0
            while index < len(words):
                word = words[index]
                name = word.split("=", 1)[0]
                if name in ("-f", "--file"):
                    dockerfile = word.split("=", 1)[1] if "=" in word else (words[index + 1] if index + 1 < len(words) else "")
                if word.startswith("-"):
                    index += 2 if name in BUILD_OPTIONS_WITH_VALUE and "=" not in word else 1
                    continue
                positional.append(word)
                index += 1
            if not positional or positional[-1].startswith(("http://", "https://", "git@", "-")):
                continue  # a remote context, or not a command after all
            context = os.path.normpath(positional[-1])
            dockerfile = os.path.normpath(dockerfile) if dockerfile else posixpath.join(context, "Dockerfile")
            builds.append((f"{source.relative_to(ROOT)}:{number}", dockerfile, context))
    return builds


def path_pattern(pattern: str) -> re.Pattern:
    """Go's filepath.Match syntax (`*` and `?` stop at `/`, `[...]` classes) plus `**` (any depth),
    as Docker matches COPY sources and .dockerignore lines."""
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
            continue
        char = pattern[index]
        if char == "[" and "]" in pattern[index + 1:]:
            end = pattern.index("]", index + 1)
            regex += "[" + pattern[index + 1:end] + "]"
            index = end + 1
            continue
        regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        index += 1
    return re.compile(regex)


def self_and_parents(path: str) -> list[str]:
    """"a/b/c" → ["a", "a/b", "a/b/c"]: a pattern that matches a folder matches what is inside."""
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]


def dockerignore_rules(text: str) -> list[tuple[bool, str, re.Pattern]]:
    """(exception?, line, pattern) per line of a .dockerignore, in order (BuildKit's rules: the
    last matching line wins; a line that matches a folder matches everything inside it)."""
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = posixpath.normpath(line[1:].strip() if exception else line).lstrip("/")
        rules.append((exception, line, path_pattern(pattern)))
    return rules


def ignored(path: str, rules: list[tuple[bool, str, re.Pattern]]) -> bool:
    result = False
    for exception, _, pattern in rules:
        if any(pattern.fullmatch(part) for part in self_and_parents(path)):
            result = not exception
    return result


def copy_sources(rest: str) -> tuple[list[str], bool]:
    """The sources of a COPY/ADD line (flags and the destination dropped) and whether they come
    from the build context (not --from=another stage or image)."""
    words = rest.split()
    flags = [w for w in words if w.startswith("--")]
    arguments = [w for w in words if not w.startswith("--")]
    from_context = not any(flag.startswith("--from=") for flag in flags)
    body = " ".join(arguments)
    if body.startswith("["):
        try:
            arguments = yaml.safe_load(body)
        except yaml.YAMLError:
            return [], from_context
    if any(a.startswith("<<") for a in arguments):
        return [], from_context  # a heredoc: no file from the context
    return arguments[:-1], from_context


def check_build_contexts() -> None:
    """Every COPY/ADD source of every Dockerfile exists in a clean clone, in each context it is
    built with, and its .dockerignore does not exclude it."""
    builds = documented_builds()
    dockerfiles = tracked_dockerfiles()
    check(bool(dockerfiles), "build context: git tracks no Dockerfile")
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as folder:
        clone = clean_clone(Path(folder))
        if clone is None:
            return
        for where, file, context in builds:
            check((clone / context).is_dir() and not context.startswith(".."),
                  f"{where}: build context {context!r} is not a folder of a clean clone")
            check((clone / file).is_file(), f"{where}: {file} is not in a clean clone (not committed?)")
        for dockerfile in dockerfiles:
            path = DOCKERFILE if ROOT / dockerfile == DEPLOY / "Dockerfile" else ROOT / dockerfile
            contexts = {context for _, file, context in builds if file == dockerfile and (clone / context).is_dir()}
            if not check(bool(contexts), f"{dockerfile}: no docker-compose build or documented `docker build` builds it"):
                continue
            for context in sorted(contexts):
                check_copies(dockerfile, path, clone, context)


def check_copies(dockerfile: str, path: Path, clone: Path, context: str) -> None:
    """The COPY/ADD sources of the Dockerfile at `path` (checked as `dockerfile`), in `context`."""
    # BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile, else <context>/.dockerignore
    # (like the Dockerfile, read from the working tree: they are what is being checked).
    candidates = (Path(f"{path}.dockerignore"), ROOT / f"{dockerfile}.dockerignore", ROOT / context / ".dockerignore")
    ignore = next((candidate for candidate in candidates if candidate.is_file()), candidates[-1])
    rules = dockerignore_rules(ignore.read_text()) if ignore.is_file() else []
    root = (clone / context).resolve()
    files = sorted(str(f.relative_to(root)) for f in root.rglob("*") if f.is_file() and ".git" not in f.relative_to(root).parts)
    sent = {f for f in files if not ignored(f, rules)}
    where = f"{dockerfile if path == ROOT / dockerfile else f'{path} (as {dockerfile})'} (context {context})"
    args = {}
    for keyword, rest in dockerfile_instructions(path.read_text()):
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args.setdefault(name, default)
        if keyword not in ("COPY", "ADD"):
            continue
        sources, from_context = copy_sources(rest)
        if not from_context:
            continue
        for source in sources:
            source = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), source)
            if keyword == "ADD" and re.match(r"(https?|git)://|git@", source):
                continue  # fetched by the build, not from the context
            relative = posixpath.normpath(source.lstrip("/"))
            if not check(relative != ".." and not relative.startswith("../"), f"{where}: {keyword} {source} leaves the build context"):
                continue
            if relative == ".":
                check(bool(sent), f"{where}: {keyword} . copies nothing: the .dockerignore excludes every file")
                continue
            pattern = path_pattern(relative)
            matching = [f for f in files if any(pattern.fullmatch(part) for part in self_and_parents(f))]
            if not check(bool(matching), f"{where}: {keyword} {source}: not in a clean clone of HEAD "
                         f"(untracked, git-ignored or not committed), so `docker build` fails on a fresh clone"):
                continue
            check(any(f in sent for f in matching),
                  f"{where}: {keyword} {source}: excluded by {ignore.name}, so `docker build` does not find it")
    for exception, line, pattern in rules:
        if exception and not any(pattern.fullmatch(part) for f in files for part in self_and_parents(f)):
            print(f"note: {ignore.name}: the exception {line} names nothing in a clean clone")


# ---- docker compose ---------------------------------------------------------------------------

def expand_default(text: str) -> str:
    """Compose's ${NAME:-default} with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def service_port(service: dict) -> set[int]:
    ports = {int(str(p).split("/")[0]) for p in service.get("expose", [])}
    port_env = service.get("environment", {}).get("PORT")
    return ports | ({int(port_env)} if port_env else set())


def check_compose() -> list[Path]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    for name in ("sessiongate", "app", "redis", "postgres"):
        check(name in services, f"docker-compose.yml: no {name} service")
    proxy = services.get("sessiongate", {})
    build = proxy.get("build", {})
    context = (DEPLOY / build.get("context", ".")).resolve()
    check(context == ROOT, f"docker-compose.yml: build context {context} is not the repository root")
    check((context / build.get("dockerfile", "Dockerfile")).resolve() == DEPLOY / "Dockerfile",
          "docker-compose.yml: sessiongate is not built from deploy/Dockerfile")

    command = [expand_default(part) for part in proxy.get("command", [])]
    config_path = command[command.index("--config") + 1] if "--config" in command else None
    check(config_path == CONFIG_PATH, f"docker-compose.yml: default --config {config_path} != {CONFIG_PATH}")
    mounts = {}
    for volume in proxy.get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts[target] = (DEPLOY / source).resolve()
    config_dir = mounts.get(os.path.dirname(CONFIG_PATH))
    check(config_dir is not None and config_dir.is_dir(), "docker-compose.yml: no host folder mounted at /etc/sessiongate")
    configs = sorted(config_dir.glob("*.toml")) if config_dir else []
    check((config_dir / os.path.basename(CONFIG_PATH)) in configs if config_dir else False,
          "docker-compose.yml: the mounted folder has no proxy.toml")

    published = []
    for mapping in proxy.get("ports", []):
        parts = str(mapping).split(":")
        published.append((int(parts[-2]), int(parts[-1].split("/")[0]), parts[0] if len(parts) == 3 else ""))
    check([p[1] for p in published] == [EXAMPLE_LISTEN],
          f"docker-compose.yml: publishes container ports {[p[1] for p in published]}, expected only {EXAMPLE_LISTEN}")
    check(all(p[2] == "127.0.0.1" for p in published), "docker-compose.yml: publishes beyond the host's loopback")
    environment = proxy.get("environment", {})
    for name in ("app", "redis", "postgres"):
        check(services.get(name, {}).get("ports") is None, f"docker-compose.yml: {name} is published to the host")
        check("healthcheck" in services.get(name, {}), f"docker-compose.yml: {name} has no healthcheck")
        check(proxy.get("depends_on", {}).get(name, {}).get("condition") == "service_healthy",
              f"docker-compose.yml: sessiongate does not wait for {name} to be healthy")

    for path in configs:
        where = f"deploy/{path.relative_to(DEPLOY)}"
        text = path.read_text()
        config = tomllib.loads(text)
        check_listeners(config, where, ("0.0.0.0",))
        scheme, host, port = url_parts(config["upstream"]["url"])
        check(host in services and port in service_port(services[host]),
              f"{where}: upstream {host}:{port} is not a compose service listening there")
        store = config.get("store", {})
        if "url" in store:
            _, host, port = url_parts(store["url"])
            check(host in services and port in service_port(services[host]),
                  f"{where}: store {host}:{port} is not a compose service exposing that port")
        missing = env_references(config) - set(environment)
        check(not missing, f"{where}: ${{{', '.join(sorted(missing))}}} not in sessiongate's environment")
        check(seconds(str(proxy.get("stop_grace_period", "10s"))) > drain_seconds(config),
              f"docker-compose.yml: stop_grace_period does not exceed {where}'s drain_timeout")
        if config.get("signing", {}).get("algorithm") == "HS256":
            variable = lambda value: re.match(r"\$\{(\w+)", str(value or ""))  # noqa: E731
            app_secret = variable(services["app"].get("environment", {}).get("SESSIONGATE_SIGNING_SECRET"))
            proxy_secret = variable(environment.get("SESSIONGATE_SIGNING_SECRET"))
            check(bool(app_secret and proxy_secret) and app_secret[1] == proxy_secret[1],
                  "docker-compose.yml: the app and the proxy do not share SESSIONGATE_SIGNING_SECRET")

    app_source = next((DEPLOY / v.split(":")[0] for v in services.get("app", {}).get("volumes", [])), None)
    check(app_source is not None and (app_source / "app.py").is_file(),
          "docker-compose.yml: the app does not mount examples/upstream/python")
    return configs


# ---- Kubernetes -------------------------------------------------------------------------------

def named_port(container: dict, port) -> int | None:
    if isinstance(port, int):
        return port
    return next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == port), None)


def check_kubernetes() -> list[tuple[str, str]]:
    """Returns (name, text) of every proxy.toml in a ConfigMap."""
    configs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        where = f"deploy/{path.relative_to(DEPLOY)}"
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        by_kind: dict[str, list[dict]] = {}
        for document in documents:
            check({"apiVersion", "kind", "metadata"} <= set(document), f"{where}: a document lacks apiVersion/kind/metadata")
            by_kind.setdefault(document.get("kind"), []).append(document)
        for kind in ("Deployment", "ConfigMap", "Secret", "Service"):
            check(kind in by_kind, f"{where}: no {kind}")
        secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
        config_maps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
        for deployment in by_kind.get("Deployment", []):
            check_deployment(deployment, where, secrets, config_maps, by_kind.get("Service", []), configs)
    return configs


def check_deployment(deployment, where, secrets, config_maps, services, configs) -> None:
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    containers = spec["containers"]
    sidecar = next((c for c in containers if c["name"] == "sessiongate"), None)
    if not check(sidecar is not None and len(containers) >= 2, f"{where}: no sessiongate container next to an app"):
        return
    args = sidecar.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else None
    check(config_path == CONFIG_PATH, f"{where}: sessiongate --config {config_path} != {CONFIG_PATH}")
    mount = next((m for m in sidecar.get("volumeMounts", []) if m["mountPath"] == os.path.dirname(CONFIG_PATH)), None)
    volume = next((v for v in spec.get("volumes", []) if mount and v["name"] == mount["name"]), None)
    config_map = config_maps.get((volume or {}).get("configMap", {}).get("name"))
    text = (config_map or {}).get("data", {}).get(os.path.basename(CONFIG_PATH))
    if not check(text is not None, f"{where}: {CONFIG_PATH} is not mounted from a ConfigMap holding proxy.toml"):
        return
    configs.append((f"{where} ConfigMap {config_map['metadata']['name']}", text))
    config = tomllib.loads(text)
    check_listeners(config, f"{where} proxy.toml", ("0.0.0.0",))
    listen, admin = port_of(config["server"]["listen"]), port_of(config["server"]["admin_listen"])
    check(named_port(sidecar, "http") == listen, f"{where}: container port 'http' != listen port {listen}")
    check(named_port(sidecar, "admin") == admin, f"{where}: container port 'admin' != admin port {admin}")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        get = sidecar.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path, f"{where}: {probe} path {get.get('path')} != {path}")
        check(named_port(sidecar, get.get("port")) == admin, f"{where}: {probe} is not on the admin port {admin}")
    annotations = pod.get("metadata", {}).get("annotations", {})
    if "prometheus.io/port" in annotations:
        check(int(annotations["prometheus.io/port"]) == admin, f"{where}: prometheus.io/port != admin port")
        check(annotations.get("prometheus.io/path", "/metrics") == "/metrics", f"{where}: prometheus.io/path")

    _, host, port = url_parts(config["upstream"]["url"])
    app_ports = {p["containerPort"] for c in containers if c is not sidecar for p in c.get("ports", [])}
    check(host in ("127.0.0.1", "localhost", "::1") and port in app_ports,
          f"{where}: upstream {host}:{port} is not an app container on the pod's loopback")
    for container in containers:
        requests = container.get("resources", {}).get("requests", {})
        check({"cpu", "memory"} <= set(requests), f"{where}: container {container['name']} lacks cpu/memory requests")

    provided = set()
    for source in sidecar.get("envFrom", []):
        secret = secrets.get(source.get("secretRef", {}).get("name"))
        check(secret is not None, f"{where}: envFrom names a Secret the file does not define")
        provided |= set((secret or {}).get("stringData", {})) | set((secret or {}).get("data", {}))
    provided |= {e["name"] for e in sidecar.get("env", [])}
    missing = env_references(config) - provided
    check(not missing, f"{where}: ${{{', '.join(sorted(missing))}}} not provided by the Secret or env")

    security = {**spec.get("securityContext", {}), **sidecar.get("securityContext", {})}
    check(security.get("runAsNonRoot") is True, f"{where}: runAsNonRoot is not set")
    check(security.get("runAsUser") == 10001, f"{where}: sessiongate runAsUser != the image's uid 10001")
    check(security.get("allowPrivilegeEscalation") is False, f"{where}: sessiongate allows privilege escalation")
    check(security.get("readOnlyRootFilesystem") is True, f"{where}: sessiongate root file system is writable")
    pre_stop = sidecar.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pause = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
    grace = spec.get("terminationGracePeriodSeconds", 30)
    check(grace > drain_seconds(config) + pause,
          f"{where}: terminationGracePeriodSeconds {grace} <= drain_timeout + preStop {drain_seconds(config) + pause}")

    labels = pod["metadata"].get("labels", {})
    selecting = [s for s in services if s["spec"].get("selector", {}).items() <= labels.items()]
    check(bool(selecting), f"{where}: no Service selects the pods")
    for service in selecting:
        for port in service["spec"].get("ports", []):
            target = named_port(sidecar, port.get("targetPort"))
            check(target == listen, f"{where}: Service port {port.get('name')} targets {target}, not listen {listen}")


# ---- systemd ----------------------------------------------------------------------------------

REQUIRED_SANDBOX = {
    "DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
    "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes", "RestrictNamespaces": "yes",
}


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def check_systemd() -> None:
    path = DEPLOY / "systemd" / "sessiongate.service"
    where = f"deploy/{path.relative_to(DEPLOY)}"
    text = path.read_text()
    unit = unit_settings(text)
    service = lambda key: unit.get(f"Service.{key}", [None])[-1]  # noqa: E731
    start = shlex.split(service("ExecStart") or "")
    check(start[:1] == ["/usr/local/bin/sessiongate"] and start[1:] == ["serve", "--config", CONFIG_PATH],
          f"{where}: ExecStart {start} does not serve {CONFIG_PATH}")
    check(shlex.split(service("ExecStartPre") or "")[1:] == ["check", "--config", CONFIG_PATH],
          f"{where}: ExecStartPre does not run sessiongate check on {CONFIG_PATH}")
    for key, value in REQUIRED_SANDBOX.items():
        check(service(key) == value, f"{where}: {key}={service(key)}, expected {key}={value!r}")
    check("@system-service" in unit.get("Service.SystemCallFilter", []), f"{where}: no SystemCallFilter=@system-service")
    families = set((service("RestrictAddressFamilies") or "").split())
    check(families and families <= {"AF_INET", "AF_INET6", "AF_UNIX"}, f"{where}: RestrictAddressFamilies={families}")
    check(service("KillSignal") in (None, "SIGTERM"), f"{where}: KillSignal is not SIGTERM")
    stop = seconds(service("TimeoutStopSec") + ("s" if (service("TimeoutStopSec") or "").isdigit() else ""))
    check(stop > drain_seconds(EXAMPLE), f"{where}: TimeoutStopSec {stop}s <= drain_timeout {drain_seconds(EXAMPLE)}s")
    check(service("EnvironmentFile") is not None, f"{where}: no EnvironmentFile for the secrets")
    check(unit.get("Install.WantedBy") == ["multi-user.target"], f"{where}: not WantedBy=multi-user.target")

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("note: systemd-analyze not installed; unit syntax and exposure score not checked")
        return
    with tempfile.TemporaryDirectory() as folder:
        # verify resolves ExecStart: point it at the built binary.
        copy = Path(folder) / "sessiongate.service"
        copy.write_text(text.replace("/usr/local/bin/sessiongate", str(BINARY)))
        verify = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
        check(verify.returncode == 0 and not verify.stderr.strip(),
              f"{where}: systemd-analyze verify: {verify.stderr.strip() or verify.returncode}")
        security = subprocess.run([analyze, "security", "--offline=yes", "--threshold=20", str(copy)],
                                  capture_output=True, text=True, timeout=60)
        score = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
        check(security.returncode == 0, f"{where}: exposure {score[1] if score else '?'} above 2.0")


# ---- sessiongate check on every shipped config --------------------------------------------------

def check_configs_with_binary(files: list[tuple[str, str]]) -> None:
    if not check(BINARY.is_file(), f"{BINARY} is missing: run swift build --product sessiongate first"):
        return
    keygen = lambda *flags: subprocess.run([str(BINARY), "keygen", *flags], capture_output=True,  # noqa: E731
                                           text=True, check=True, timeout=30).stdout.strip()
    real = {"SESSIONGATE_KEY": keygen(), "SESSIONGATE_KEY_OLD": keygen(), "SESSIONGATE_SIGNING_SECRET": keygen(),
            "SESSIONGATE_ED25519_KEY": keygen("--ed25519")}
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, text) in enumerate(files):
            path = Path(folder) / f"config-{index}.toml"
            path.write_text(text)
            environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            environment |= {ref: real.get(ref, "dummy-password-0123") for ref in env_references(text)}
            run = subprocess.run([str(BINARY), "check", "--config", str(path)], env=environment,
                                 capture_output=True, text=True, timeout=60)
            check(run.returncode == 0, f"{name}: sessiongate check failed: {(run.stderr or run.stdout).strip()}")
            if "SESSIONGATE_KEY" in environment:
                # The Kubernetes Secret's placeholders must be refused, never run with.
                environment["SESSIONGATE_KEY"] = "REPLACE-ME: sessiongate keygen"
                run = subprocess.run([str(BINARY), "check", "--config", str(path)], env=environment,
                                     capture_output=True, text=True, timeout=60)
                check(run.returncode != 0, f"{name}: sessiongate check accepts a placeholder cookie key")


def main() -> int:
    global DOCKERFILE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dockerfile", type=Path, help="check this file in place of deploy/Dockerfile")
    options = parser.parse_args()
    if options.dockerfile:
        DOCKERFILE = options.dockerfile.resolve()
    for path in sorted(DEPLOY.rglob("*.y*ml")):
        try:
            list(yaml.safe_load_all(path.read_text()))
            check(True, "")
        except yaml.YAMLError as error:
            check(False, f"deploy/{path.relative_to(DEPLOY)}: not valid YAML: {error}")
    dockerfile_command = check_dockerfile()
    check_readmes(dockerfile_command)
    check_build_contexts()
    compose_configs = check_compose()
    kubernetes_configs = check_kubernetes()
    check_systemd()
    shipped = [("proxy.toml.example", (ROOT / "proxy.toml.example").read_text())]
    shipped += [(f"deploy/{p.relative_to(DEPLOY)}", p.read_text()) for p in compose_configs]
    shipped += kubernetes_configs
    check_configs_with_binary(shipped)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"deploy check: {passed} checks passed, {len(failures)} failed "
          f"({len(shipped)} configs, build command `{dockerfile_command}`)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
