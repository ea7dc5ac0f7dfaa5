"""Extensions written the way a user adds one: each is one file, registered by its decorator.

``tests/test_extension.py`` imports them and runs a whole benchmark through them; nothing in
``harness/`` names them.
"""
