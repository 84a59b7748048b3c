"""BuildKit (``buildctl`` against a ``buildkitd``) as the image builder.

It builds and pushes in one step, reproducibly: every timestamp (the image config, the
history, the files in each layer) is the commit's time (``SOURCE_DATE_EPOCH``), so one
commit built twice, from two fresh checkouts, gives one digest. ``RUN`` steps get no
network, as with the Docker builder, unless ``add_hosts`` is given: then they use the
worker's network (the stack's buildkitd: a fenced CNI bridge whose only open door is the
Go module proxy) and resolve those names.

Its Dockerfile frontend sets the automatic platform arguments (``BUILDPLATFORM``, ...)
itself, so seamline's build copy leaves ``--platform=$BUILDPLATFORM`` as written; the
values it sets are those of buildkitd's worker, which ``platform`` reports. buildkitd
keeps no images by name: every base comes from a registry.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from seamline.adapters.build_failure import build_failure
from seamline.adapters.oci_layout import OciLayout
from seamline.adapters.platform import platform_args
from seamline.adapters.roles import ImageRegistry
from seamline.errors import SeamlineError, ServiceUnavailable, ToolFailed
from seamline.tools.limits import heavy
from seamline.tools.process import last_lines, run
from seamline.validate.image_ref import ImageRef

BUILD_TIMEOUT_S = 1800.0
WORKERS_TIMEOUT_S = 30.0
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# buildctl's own summary of a failed solve: "error: failed to solve: <why>".
_FAILED = re.compile(r"^error: (?:failed to solve: )?(.+)$", re.MULTILINE)


def build_argv(
    *,
    buildctl: Path | str,
    context: Path,
    dockerfile: str,
    tag: str,
    build_args: Mapping[str, str],
    labels: Mapping[str, str],
    source_date_epoch: int,
    metadata_file: Path,
    layout: Path | None = None,
    add_hosts: Mapping[str, str] | None = None,
    fresh: bool = False,
    fresh_stage: str = "",
) -> list[str]:
    """The ``buildctl build`` command line (the daemon's address goes in ``BUILDKIT_HOST``,
    see ``buildctl_env``): the Dockerfile frontend, the build context and
    the Dockerfile's folder as local sources, ``RUN`` without network (with ``add_hosts``:
    on the worker's network, those names in /etc/hosts), and an image output
    pushed to the tag's registry with its timestamps rewritten to ``source_date_epoch``;
    given ``layout``, the image goes to an OCI layout folder there instead, not pushed.
    ``fresh`` builds every step anew (``--no-cache``), ``fresh_stage`` only that stage's
    (see ``BuildKit.build``)."""
    path = Path(dockerfile)
    if not path.is_absolute():
        path = context / path
    argv = [
        str(buildctl),
        "build",
        "--progress",
        "plain",
        "--frontend",
        "dockerfile.v0",
        "--local",
        f"context={context}",
        "--local",
        f"dockerfile={path.parent}",
        "--opt",
        f"filename={path.name}",
    ]
    if add_hosts is None:
        argv += ["--opt", "force-network-mode=none"]
    elif add_hosts:
        hosts = ",".join(f"{name}={address}" for name, address in sorted(add_hosts.items()))
        argv += ["--opt", f"add-hosts={hosts}"]
    arguments = {**build_args, "SOURCE_DATE_EPOCH": str(source_date_epoch)}
    for key, value in sorted(arguments.items()):
        argv += ["--opt", f"build-arg:{key}={value}"]
    for key, value in sorted(labels.items()):
        argv += ["--opt", f"label:{key}={value}"]
    if fresh:
        argv.append("--no-cache")
    elif fresh_stage:
        argv += ["--opt", f"no-cache={fresh_stage}"]
    output = f"type=image,name={tag},push=true,rewrite-timestamp=true"
    if layout is not None:
        output = f"type=oci,dest={layout},tar=false,rewrite-timestamp=true"
    return [*argv, "--output", output, "--metadata-file", str(metadata_file)]


def buildctl_env(address: str) -> dict[str, str]:
    """The environment that points buildctl at the buildkitd listening on ``address``."""
    return {"BUILDKIT_HOST": address}


def pushed_digest(metadata: str, tag: str) -> str:
    """The manifest digest ``buildctl --metadata-file`` recorded for the pushed image."""
    try:
        document = json.loads(metadata)
    except json.JSONDecodeError as e:
        raise ToolFailed(f"buildctl wrote unreadable build metadata for {tag}: {e}") from e
    digest = document.get("containerimage.digest") if isinstance(document, dict) else None
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ToolFailed(
            f"buildctl reported no image digest for {tag}",
            hint="check that buildkitd can push to the registry (its log under the state "
            "folder's logs/buildkitd.log)",
        )
    return digest


def worker_platform(workers: str) -> dict[str, str]:
    """The automatic platform arguments of the platform ``buildctl debug workers --format
    '{{json .}}'`` lists first for the first worker: the one BuildKit builds on and for
    when nothing asks for another."""
    try:
        document = json.loads(workers)
        first = document[0]["platforms"][0]
        os, arch = str(first["os"]), str(first["architecture"])
    except (json.JSONDecodeError, LookupError, TypeError) as e:
        raise ToolFailed(f"buildctl listed no worker platform: {e!r}") from e
    return platform_args(os, arch)


def no_daemon(address: str, message: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"no buildkitd answers at {address}: {message}",
        hint="run `seamline stack up` (it starts buildkitd unless "
        "SEAMLINE_IMAGE_BUILDER=docker), or point SEAMLINE_BUILDKIT_HOST at a running one",
    )


def failure(tag: str, stderr: str, *, address: str) -> SeamlineError:
    """A failed ``buildctl build`` as the error it is: no buildkitd to ask, or a push the
    registry did not take, is the environment; otherwise ``build_failure`` tells a base
    image out of reach from the Dockerfile's own fault."""
    reasons = _FAILED.findall(stderr)
    message = reasons[-1].strip() if reasons else "buildctl exited with an error"
    if message.startswith("listing workers"):
        return no_daemon(address, message)
    if message.startswith("failed to push"):
        return ToolFailed(
            f"buildctl build of {tag} could not push it: {message}",
            hint="check that the registry is up (`seamline stack status`)",
            stderr_tail=last_lines(stderr, lines=6, limit=1500),
            transient=True,
        )
    return build_failure(tag, message, stderr, tool="buildctl build")


