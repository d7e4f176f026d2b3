import skycheck


def test_total():
    assert skycheck.total([1, 2, 3]) == 6
