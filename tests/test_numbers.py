import pytest

from data.numbers import NumberError, chinese_integer, parse_number, same_number


@pytest.mark.parametrize("text, value", [
    ("1 067", 1067), ("80 000", 80000), ("8.8 万", 88000), ("1.2 亿", 120_000_000),
    ("2 000 万", 20_000_000), ("五", 5), ("两名", 2), ("十", 10), ("十二", 12), ("二十五", 25),
    ("一百零三", 103), ("两万", 20000), ("25.6%", 25.6), ("百分之二十", 20), ("3:1", 3),
    ("10∶1", 10), ("三分之一", 1 / 3), ("四分之三", 0.75), ("一半", 0.5), ("698 个", 698),
    ("一倍", 1), ("150 多", 150),
])
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text, value", [
    # "None" as a zero: only the negation by itself, as curated from a quote such as
    # 安理会没有就……举行任何会议 or 各特派团不存在……短缺的情况.
    ("没有", 0), ("无", 0), ("无一", 0), ("不存在", 0), ("零", 0),
    # Doublings in the unit "times" (increase over the earlier level): 翻一番 is doubled.
    ("翻了一番", 1), ("翻一番", 1), ("翻两番", 3), ("翻了三番", 7), ("增加了一倍", 1),
    # Ordinals and "the only one" read as their number.
    ("第五次", 5), ("第二十三次", 23), ("唯一", 1),
])
def test_parse_number_words(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "多", "3:2", "维和", "没有变化", "无数", "翻番"])
def test_parse_number_refuses(text):
    with pytest.raises(NumberError):
        parse_number(text)


def test_zero_words_are_not_read_inside_longer_text():
    # A negation next to a number is not a zero: the number is what the text states.
    assert parse_number("没有 5") == 5


def test_chinese_integer_rejects_other_characters():
    with pytest.raises(NumberError):
        chinese_integer("五个")


def test_same_number_allows_only_fraction_rounding():
    assert same_number(1 / 3, 0.3333)
    assert not same_number(1067, 1076)
    assert not same_number(25.6, 0.256)
