"""Stage promote over fakes: the checks decide, the commit carries the source's exact
``name@digest`` references, and a refusal commits nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from seamline.adapters.roles import ImageScan, OpenedPullRequest, PullRequestDraft, Statement
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import EnvironmentProblem, ForgeFailed, GateFailure, ToolFailed, UsageError
from seamline.orchestration.outcome import RunOutcome
from seamline.overlay.files import PINS_FILE, current_images, read_pins, write_pins
from seamline.policy.gate import GatePolicy
from seamline.policy.overlay_moves import Pin
from seamline.policy.promotion import CHECKS, RESCAN_BLOCK
from seamline.policy.rescan import RescanBlock
from seamline.run.rescan_state import RescanState
from seamline.run.vuln_attestation import attest_vuln_scan
from tasks import promote
from tasks.attest_sbom import SBOM_TYPE
from tasks.cd_outcome import promotion_outcome
from tasks.sign import PROVENANCE_TYPE
from tests.unit.fakes import (
    DATA,
    FakeSigner,
    KustomizationEditor,
    RecordedScanner,
    WorkTreeRemote,
)

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
LOG = logging.getLogger("tests.promote")
CATALOG = "127.0.0.1:5000/bookstore/catalog@sha256:" + "c" * 64
ORDERS = "127.0.0.1:5000/bookstore/orders@sha256:" + "a" * 64
BUILT_FROM = "b" * 40
RENDERED = "dev-catalog-orders-set.yaml"  # a recorded render holding both references


@pytest.fixture
def remote(tmp_path: Path) -> WorkTreeRemote:
    """The Bookstore GitOps tree after a CI run released catalog and orders into dev."""
    folder = tmp_path / "gitops"
    shutil.copytree(BOOKSTORE, folder)
    dev = folder / "kustomize" / "overlays" / "dev"
    KustomizationEditor(RENDERED).set_images(
        dev, {"bookstore/catalog": CATALOG, "bookstore/orders": ORDERS}
    )
    write_pins(
        dev,
        {
            image: Pin(reference=ref, source_commit=BUILT_FROM, source_repo="src", flow_run="ci")
            for image, ref in (("bookstore/catalog", CATALOG), ("bookstore/orders", ORDERS))
        },
    )
    return WorkTreeRemote(folder)


def _signer(*, unsigned: Sequence[str] = (), missing: Sequence[tuple[str, str]] = ()) -> FakeSigner:
    """A signer holding a signature and both attestations of each image, less some."""
    signer = FakeSigner(signed={CATALOG, ORDERS} - set(unsigned))
    signer.attested = [
        (ref, kind)
        for ref in (CATALOG, ORDERS)
        for kind in (SBOM_TYPE, PROVENANCE_TYPE)
        if (ref, kind) not in missing
    ]
    return signer


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    assert name.startswith("seamline-bump-")  # the bumps' lock: one writer per overlay
    yield


@dataclass
class Run:
    remote: WorkTreeRemote
    tmp: Path
    signer: FakeSigner
    scanner: RecordedScanner
    severities: str = "HIGH,CRITICAL"
    state: RescanState | None = None

    def __call__(
        self,
        source: str = "dev",
        target: str = "staging",
        services: Sequence[str] = (),
        *,
        pr: bool = False,
    ) -> promote.PromotionResult:
        """What the flow does: plan, check each digest, commit."""
        work = self.tmp / f"look-{len(list(self.tmp.glob('look-*')))}"
        plan = promote.plan_promotion(
            self.remote,
            work,
            source=source,
            target=target,
            services=services,
            severities=self.severities,
            ignore_unfixed=False,
            log=LOG,
        )
        checked = [
            promote.check_digest(
                image,
                ref,
                signer=self.signer,
                scanner=self.scanner,
                gate=plan.gate,
                today=dt.date(2026, 3, 1),
                blocks=(self.state or RescanState.under(self.tmp / "state")).block_for,
            )
            for image, ref in plan.images.items()
        ]
        seams = promote.Seams(self.remote, KustomizationEditor(RENDERED), LOG, _lock)
        return promote.commit_promotion(
            plan,
            checked,
            seams,
            run_id="run-7",
            run_url="http://prefect/runs/flow-run/run-7",
            pr=pr,
        )


def _run(remote: WorkTreeRemote, tmp_path: Path, **changes: object) -> Run:
    defaults: dict[str, object] = {
        "signer": _signer(),
        "scanner": RecordedScanner("clean.cosign-vuln.json"),
    }
    return Run(remote, tmp_path, **{**defaults, **changes})  # type: ignore[arg-type]


def _overlay(remote: WorkTreeRemote, name: str) -> Path:
    return remote.source / "kustomize" / "overlays" / name


def test_all_checks_pass_commits_the_same_references_and_their_build_record(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    result = _run(remote, tmp_path)()
    assert result.commit is not None and remote.pushed == [remote.commits[0]]
    staging, dev = (
        current_images(_overlay(remote, "staging")),
        current_images(_overlay(remote, "dev")),
    )
    assert staging["bookstore/catalog"] == dev["bookstore/catalog"] == CATALOG
    assert staging["bookstore/orders"] == dev["bookstore/orders"] == ORDERS
    assert staging["bookstore/storefront"].endswith(":0.0.0")  # pinned by tag in dev: skipped
    pins, notes = read_pins(_overlay(remote, "staging"))
    assert notes == [] and {p.source_commit for p in pins.values()} == {BUILT_FROM}
    assert {i.reference: i.checks for i in result.images} == {CATALOG: CHECKS, ORDERS: CHECKS}
    message = remote.commits[0]
    assert f"bookstore/catalog: {CATALOG}" in message and f"bookstore/orders: {ORDERS}" in message
    assert f"checks: {', '.join(CHECKS)}" in message
    assert f"Source: overlay dev @ {'e' * 40}" in message and result.gitops_commit == "e" * 40
    assert message.rstrip().endswith("Seamline-Bump: run-7")


@pytest.mark.parametrize(
    ("signer", "scan", "check"),
    [
        (_signer(unsigned=[CATALOG]), "clean.cosign-vuln.json", "signature"),
        (_signer(missing=[(CATALOG, SBOM_TYPE)]), "clean.cosign-vuln.json", "sbom-attestation"),
        (
            _signer(missing=[(CATALOG, PROVENANCE_TYPE)]),
            "clean.cosign-vuln.json",
            "provenance-attestation",
        ),
        (_signer(), "vulnerable-x-text.cosign-vuln.json", "scan-gate"),
    ],
)
def test_a_failing_check_commits_nothing_and_names_the_digest_and_check(
    remote: WorkTreeRemote, tmp_path: Path, signer: FakeSigner, scan: str, check: str
) -> None:
    before = (_overlay(remote, "staging") / "kustomization.yaml").read_bytes()
    run = _run(remote, tmp_path, signer=signer, scanner=RecordedScanner(scan))
    with pytest.raises(GateFailure) as raised:
        run()
    assert raised.value.exit_code == 1
    assert f"{CATALOG}: {check} failed" in raised.value.message
    failures = raised.value.details["failures"]
    assert isinstance(failures, list)
    assert {"reference": CATALOG, "check": check} in [
        {"reference": f["reference"], "check": f["check"]} for f in failures
    ]
    assert remote.commits == [] and remote.pushed == []
    assert (_overlay(remote, "staging") / "kustomization.yaml").read_bytes() == before
    assert not (_overlay(remote, "staging") / PINS_FILE).exists()


def test_a_signature_of_another_digest_does_not_count(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    class OtherDigest(FakeSigner):
        def verify(self, reference: str) -> tuple[str, ...]:
            return ("sha256:" + "9" * 64,)

    signer = OtherDigest(signed=set(), attested=_signer().attested)
    with pytest.raises(GateFailure, match=f"{CATALOG}: signature failed: no signature"):
        _run(remote, tmp_path, signer=signer)()
    assert remote.commits == []


def test_a_tool_saying_no_fails_the_check_and_a_network_fault_is_retried(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    class Refusing(FakeSigner):
        transient = False

        def verify_attestation(self, reference: str, *, predicate_type: str) -> int:
            raise ToolFailed("no matching attestations", transient=self.transient)

    signer = Refusing(signed={CATALOG, ORDERS})
    with pytest.raises(GateFailure, match="sbom-attestation failed: no matching attestations"):
        _run(remote, tmp_path, signer=signer)()
    signer.transient = True
    with pytest.raises(ToolFailed) as raised:
        _run(remote, tmp_path, signer=signer)()
    assert raised.value.transient and remote.commits == []


@pytest.mark.parametrize(("source", "target"), [("staging", "dev"), ("dev", "prod")])
def test_a_promotion_seamline_toml_does_not_allow_is_a_usage_error(
    remote: WorkTreeRemote, tmp_path: Path, source: str, target: str
) -> None:
    with pytest.raises(UsageError, match=f"promoting {source} -> {target} is not allowed") as e:
        _run(remote, tmp_path)(source, target)
    assert e.value.exit_code == 2 and remote.commits == []


def test_promoting_what_is_already_there_commits_nothing(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    run = _run(remote, tmp_path)
    assert run().commit is not None
    scanned = len(run.scanner.scanned)
    again = run()
    assert again.commit is None and again.images == ()
    assert len(remote.commits) == 1 and len(run.scanner.scanned) == scanned  # nothing re-checked


def test_services_limit_what_moves(remote: WorkTreeRemote, tmp_path: Path) -> None:
    run = _run(remote, tmp_path)
    result = run(services=["orders"])
    assert [i.reference for i in result.images] == [ORDERS]
    staging = current_images(_overlay(remote, "staging"))
    assert staging["bookstore/orders"] == ORDERS
    assert staging["bookstore/catalog"].endswith(":0.0.0")
    assert [ref for ref, _ in run.scanner.scanned] == [ORDERS]
    with pytest.raises(UsageError, match="unknown service"):
        run(services=["billing"])
    with pytest.raises(UsageError, match="does not pin bookstore/storefront by digest"):
        run(services=["storefront"])


def test_the_target_overlay_gate_applies_stricter_for_prod(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    # HIGH findings: the settings' gate (CRITICAL only) lets them into staging; prod's
    # [overlays.prod] gate in seamline.toml (MEDIUM, HIGH, CRITICAL) keeps them out.
    run = _run(remote, tmp_path, scanner=RecordedScanner("vulnerable-x-text.cosign-vuln.json"))
    run.severities = "CRITICAL"
    assert run("dev", "staging").commit is not None
    with pytest.raises(GateFailure, match=f"{CATALOG}: scan-gate failed") as raised:
        run("staging", "prod")
    assert "CVE-2022-32149" in raised.value.message
    assert len(remote.commits) == 1
    assert current_images(_overlay(remote, "prod"))["bookstore/catalog"].endswith(":0.0.0")


def test_a_push_race_is_redone_on_a_fresh_clone(remote: WorkTreeRemote, tmp_path: Path) -> None:
    remote.rejections = 1
    result = _run(remote, tmp_path)()
    assert result.commit is not None and len(remote.commits) == 2 and len(remote.pushed) == 1
    assert json.loads((_overlay(remote, "staging") / PINS_FILE).read_text())["images"]


def test_services_text_is_a_comma_list() -> None:
    assert promote.parse_services(" orders, catalog,,orders ") == ("orders", "catalog")
    assert promote.parse_services("") == ()


def test_a_digest_the_rescan_blocked_is_refused_and_the_check_named(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    state = RescanState.under(tmp_path / "state")
    digest = CATALOG.partition("@")[2]
    state.save_blocks(
        {
            digest: RescanBlock(
                digest=digest,
                reference=CATALOG,
                reason="scan gate failed: 2 blocking finding(s)",
                findings=("CVE-2022-32149 golang.org/x/text",),
                since=dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
            )
        }
    )
    run = _run(remote, tmp_path, state=state)
    with pytest.raises(GateFailure) as raised:
        run()
    assert (
        f"{CATALOG}: rescan-block failed: no vuln attestation by key:fake; seamline's re-scan "
        "state: blocked since 2026-03-01T02:00:00+00:00" in raised.value.message
    )
    assert "CVE-2022-32149 golang.org/x/text" in raised.value.message
    assert ORDERS not in raised.value.message  # only the blocked digest is named
    assert remote.commits == []
    state.save_blocks({})  # a clean re-scan lifted it
    result = run()
    assert result.commit is not None
    assert {i.reference: i.checks for i in result.images}[CATALOG] == CHECKS


def test_pr_mode_pushes_a_branch_named_for_the_promotion_and_leaves_the_branch_alone(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    before = (_overlay(remote, "staging") / "kustomization.yaml").read_bytes()
    result = _run(remote, tmp_path)(pr=True)
    assert result.commit is not None
    branch = f"seamline/promote-dev-to-staging-{result.commit[:12]}"
    assert result.branch == branch and list(remote.branches) == [branch]
    assert (_overlay(remote, "staging") / "kustomization.yaml").read_bytes() == before
    proposed = current_images(remote.branches[branch] / "kustomize" / "overlays" / "staging")
    assert proposed["bookstore/catalog"] == CATALOG and proposed["bookstore/orders"] == ORDERS

    draft = result.pull_request
    assert draft is not None and result.opened is None
    assert (draft.title, draft.head, draft.base) == (
        "seamline: promote dev -> staging",
        branch,
        "main",
    )
    for reference in (CATALOG, ORDERS):
        assert f"| `{reference}` | {', '.join(CHECKS)} |" in draft.body
    assert f"Source: overlay `dev` @ `{'e' * 40}`" in draft.body
    assert "http://prefect/runs/flow-run/run-7" in draft.body

    reported = promote.request_review(result, None, LOG)  # no forge: the branch is the answer
    assert reported == result

    class Forge:
        closed = False

        def open(self, asked: PullRequestDraft) -> OpenedPullRequest:
            assert asked == draft
            return OpenedPullRequest(
                number=7, url="https://github.com/acme/gitops/pull/7", existed=False
            )

        def close(self) -> None:
            self.closed = True

    forge = Forge()
    opened = promote.request_review(result, forge, LOG)
    assert opened.opened == OpenedPullRequest(7, "https://github.com/acme/gitops/pull/7", False)
    assert forge.closed and opened.pull_request == draft


def test_the_pull_request_report_says_what_would_be_opened_with_no_forge() -> None:
    from tasks.cd_outcome import pull_request_entry

    draft = PullRequestDraft(
        title="t", head="seamline/promote-dev-to-staging-abc", base="main", body="b\n"
    )
    result = promote.PromotionResult("dev", "staging", "e" * 40, "f" * 40, (), pull_request=draft)
    assert pull_request_entry(result) == {
        "title": "t",
        "head": "seamline/promote-dev-to-staging-abc",
        "base": "main",
        "body": "b\n",
        "opened": False,
        "existed": False,
        "number": None,
        "url": None,
    }
    assert pull_request_entry(promote.PromotionResult("dev", "staging", "e" * 40, None, ())) is None


def test_a_forge_refusal_says_the_branch_is_pushed_and_keeps_its_retry_class() -> None:
    draft = PullRequestDraft(
        title="t", head="seamline/promote-dev-to-staging-abc", base="main", body=""
    )
    result = promote.PromotionResult("dev", "staging", "e" * 40, "f" * 40, (), pull_request=draft)

    class Down:
        def open(self, asked: PullRequestDraft) -> OpenedPullRequest:
            raise ForgeFailed("GitHub refused it: HTTP 502", transient=True)

        def close(self) -> None:
            pass

    with pytest.raises(ForgeFailed) as raised:
        promote.request_review(result, Down(), LOG)
    assert "(branch seamline/promote-dev-to-staging-abc is pushed)" in raised.value.message
    assert raised.value.transient


def _attest_scan(signer: FakeSigner, reference: str, recording: str) -> None:
    """What a re-scan leaves on the digest: its scan, attested as ``vuln``."""
    attest_vuln_scan(signer, reference, (DATA / "trivy" / recording).read_text())


def test_check_5_judges_the_latest_vuln_attestation_by_the_target_gate(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    signer = _signer()
    _attest_scan(signer, CATALOG, "vulnerable-x-text.cosign-vuln.json")
    run = _run(remote, tmp_path, signer=signer)  # today's scan (check 4) is clean
    with pytest.raises(GateFailure) as raised:
        run()
    message = raised.value.message
    assert f"{CATALOG}: rescan-block failed: latest vuln attestation (scanned " in message
    assert "by trivy " in message and "CVE-2021-38561, CVE-2022-32149" in message
    assert "scan-gate failed" not in message and ORDERS not in message
    assert remote.commits == []

    run.severities = "CRITICAL"  # a gate the attested HIGH findings pass: the target's decides
    result = run()
    assert result.commit is not None
    assert {i.reference: i.checks for i in result.images}[CATALOG] == CHECKS


def test_an_attested_clean_scan_outranks_a_block_left_in_the_state(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    state = RescanState.under(tmp_path / "state")
    digest = CATALOG.partition("@")[2]
    state.save_blocks(
        {
            digest: RescanBlock(
                digest=digest,
                reference=CATALOG,
                reason="scan gate failed: 1 blocking finding(s)",
                findings=("CVE-2022-32149 golang.org/x/text",),
                since=dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
            )
        }
    )
    signer = _signer()
    _attest_scan(signer, CATALOG, "vulnerable-x-text.cosign-vuln.json")
    _attest_scan(signer, CATALOG, "clean.cosign-vuln.json")  # the later scan replaced it
    checked = promote.check_digest(
        "bookstore/catalog",
        CATALOG,
        signer=signer,
        scanner=RecordedScanner("clean.cosign-vuln.json"),
        gate=GatePolicy.from_strings(["HIGH,CRITICAL"]),
        today=dt.date(2026, 3, 1),
        blocks=state.block_for,
    )
    outcome = {o.check: o for o in checked.outcomes}[RESCAN_BLOCK]
    assert outcome.passed
    assert outcome.detail.startswith("latest vuln attestation (scanned ")
    assert "scan gate passed" in outcome.detail


def test_an_unreadable_vuln_attestation_fails_check_5(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    signer = _signer()
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"scanner": {"result": {}}}))  # no time: cannot be ordered
    signer.attest(CATALOG, predicate=broken, predicate_type="vuln")
    with pytest.raises(GateFailure, match=f"{CATALOG}: rescan-block failed: a verified vuln"):
        _run(remote, tmp_path, signer=signer)()


class _MeetingSigner(FakeSigner):
    """Each read waits until all five checks of the digest are under way: the checks pass
    only when they run side by side (one after another, the first would time out)."""

    def __init__(self, barrier: threading.Barrier, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.barrier = barrier

    def verify(self, reference: str) -> tuple[str, ...]:
        self.barrier.wait()
        return super().verify(reference)

    def verify_attestation(self, reference: str, *, predicate_type: str) -> int:
        self.barrier.wait()
        return super().verify_attestation(reference, predicate_type=predicate_type)

    def verified_statements(self, reference: str, *, predicate_type: str) -> tuple[Statement, ...]:
        self.barrier.wait()
        return super().verified_statements(reference, predicate_type=predicate_type)


class _MeetingScanner(RecordedScanner):
    def __init__(self, barrier: threading.Barrier, recording: str) -> None:
        super().__init__(recording)
        self.barrier = barrier

    def scan_image(
        self, reference: str, *, severities: Sequence[str], local: bool = False
    ) -> ImageScan:
        self.barrier.wait()
        return super().scan_image(reference, severities=severities, local=local)


def test_the_five_checks_of_a_digest_run_side_by_side_in_order() -> None:
    barrier = threading.Barrier(5, timeout=10)
    plain = _signer()
    signer = _MeetingSigner(barrier, signed=plain.signed)
    signer.attested = plain.attested
    checked = promote.check_digest(
        "bookstore/catalog",
        CATALOG,
        signer=signer,
        scanner=_MeetingScanner(barrier, "clean.cosign-vuln.json"),
        gate=GatePolicy.from_strings(["HIGH,CRITICAL"]),
        today=dt.date(2026, 3, 1),
        blocks=RescanState.under(Path("/nonexistent-state")).block_for,
    )
    assert [o.check for o in checked.outcomes] == list(CHECKS)
    assert all(o.passed for o in checked.outcomes), checked.outcomes


def _outcome(ended: object) -> RunOutcome:
    return promotion_outcome(
        source="dev", target="staging", flow_run_id="r1", flow_run_url="http://ui/r1", ended=ended
    )


def test_a_promotion_that_committed_is_exit_0_with_each_image_and_its_checks() -> None:
    moved = promote.PromotedImage("bookstore/catalog", CATALOG, tuple(CHECKS))
    result = promote.PromotionResult("dev", "staging", "e" * 40, "f" * 40, (moved,), "main")
    outcome = _outcome(result)
    assert outcome.exit_code == 0
    assert outcome.payload == {
        "flow_run_id": "r1",
        "state": "Completed",
        "source": "dev",
        "target": "staging",
        "commit": "f" * 40,
        "branch": "main",
        "pull_request": None,
        "images": [
            {
                "name": "bookstore/catalog",
                "reference": CATALOG,
                "digest": "sha256:" + "c" * 64,
                "checks": list(CHECKS),
            }
        ],
        "errors": [],
    }
    assert outcome.summary == (
        f"committed {'f' * 40} to main: bookstore/catalog",
        "flow run: http://ui/r1",
    )


def test_a_pr_promotion_with_no_forge_says_what_it_would_open() -> None:
    draft = PullRequestDraft(title="t", head="seamline/promote-x", base="main", body="b\n")
    result = promote.PromotionResult(
        "dev", "staging", "e" * 40, "f" * 40, (), branch="seamline/promote-x", pull_request=draft
    )
    lines = _outcome(result).summary
    assert "no forge configured" in lines[1] and "seamline/promote-x" in lines[1]


def test_nothing_to_move_is_exit_0_without_a_commit() -> None:
    outcome = _outcome(promote.PromotionResult("dev", "staging", "e" * 40, None, ()))
    assert outcome.exit_code == 0 and outcome.payload["commit"] is None
    assert outcome.summary[0] == "staging already pins these digests: no commit"


def test_a_refused_promotion_is_exit_1_naming_each_failed_check() -> None:
    failures = [{"image": "bookstore/catalog", "reference": CATALOG, "check": RESCAN_BLOCK}]
    outcome = _outcome(GateFailure("refused", hint="fix", details={"failures": failures}))
    assert outcome.exit_code == 1 and outcome.payload["state"] == "Failed"
    assert outcome.payload["errors"] == [
        {"error": "refused", "hint": "fix", "exit_code": 1, "details": {"failures": failures}}
    ]
    assert outcome.summary[0].startswith("error: refused")


def test_a_backwards_promotion_is_exit_2_and_a_missing_result_an_environment_problem() -> None:
    outcome = _outcome(UsageError("staging -> dev is not allowed"))
    assert outcome.exit_code == 2 and outcome.payload["commit"] is None
    with pytest.raises(EnvironmentProblem, match="without a result"):
        _outcome(None)
