"""Code the tests import as a user's own package would be (``tests/`` is on ``sys.path``)."""
