"""Cleaning removes noise but keeps a page's structure; assessment rejects unusable text with a reason."""

from __future__ import annotations

import pytest

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Page
from ingest_pipeline.validate.rules import EMPTY_REASON, assess, clean_pages, clean_text

_PROSE = "The quarterly report covers revenue, costs and the outlook for the next year in detail."
_STRUCTURED = "# Guide\n\n## Setup\n\n- install it\n- configure it\n1. first\n\n| a | b |\n| 1 | 2 |\n\nEnd."


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),
        ("tab\there", "tab here"),
        ("bell\x07 and nul\x00 and escape\x1b gone", "bell and nul and escape gone"),
        ("zero\u200bwidth\u200c joi\u200dner\u2060s", "zerowidth joiners"),
        ("\ufeffBOM at start", "BOM at start"),
        ("soft\u00adhyphen", "softhyphen"),
        ("\u202eright-to-left\u202c mark\u200f", "right-to-left mark"),
        ("ﬁne ligature, ＦＵＬＬ width, non\u00a0breaking", "fine ligature, FULL width, non breaking"),
        ("e\u0301 composes", "\u00e9 composes"),
        ("trailing   \nspaces\t \n", "trailing\nspaces"),
        ("a\n\n\n\n\nb\n \n\t\n\nc", "a\n\nb\n\nc"),
        ("\n\n  \nleading and trailing blank lines\n\n\n", "leading and trailing blank lines"),
        ("form\ffeed and line\u2028separator", "form\nfeed and line\nseparator"),
        ("lone \ud800surrogate", "lone surrogate"),
        (_STRUCTURED, _STRUCTURED),
        ("  indented list:\n  - item", "  indented list:\n  - item"),
        ("", ""),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("raw", ["a\r\n\r\n\r\nb \u200b", "x\u00ad\n\n\n ﬁ\t", _STRUCTURED, "\ufeff\x0c\x0b"])
def test_clean_text_is_idempotent(raw):
    assert clean_text(clean_text(raw)) == clean_text(raw)


def test_clean_pages_keeps_numbers_and_empty_pages():
    cleaned = clean_pages([Page(1, "a \r\n"), Page(2, "  "), Page(3, "c")])
    assert cleaned == [Page(1, "a"), Page(2, ""), Page(3, "c")]


@pytest.mark.parametrize(
    "pages",
    [
        [Page(1, _PROSE)],
        [Page(1, _STRUCTURED * 3)],
        [Page(1, "Revenue | 2023 | 2024\nQ1 | 1,204.50 | 1,310.75\nQ2 | 1,188.00 | 1,402.25\nQ3 | 990.10 | 1,023")],
        [Page(1, "यह एक हिंदी दस्तावेज़ है जिसमें पर्याप्त पाठ है ताकि इसे स्वीकार "
                 "किया जा सके और आगे बढ़ाया जा सके।")],
        [Page(1, "これは日本語の文書です。十分な長さのテキストがあり、"
                 "問題なく受け入れられるはずです。さらに文章を追加します。")],
        [Page(1, "• bullet \uf0b7 from a Word font\n" + _PROSE)],
        [Page(1, _PROSE[:40]), Page(2, ""), Page(3, _PROSE[40:])],
    ],
)
def test_readable_documents_are_accepted(pages):
    assessment = assess(pages)
    assert assessment.reason is None and assessment.acceptable
    assessment.raise_if_rejected()


def test_assessment_counts_and_hashes_the_cleaned_text():
    pages = [Page(1, "Hello\u200b   world\r\n"), Page(2, "\n\nsecond page\n")]
    assessment = assess(pages, min_characters=1)
    assert assessment.characters == len("Helloworldsecondpage")
    assert assessment.text_hash == text_hash("Hello   world\n\nsecond page")
    assert assess(clean_pages(pages), min_characters=1) == assessment


@pytest.mark.parametrize(
    ("pages", "phrase"),
    [
        ([], EMPTY_REASON),
        ([Page(1, "")], EMPTY_REASON),
        ([Page(1, " \n\t\u200b\n"), Page(2, "\x00\x0c")], EMPTY_REASON),
        ([Page(1, "Page 1 of 1")], "only 8 non-space characters"),
        ([Page(1, "\ufffd" * 30 + _PROSE)], "unreadable"),
        ([Page(1, "\ue000\ue001\uf8ff" * 20 + _PROSE)], "unreadable"),
        ([Page(1, "\U000e0080" * 40 + _PROSE)], "unreadable"),  # unassigned code points
        ([Page(1, "#$%&()*+,-./:;<=>?@[]^_`{|}~" * 5 + "ab")], "letters or digits"),
    ],
)
def test_unusable_documents_are_rejected_with_a_reason(pages, phrase):
    assessment = assess(pages)
    assert not assessment.acceptable
    assert phrase in assessment.reason
    with pytest.raises(DocumentRejected) as raised:
        assessment.raise_if_rejected()
    assert raised.value.reason == assessment.reason


def test_low_letter_share_reason_says_what_share():
    reason = assess([Page(1, "@@@@@@ ab" * 10)]).reason
    assert "only 25.0% of the extracted non-space characters are letters or digits" in reason


@pytest.mark.parametrize(("min_characters", "acceptable"), [(10, True), (11, True), (12, False)])
def test_min_characters_threshold(min_characters, acceptable):
    assert assess([Page(1, "eleven chars")], min_characters=min_characters).acceptable is acceptable
