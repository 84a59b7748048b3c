"""Base images for builds without the Internet: which mirror stands in for which upstream
reference (``mapping``), and the build copy of a Dockerfile that names the mirrors
(``rewrite``)."""
