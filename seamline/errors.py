"""The one error root of seamline and its subclasses.

    SeamlineError                 exit 1 unless a subclass says otherwise
    ├── UsageError                exit 2: bad arguments or configuration
    ├── GateFailure               exit 1: a policy said no
    └── EnvironmentProblem        exit 3: something seamline needs is missing or broken
        ├── ToolMissing           a pinned tool is not installed
        ├── ToolFailed            an external command exited non-zero
        │   └── PushRejected      a git push lost a race (the remote moved on)
        ├── ServiceUnavailable    a stack service does not answer
        ├── ForgeFailed           the forge's REST API (pull requests) refused or failed
        ├── PortInUse             a port the stack needs is taken by someone else
        └── StateCorrupt          the state folder holds something unreadable

Every message says what went wrong and, in ``hint``, what to do next. ``transient`` marks
the faults worth a retry (network, registry 5xx, a git push race); a gate failure never is.
"""

from __future__ import annotations


class SeamlineError(Exception):
    exit_code = 1
    transient = False

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class UsageError(SeamlineError):
    exit_code = 2


class GateFailure(SeamlineError):
    exit_code = 1

    def __init__(
        self, message: str, *, hint: str = "", details: dict[str, object] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.details = details or {}


class EnvironmentProblem(SeamlineError):
    exit_code = 3


class ToolMissing(EnvironmentProblem):
    pass


class ToolFailed(EnvironmentProblem):
    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        returncode: int = 1,
        stderr_tail: str = "",
        transient: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.transient = transient

    def diagnostics(self) -> str:
        text = super().diagnostics()
        return f"{text}\n  stderr (tail):\n{self.stderr_tail}" if self.stderr_tail else text


class PushRejected(ToolFailed):
    """The remote moved on while we worked (non-fast-forward): fetch and redo, then retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class ServiceUnavailable(EnvironmentProblem):
    transient = True


class ForgeFailed(EnvironmentProblem):
    """The forge hosting the GitOps repository refused a request (credentials, a bad
    field) or failed it (5xx, network: ``transient``)."""

    def __init__(self, message: str, *, hint: str = "", transient: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.transient = transient


class PortInUse(EnvironmentProblem):
    pass


class StateCorrupt(EnvironmentProblem):
    pass


class DeliveryInvalid(UsageError):
    """A webhook delivery the receiver cannot read: no event or delivery id header, a body
    that is not a JSON object, or a known event without the fields it must have."""
