import skymap


def test_brightest():
    assert skymap.brightest([3.5, -1.4, 0.0]) == -1.4


def test_span():
    assert skymap.span([3.5, -1.4, 0.0]) == 4.9
