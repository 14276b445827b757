"""branches.render: SQL colouring and side-by-side diffs, escaped."""

import re

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from branches.render import Line, Row, highlight_lines, highlight_sql, marked_lines, side_by_side

HOSTILE = "COMMENT ON TABLE public.t IS '<script>alert(1)</script>';"


def text_of(html: str) -> str:
    """The visible text of an HTML fragment (tags removed, entities decoded)."""
    import html as h

    return h.unescape(re.sub(r"<[^>]+>", "", html))


def test_highlight_sql_escapes_script_and_wraps_in_pre_code():
    html = highlight_sql(HOSTILE)
    assert isinstance(html, SafeString)
    assert html.startswith('<pre class="sql"><code>') and html.endswith("</code></pre>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert text_of(html).strip() == HOSTILE


def test_highlight_sql_colours_keywords_and_strings():
    html = highlight_sql("CREATE TABLE t (a text DEFAULT 'x');")
    assert '<span class="k">CREATE</span>' in html
    assert re.search(r'<span class="s1">[^<]*x', html)


def test_highlight_sql_of_none_is_an_empty_block():
    assert highlight_sql(None) == '<pre class="sql"><code></code></pre>'


def test_side_by_side_of_equal_texts_is_all_equal_rows():
    rows = side_by_side("a\nb\n", "a\nb\n")
    assert [r.kind for r in rows] == ["equal", "equal"]
    assert [(r.left_no, r.right_no) for r in rows] == [(1, 1), (2, 2)]


def test_side_by_side_marks_replace_insert_and_delete():
    old = "CREATE TABLE t (\n    a integer,\n    b text\n);"
    new = "CREATE TABLE t (\n    a bigint,\n    b text,\n    c date\n);"
    rows = side_by_side(old, new)
    assert all(isinstance(r, Row) for r in rows)
    kinds = [r.kind for r in rows]
    assert kinds[0] == "equal" and kinds[-1] == "equal"
    assert "replace" in kinds
    replaced = [r for r in rows if r.kind == "replace"]
    assert any("integer" in text_of(r.left) and "bigint" in text_of(r.right) for r in replaced)
    # every old line appears once on the left, every new line once on the right, in order
    assert [text_of(r.left) for r in rows if r.left_no] == old.split("\n")
    assert [text_of(r.right) for r in rows if r.right_no] == new.split("\n")
    assert [r.left_no for r in rows if r.left_no] == [1, 2, 3, 4]
    assert [r.right_no for r in rows if r.right_no] == [1, 2, 3, 4, 5]


def test_side_by_side_of_an_added_object_is_all_inserts():
    rows = side_by_side(None, "CREATE TABLE t ();\nCOMMENT ON TABLE t IS 'x';")
    assert [r.kind for r in rows] == ["insert", "insert"]
    assert all(r.left_no is None and r.left == "" for r in rows)
    assert [r.right_no for r in rows] == [1, 2]


def test_side_by_side_of_a_deleted_object_is_all_deletes():
    rows = side_by_side("CREATE VIEW v AS SELECT 1;", None)
    assert [(r.kind, r.left_no, r.right_no) for r in rows] == [("delete", 1, None)]


def test_side_by_side_pure_insert_and_delete_in_the_middle():
    rows = side_by_side("a\nb\nc", "a\nc\nd")
    assert [(r.kind, r.left_no, r.right_no) for r in rows] == [
        ("equal", 1, 1), ("delete", 2, None), ("equal", 3, 2), ("insert", None, 3)]


def test_side_by_side_escapes_every_token():
    rows = side_by_side("SELECT 1;", HOSTILE)
    for row in rows:
        assert "<script>" not in row.left and "<script>" not in row.right
    assert any("&lt;script&gt;" in r.right for r in rows)


def test_multi_line_comment_keeps_its_colour_on_every_line():
    text = "/* first\n   second <b>\n   third */\nSELECT 1;"
    lines = highlight_lines(text)
    assert len(lines) == 4
    for line in lines[:3]:
        assert line.startswith('<span class="cm">'), line
    assert "&lt;b&gt;" in lines[1]
    assert '<span class="k">SELECT</span>' in lines[3]
    rows = side_by_side("SELECT 1;", text)
    assert [r.right.startswith('<span class="cm">') for r in rows if r.right_no][:3] == [True, True, True]


def test_dollar_quoted_function_body_is_split_into_lines():
    body = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1\n$$;"
    lines = highlight_lines(body)
    assert len(lines) == 3
    assert [text_of(line) for line in lines] == body.split("\n")


def test_blank_lines_are_kept_so_numbers_match():
    text = "\n\nSELECT 1;\n\n"
    lines = highlight_lines(text)
    assert len(lines) == 4
    assert text_of(lines[2]) == "SELECT 1;"


def test_marked_lines_marks_lines_not_in_base():
    lines = marked_lines("a\nb\nc", "a\nB\nc\nd")
    assert all(isinstance(line, Line) for line in lines)
    assert [(line.no, line.changed) for line in lines] == [(1, False), (2, True), (3, False), (4, True)]
    assert [text_of(line.html) for line in lines] == ["a", "B", "c", "d"]


def test_marked_lines_of_nothing_is_empty_and_of_new_object_all_changed():
    assert marked_lines("a", None) == []
    assert [line.changed for line in marked_lines(None, "x\ny")] == [True, True]


def test_side_by_side_include_renders_titles_rows_and_escapes():
    html = render_to_string("branches/_side_by_side.html", {
        "rows": side_by_side("SELECT 1;", HOSTILE), "left_title": "main <old>", "right_title": "feature"})
    assert "main &lt;old&gt;" in html and "feature" in html
    assert 'class="diff-replace"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
