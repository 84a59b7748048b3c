"""`seamline verify-rebuild IMAGE@DIGEST`: rebuild a digest from its verified SLSA
provenance and report whether the rebuild is the same image, or which layers differ.
Exit 0 identical, 1 different (or no provenance to rebuild from), 2 usage, 3 environment."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from deployments.promote_command import preflight
from seamline.config.settings import Settings
from seamline.errors import UsageError

log = logging.getLogger("seamline.cli")
# What a rebuild uses: cosign to read the provenance, git and buildctl, the registry that
# holds the recorded image, and buildkitd.
REQUIRED = ("toolchain", "registry", "signing-key", "buildkitd", "goproxy")


def add_parser(sub: Any) -> None:
    """The `verify-rebuild` subcommand's arguments."""
    verify = sub.add_parser(
        "verify-rebuild",
        help="rebuild a digest from its provenance; say identical, or which layers differ",
    )
    verify.add_argument("image", metavar="IMAGE@DIGEST", help="registry/repository@sha256:…")
    verify.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run_verify_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from seamline.adapters.toolbox import Toolbox
    from seamline.run.rebuild_inputs import verified_rebuild_inputs
    from seamline.validate.image_ref import ImageRef
    from tasks.verify_rebuild import verify_rebuild

    if not ImageRef.parse(args.image).digest:
        raise UsageError(
            f"verify-rebuild takes IMAGE@sha256:DIGEST, not {args.image}",
            hint="name the digest a run built, e.g. from the overlay's kustomization",
        )
    preflight(settings, REQUIRED)
    tools = Toolbox(settings)
    inputs = verified_rebuild_inputs(tools.signer(), args.image)
    if settings.image_builder != "buildkit":
        raise UsageError(
            "verify-rebuild rebuilds with BuildKit, and the image builder is "
            f"{settings.image_builder}",
            hint="set SEAMLINE_IMAGE_BUILDER=buildkit (with buildkitd running: "
            "`seamline stack up`)",
        )
    log.info(
        "seamline: rebuilding %s from %s at %s",
        args.image,
        inputs.source_repo,
        inputs.source_commit[:12],
    )
    builder = tools.buildkit()
    registry = tools.registry()
    try:
        comparison = verify_rebuild(args.image, inputs, builder=builder, registry=registry, log=log)
    finally:
        builder.close()
        registry.close()
    if comparison.identical:
        log.info("identical: the rebuild is %s", comparison.rebuilt_digest)
    else:
        log.info(
            "DIFFERENT: recorded %s, rebuilt %s%s",
            comparison.recorded_digest,
            comparison.rebuilt_digest,
            " (the image config differs)" if comparison.config_differs else "",
        )
        for layer in comparison.layers:
            log.info(
                "  layer %d: recorded %s, rebuilt %s%s",
                layer.index,
                layer.recorded or "(none)",
                layer.rebuilt or "(none)",
                f"\n    made by: {layer.instruction}" if layer.instruction else "",
            )
    if args.json:
        sys.stdout.write(json.dumps(comparison.as_json(), indent=2) + "\n")
    return 0 if comparison.identical else 1