class BuildKit:
    """Builds with a running buildkitd; ``build`` pushes too, and returns the manifest
    digest the registry holds (``pushes`` says so to the pipeline), unless told to write
    the image to an OCI layout folder instead."""

    pushes = True
    sets_platform_args = True
    buildkit_frontend = True

    def __init__(
        self,
        *,
        buildctl: Path,
        address: str,
        registry: ImageRegistry,
        registry_host: str,
        add_hosts: Mapping[str, str] | None = None,
    ) -> None:
        """``registry`` reads ``registry_host``, the registry buildkitd pulls and pushes
        seamline's images with; ``add_hosts`` (name -> address) lets `RUN` use the worker's
        network, None keeps it off."""
        self._add_hosts = dict(add_hosts) if add_hosts is not None else None
        self._buildctl = buildctl
        self._address = address
        self._registry = registry
        self._registry_host = registry_host

    def build(
        self,
        *,
        context: Path,
        dockerfile: str,
        tag: str,
        build_args: dict[str, str],
        labels: dict[str, str] | None = None,
        source_date_epoch: int = 0,
        layout: Path | None = None,
        fresh_stage: str = "",
    ) -> str:
        """Build and push ``tag``, or, given ``layout``, write it to that OCI layout folder
        and push nothing; return its manifest digest.

        ``fresh_stage`` (a stage name: seamline names a release's last stage) is built
        without BuildKit's cache. The cache matches a step by content, not by file times,
        and ``rewrite-timestamp`` only lowers times later than the commit's: a final
        `COPY --from` reused from a build made before this commit (its binary identical to
        that build's) would keep that build's earlier file times, which a fresh rebuild of
        the commit would not have. The stages before it keep their cache, cache mounts
        included."""
        return self._solve(
            context=context,
            dockerfile=dockerfile,
            tag=tag,
            build_args=build_args,
            labels=labels or {},
            source_date_epoch=source_date_epoch,
            layout=layout,
            fresh_stage=fresh_stage,
        )

    def build_layout(
        self,
        *,
        context: Path,
        dockerfile: str,
        layout: Path,
        build_args: dict[str, str],
        labels: dict[str, str],
        source_date_epoch: int,
    ) -> str:
        """Build into the OCI layout folder ``layout``, pushing nothing, every step anew
        (``--no-cache``: what a builder with an empty cache would make); the manifest
        digest, the one a push of the same build would give."""
        return self._solve(
            context=context,
            dockerfile=dockerfile,
            tag=str(layout),
            build_args=build_args,
            labels=labels,
            source_date_epoch=source_date_epoch,
            layout=layout,
            fresh=True,
        )

    def _solve(
        self,
        *,
        context: Path,
        dockerfile: str,
        tag: str,
        build_args: dict[str, str],
        labels: dict[str, str],
        source_date_epoch: int,
        layout: Path | None = None,
        fresh: bool = False,
        fresh_stage: str = "",
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="seamline-buildkit-") as scratch:
            metadata = Path(scratch) / "metadata.json"
            argv = build_argv(
                buildctl=self._buildctl,
                context=context,
                dockerfile=dockerfile,
                tag=tag,
                build_args=build_args,
                labels=labels,
                source_date_epoch=source_date_epoch,
                metadata_file=metadata,
                layout=layout,
                add_hosts=self._add_hosts,
                fresh=fresh,
                fresh_stage=fresh_stage,
            )
            with heavy("image build"):
                result = run(
                    argv, env=buildctl_env(self._address), check=False, timeout=BUILD_TIMEOUT_S
                )
            if result.returncode != 0:
                raise failure(tag, result.stderr, address=self._address)
            try:
                digest = pushed_digest(metadata.read_text(), tag)
            except FileNotFoundError as e:
                raise ToolFailed(f"buildctl wrote no build metadata for {tag}") from e
        if layout is not None and OciLayout(layout).manifest(tag, digest) is None:
            raise ToolFailed(f"buildctl reported {digest} but the OCI layout {layout} lacks it")
        return digest

    def has_image(self, reference: str) -> bool:
        """buildkitd holds no image by name: it pulls ``reference`` without the Internet
        only from the registry it pushes to, so: whether that registry serves it."""
        ref = ImageRef.parse(reference)
        if ref.registry != self._registry_host:
            return False
        return self._registry.manifest_digest(ref.repository, ref.manifest_reference) is not None

    def platform(self) -> dict[str, str]:
        """The automatic platform arguments buildkitd's worker sets."""
        argv = [str(self._buildctl), "debug", "workers", "--format", "{{json .}}"]
        result = run(argv, env=buildctl_env(self._address), check=False, timeout=WORKERS_TIMEOUT_S)
        if result.returncode != 0:
            reasons = _FAILED.findall(result.stderr)
            message = reasons[-1].strip() if reasons else "buildctl exited with an error"
            if "list workers" in message:
                raise no_daemon(self._address, message)
            raise ToolFailed(
                f"buildctl debug workers failed: {message}",
                stderr_tail=last_lines(result.stderr, lines=6, limit=1500),
            )
        return worker_platform(result.stdout)

    def push(self, reference: str) -> str:
        """The build pushed already: the digest the registry holds for ``reference``."""
        ref = ImageRef.parse(reference)
        digest = self._registry.manifest_digest(ref.repository, ref.manifest_reference)
        if digest is None:
            raise ToolFailed(
                f"the registry holds no {reference}, which the BuildKit build pushed",
                hint="the registry lost it (reset or garbage-collected): clear the image "
                "stage's cached results (`seamline stack down --purge` resets everything) "
                "and rerun",
            )
        return digest

    def close(self) -> None:
        self._registry.close()
