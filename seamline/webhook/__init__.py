"""The webhook receiver: a signed Git push or pull request starts a CI run.

``signature`` checks a delivery's HMAC, ``events`` parses GitHub and Gitea/Forgejo
deliveries into typed events, ``decide`` turns an event into a ``RunRequest`` or an
``Ignored``, ``replay`` remembers delivery ids, ``app`` is the HTTP side, and
``post_receive`` is what a local bare repository's hook runs to deliver its pushes.
"""
