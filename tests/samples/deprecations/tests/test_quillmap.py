import quillmap


def test_doubled():
    assert quillmap.doubled(2) == 4


def test_plain():
    assert 1 + 1 == 2
