"""seamline: build, prove and hand container artifacts to GitOps, as Prefect flows."""

__version__ = "0.1.0"
