"""The Kyverno ``ClusterPolicy`` that admits exactly what the overlay audit admits.

One ``verifyImages`` rule covers every repository the overlays deploy from the configured
registry: each image must be signed by the configured identity (a public key, a KMS key, or
a keyless certificate identity and issuer) and carry SPDX SBOM, SLSA provenance and
vulnerability-scan attestations by the same identity, the attested scan with no finding at
the gate's severities (a finding without a fix not counted when the gate ignores those);
digests are required. Audit mode reports, Enforce refuses; Kyverno lets only Enforce
rewrite tags to digests (``mutateDigest``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from seamline.errors import UsageError
from seamline.policy.findings import SEVERITIES
from seamline.policy.vuln_scan import VULN_PREDICATE_TYPE

POLICY_NAME = "seamline-verify-images"
RULE_NAME = "signed-with-sbom-and-provenance"
# The in-toto predicate types cosign writes for `--type spdxjson` and `--type slsaprovenance1`.
SPDX_PREDICATE = "https://spdx.dev/Document"
SLSA_PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"
PREDICATE_TYPES = (SPDX_PREDICATE, SLSA_PROVENANCE_PREDICATE)


def gate_findings_query(severities: Iterable[str], *, ignore_unfixed: bool) -> str:
    """The JMESPath (Kyverno ``{{ }}``) over a trivy ``cosign-vuln`` predicate counting its
    findings at ``severities``: ``scanner.result.Results[].Vulnerabilities[]``, each with
    ``Severity`` and, when fixed, ``FixedVersion``. Kyverno puts the predicate's fields at
    the root of the context; a scan with no results counts 0, not null."""
    chosen = set(severities)
    wanted = [s for s in SEVERITIES if s in chosen]
    if not wanted:
        raise UsageError("no severities to gate on", hint="name at least one, e.g. HIGH,CRITICAL")
    names = ", ".join(f'"{s}"' for s in wanted)
    test = f"contains(`[{names}]`, Severity)" + (" && FixedVersion" if ignore_unfixed else "")
    return f"{{{{ length(scanner.result.Results[].Vulnerabilities[] | [?{test}] || `[]`) }}}}"


def vuln_attestation(
    attestors: list[dict[str, Any]], severities: Iterable[str], *, ignore_unfixed: bool
) -> dict[str, Any]:
    """The signed scan seamline attests (cosign ``--type vuln``), by the same signer, with
    no finding the gate blocks on."""
    chosen = set(severities)
    gated = ", ".join(s for s in SEVERITIES if s in chosen)
    unfixed = " with a fix" if ignore_unfixed else ""
    return {
        "type": VULN_PREDICATE_TYPE,
        "attestors": attestors,
        "conditions": [
            {
                "all": [
                    {
                        "key": gate_findings_query(chosen, ignore_unfixed=ignore_unfixed),
                        "operator": "Equals",
                        "value": 0,
                        "message": f"the attested vulnerability scan has findings{unfixed} "
                        f"at {gated}: rebuild with fixed packages and let seamline re-scan",
                    }
                ]
            }
        ],
    }


@dataclass(frozen=True, kw_only=True)
class KeyAttestor:
    """Key mode: the PEM public key itself, or the KMS URI cosign verifies with. seamline
    signs without a transparency-log entry in key mode, so Kyverno must not ask Rekor."""

    public_key_pem: str = ""
    kms: str = ""
    rekor_url: str = "https://rekor.sigstore.dev"

    def __post_init__(self) -> None:
        if bool(self.public_key_pem) == bool(self.kms):
            raise UsageError("a key attestor takes a PEM public key or a KMS URI, not both")
        if self.public_key_pem and "-----BEGIN PUBLIC KEY-----" not in self.public_key_pem:
            raise UsageError(
                "the public key is not PEM (no BEGIN PUBLIC KEY line)",
                hint="point SEAMLINE_SIGNING_PUBLIC_KEY at the key pair's cosign.pub",
            )

    def entry(self) -> dict[str, Any]:
        keys: dict[str, Any] = (
            {"publicKeys": self.public_key_pem.strip() + "\n"}
            if self.public_key_pem
            else {"kms": self.kms}
        )
        keys["rekor"] = {"url": self.rekor_url, "ignoreTlog": True}
        return {"keys": keys}


@dataclass(frozen=True, kw_only=True)
class KeylessAttestor:
    """Keyless mode: the certificate identity (``subject``) and OIDC issuer, checked
    against the Rekor transparency log the signatures were recorded in."""

    subject: str
    issuer: str
    rekor_url: str = "https://rekor.sigstore.dev"

    def __post_init__(self) -> None:
        if not self.subject or not self.issuer:
            raise UsageError(
                "a keyless policy needs the certificate identity and its OIDC issuer",
                hint="set SEAMLINE_CERTIFICATE_IDENTITY and SEAMLINE_CERTIFICATE_OIDC_ISSUER",
            )

    def entry(self) -> dict[str, Any]:
        return {
            "keyless": {
                "subject": self.subject,
                "issuer": self.issuer,
                "rekor": {"url": self.rekor_url},
            }
        }


Attestor = KeyAttestor | KeylessAttestor


def image_references(repositories: Iterable[str]) -> list[str]:
    """A Kyverno pattern per ``registry/repository``, matching it by tag and by digest
    as the overlays write it (``127.0.0.1:5000/bookstore/catalog@sha256:…``)."""
    patterns = sorted({f"{repository}*" for repository in repositories})
    if not patterns:
        raise UsageError(
            "no repository to verify: the overlays deploy nothing from the configured registry",
            hint="check [pipeline] registry and [[services]] in seamline.toml",
        )
    return patterns


def cluster_policy(
    *,
    repositories: Iterable[str],
    attestor: Attestor,
    enforce: bool,
    severities: Iterable[str],
    ignore_unfixed: bool,
) -> dict[str, Any]:
    """The ``kyverno.io/v1`` ClusterPolicy as a document; ``severities`` and
    ``ignore_unfixed`` are the scan gate's."""
    attestors = [{"entries": [attestor.entry()]}]
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {
            "name": POLICY_NAME,
            "annotations": {
                "policies.kyverno.io/title": "Images seamline signed, attested and scanned",
                "policies.kyverno.io/subject": "Pod",
                "policies.kyverno.io/description": (
                    "Admits an image from the repositories seamline releases only when it is "
                    "pinned by digest, signed by seamline's signer, and carries SPDX SBOM, "
                    "SLSA provenance and vulnerability-scan attestations by the same signer, "
                    "the scan with no finding the gate blocks on. `seamline audit` reports "
                    "what this policy would refuse today."
                ),
            },
        },
        "spec": {
            "validationFailureAction": "Enforce" if enforce else "Audit",
            "background": False,
            "webhookTimeoutSeconds": 30,
            "rules": [
                {
                    "name": RULE_NAME,
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "verifyImages": [
                        {
                            "imageReferences": image_references(repositories),
                            "mutateDigest": enforce,
                            "verifyDigest": True,
                            "required": True,
                            "attestors": attestors,
                            "attestations": [
                                *(
                                    {"type": predicate, "attestors": attestors}
                                    for predicate in PREDICATE_TYPES
                                ),
                                vuln_attestation(
                                    attestors, severities, ignore_unfixed=ignore_unfixed
                                ),
                            ],
                        }
                    ],
                }
            ],
        },
    }


def _string(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


# PyYAML's safe dumper, writing multi-line strings (a PEM key) as literal blocks, as people
# write them, and repeated parts (the attestors) in full rather than as YAML aliases.
_DUMPER: Any = type("_BlockDumper", (yaml.SafeDumper,), {"ignore_aliases": lambda _s, _d: True})
_DUMPER.add_representer(str, _string)


def policy_yaml(policy: dict[str, Any]) -> str:
    return str(yaml.dump(policy, Dumper=_DUMPER, sort_keys=False, default_flow_style=False))
