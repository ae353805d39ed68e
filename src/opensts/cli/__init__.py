"""The ``opensts`` command line."""
