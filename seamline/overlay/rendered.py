"""The container images a rendered overlay deploys, read from ``kustomize build`` output.

An admission controller sees the images of the pods it is asked to admit, not the
``images:`` list of a kustomization: so the audit reads the rendered manifests, every
container, init container and ephemeral container of every Pod and pod template, written
exactly as the cluster would receive them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from seamline.errors import UsageError

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class WorkloadImage:
    """One container's image: ``workload`` is ``Kind/name``."""

    workload: str
    container: str
    image: str


def _pod_spec(document: dict[str, Any]) -> object:
    """The pod spec a manifest carries: a Pod's own, a CronJob's job template's, or any
    other workload's pod template's."""
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return None
    if document.get("kind") == "Pod":
        return spec
    if document.get("kind") == "CronJob":
        job = spec.get("jobTemplate")
        spec = job.get("spec") if isinstance(job, dict) else None
        if not isinstance(spec, dict):
            return None
    template = spec.get("template")
    return template.get("spec") if isinstance(template, dict) else None


def _containers(pod: object) -> Iterator[dict[str, Any]]:
    if not isinstance(pod, dict):
        return
    for field in CONTAINER_LISTS:
        listed = pod.get(field)
        for container in listed if isinstance(listed, list) else []:
            if isinstance(container, dict):
                yield container


def rendered_images(manifests: str, *, overlay: str) -> tuple[WorkloadImage, ...]:
    """Every container image in ``manifests`` (one overlay's rendering), in manifest order."""
    try:
        documents = list(yaml.safe_load_all(manifests))
    except yaml.YAMLError as e:
        raise UsageError(
            f"overlay {overlay} rendered manifests that are not YAML: {e}",
            hint="run `kustomize build` on the overlay and fix what it renders",
        ) from e
    found: list[WorkloadImage] = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        metadata = document.get("metadata")
        name = metadata.get("name", "") if isinstance(metadata, dict) else ""
        workload = f"{document.get('kind', '?')}/{name}"
        for container in _containers(_pod_spec(document)):
            found.append(
                WorkloadImage(
                    workload=workload,
                    container=str(container.get("name", "")),
                    image=str(container.get("image") or ""),
                )
            )
    return tuple(found)
