# tests/lib/files holds the programs the tests run under rlocust-python and rlocust (a pytest-style suite among
# them): they are not tests of this suite.
collect_ignore = ["files"]
